"""The OpenCL array namespace (array API standard) over pyopencl. Being written."""
