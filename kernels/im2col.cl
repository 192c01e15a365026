// im2col.cl: NCHW convolution and pooling windows (KERNELS.md section 4.1). Host side:
// axoncl/backends/opencl/conv.py. All arrays are C-contiguous per image; element offsets and
// strides are `long`, so column buffers past 2^31 elements index correctly.
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
//   maxpool_gather_nchw   per window: the first maximum of `key` (padding is -inf, NaN is the
//                    largest value, as numpy's argmax), or values[that position] when use_values
//   maxpool_scatter_nchw  per input pixel: the sum of grad over the windows whose winner it is
//   avgpool_nchw     per window: sum of the taps (padding counts as 0) / (KH*KW)
//   avgpool_backward_nchw per input pixel: sum of grad / (KH*KW) over the windows that contain it
// Options: -DREAL=float|double (default float), -DFP64 when REAL is double.
#ifdef FP64
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
#endif
#ifndef REAL
#define REAL float
#endif

#define GEOMETRY_ARGS                                                                   \
    const int H, const int W, const int KH, const int KW, const int SH, const int SW,   \
        const int PH, const int PW, const int DH, const int DW, const int OH, const int OW

__kernel void im2col_nchw(const int C, GEOMETRY_ARGS, const REAL pad,
                          __global const REAL *restrict x, const long x_off, const long x_img,
                          __global REAL *restrict col, const long col_off, const long col_img,
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
    __global REAL *dst = col + col_off + n * col_img + (long)r * col_row + oh * OW;
    if (ih < 0 || ih >= H) {
        for (int ow = 0; ow < OW; ow++) dst[ow] = pad;
        return;
    }
    __global const REAL *src = x + x_off + n * x_img + ((long)c * H + ih) * W;
    int iw = kw * DW - PW;
    for (int ow = 0; ow < OW; ow++, iw += SW) dst[ow] = (iw >= 0 && iw < W) ? src[iw] : pad;
}

__kernel void col2im_nchw(const int C, GEOMETRY_ARGS, __global const REAL *restrict col,
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
    __global const REAL *base = col + col_off + n * col_img;
    for (int kh = 0; kh < KH; kh++) {
        const int th = ih + PH - kh * DH;
        if (th < 0 || th % SH != 0 || th / SH >= OH) continue;
        const int oh = th / SH;
        for (int kw = 0; kw < KW; kw++) {
            __global const REAL *src = base + (long)((c * KH + kh) * KW + kw) * col_row + oh * OW;
            int iw = kw * DW - PW;
            for (int ow = 0; ow < OW; ow++, iw += SW)
                if (iw >= 0 && iw < W) dst[iw] += src[ow];
        }
    }
}

// Position (ih*W + iw) of the first maximum of the window (oh, ow) in one plane, or -1 when a
// padding tap (-inf, earlier in window order) wins; *best receives the maximum.
static inline int window_argmax(__global const REAL *plane, const int oh, const int ow,
                                GEOMETRY_ARGS, REAL *best) {
    int pos = -1;
    REAL m = (REAL)0;
    bool first = true;
    for (int kh = 0; kh < KH; kh++) {
        const int ih = oh * SH - PH + kh * DH;
        for (int kw = 0; kw < KW; kw++) {
            const int iw = ow * SW - PW + kw * DW;
            const bool inside = ih >= 0 && ih < H && iw >= 0 && iw < W;
            const REAL v = inside ? plane[ih * W + iw] : (REAL)(-INFINITY);
            if (first || (!isnan(m) && (v > m || isnan(v)))) {
                m = v;
                pos = inside ? ih * W + iw : -1;
                first = false;
            }
        }
    }
    *best = m;
    return pos;
}

__kernel void maxpool_gather_nchw(const long planes, GEOMETRY_ARGS,
                                  __global const REAL *restrict key, const long key_off,
                                  __global const REAL *restrict values, const long values_off,
                                  const int use_values, __global REAL *restrict out,
                                  const long out_off) {
    const int p = (int)get_global_id(0);
    const long plane = get_global_id(1);
    if (p >= OH * OW || plane >= planes) return;
    const long idx = plane * OH * OW + p;
    const int oh = p / OW;
    const int ow = p - oh * OW;
    REAL best;
    const int pos = window_argmax(key + key_off + plane * H * W, oh, ow, H, W, KH, KW, SH, SW,
                                  PH, PW, DH, DW, OH, OW, &best);
    if (use_values) best = pos >= 0 ? values[values_off + plane * H * W + pos] : (REAL)0;
    out[out_off + idx] = best;
}

// The windows that contain input row `ih` have oh in [lo, hi]: oh*SH <= ih + PH and
// oh*SH + (KH-1)*DH >= ih + PH. Dilated taps may still miss ih; window_argmax decides.
__kernel void maxpool_scatter_nchw(const long planes, GEOMETRY_ARGS,
                                   __global const REAL *restrict key, const long key_off,
                                   __global const REAL *restrict grad, const long grad_off,
                                   __global REAL *restrict dx, const long dx_off) {
    const int HW = H * W;
    const int pos = (int)get_global_id(0);
    const long plane = get_global_id(1);
    if (pos >= HW || plane >= planes) return;
    const long idx = plane * HW + pos;
    const int ih = pos / W;
    const int iw = pos - ih * W;
    const int th = ih + PH - (KH - 1) * DH;
    const int tw = iw + PW - (KW - 1) * DW;
    const int oh_lo = th <= 0 ? 0 : (th + SH - 1) / SH;
    const int ow_lo = tw <= 0 ? 0 : (tw + SW - 1) / SW;
    const int oh_hi = min(OH - 1, (ih + PH) / SH);
    const int ow_hi = min(OW - 1, (iw + PW) / SW);
    __global const REAL *kplane = key + key_off + plane * HW;
    __global const REAL *gplane = grad + grad_off + plane * (long)OH * OW;
    REAL acc = (REAL)0;
    for (int oh = oh_lo; oh <= oh_hi; oh++) {
        for (int ow = ow_lo; ow <= ow_hi; ow++) {
            REAL best;
            if (window_argmax(kplane, oh, ow, H, W, KH, KW, SH, SW, PH, PW, DH, DW, OH, OW,
                              &best) == pos)
                acc += gplane[oh * OW + ow];
        }
    }
    dx[dx_off + idx] = acc;
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
    REAL acc = (REAL)0;
    for (int kh = 0; kh < KH; kh++) {
        const int th = ih + PH - kh * DH;
        if (th < 0 || th % SH != 0 || th / SH >= OH) continue;
        for (int kw = 0; kw < KW; kw++) {
            const int tw = iw + PW - kw * DW;
            if (tw < 0 || tw % SW != 0 || tw / SW >= OW) continue;
            acc += gplane[(th / SH) * OW + tw / SW];
        }
    }
    dx[dx_off + idx] = acc / (REAL)(KH * KW);
}
