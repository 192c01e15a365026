// gemm.cl: C = alpha * A @ B + beta * C (+ bias) (then ReLU), strided-batched. A is M x K,
// B is K x N, C is M x N in every batch; each operand is addressed with arbitrary element strides
// (batch, row, column), so transposes are strides and a batch stride of 0 broadcasts.
// Kernels (host side: axoncl/backends/opencl/gemm.py):
//   gemm_pack_b   B -> panels of NR = NV*VW columns ([panel][k][NR]), columns past N are zero
//   gemm_packed   CPU: each work-item computes an RM x NR block of C over k0 <= k < k1 with
//                 RM*NV vector accumulators (VW lanes), broadcast-A fma; no local memory and no
//                 barriers (PoCL would spill accumulators across barriers). A is read in place
//                 with any strides; B rows must be NR contiguous elements (packed, or row-major
//                 B with N % NR == 0).
//   gemm_direct   any device, small problems: DM x DN outputs per work-item, any strides, no
//                 packing; loads are clamped in-bounds and stores masked.
//   gemm_tiled    GPU: TM x TN x TK tiles of A and B in local memory, WM x WN outputs per
//                 work-item (work-group (TN/WN) x (TM/WM), dim 0 along N), bounds-checked loads.
//   conv_pad, conv_implicit, conv_pack_dy, conv_weight_grad (-DGEMM_CONV=1, a program of its
//                 own): implicit-GEMM convolution on CPUs, gemm_packed's register block with
//                 the operand read from padded images through a tap table (host: conv.py).
// Epilogue flags (bit set): 1 read C with beta (C is never read otherwise, it may hold NaN),
//   2 add bias, 4 bias is per row (else per column), 8 ReLU. Offsets are computed in long.
// Options: -DREAL=float|double -DVW=16|8 (vector width; 8 for double) -DRM -DNV -DDM -DDN
//   -DTM -DTN -DTK -DWM -DWN -DUSE_FMA=0|1 (fma only where the device has hardware FMA).
//   -DSTORAGE=0|1|2 (storage.h): A, B, C and the bias are stored as REAL, or as float16 or
//   bfloat16 with REAL = float: loads widen, C is rounded to nearest even once, after the
//   epilogue; packed B panels hold REAL, and so does gemm_packed's A (the host widens A once,
//   an O(MK) pass, instead of converting each element once per N-panel).
#ifndef REAL
#define REAL float
#endif
#ifndef VW
#define VW 16
#endif
#ifndef RM
#define RM 6
#endif
#ifndef NV
#define NV 2
#endif
#ifndef DM
#define DM 4
#endif
#ifndef DN
#define DN 4
#endif
#ifndef TM
#define TM 64
#endif
#ifndef TN
#define TN 64
#endif
#ifndef TK
#define TK 16
#endif
#ifndef WM
#define WM 4
#endif
#ifndef WN
#define WN 4
#endif
#ifndef USE_FMA
#define USE_FMA 1
#endif

#if REAL_IS_DOUBLE
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
#endif

#define T REAL
#include "storage.h"

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define VREAL CAT(REAL, VW)
#define VLOAD CAT(vload, VW)
#define VSTORE CAT(vstore, VW)
#define NR (NV * VW)
// Vector loads and stores of VW stored elements at p + v * VW (16-bit storage: VW is 16).
#if STORAGE == STORAGE_PLAIN
#define VLOAD_S(v, p) VLOAD((v), (p))
#define VSTORE_S(x, p) VSTORE((x), 0, (p))
#else
#define VLOAD_S(v, p) LOAD16((p) + (v) * VW)
#define VSTORE_S(x, p) STORE16((x), (p))
#endif
#define A_PACKED REAL  // the element type of gemm_packed's A

#if USE_FMA
#define MADD(a, b, c) fma((a), (b), (c))
#else
#define MADD(a, b, c) mad((a), (b), (c))
#endif

#define EP_BETA 1
#define EP_BIAS 2
#define EP_BIAS_ROW 4
#define EP_RELU 8

// The RM x NV register block of gemm_packed and the convolution kernels: zero it, add the
// rank-1 update AT(r) * bv[v] (AT(r): the scalar of A in row r of the block), spill it to a
// private tile. A_ROW_AT reads A through the row offsets a_rows at ap, A_TAP_AT adds a tap.
#define BLOCK_ZERO(acc)                                   \
    _Pragma("unroll") for (int r = 0; r < RM; ++r)        \
        _Pragma("unroll") for (int v = 0; v < NV; ++v) acc[r][v] = (VREAL)0;
#define BLOCK_UPDATE(acc, bv, AT)                                            \
    _Pragma("unroll") for (int r = 0; r < RM; ++r) {                         \
        const VREAL av_ = (VREAL)(AT(r));                                    \
        _Pragma("unroll") for (int v = 0; v < NV; ++v) acc[r][v] =           \
            MADD(av_, bv[v], acc[r][v]);                                     \
    }
#define BLOCK_TO_TILE(acc, tile)                          \
    _Pragma("unroll") for (int r = 0; r < RM; ++r)        \
        _Pragma("unroll") for (int v = 0; v < NV; ++v)    \
            VSTORE(acc[r][v], 0, (tile) + r * NR + v * VW);
#define A_ROW_AT(r) ap[a_rows[r]]
#define A_TAP_AT(r) ap[a_rows[r] + at]

// alpha * acc (+ beta * C) (+ bias), then ReLU; NaN passes through ReLU as in numpy/torch.
inline REAL gemm_finish(REAL acc, const REAL alpha, const REAL beta, __global const S *c,
                        const int flags, __global const S *bias, const long bias_index) {
    REAL v = alpha * acc;
    if (flags & EP_BETA) v = MADD(beta, LOAD(c, 0), v);
    if (flags & EP_BIAS) v += LOAD(bias, bias_index);
    if (flags & EP_RELU) v = v < (REAL)0 ? (REAL)0 : v;
    return v;
}

// Work-item order: m_block consecutive M-panels share one B panel (it stays in L1), then the
// next N-panel reuses the same m_block A panels (they stay in L2), then the next block of rows.
// Returns (M-panel, N-panel) of this work-item (dimension 0).
inline int2 block_order(const int m_block, const int n_panels) {
    const int gid = get_global_id(0);
    const int per_block = m_block * n_panels;
    const int blk = gid / per_block;
    const int rest = gid - blk * per_block;
    const int np = rest / m_block;
    return (int2)(blk * m_block + (rest - np * m_block), np);
}

#if !GEMM_CONV
// One work-item copies one row (k index) of one NR-wide panel: vector copies where the source
// row is contiguous, else NR strided loads into a private row stored as NV vectors (a B stored
// transposed: neighbouring work-items read neighbouring elements, which PoCL turns into vector
// loads across work-items), with zero padding past N in the last panel.
__kernel void gemm_pack_b(const int n, const int k, __global const S *restrict b,
                          const long b_off, const long b_batch, const long b_row, const long b_col,
                          __global REAL *restrict out, const long out_batch, const int n_panels) {
    const int kk = get_global_id(0);
    const int np = get_global_id(1);
    const long batch = get_global_id(2);
    const int col0 = np * NR;
    if (kk >= k) return;
    __global const S *src = b + b_off + batch * b_batch + kk * b_row + col0 * b_col;
    __global REAL *dst = out + batch * out_batch + ((long)np * k + kk) * NR;
    if (col0 + NR > n) {
        for (int j = 0; j < NR; ++j) dst[j] = col0 + j < n ? LOAD(src, j * b_col) : (REAL)0;
    } else if (b_col == 1) {
#pragma unroll
        for (int v = 0; v < NV; ++v) VSTORE(VLOAD_S(v, src), v, dst);
    } else {
        REAL row[NR];
#pragma unroll
        for (int j = 0; j < NR; ++j) row[j] = LOAD(src, j * b_col);
#pragma unroll
        for (int v = 0; v < NV; ++v) VSTORE(VLOAD(v, row), v, dst);
    }
}

__kernel void gemm_packed(const int m, const int n, const int k0, const int k1,
                          __global const A_PACKED *restrict a, const long a_off,
                          const long a_batch,
                          const long a_row, const long a_col,
                          __global const REAL *restrict b, const long b_off, const long b_batch,
                          const long b_panel, const long b_k,
                          __global S *restrict c, const long c_off, const long c_batch,
                          const long c_row, const long c_col,
                          const REAL alpha, const REAL beta, const int flags,
                          __global const S *restrict bias, const long bias_off,
                          const long bias_stride,
                          const int m_panels, const int n_panels, const int m_block) {
    const long batch = get_global_id(1);
    const int2 block = block_order(m_block, n_panels);
    const int mp = block.x, np = block.y;
    if (mp >= m_panels) return;

    // A is read in place; rows past M repeat row M-1 (their results are never stored).
    const int row0 = mp * RM;
    __global const A_PACKED *ap = a + a_off + batch * a_batch + (long)k0 * a_col;
    long a_rows[RM];
#pragma unroll
    for (int r = 0; r < RM; ++r) a_rows[r] = min(row0 + r, m - 1) * a_row;
    __global const REAL *bp = b + b_off + batch * b_batch + np * b_panel + (long)k0 * b_k;
    VREAL acc[RM][NV];
    BLOCK_ZERO(acc)
    for (int kk = k0; kk < k1; ++kk) {
        VREAL bv[NV];
#pragma unroll
        for (int v = 0; v < NV; ++v) bv[v] = VLOAD(v, bp);
        BLOCK_UPDATE(acc, bv, A_ROW_AT)
        ap += a_col;
        bp += b_k;
    }

    const int col0 = np * NR;
    __global S *cp = c + c_off + batch * c_batch + row0 * c_row + col0 * c_col;
    // The tile goes to private memory once; both epilogues below are plain loops over it, which
    // keeps the kernel small for the compiler (an unrolled epilogue doubled PoCL's build time).
    REAL tile[RM * NR];
    BLOCK_TO_TILE(acc, tile)
    const bool bias_col = (flags & EP_BIAS) && !(flags & EP_BIAS_ROW);
    if (row0 + RM <= m && col0 + NR <= n && c_col == 1 && (!bias_col || bias_stride == 1)) {
        // Whole block inside C with contiguous rows: vector epilogue.
        for (int v = 0; v < NV; ++v) {
            VREAL bias_v = (VREAL)0;
            if (bias_col) bias_v = VLOAD_S(0, bias + bias_off + col0 + v * VW);
            for (int r = 0; r < RM; ++r) {
                __global S *cr = cp + r * c_row + v * VW;
                VREAL x = alpha * VLOAD(0, tile + r * NR + v * VW);
                if (flags & EP_BETA) x = MADD((VREAL)beta, VLOAD_S(0, cr), x);
                if (flags & EP_BIAS) {
                    if (flags & EP_BIAS_ROW)
                        x += (VREAL)LOAD(bias, bias_off + (row0 + r) * bias_stride);
                    else
                        x += bias_v;
                }
                if (flags & EP_RELU) x = select(x, (VREAL)0, x < (VREAL)0);
                VSTORE_S(x, cr);
            }
        }
        return;
    }
    // Edge block: element by element with bounds checks.
    const int rows = min(RM, m - row0), cols = min(NR, n - col0);
    for (int r = 0; r < rows; ++r) {
        for (int j = 0; j < cols; ++j) {
            __global S *ce = cp + r * c_row + j * c_col;
            const long bi = bias_off + ((flags & EP_BIAS_ROW) ? row0 + r : col0 + j) * bias_stride;
            STORE(gemm_finish(tile[r * NR + j], alpha, beta, ce, flags, bias, bi), ce, 0);
        }
    }
}

__kernel void gemm_direct(const int m, const int n, const int k,
                          __global const S *restrict a, const long a_off, const long a_batch,
                          const long a_row, const long a_col,
                          __global const S *restrict b, const long b_off, const long b_batch,
                          const long b_row, const long b_col,
                          __global S *restrict c, const long c_off, const long c_batch,
                          const long c_row, const long c_col,
                          const REAL alpha, const REAL beta, const int flags,
                          __global const S *restrict bias, const long bias_off,
                          const long bias_stride) {
    const int col0 = get_global_id(0) * DN;
    const int row0 = get_global_id(1) * DM;
    const long batch = get_global_id(2);
    if (row0 >= m || col0 >= n) return;
    __global const S *ab = a + a_off + batch * a_batch;
    __global const S *bb = b + b_off + batch * b_batch;
    long a_rows[DM];
    long b_cols[DN];
#pragma unroll
    for (int i = 0; i < DM; ++i) a_rows[i] = min(row0 + i, m - 1) * a_row;
#pragma unroll
    for (int j = 0; j < DN; ++j) b_cols[j] = min(col0 + j, n - 1) * b_col;
    REAL acc[DM][DN];
#pragma unroll
    for (int i = 0; i < DM; ++i)
#pragma unroll
        for (int j = 0; j < DN; ++j) acc[i][j] = (REAL)0;
    for (int kk = 0; kk < k; ++kk) {
        REAL av[DM];
        REAL bv[DN];
#pragma unroll
        for (int i = 0; i < DM; ++i) av[i] = LOAD(ab, a_rows[i]);
#pragma unroll
        for (int j = 0; j < DN; ++j) bv[j] = LOAD(bb, b_cols[j]);
#pragma unroll
        for (int i = 0; i < DM; ++i)
#pragma unroll
            for (int j = 0; j < DN; ++j) acc[i][j] = MADD(av[i], bv[j], acc[i][j]);
        ab += a_col;
        bb += b_row;
    }
    __global S *cb = c + c_off + batch * c_batch;
#pragma unroll
    for (int i = 0; i < DM; ++i) {
        const int row = row0 + i;
#pragma unroll
        for (int j = 0; j < DN; ++j) {
            const int col = col0 + j;
            if (row < m && col < n) {
                __global S *ce = cb + row * c_row + col * c_col;
                const long bi = bias_off + ((flags & EP_BIAS_ROW) ? row : col) * bias_stride;
                STORE(gemm_finish(acc[i][j], alpha, beta, ce, flags, bias, bi), ce, 0);
            }
        }
    }
}

#define LN (TN / WN)  // work-items along N (local dim 0)
#define LM (TM / WM)  // work-items along M (local dim 1)
#define LT (LN * LM)
#if (TM * TK) % LT != 0 || (TN * TK) % LT != 0
#error "gemm_tiled: TM*TK and TN*TK must be multiples of the work-group size"
#endif

// Barriers sit in a loop whose trip count is the same for every work-item, and no work-item
// returns early: PoCL's work-item loops (and OpenCL 1.2) require it.
__kernel __attribute__((reqd_work_group_size(LN, LM, 1)))
void gemm_tiled(const int m, const int n, const int k,
                __global const S *restrict a, const long a_off, const long a_batch,
                const long a_row, const long a_col,
                __global const S *restrict b, const long b_off, const long b_batch,
                const long b_row, const long b_col,
                __global S *restrict c, const long c_off, const long c_batch,
                const long c_row, const long c_col,
                const REAL alpha, const REAL beta, const int flags,
                __global const S *restrict bias, const long bias_off,
                const long bias_stride) {
    __local REAL as[TK][TM + 1];
    __local REAL bs[TK][TN + 1];
    const int lx = get_local_id(0);
    const int ly = get_local_id(1);
    const int tid = ly * LN + lx;
    const int col0 = get_group_id(0) * TN;
    const int row0 = get_group_id(1) * TM;
    const long batch = get_global_id(2);
    __global const S *ab = a + a_off + batch * a_batch;
    __global const S *bb = b + b_off + batch * b_batch;
    // Coalesced tile loads: consecutive work-items walk the operand's contiguous axis.
    const bool a_k_fast = a_col == 1;
    const bool b_n_fast = b_col == 1 || b_row != 1;

    REAL acc[WM][WN];
#pragma unroll
    for (int i = 0; i < WM; ++i)
#pragma unroll
        for (int j = 0; j < WN; ++j) acc[i][j] = (REAL)0;

    for (int kt = 0; kt < k; kt += TK) {
#pragma unroll
        for (int l = 0; l < (TM * TK) / LT; ++l) {
            const int e = tid + l * LT;
            const int r = a_k_fast ? e / TK : e % TM;
            const int kk = a_k_fast ? e % TK : e / TM;
            const int row = row0 + r;
            const int kg = kt + kk;
            as[kk][r] = (row < m && kg < k) ? LOAD(ab, row * a_row + kg * a_col) : (REAL)0;
        }
#pragma unroll
        for (int l = 0; l < (TN * TK) / LT; ++l) {
            const int e = tid + l * LT;
            const int cc = b_n_fast ? e % TN : e / TK;
            const int kk = b_n_fast ? e / TN : e % TK;
            const int col = col0 + cc;
            const int kg = kt + kk;
            bs[kk][cc] = (col < n && kg < k) ? LOAD(bb, kg * b_row + col * b_col) : (REAL)0;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
#pragma unroll 4
        for (int kk = 0; kk < TK; ++kk) {
            REAL av[WM];
            REAL bv[WN];
#pragma unroll
            for (int i = 0; i < WM; ++i) av[i] = as[kk][ly + i * LM];
#pragma unroll
            for (int j = 0; j < WN; ++j) bv[j] = bs[kk][lx + j * LN];
#pragma unroll
            for (int i = 0; i < WM; ++i)
#pragma unroll
                for (int j = 0; j < WN; ++j) acc[i][j] = MADD(av[i], bv[j], acc[i][j]);
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }

    __global S *cb = c + c_off + batch * c_batch;
#pragma unroll
    for (int i = 0; i < WM; ++i) {
        const int row = row0 + ly + i * LM;
#pragma unroll
        for (int j = 0; j < WN; ++j) {
            const int col = col0 + lx + j * LN;
            if (row < m && col < n) {
                __global S *ce = cb + row * c_row + col * c_col;
                const long bi = bias_off + ((flags & EP_BIAS_ROW) ? row : col) * bias_stride;
                STORE(gemm_finish(acc[i][j], alpha, beta, ce, flags, bias, bi), ce, 0);
            }
        }
    }
}
#endif  // !GEMM_CONV

#if GEMM_CONV
// Implicit-GEMM convolution (CPU): the GEMM of gemm_packed with the column matrix never
// materialised. Built with -DGEMM_CONV=1 (a program of its own; float32/float64 only).
//   conv_pad       zero-padded copy of NCHW planes: out[plane][i][j] = x[plane][i-PH][j-PW]
//   conv_implicit  out[img][row][pix] = sum_k A[row][k] * X[img][pix + B tap k] (+ bias[row]),
//                  then ReLU. Output pixels are cut into segments of VW consecutive pixels of
//                  one output row (rows padded to a multiple of VW; lanes past the row are not
//                  stored); a work-item computes RM rows x NV segments. The tap table holds
//                  each k's offset into A's rows ([0, k)) and into a padded image ([k, 2k)), so
//                  the forward (k = c, kh, kw) and the input gradient (k = o, kh, kw over the
//                  padded output gradient, flipped taps, A = W read across its first axis)
//                  are the same kernel. Stride 2 loads 2*VW values and keeps the even lanes.

__kernel void conv_pad(const int h, const int w, const int hp, const int wp, const int ph,
                       const int pw, const long planes, __global const REAL *restrict x,
                       const long x_off, __global REAL *restrict out) {
    const int i = (int)get_global_id(0);  // one padded row per work-item
    const long plane = get_global_id(1);
    if (i >= hp || plane >= planes) return;
    __global REAL *dst = out + (plane * hp + i) * wp;
    const int si = i - ph;
    const int j0 = (si < 0 || si >= h) ? wp : min(pw, wp);  // zeros before the row's values
    const int j1 = (si < 0 || si >= h) ? wp : min(pw + w, wp);
    for (int j = 0; j < j0; ++j) dst[j] = (REAL)0;
    if (j1 > j0) {
        __global const REAL *src = x + x_off + (plane * h + si) * w - pw;
        for (int j = j0; j < j1; ++j) dst[j] = src[j];
    }
    for (int j = j1; j < wp; ++j) dst[j] = (REAL)0;
}

#if VW == 16
#define HVW 8
#else
#define HVW 4
#endif
#define VLOADH CAT(vload, HVW)
#define VSTOREH CAT(vstore, HVW)

// A segment: VW output pixels of one row, or with `row2` (the distance between two input rows
// of consecutive output rows) the first HVW pixels of two consecutive rows. Stride 1 loads
// consecutive inputs, stride 2 every other one.
inline VREAL conv_load(__global const REAL *p, const int stride, const int row2) {
    if (row2 == 0) {
        if (stride == 1) return VLOAD(0, p);
        return (VREAL)(VLOAD(0, p).even, VLOAD(0, p + VW).even);
    }
    if (stride == 1) return (VREAL)(VLOADH(0, p), VLOADH(0, p + row2));
    return (VREAL)(VLOAD(0, p).even, VLOAD(0, p + row2).even);
}

__kernel void conv_implicit(const int m, const int k, __global const REAL *restrict a,
                            const long a_off, const long a_row, __global const REAL *restrict x,
                            const long x_off, const long x_img, __global const int *restrict taps,
                            __global REAL *restrict c, const long c_off, const long c_img,
                            const long c_row, const int out_h, const int out_w,
                            const int row_segs, const int seg_w, const int wp, const int stride,
                            const int flags, __global const REAL *restrict bias,
                            const long bias_off, const int m_panels, const int n_panels,
                            const int m_block) {
    const long img = get_global_id(1);
    const int2 block = block_order(m_block, n_panels);
    const int mp = block.x, np = block.y;
    if (mp >= m_panels) return;

    const int row0 = mp * RM;
    __global const REAL *ap = a + a_off;
    long a_rows[RM];
#pragma unroll
    for (int r = 0; r < RM; ++r) a_rows[r] = min(row0 + r, m - 1) * a_row;
    const int seg_rows = VW / seg_w;  // 1, or 2 with half segments
    const int row2 = seg_rows == 2 ? stride * wp : 0;
    const int segs = (out_h + seg_rows - 1) / seg_rows * row_segs;
    __global const REAL *xp = x + x_off + img * x_img;
    int base[NV];
#pragma unroll
    for (int v = 0; v < NV; ++v) {
        const int sg = min(np * NV + v, segs - 1);  // past the last segment: repeat it, unstored
        const int group = sg / row_segs;
        base[v] = (group * seg_rows * wp + (sg - group * row_segs) * seg_w) * stride;
    }
    VREAL acc[RM][NV];
    BLOCK_ZERO(acc)
    for (int kk = 0; kk < k; ++kk) {
        const int at = taps[kk];
        __global const REAL *bp = xp + taps[k + kk];
        VREAL bv[NV];
#pragma unroll
        for (int v = 0; v < NV; ++v) bv[v] = conv_load(bp + base[v], stride, row2);
        BLOCK_UPDATE(acc, bv, A_TAP_AT)
    }

    const int rows = min(RM, m - row0);
    __global REAL *cb = c + c_off + img * c_img + row0 * c_row;
    for (int v = 0; v < NV; ++v) {
        const int sg = np * NV + v;
        if (sg >= segs) break;
        const int group = sg / row_segs;
        const int orow = group * seg_rows;
        const int col0 = (sg - group * row_segs) * seg_w;
        const int cols = min(seg_w, out_w - col0);
        const bool whole = cols == seg_w && orow + seg_rows <= out_h;
        for (int r = 0; r < rows; ++r) {
            VREAL y = acc[r][v];
            if (flags & EP_BIAS) y += (VREAL)bias[bias_off + row0 + r];
            if (flags & EP_RELU) y = select(y, (VREAL)0, y < (VREAL)0);
            __global REAL *cp = cb + r * c_row + orow * out_w + col0;
            if (whole && seg_rows == 1) {
                VSTORE(y, 0, cp);
            } else if (whole) {
                VSTOREH(y.lo, 0, cp);
                VSTOREH(y.hi, 0, cp + out_w);
            } else {
                REAL lanes[VW];
                VSTORE(y, 0, lanes);
                for (int j = 0; j < VW; ++j) {
                    const int dr = j / seg_w, dc = j - dr * seg_w;
                    if (dc < cols && orow + dr < out_h) cp[dr * out_w + dc] = lanes[j];
                }
            }
        }
    }
}

// Output gradient of a convolution as conv_weight_grad's B: out[img][panel][p][j] =
// dy[img][panel*NR + j][p] for the out_ch channels, zero past them (p: output pixel).
__kernel void conv_pack_dy(const int out_ch, const int pixels, const int panels,
                           __global const REAL *restrict dy, const long dy_off,
                           __global REAL *restrict out) {
    const int p = (int)get_global_id(0);
    const long plane = get_global_id(1);  // img * panels + panel
    if (p >= pixels) return;
    const long img = plane / panels;
    const int ch0 = (int)(plane - img * panels) * NR;
    __global const REAL *src = dy + dy_off + (img * out_ch + ch0) * pixels + p;
    __global REAL *dst = out + (plane * pixels + p) * NR;
    const int chs = min(NR, out_ch - ch0);
    for (int j = 0; j < chs; ++j) dst[j] = src[(long)j * pixels];
    for (int j = chs; j < NR; ++j) dst[j] = (REAL)0;
}

// Weight gradient: out[slice][tap][ch] = sum over the slice's images and the output pixels
// (oh, ow) of X[img][tap offset + (oh*wp + ow)*stride] * dy[img][ch][oh][ow], with X the padded
// images of conv_implicit's forward and dy packed by conv_pack_dy. RM taps x NR channels per
// work-item; a slice of images per dimension 1, so the host sums the slices (if more than one).
__kernel void conv_weight_grad(const int m, const int n, const int out_h, const int out_w,
                               __global const REAL *restrict x, const long x_off,
                               const long x_img, const int wp, const int stride,
                               __global const int *restrict taps, const int taps_off,
                               __global const REAL *restrict b, const int panels,
                               const int images, const int per_slice,
                               __global REAL *restrict c, const long c_off, const long c_slice,
                               const long c_row, const long c_col, const int m_panels) {
    const int gid = get_global_id(0);
    const int slice = get_global_id(1);
    const int np = gid / m_panels;
    const int mp = gid - np * m_panels;
    if (np >= panels) return;
    const int row0 = mp * RM;
    long a_rows[RM];
#pragma unroll
    for (int r = 0; r < RM; ++r) a_rows[r] = taps[taps_off + min(row0 + r, m - 1)];
    VREAL acc[RM][NV];
    BLOCK_ZERO(acc)
    const int pixels = out_h * out_w;
    const int img1 = min(images, (slice + 1) * per_slice);
    for (int img = slice * per_slice; img < img1; ++img) {
        __global const REAL *bp = b + ((long)img * panels + np) * pixels * NR;
        for (int oh = 0; oh < out_h; ++oh) {
            __global const REAL *ap = x + x_off + img * x_img + (long)oh * stride * wp;
            for (int ow = 0; ow < out_w; ++ow) {
                VREAL bv[NV];
#pragma unroll
                for (int v = 0; v < NV; ++v) bv[v] = VLOAD(v, bp);
                BLOCK_UPDATE(acc, bv, A_ROW_AT)
                ap += stride;
                bp += NR;
            }
        }
    }
    REAL tile[RM * NR];
    BLOCK_TO_TILE(acc, tile)
    const int rows = min(RM, m - row0), cols = min(NR, n - np * NR);
    __global REAL *cp = c + c_off + slice * c_slice + row0 * c_row + np * NR * c_col;
    for (int r = 0; r < rows; ++r)
        for (int j = 0; j < cols; ++j) cp[r * c_row + j * c_col] = tile[r * NR + j];
}
#endif  // GEMM_CONV
