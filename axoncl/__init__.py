"""axoncl: reverse-mode automatic differentiation over the Python array API, with OpenCL."""

__version__ = "0.1.0"
