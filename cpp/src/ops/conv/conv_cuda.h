// The CUDA kernels of Conv, over a Grid (core/grid.h): DeviceGrid in the CUDA plugin
// (conv_cuda.cu), HostGrid for their emulation in the kernel table. The routes follow
// conv_cpu.cpp:
//  - generic: im2col of a chunk of images (as many as the scratch budget allows, one
//    thread per column element), then per group one batched GEMM over the chunk's images
//    (y = w * col, bias and the fused Relu in the GEMM epilogue). Backward: dcol = w^T dy
//    (batched GEMM) then col2im, one thread per input element gathering its taps (no
//    atomics); dw += dy col^T with the chunk's images side by side along the GEMM's K
//    (col laid [taps][images * pixels], dy regathered the same way), so that one GEMM sums
//    over the whole chunk;
//  - 1x1, stride 1, unpadded: x already is the col matrix, the GEMMs read it directly;
//  - depthwise (one input channel per group): direct kernels, one thread per output (or
//    input) element, and one block-wide sum per weight.
// db sums dy over images and pixels, one block per output channel (block_sums).
// 3-D convolutions take the generic and 1x1 routes (im2col and col2im index the depth axis
// too, which a 2-D window has as depth 1); the depthwise route is 2-D only.
// Weight and bias gradients accumulate, dx is overwritten, as the CPU kernels do.
#pragma once

#include <cstdint>
#include <type_traits>

#include "core/grid.h"
#include "ops/conv/conv.h"
#include "ops/gemm/gemm_cuda.h"

namespace engine {

// Sizes of the lowering: per group w_g [OCg, K] * col_g [K, P] = y_g [OCg, P].
struct ConvLowering {
  int64_t Cg, OCg, T, K, CK, P, HW;
  bool direct;  // 1x1, stride 1, unpadded: col is x itself
  explicit ConvLowering(const ConvShape& s) {
    const Window2d& g = s.win;
    Cg = s.C / s.G;
    OCg = s.OC / s.G;
    T = g.taps();
    K = Cg * T;
    CK = s.C * T;  // col rows of every group
    P = g.out_size();
    HW = g.in_size();
    direct = g.KH == 1 && g.KW == 1 && g.SH == 1 && g.SW == 1 && g.PT == 0 && g.PL == 0 &&
             g.PB == 0 && g.PR == 0 && g.KD == 1 && g.SD == 1 && g.PF == 0 && g.PK == 0;
  }
};

// Images per chunk so that the chunk's scratch (per_image floats each) stays within a
// budget, at least one. The emulation's budget is small, so that the op-case table's
// small convolutions run both single- and many-image chunks, and several chunks.
template <class Grid>
int64_t conv_chunk_images(int64_t N, int64_t per_image) {
  constexpr int64_t kBudget = std::is_same_v<Grid, HostGrid> ? int64_t(1) << 14   // 64 KiB
                                                             : int64_t(1) << 25;  // 128 MiB
  const int64_t fit = per_image > 0 ? kBudget / per_image : N;
  return fit < 1 ? 1 : (fit < N ? fit : N);
}

// A row-major GEMM with the given leading dimensions (alpha 1, beta 0, no epilogue).
inline GemmArgs conv_gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K,
                          const float* A, int64_t lda, const float* B, int64_t ldb, float* C,
                          int64_t ldc) {
  GemmArgs g = gemm_args(M, N, K, A, lda, B, ldb, C, ldc);
  g.trans_a = trans_a;
  g.trans_b = trans_b;
  return g;
}

// col for `images` images starting at x: element (n, ck, p), ck = c*T + (kd*KH + kh)*KW + kw,
// holds x[n, c, od*SD - PF + kd*DD, oh*SH - PT + kh*DH, ow*SW - PL + kw*DW] (0 in the pads),
// p = (od*OH + oh)*OW + ow (a 2-D window has depth 1). Laid out [n][ck][p] when
// image_major, else [ck][n][p] (each tap row holding the images side by side).
template <class Grid>
void im2col_grid(const Window2d win, int64_t C, int64_t images, const float* x, float* col,
                 bool image_major) {
  const int64_t T = win.taps(), CK = C * T, P = win.out_size(), KHW = win.KH * win.KW;
  const int64_t OHW = win.OH * win.OW;
  for_each_index<Grid>(images * CK * P, [=] ENGINE_HD(int64_t e) {
    const int64_t p = e % P, rest = e / P;
    const int64_t n = image_major ? rest / CK : rest % images;
    const int64_t ck = image_major ? rest % CK : rest / images;
    const int64_t c = ck / T, kd = ck % T / KHW, kh = ck % KHW / win.KW, kw = ck % win.KW;
    const int64_t id = p / OHW * win.SD - win.PF + kd * win.DD;
    const int64_t ih = p % OHW / win.OW * win.SH - win.PT + kh * win.DH;
    const int64_t iw = p % win.OW * win.SW - win.PL + kw * win.DW;
    const bool inside = id >= 0 && id < win.D && ih >= 0 && ih < win.H && iw >= 0 && iw < win.W;
    col[e] = inside ? x[(((n * C + c) * win.D + id) * win.H + ih) * win.W + iw] : 0.0f;
  });
}

// dx[n, c, id, ih, iw] = the sum of dcol[n][ck][p] over the taps (kd, kh, kw) and outputs p
// whose window reads that pixel: one thread per input element gathers them (no two threads
// write the same element). dcol is laid out [n][ck][p].
template <class Grid>
void col2im_grid(const Window2d win, int64_t C, int64_t images, const float* dcol, float* dx) {
  const int64_t T = win.taps(), P = win.out_size(), HW = win.H * win.W, DHW = win.in_size();
  for_each_index<Grid>(images * C * DHW, [=] ENGINE_HD(int64_t e) {
    const int64_t iw = e % win.W, ih = e / win.W % win.H, id = e % DHW / HW;
    const float* taps = dcol + e / DHW * T * P;  // row ck = c*T of image n (e / DHW = n*C + c)
    float acc = 0.0f;
    for (int64_t kd = 0; kd < win.KD; ++kd) {
      const int64_t td = id + win.PF - kd * win.DD;  // od * SD
      if (td < 0 || td % win.SD != 0 || td / win.SD >= win.OD) continue;
      for (int64_t kh = 0; kh < win.KH; ++kh) {
        const int64_t th = ih + win.PT - kh * win.DH;  // oh * SH
        if (th < 0 || th % win.SH != 0 || th / win.SH >= win.OH) continue;
        for (int64_t kw = 0; kw < win.KW; ++kw) {
          const int64_t tw = iw + win.PL - kw * win.DW;
          if (tw < 0 || tw % win.SW != 0 || tw / win.SW >= win.OW) continue;
          acc += taps[((kd * win.KH + kh) * win.KW + kw) * P +
                      (td / win.SD * win.OH + th / win.SH) * win.OW + tw / win.SW];
        }
      }
    }
    dx[e] = acc;
  });
}

// dyt[o][n][p] = dy[n][o][p] for `images` images: dy with the images side by side per channel.
template <class Grid>
void conv_gather_channels_grid(int64_t OC, int64_t images, int64_t P, const float* dy,
                               float* dyt) {
  for_each_index<Grid>(OC * images * P, [=] ENGINE_HD(int64_t e) {
    const int64_t p = e % P, n = e / P % images, o = e / (P * images);
    dyt[e] = dy[(n * OC + o) * P + p];
  });
}

// The terms of db[o]: dy[n, o, p] for r = n*P + p.
struct ConvBiasTerm {
  const float* dy;
  int64_t OC, P;
  ENGINE_HD float operator()(int64_t o, int64_t r) const {
    return dy[(r / P * OC + o) * P + r % P];
  }
};

// ---- depthwise: C == G > 1, output channel o reads input channel o / M -----------------

template <class Grid>
void conv_forward_depthwise_grid(const ConvShape& s, const float* x, const float* w,
                                 const float* b, float* y) {
  const Window2d win = s.win;
  const int64_t C = s.C, OC = s.OC, M = s.OC / s.C, P = win.OH * win.OW, T = win.KH * win.KW;
  const bool relu = s.relu;
  for_each_index<Grid>(s.N * OC * P, [=] ENGINE_HD(int64_t e) {
    const int64_t p = e % P, no = e / P, o = no % OC, n = no / OC;
    const float* xp = x + (n * C + o / M) * win.H * win.W;
    const float* wp = w + o * T;
    const int64_t oh = p / win.OW, ow = p % win.OW;
    float acc = b ? b[o] : 0.0f;
    for (int64_t kh = 0; kh < win.KH; ++kh) {
      const int64_t ih = oh * win.SH - win.PT + kh * win.DH;
      if (ih < 0 || ih >= win.H) continue;
      for (int64_t kw = 0; kw < win.KW; ++kw) {
        const int64_t iw = ow * win.SW - win.PL + kw * win.DW;
        if (iw >= 0 && iw < win.W) acc += wp[kh * win.KW + kw] * xp[ih * win.W + iw];
      }
    }
    y[e] = relu && acc < 0.0f ? 0.0f : acc;  // NaN stays
  });
}

template <class Grid>
void conv_backward_data_depthwise_grid(const ConvShape& s, const float* dy, const float* w,
                                       float* dx) {
  const Window2d win = s.win;
  const int64_t C = s.C, OC = s.OC, M = s.OC / s.C, P = win.OH * win.OW, T = win.KH * win.KW;
  const int64_t HW = win.H * win.W;
  for_each_index<Grid>(s.N * C * HW, [=] ENGINE_HD(int64_t e) {
    const int64_t iw = e % win.W, ih = e / win.W % win.H, c = e / HW % C, n = e / (HW * C);
    float acc = 0.0f;
    for (int64_t o = c * M; o < (c + 1) * M; ++o) {
      const float* dyp = dy + (n * OC + o) * P;
      for (int64_t kh = 0; kh < win.KH; ++kh) {
        const int64_t th = ih + win.PT - kh * win.DH;
        if (th < 0 || th % win.SH != 0 || th / win.SH >= win.OH) continue;
        for (int64_t kw = 0; kw < win.KW; ++kw) {
          const int64_t tw = iw + win.PL - kw * win.DW;
          if (tw < 0 || tw % win.SW != 0 || tw / win.SW >= win.OW) continue;
          acc += w[o * T + kh * win.KW + kw] * dyp[th / win.SH * win.OW + tw / win.SW];
        }
      }
    }
    dx[e] = acc;
  });
}

// The terms of dw[o, kh, kw] (output index ot = o*T + kh*KW + kw): dy[n, o, p] times the
// input pixel that tap reads for output p, r = n*P + p (0 where the tap reads padding).
struct DepthwiseWeightTerm {
  const float* dy;
  const float* x;
  Window2d win;
  int64_t C, OC, M;
  ENGINE_HD float operator()(int64_t ot, int64_t r) const {
    const int64_t T = win.KH * win.KW, P = win.OH * win.OW;
    const int64_t o = ot / T, kh = ot % T / win.KW, kw = ot % win.KW;
    const int64_t n = r / P, p = r % P;
    const int64_t ih = p / win.OW * win.SH - win.PT + kh * win.DH;
    const int64_t iw = p % win.OW * win.SW - win.PL + kw * win.DW;
    if (ih < 0 || ih >= win.H || iw < 0 || iw >= win.W) return 0.0f;
    return dy[(n * OC + o) * P + p] * x[((n * C + o / M) * win.H + ih) * win.W + iw];
  }
};

inline bool conv_is_depthwise(const ConvShape& s) {
  return s.G > 1 && s.G == s.C && s.win.planar();
}

// ---- the kernels ------------------------------------------------------------------------

template <class Grid>
void conv_forward_grid(const ConvShape& s, const float* x, const float* w, const float* b,
                       float* y) {
  if (conv_is_depthwise(s)) return conv_forward_depthwise_grid<Grid>(s, x, w, b, y);
  const ConvLowering l(s);
  if (s.N <= 0 || l.P <= 0) return;
  // Per group: y_g[n] [OCg, P] = w_g [OCg, K] * col_g[n] [K, P], batched over images.
  auto group_gemms = [&](const float* col, int64_t col_image_stride, int64_t group_stride,
                         int64_t n0, int64_t images) {
    for (int64_t grp = 0; grp < s.G; ++grp) {
      GemmArgs g = conv_gemm(false, false, l.OCg, l.P, l.K, w + grp * l.OCg * l.K, l.K,
                             col + grp * group_stride, l.P, y + (n0 * s.OC + grp * l.OCg) * l.P,
                             l.P);
      g.epilogue.row_bias = b ? b + grp * l.OCg : nullptr;
      g.epilogue.relu = s.relu;
      gemm_batched_grid<Grid>(g, GemmBatch{images, 0, col_image_stride, s.OC * l.P});
    }
  };
  if (l.direct) {
    group_gemms(x, s.C * l.HW, l.Cg * l.HW, 0, s.N);
    return;
  }
  const int64_t chunk = conv_chunk_images<Grid>(s.N, l.CK * l.P);
  float* col = static_cast<float*>(Grid::scratch(sizeof(float) * chunk * l.CK * l.P));
  for (int64_t n0 = 0; n0 < s.N; n0 += chunk) {
    const int64_t images = chunk < s.N - n0 ? chunk : s.N - n0;
    im2col_grid<Grid>(s.win, s.C, images, x + n0 * s.C * l.HW, col, true);
    group_gemms(col, l.CK * l.P, l.K * l.P, n0, images);
  }
}

template <class Grid>
void conv_backward_data_grid(const ConvShape& s, const float* dy, const float* w, float* dx) {
  if (conv_is_depthwise(s)) return conv_backward_data_depthwise_grid<Grid>(s, dy, w, dx);
  const ConvLowering l(s);
  if (s.N <= 0) return;
  // Per group: dcol_g[n] [K, P] = w_g^T [K, OCg] * dy_g[n] [OCg, P], batched over images.
  auto group_gemms = [&](float* dcol, int64_t dcol_image_stride, int64_t group_stride,
                         int64_t n0, int64_t images) {
    for (int64_t grp = 0; grp < s.G; ++grp) {
      const GemmArgs g = conv_gemm(true, false, l.K, l.P, l.OCg, w + grp * l.OCg * l.K, l.K,
                                   dy + (n0 * s.OC + grp * l.OCg) * l.P, l.P,
                                   dcol + grp * group_stride, l.P);
      gemm_batched_grid<Grid>(g, GemmBatch{images, 0, s.OC * l.P, dcol_image_stride});
    }
  };
  if (l.direct) {
    group_gemms(dx, s.C * l.HW, l.Cg * l.HW, 0, s.N);
    return;
  }
  const int64_t chunk = conv_chunk_images<Grid>(s.N, l.CK * l.P);
  float* dcol = static_cast<float*>(Grid::scratch(sizeof(float) * chunk * l.CK * l.P));
  for (int64_t n0 = 0; n0 < s.N; n0 += chunk) {
    const int64_t images = chunk < s.N - n0 ? chunk : s.N - n0;
    group_gemms(dcol, l.CK * l.P, l.K * l.P, n0, images);
    col2im_grid<Grid>(s.win, s.C, images, dcol, dx + n0 * s.C * l.HW);
  }
}

template <class Grid>
void conv_backward_weight_grid(const ConvShape& s, const float* dy, const float* x, float* dw) {
  if (conv_is_depthwise(s)) {
    const DepthwiseWeightTerm term{dy, x, s.win, s.C, s.OC, s.OC / s.C};
    block_sums<Grid>(s.OC * s.win.KH * s.win.KW, s.N * s.win.OH * s.win.OW, 1.0f, true, dw,
                     term);
    return;
  }
  const ConvLowering l(s);
  if (s.N <= 0 || l.P <= 0) return;
  // Per chunk: col [CK][images * P] and dy regathered as [OC][images * P], so that
  // dw_g [OCg, K] += dy_g [OCg, images*P] * col_g^T [images*P, K] sums over the chunk.
  const int64_t chunk = conv_chunk_images<Grid>(s.N, (l.CK + s.OC) * l.P);
  float* scratch = nullptr;
  for (int64_t n0 = 0; n0 < s.N; n0 += chunk) {
    const int64_t images = chunk < s.N - n0 ? chunk : s.N - n0, width = images * l.P;
    const float* col = x + n0 * s.C * l.HW;  // one 1x1 image is its own col
    const float* dyt = dy + n0 * s.OC * l.P;  // one image's dy already is [OC][P]
    if (!l.direct || images > 1) {
      if (!scratch)
        scratch = static_cast<float*>(Grid::scratch(sizeof(float) * chunk * (l.CK + s.OC) * l.P));
      im2col_grid<Grid>(s.win, s.C, images, col, scratch, false);
      col = scratch;
    }
    if (images > 1) {
      float* gathered = scratch + chunk * l.CK * l.P;
      conv_gather_channels_grid<Grid>(s.OC, images, l.P, dyt, gathered);
      dyt = gathered;
    }
    for (int64_t grp = 0; grp < s.G; ++grp) {
      GemmArgs g = conv_gemm(false, true, l.OCg, l.K, width, dyt + grp * l.OCg * width, width,
                             col + grp * l.K * width, width, dw + grp * l.OCg * l.K, l.K);
      g.beta = 1.0f;
      gemm_grid<Grid>(g);
    }
  }
}

template <class Grid>
void conv_backward_grid(const ConvShape& s, const float* dy, const float* x, const float* w,
                        float* dx, float* dw, float* db) {
  if (dx) conv_backward_data_grid<Grid>(s, dy, w, dx);
  if (dw) conv_backward_weight_grid<Grid>(s, dy, x, dw);
  if (db)
    block_sums<Grid>(s.OC, s.N * s.win.out_size(), 1.0f, true, db,
                     ConvBiasTerm{dy, s.OC, s.win.out_size()});
}

template <class Grid>
ConvKernels conv_cuda_kernels() {
  return {conv_forward_grid<Grid>, conv_backward_grid<Grid>};
}

}  // namespace engine
