// im2col.cl: NCHW convolution and pooling windows (docs/kernels.md, section 3.1). Host side:
// backends/opencl/conv.py and pooling.py. All arrays are C-contiguous per image; element
// offsets and strides are `long`, so column buffers past 2^31 elements index correctly.
//
// Window geometry (runtime arguments): input H x W, kernel KH x KW, stride SH SW, padding PH PW,
// dilation DH DW, output OH x OW with OH = (H + 2*PH - DH*(KH-1) - 1) / SH + 1.
// A column matrix has row r = (c*KH + kh)*KW + kw and column p = oh*OW + ow; its entry is
// x[c, oh*SH - PH + kh*DH, ow*SW - PW + kw*DW], or `pad` outside the input.
//
// Kernels (one work-item per output element; grid dimension 0 indexes within one image (or one
// pooling plane) with 32-bit arithmetic, rounded up to the local size and guarded; dimension 1
// is the image (or the plane, N*C of them)):
//   im2col_nchw      x -> col; col element (n, r, p) at col_off + n*col_img + r*col_row + p;
//                    one work-item per (r, oh), grid C*KH*KW*OH x N
//   col2im_nchw      dcol -> dx, the adjoint of im2col: one work-item per input row (c, ih)
//                    gathers the taps that read it (no atomics, fixed order); grid C*H x N
//   maxpool_argmax_nchw   per window: the first maximum (padding is -inf, NaN is the largest
//                    value, as numpy's argmax) and its tap index kh*KW + kw (int32)
//   maxpool_gather_index_nchw  per window: values at the tap `index` names (0 on padding)
//   maxpool_scatter_index_nchw per input pixel: the sum of grad over the windows whose winning
//                    tap it is
//   maxpool_argmax_rows_nchw, maxpool_scatter_rows_nchw  the same as the two above for pooling
//                    without padding or dilation, one work-item per row (grid OH or H x planes);
//                    the window is compile-time: 2x2 stride 2 in the general program, others
//                    in a program of just these two built with -DPOOL_KH -DPOOL_KW -DPOOL_SH
//                    -DPOOL_SW
//   avgpool_nchw     per window: sum of the taps (padding counts as 0) / (KH*KW)
//   avgpool_backward_nchw per input pixel: sum of grad / (KH*KW) over the windows that contain it
// Options: -DREAL=float|double (default float), -DFP64 when REAL is double; -DPOOL_KH=.. etc.
// (above) build the row pooling kernels alone, for another window. -DSTORAGE=1|2 (storage.h, REAL = float): im2col reads x
// and writes col as float16/bfloat16, col2im reads 16-bit columns and sums into a float32 dx
// (rounded once by the host); the pooling kernels take REAL only.
#ifdef FP64
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
#endif
#ifndef REAL
#define REAL float
#endif
#define T REAL
#include "storage.h"

#define GEOMETRY_ARGS                                                                   \
    const int H, const int W, const int KH, const int KW, const int SH, const int SW,   \
        const int PH, const int PW, const int DH, const int DW, const int OH, const int OW

// Max pooling keeps, per window, the tap index t = kh*KW + kw of its first maximum (padding
// taps read -inf, NaN beats every number, as numpy's argmax): `index` is int32 [planes, OH, OW].
// The taps are scanned branch-free (clamped loads, selects). With m = -inf and t = 0 initially,
// "take tap t when m is not NaN and (v > m or v is NaN)" picks the same tap as the first-maximum
// rule, also when every tap is -inf. MAX_TAKE writes that test as (m == m) && !(v <= m): the
// same truth table, but PoCL's vectorizer handles it (isnan() made the kernels ~3x slower).
#define MAX_TAKE(m, v) ((m) == (m) && !((v) <= (m)))

#ifdef POOL_KH  // -DPOOL_KH ...: a program of just the row pooling kernels for that window
#define ROW_POOL_ONLY 1
#else  // the general program: every kernel, the row pooling ones for the 2x2 stride-2 window
#define ROW_POOL_ONLY 0
#define POOL_KH 2
#define POOL_KW 2
#define POOL_SH 2
#define POOL_SW 2
#endif

#if !ROW_POOL_ONLY
__kernel void im2col_nchw(const int C, GEOMETRY_ARGS, const REAL pad,
                          __global const S *restrict x, const long x_off, const long x_img,
                          __global S *restrict col, const long col_off, const long col_img,
                          const long col_row) {
    // One work-item per (row r of the column matrix, output row oh): the divisions happen once
    // per OW outputs, and the stores are contiguous.
    const int item = (int)get_global_id(0);
    const long n = get_global_id(1);
    if (item >= C * KH * KW * OH) return;
    const int r = item / OH;
    const int oh = item - r * OH;
    const int kw = r % KW;
    const int kh = (r / KW) % KH;
    const int c = r / (KW * KH);
    const int ih = oh * SH - PH + kh * DH;
    // Elements move bit for bit (RAW); only the padding value is converted, once.
    RAW pad_bits;
    STORE(pad, (__private S *)&pad_bits, 0);
    __global RAW *dst = (__global RAW *)col + col_off + n * col_img + (long)r * col_row + oh * OW;
    if (ih < 0 || ih >= H) {
        for (int ow = 0; ow < OW; ow++) dst[ow] = pad_bits;
        return;
    }
    __global const RAW *src = (__global const RAW *)x + x_off + n * x_img + ((long)c * H + ih) * W;
    int iw = kw * DW - PW;
    for (int ow = 0; ow < OW; ow++, iw += SW) dst[ow] = (iw >= 0 && iw < W) ? src[iw] : pad_bits;
}

__kernel void col2im_nchw(const int C, GEOMETRY_ARGS, __global const S *restrict col,
                          const long col_off, const long col_img, const long col_row,
                          __global REAL *restrict dx, const long dx_off, const long dx_img) {
    // One work-item per input row (c, ih): it owns dx[n, c, ih, :], so it may add into it
    // without atomics. For each tap row kh that reads ih (ih + PH - kh*DH = oh*SH), it walks
    // the output row oh and adds each tap (kh, kw) to the pixel it read. Fixed order.
    const int item = (int)get_global_id(0);
    const long n = get_global_id(1);
    if (item >= C * H) return;
    const int c = item / H;
    const int ih = item - c * H;
    __global REAL *dst = dx + dx_off + n * dx_img + (long)item * W;
    for (int iw = 0; iw < W; iw++) dst[iw] = (REAL)0;
    __global const S *base = col + col_off + n * col_img;
    for (int kh = 0; kh < KH; kh++) {
        const int th = ih + PH - kh * DH;
        if (th < 0 || th % SH != 0 || th / SH >= OH) continue;
        const int oh = th / SH;
        for (int kw = 0; kw < KW; kw++) {
            __global const S *src = base + (long)((c * KH + kh) * KW + kw) * col_row + oh * OW;
            int iw = kw * DW - PW;
            for (int ow = 0; ow < OW; ow++, iw += SW)
                if (iw >= 0 && iw < W) dst[iw] += LOAD(src, ow);
        }
    }
}


#endif

// Row kernels for pooling without padding or dilation, built with -DPOOL_KH -DPOOL_KW -DPOOL_SH
// -DPOOL_SW (the window, compile-time so the tap loops unroll; the runtime KH..SW arguments
// must match). One work-item per output row (argmax) or input row (scatter), looping along W:
// ~10x faster on PoCL than the generic one-work-item-per-pixel kernels below.
__kernel void maxpool_argmax_rows_nchw(const long planes, GEOMETRY_ARGS,
                                       __global const REAL *restrict x, const long x_off,
                                       __global REAL *restrict out, const long out_off,
                                       __global int *restrict index, const long index_off) {
    const int oh = (int)get_global_id(0);
    const long plane = get_global_id(1);
    if (oh >= OH || plane >= planes) return;
    __global const REAL *xp = x + x_off + plane * H * W + oh * POOL_SH * W;
    const long obase = plane * OH * OW + oh * OW;
    __global REAL *op = out + out_off + obase;
    __global int *ip = index + index_off + obase;
    for (int ow = 0; ow < OW; ow++) {
        REAL m = (REAL)(-INFINITY);
        int best = 0;
#pragma unroll
        for (int kh = 0; kh < POOL_KH; kh++) {
#pragma unroll
            for (int kw = 0; kw < POOL_KW; kw++) {
                const REAL v = xp[kh * W + ow * POOL_SW + kw];
                const bool take = MAX_TAKE(m, v);
                m = take ? v : m;
                best = take ? kh * POOL_KW + kw : best;
            }
        }
        op[ow] = m;
        ip[ow] = best;
    }
}

// dx row (plane, ih): each pixel sums grad over the windows whose winning tap it is.
__kernel void maxpool_scatter_rows_nchw(const long planes, GEOMETRY_ARGS,
                                        __global const int *restrict index, const long index_off,
                                        __global const REAL *restrict grad, const long grad_off,
                                        __global REAL *restrict dx, const long dx_off) {
    const int ih = (int)get_global_id(0);
    const long plane = get_global_id(1);
    if (ih >= H || plane >= planes) return;
    const long obase = plane * (long)OH * OW;
    __global const int *ipl = index + index_off + obase;
    __global const REAL *gpl = grad + grad_off + obase;
    __global REAL *dst = dx + dx_off + (plane * H + ih) * W;
#if POOL_SH >= POOL_KH && POOL_SW >= POOL_KW
    // Disjoint windows: row ih is tap row kh of window row oh (or of none), and each window
    // writes its POOL_SW columns; the columns right of the last window get 0.
    const int oh = ih / POOL_SH;
    const int kh = ih - oh * POOL_SH;
    const bool row_ok = kh < POOL_KH && oh < OH;
    const int orow = row_ok ? oh * OW : 0;
    for (int ow = 0; ow < OW; ow++) {
        const int t = row_ok ? ipl[orow + ow] - kh * POOL_KW : -1;
        const REAL g = gpl[orow + ow];
#pragma unroll
        for (int kw = 0; kw < POOL_SW; kw++)
            dst[ow * POOL_SW + kw] = (kw < POOL_KW && t == kw) ? g : (REAL)0;
    }
    for (int iw = OW * POOL_SW; iw < W; iw++) dst[iw] = (REAL)0;
#else
    for (int iw = 0; iw < W; iw++) {
        REAL acc = (REAL)0;
#pragma unroll
        for (int kh = 0; kh < POOL_KH; kh++) {
            const int oh = (ih - kh) / POOL_SH;
            const bool row_ok = ih >= kh && oh * POOL_SH == ih - kh && oh < OH;
#pragma unroll
            for (int kw = 0; kw < POOL_KW; kw++) {
                const int ow = (iw - kw) / POOL_SW;
                const bool ok = row_ok && iw >= kw && ow * POOL_SW == iw - kw && ow < OW;
                const int o = ok ? oh * OW + ow : 0;
                acc += (ok && ipl[o] == kh * POOL_KW + kw) ? gpl[o] : (REAL)0;
            }
        }
        dst[iw] = acc;
    }
#endif
}

#if !ROW_POOL_ONLY

__kernel void maxpool_argmax_nchw(const long planes, GEOMETRY_ARGS,
                                  __global const REAL *restrict x, const long x_off,
                                  __global REAL *restrict out, const long out_off,
                                  __global int *restrict index, const long index_off) {
    const int p = (int)get_global_id(0);
    const long plane = get_global_id(1);
    if (p >= OH * OW || plane >= planes) return;
    const long idx = plane * OH * OW + p;
    const int oh = p / OW;
    const int ow = p - oh * OW;
    __global const REAL *xp = x + x_off + plane * H * W;
    REAL m = (REAL)(-INFINITY);
    int best = 0;
    int t = 0;
    for (int kh = 0; kh < KH; kh++) {
        const int ih = oh * SH - PH + kh * DH;
        const bool row_in = ih >= 0 && ih < H;
        const int row = clamp(ih, 0, H - 1) * W;
        for (int kw = 0; kw < KW; kw++, t++) {
            const int iw = ow * SW - PW + kw * DW;
            const REAL loaded = xp[row + clamp(iw, 0, W - 1)];
            const REAL v = (row_in && iw >= 0 && iw < W) ? loaded : (REAL)(-INFINITY);
            const bool take = MAX_TAKE(m, v);
            m = take ? v : m;
            best = take ? t : best;
        }
    }
    out[out_off + idx] = m;
    index[index_off + idx] = best;
}

// out[window] = values[the window's tap index[window]], 0 when that tap is padding.
__kernel void maxpool_gather_index_nchw(const long planes, GEOMETRY_ARGS,
                                        __global const int *restrict index, const long index_off,
                                        __global const REAL *restrict values,
                                        const long values_off, __global REAL *restrict out,
                                        const long out_off) {
    const int p = (int)get_global_id(0);
    const long plane = get_global_id(1);
    if (p >= OH * OW || plane >= planes) return;
    const long idx = plane * OH * OW + p;
    const int oh = p / OW;
    const int ow = p - oh * OW;
    const int t = index[index_off + idx];
    const int kh = t / KW;
    const int ih = oh * SH - PH + kh * DH;
    const int iw = ow * SW - PW + (t - kh * KW) * DW;
    const bool inside = ih >= 0 && ih < H && iw >= 0 && iw < W;
    const REAL v = values[values_off + plane * H * W + clamp(ih, 0, H - 1) * W + clamp(iw, 0, W - 1)];
    out[out_off + idx] = inside ? v : (REAL)0;
}

// The adjoint of maxpool_gather_index_nchw: per input pixel, the sum of grad over the windows
// whose winning tap reads it (a gather, no atomics). The windows that contain row ih through
// tap row kh have oh = (ih + PH - kh*DH) / SH when that divides exactly.
__kernel void maxpool_scatter_index_nchw(const long planes, GEOMETRY_ARGS,
                                         __global const int *restrict index,
                                         const long index_off, __global const REAL *restrict grad,
                                         const long grad_off, __global REAL *restrict dx,
                                         const long dx_off) {
    const int HW = H * W;
    const int pos = (int)get_global_id(0);
    const long plane = get_global_id(1);
    if (pos >= HW || plane >= planes) return;
    const int ih = pos / W;
    const int iw = pos - ih * W;
    const long obase = plane * (long)OH * OW;
    __global const int *ip = index + index_off + obase;
    __global const REAL *gp = grad + grad_off + obase;
    REAL acc = (REAL)0;
    for (int kh = 0; kh < KH; kh++) {
        const int th = ih + PH - kh * DH;
        const int oh = th / SH;
        const bool row_ok = th >= 0 && oh * SH == th && oh < OH;
        for (int kw = 0; kw < KW; kw++) {
            const int tw = iw + PW - kw * DW;
            const int ow = tw / SW;
            const bool ok = row_ok && tw >= 0 && ow * SW == tw && ow < OW;
            const int o = ok ? oh * OW + ow : 0;
            const bool win = ok && ip[o] == kh * KW + kw;
            acc += win ? gp[o] : (REAL)0;
        }
    }
    dx[dx_off + plane * HW + pos] = acc;
}

__kernel void avgpool_nchw(const long planes, GEOMETRY_ARGS, __global const REAL *restrict x,
                           const long x_off, __global REAL *restrict out, const long out_off) {
    const int p = (int)get_global_id(0);
    const long plane = get_global_id(1);
    if (p >= OH * OW || plane >= planes) return;
    const long idx = plane * OH * OW + p;
    const int oh = p / OW;
    const int ow = p - oh * OW;
    __global const REAL *xp = x + x_off + plane * H * W;
    REAL acc = (REAL)0;
    for (int kh = 0; kh < KH; kh++) {
        const int ih = oh * SH - PH + kh * DH;
        if (ih < 0 || ih >= H) continue;
        for (int kw = 0; kw < KW; kw++) {
            const int iw = ow * SW - PW + kw * DW;
            if (iw >= 0 && iw < W) acc += xp[ih * W + iw];
        }
    }
    out[out_off + idx] = acc / (REAL)(KH * KW);
}

__kernel void avgpool_backward_nchw(const long planes, GEOMETRY_ARGS,
                                    __global const REAL *restrict grad, const long grad_off,
                                    __global REAL *restrict dx, const long dx_off) {
    const int HW = H * W;
    const int pos = (int)get_global_id(0);
    const long plane = get_global_id(1);
    if (pos >= HW || plane >= planes) return;
    const long idx = plane * HW + pos;
    const int ih = pos / W;
    const int iw = pos - ih * W;
    __global const REAL *gplane = grad + grad_off + plane * (long)OH * OW;
    // The windows that hold (ih, iw): oh*SH - PH + kh*DH == ih for some 0 <= kh < KH, so
    // oh runs over [ceil((ih + PH - (KH-1)*DH) / SH), (ih + PH) / SH], kept where the tap
    // falls on the dilation grid (a few iterations instead of KH*KW divisions).
    const int th = ih + PH, tw = iw + PW;
    const int oh0 = max(0, th - (KH - 1) * DH + SH - 1) / SH, oh1 = min(OH - 1, th / SH);
    const int ow0 = max(0, tw - (KW - 1) * DW + SW - 1) / SW, ow1 = min(OW - 1, tw / SW);
    REAL acc = (REAL)0;
    for (int oh = oh0; oh <= oh1; oh++) {
        if ((th - oh * SH) % DH != 0) continue;
        for (int ow = ow0; ow <= ow1; ow++) {
            if ((tw - ow * SW) % DW != 0) continue;
            acc += gplane[oh * OW + ow];
        }
    }
    dx[dx_off + idx] = acc / (REAL)(KH * KW);
}
#endif  // !ROW_POOL_ONLY
