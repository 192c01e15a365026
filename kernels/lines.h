// lines.h: the line view shared by the reduction, scan, softmax and sort kernels.
// The host (backends/opencl/lines.py) views an input as lines x[o, r, i] = x[x_off + o*s_o +
// r*s_r + i*s_i]: line j = o*n_inner + i, element r of it at line_start(...) + r*s_r. Outputs
// laid out contiguously as (n_outer, n, n_inner) put element r of line j at line_out(...).
#ifndef AXONCL_LINES_H
#define AXONCL_LINES_H

// Element offset of the first element of line j.
inline long line_start(long j, long n_inner, long x_off, long s_o, long s_i) {
    const long o = j / n_inner;
    return x_off + o * s_o + (j - o * n_inner) * s_i;
}

// Position of element r of line j in a contiguous (n_outer, n, n_inner) output.
inline long line_out(long j, long r, long n, long n_inner) {
    const long o = j / n_inner;
    return (o * n + r) * n_inner + (j - o * n_inner);
}

#endif
