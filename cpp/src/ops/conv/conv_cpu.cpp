// Optimized kernels. Three routes:
//  - generic: per image and group, im2col then one GEMM (y = w * col, bias in the GEMM
//    epilogue); backward dcol = w^T * dy then col2im, and dw += dy * col^T;
//  - 1x1, stride 1, no pads: x already is the col matrix, the GEMM reads it directly;
//  - depthwise (one input channel per group): direct loops over the valid span of each
//    tap, no lowering (a GEMM with K = KH*KW would be all overhead).
// Threads go over images and groups when there are enough of them; otherwise the loop is
// serial and the GEMM, im2col and col2im thread inside (parallel_for never nests).
#include <algorithm>
#include <cstring>
#include <mutex>
#include <vector>

#include "cpu/gemm.h"
#include "cpu/im2col.h"
#include "cpu/workspace.h"
#include "engine/threads.h"
#include "ops/conv/conv.h"

namespace engine {

namespace {

// Sizes of one group's GEMMs: w_g [OCg, K] * col [K, P] = y_g [OCg, P].
struct GroupGemm {
  int64_t Cg, OCg, K, P, HW;
  bool direct;  // 1x1, stride 1, unpadded: col is x itself
  explicit GroupGemm(const ConvShape& s) {
    const Window2d& g = s.win;
    Cg = s.C / s.G;
    OCg = s.OC / s.G;
    K = Cg * g.KH * g.KW;
    P = g.OH * g.OW;
    HW = g.H * g.W;
    direct = g.KH == 1 && g.KW == 1 && g.SH == 1 && g.SW == 1 && g.PT == 0 && g.PL == 0 &&
             g.PB == 0 && g.PR == 0;
  }
};

// Grain for a loop over `items` independent pieces of work: thread over them when there
// are enough to keep every thread busy; else run them serially so the work inside threads.
int64_t outer_grain(int64_t items) {
  return items >= get_num_threads() ? 1 : std::max<int64_t>(items, 1);
}

// Scratch for one im2col matrix (one image, one group: bounded by a single image) and for
// a thread's partial weight gradient; per thread, reused by every later call.
thread_local Workspace t_col;
thread_local Workspace t_partial_dw;

float* col_scratch(const GroupGemm& l) { return l.direct ? nullptr : t_col.get(l.K * l.P); }

void forward_gemm(const ConvShape& s, const float* x, const float* w, const float* b, float* y) {
  const GroupGemm l(s);
  const int64_t items = s.N * s.G;
  parallel_for(items, outer_grain(items), [&](int64_t begin, int64_t end) {
    float* col = col_scratch(l);
    for (int64_t item = begin; item < end; ++item) {
      const int64_t n = item / s.G, g = item % s.G;
      const float* xg = x + (n * s.C + g * l.Cg) * l.HW;
      if (!l.direct) im2col(s.win, l.Cg, xg, col);
      GemmArgs a = gemm_args(l.OCg, l.P, l.K, w + g * l.OCg * l.K, l.K, l.direct ? xg : col, l.P,
                             y + (n * s.OC + g * l.OCg) * l.P, l.P);
      if (b) a.epilogue.row_bias = b + g * l.OCg;
      a.epilogue.relu = s.relu;
      gemm_cpu(a);
    }
  });
}

void backward_data_gemm(const ConvShape& s, const float* dy, const float* w, float* dx) {
  const GroupGemm l(s);
  const int64_t items = s.N * s.G;
  parallel_for(items, outer_grain(items), [&](int64_t begin, int64_t end) {
    float* dcol = col_scratch(l);
    for (int64_t item = begin; item < end; ++item) {
      const int64_t n = item / s.G, g = item % s.G;
      float* dxg = dx + (n * s.C + g * l.Cg) * l.HW;
      // dcol [K, P] = w_g^T [K, OCg] * dy_g [OCg, P]
      GemmArgs a = gemm_args(l.K, l.P, l.OCg, w + g * l.OCg * l.K, l.K,
                             dy + (n * s.OC + g * l.OCg) * l.P, l.P, l.direct ? dxg : dcol, l.P);
      a.trans_a = true;
      gemm_cpu(a);
      if (!l.direct) {
        std::fill(dxg, dxg + l.Cg * l.HW, 0.0f);
        col2im(s.win, l.Cg, dcol, dxg);
      }
    }
  });
}

void backward_weight_gemm(const ConvShape& s, const float* dy, const float* x, float* dw) {
  const GroupGemm l(s);
  const int64_t items = s.N * s.G, w_size = s.OC * l.K;
  // Threading over images costs one private dw per thread; do it only while that is no
  // bigger than one image's col matrix, else let the (then large) GEMM thread inside.
  const int64_t grain = w_size <= l.K * l.P ? outer_grain(items) : items;
  std::mutex merge;
  parallel_for(items, grain, [&](int64_t begin, int64_t end) {
    // Chunks sum into a private dw, merged once at the end; a lone chunk adds in place.
    const bool alone = begin == 0 && end == items;
    float* acc = dw;
    if (!alone) {
      acc = t_partial_dw.get(w_size);
      std::fill(acc, acc + w_size, 0.0f);
    }
    float* col = col_scratch(l);
    for (int64_t item = begin; item < end; ++item) {
      const int64_t n = item / s.G, g = item % s.G;
      const float* xg = x + (n * s.C + g * l.Cg) * l.HW;
      if (!l.direct) im2col(s.win, l.Cg, xg, col);
      // dw_g [OCg, K] += dy_g [OCg, P] * col^T [P, K]
      GemmArgs a = gemm_args(l.OCg, l.K, l.P, dy + (n * s.OC + g * l.OCg) * l.P, l.P,
                             l.direct ? xg : col, l.P, acc + g * l.OCg * l.K, l.K);
      a.trans_b = true;
      a.beta = 1.0f;
      gemm_cpu(a);
    }
    if (!alone) {
      std::lock_guard<std::mutex> lock(merge);
      for (int64_t i = 0; i < w_size; ++i) dw[i] += acc[i];
    }
  });
}

// ---- depthwise: C == G, each output channel o reads input channel o / M -------------------

// Calls fn(tap, oh, ih, cols) for every kernel tap (kh*KW + kw) and output row oh whose
// input row ih lies inside the image; cols is the tap's valid span along the row.
template <class Fn>
void for_each_tap_row(const Window2d& g, Fn&& fn) {
  for (int64_t kh = 0; kh < g.KH; ++kh) {
    const TapSpan rows = tap_span(g.OH, g.H, g.SH, g.PT, kh, g.DH);
    for (int64_t kw = 0; kw < g.KW; ++kw) {
      const TapSpan cols = tap_span(g.OW, g.W, g.SW, g.PL, kw, g.DW);
      for (int64_t oh = rows.lo; oh < rows.hi; ++oh)
        fn(kh * g.KW + kw, oh, rows.in0 + (oh - rows.lo) * g.SH, cols);
    }
  }
}

// The three row primitives of a 1-channel window: out[i] += a * in[i*stride], its
// transpose, and the dot product. The stride-1 branches let the compiler vectorize.
inline void gather_axpy(int64_t n, float a, const float* in, int64_t stride, float* out) {
  if (stride == 1) {
    for (int64_t i = 0; i < n; ++i) out[i] += a * in[i];
  } else {
    for (int64_t i = 0; i < n; ++i) out[i] += a * in[i * stride];
  }
}
inline void scatter_axpy(int64_t n, float a, const float* in, float* out, int64_t stride) {
  if (stride == 1) {
    for (int64_t i = 0; i < n; ++i) out[i] += a * in[i];
  } else {
    for (int64_t i = 0; i < n; ++i) out[i * stride] += a * in[i];
  }
}
inline float gather_dot(int64_t n, const float* a, const float* in, int64_t stride) {
  float sum = 0.0f;
  if (stride == 1) {
    for (int64_t i = 0; i < n; ++i) sum += a[i] * in[i];
  } else {
    for (int64_t i = 0; i < n; ++i) sum += a[i] * in[i * stride];
  }
  return sum;
}

void forward_depthwise(const ConvShape& s, const float* x, const float* w, const float* b,
                       float* y) {
  const Window2d& g = s.win;
  const int64_t M = s.OC / s.C, P = g.OH * g.OW, T = g.KH * g.KW;
  parallel_for(s.N * s.OC, 1, [&](int64_t begin, int64_t end) {
    for (int64_t plane = begin; plane < end; ++plane) {
      const int64_t n = plane / s.OC, o = plane % s.OC;
      const float* xp = x + (n * s.C + o / M) * g.H * g.W;
      const float* wp = w + o * T;
      float* yp = y + plane * P;
      std::fill(yp, yp + P, b ? b[o] : 0.0f);
      for_each_tap_row(g, [&](int64_t t, int64_t oh, int64_t ih, const TapSpan& cs) {
        gather_axpy(cs.hi - cs.lo, wp[t], xp + ih * g.W + cs.in0, g.SW, yp + oh * g.OW + cs.lo);
      });
      if (s.relu)
        for (int64_t p = 0; p < P; ++p) yp[p] = yp[p] < 0.0f ? 0.0f : yp[p];  // NaN stays
    }
  });
}

void backward_data_depthwise(const ConvShape& s, const float* dy, const float* w, float* dx) {
  const Window2d& g = s.win;
  const int64_t M = s.OC / s.C, P = g.OH * g.OW, T = g.KH * g.KW, HW = g.H * g.W;
  // One task per input plane: it gathers from its M output channels, so no two tasks
  // write the same dx element.
  parallel_for(s.N * s.C, 1, [&](int64_t begin, int64_t end) {
    for (int64_t plane = begin; plane < end; ++plane) {
      const int64_t n = plane / s.C, c = plane % s.C;
      float* dxp = dx + plane * HW;
      std::fill(dxp, dxp + HW, 0.0f);
      for (int64_t o = c * M; o < (c + 1) * M; ++o) {
        const float* dyp = dy + (n * s.OC + o) * P;
        const float* wp = w + o * T;
        for_each_tap_row(g, [&](int64_t t, int64_t oh, int64_t ih, const TapSpan& cs) {
          scatter_axpy(cs.hi - cs.lo, wp[t], dyp + oh * g.OW + cs.lo, dxp + ih * g.W + cs.in0,
                       g.SW);
        });
      }
    }
  });
}

void backward_weight_depthwise(const ConvShape& s, const float* dy, const float* x, float* dw) {
  const Window2d& g = s.win;
  const int64_t M = s.OC / s.C, P = g.OH * g.OW, T = g.KH * g.KW, HW = g.H * g.W;
  // One task per output channel: it owns its T weights and sums over the batch.
  parallel_for(s.OC, 1, [&](int64_t begin, int64_t end) {
    std::vector<double> acc(static_cast<size_t>(T));
    for (int64_t o = begin; o < end; ++o) {
      std::fill(acc.begin(), acc.end(), 0.0);
      for (int64_t n = 0; n < s.N; ++n) {
        const float* dyp = dy + (n * s.OC + o) * P;
        const float* xp = x + (n * s.C + o / M) * HW;
        for_each_tap_row(g, [&](int64_t t, int64_t oh, int64_t ih, const TapSpan& cs) {
          acc[t] += gather_dot(cs.hi - cs.lo, dyp + oh * g.OW + cs.lo, xp + ih * g.W + cs.in0,
                               g.SW);
        });
      }
      for (int64_t t = 0; t < T; ++t) dw[o * T + t] = static_cast<float>(dw[o * T + t] + acc[t]);
    }
  });
}

void backward_bias(const ConvShape& s, const float* dy, float* db) {
  const int64_t P = s.win.OH * s.win.OW;
  parallel_for(s.OC, 1, [&](int64_t begin, int64_t end) {
    for (int64_t o = begin; o < end; ++o) {
      double sum = 0.0;
      for (int64_t n = 0; n < s.N; ++n) {
        const float* row = dy + (n * s.OC + o) * P;
        float part = 0.0f;
        for (int64_t p = 0; p < P; ++p) part += row[p];
        sum += part;
      }
      db[o] = static_cast<float>(db[o] + sum);
    }
  });
}

bool is_depthwise(const ConvShape& s) { return s.G > 1 && s.G == s.C; }

}  // namespace

void conv2d_forward_cpu(const ConvShape& s, const float* x, const float* w, const float* b,
                        float* y) {
  if (is_depthwise(s))
    forward_depthwise(s, x, w, b, y);
  else
    forward_gemm(s, x, w, b, y);
}

void conv2d_backward_cpu(const ConvShape& s, const float* dy, const float* x, const float* w,
                         float* dx, float* dw, float* db) {
  const bool depthwise = is_depthwise(s);
  if (dx) (depthwise ? backward_data_depthwise : backward_data_gemm)(s, dy, w, dx);
  if (dw) (depthwise ? backward_weight_depthwise : backward_weight_gemm)(s, dy, x, dw);
  if (db) backward_bias(s, dy, db);
}

}  // namespace engine
