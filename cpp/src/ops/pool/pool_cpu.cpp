// CPU kernels. The taps of every window that land inside the input are found once per
// output row and column (no bounds checks in the inner loops); threads take whole planes.
// The plane loops are written once; the reduction (max or average) is a template parameter.
#include <algorithm>
#include <limits>
#include <type_traits>
#include <vector>

#include "core/checked.h"
#include "engine/threads.h"
#include "ops/pool/pool.h"

namespace engine {

namespace {

// The taps of one window along one axis: `n` taps inside the input starting at input
// coordinate `first` (then every `dilation`), and `counted` taps for an average.
struct AxisTaps {
  int64_t first = 0, n = 0, counted = 0;
};

std::vector<AxisTaps> axis_taps(int64_t in, int64_t out, int64_t k, int64_t s, int64_t d,
                                int64_t pad_begin, int64_t pad_end, bool include_pad) {
  std::vector<AxisTaps> taps(static_cast<size_t>(out));
  for (int64_t o = 0; o < out; ++o) {
    const int64_t start = o * s - pad_begin;
    // Taps k0 <= j < k1 satisfy 0 <= start + j * d < in.
    const int64_t k0 = start >= 0 ? 0 : ceil_div(-start, d);
    const int64_t k1 = start < in ? std::min(k, (in - 1 - start) / d + 1) : 0;
    // Padded-input taps: start >= -pad_begin always holds, so only the end clips.
    const int64_t end = in + pad_end;
    const int64_t kp = start < end ? std::min(k, (end - 1 - start) / d + 1) : 0;
    AxisTaps& t = taps[static_cast<size_t>(o)];
    t.n = std::max<int64_t>(0, k1 - k0);
    t.first = t.n > 0 ? start + k0 * d : 0;  // k0 * d may overflow when no tap is inside
    t.counted = include_pad ? kp : t.n;
  }
  return taps;
}

// The window of one output: rows r.first + i * DH, columns c.first + j * step. `nan`: its
// plane holds a NaN, so the max must take the slower path that propagates it.
struct Window {
  const AxisTaps& r;
  const AxisTaps& c;
  int64_t DH, W;
  bool nan;
};

// One vectorized pass: NaN is rare, and knowing a plane has none keeps the max loops plain.
bool has_nan(const float* x, int64_t n) {
  int nan = 0;  // an int: GCC does not vectorize an OR over bool
  for (int64_t i = 0; i < n; ++i) nan |= x[i] != x[i];
  return nan != 0;
}

template <class Step>
struct MaxCpu {
  static constexpr bool kSeesNan = true;
  static float forward(const Window& win, Step step, const float* x) {
    if (win.r.n == 0 || win.c.n == 0) return std::numeric_limits<float>::lowest();
    return win.nan ? max_of<true>(win, step, x) : max_of<false>(win, step, x);
  }
  template <bool kNan>
  static float max_of(const Window& win, Step step, const float* x) {
    float best = -std::numeric_limits<float>::infinity();
    for (int64_t i = 0; i < win.r.n; ++i) {
      const float* row = x + (win.r.first + i * win.DH) * win.W + win.c.first;
      for (int64_t j = 0; j < win.c.n; ++j) {
        const float v = row[j * step];
        best = kNan ? (replaces_max(v, best) ? v : best) : std::max(best, v);
      }
    }
    return best;
  }
  // The first maximum in scan order takes the gradient. Branch-free updates: the
  // comparisons on real data are unpredictable.
  static void backward(const Window& win, Step step, const float* x, float dy, float* dx) {
    if (win.r.n == 0 || win.c.n == 0) return;
    int64_t arg = win.r.first * win.W + win.c.first;
    float best = x[arg];
    for (int64_t i = 0; i < win.r.n; ++i) {
      const int64_t base = (win.r.first + i * win.DH) * win.W + win.c.first;
      for (int64_t j = 0; j < win.c.n; ++j) {
        const float v = x[base + j * step];
        const bool better = win.nan ? replaces_max(v, best) : v > best;
        best = better ? v : best;
        arg = better ? base + j * step : arg;
      }
    }
    dx[arg] += dy;
  }
};

template <class Step>
struct AverageCpu {
  static constexpr bool kSeesNan = false;  // sums carry NaN by themselves
  static float forward(const Window& win, Step step, const float* x) {
    const int64_t count = win.r.counted * win.c.counted;
    if (count == 0) return 0.0f;
    float sum = 0.0f;
    for (int64_t i = 0; i < win.r.n; ++i) {
      const float* row = x + (win.r.first + i * win.DH) * win.W + win.c.first;
      for (int64_t j = 0; j < win.c.n; ++j) sum += row[j * step];
    }
    return sum / static_cast<float>(count);
  }
  static void backward(const Window& win, Step step, const float*, float dy, float* dx) {
    const int64_t count = win.r.counted * win.c.counted;
    if (count == 0) return;
    const float share = dy / static_cast<float>(count);
    for (int64_t i = 0; i < win.r.n; ++i) {
      float* row = dx + (win.r.first + i * win.DH) * win.W + win.c.first;
      for (int64_t j = 0; j < win.c.n; ++j) row[j * step] += share;
    }
  }
};

// Visits every window of every plane with Pool's forward (out = y) or backward (out = dx,
// zeroed first); threads split the planes. Column steps of 1 (no dilation) get their own
// instantiation so that the inner loops run over contiguous memory.
template <template <class> class Pool, bool kBackward>
void run_planes(const Window2d& g, bool include_pad, int64_t planes, const float* x,
                const float* dy, float* out) {
  const auto rows = axis_taps(g.H, g.OH, g.KH, g.SH, g.DH, g.PT, g.PB, include_pad);
  const auto cols = axis_taps(g.W, g.OW, g.KW, g.SW, g.DW, g.PL, g.PR, include_pad);
  const int64_t in_plane = g.H * g.W, out_plane = g.OH * g.OW;
  // Per plane; a window reads at most the whole input (kernels may be far larger).
  const int64_t work = std::max<int64_t>(1, out_plane * std::min(g.KH, g.H) * std::min(g.KW, g.W));
  const int64_t grain = std::max<int64_t>(1, (1 << 15) / work);
  auto run = [&](auto step) {
    using P = Pool<decltype(step)>;
    parallel_for(planes, grain, [&](int64_t begin, int64_t end) {
      for (int64_t p = begin; p < end; ++p) {
        const float* xp = x + p * in_plane;
        const bool nan = P::kSeesNan && has_nan(xp, in_plane);
        if (kBackward) std::fill(out + p * in_plane, out + (p + 1) * in_plane, 0.0f);
        for (int64_t oh = 0; oh < g.OH; ++oh) {
          for (int64_t ow = 0; ow < g.OW; ++ow) {
            const Window win{rows[static_cast<size_t>(oh)], cols[static_cast<size_t>(ow)], g.DH,
                             g.W, nan};
            const int64_t o = p * out_plane + oh * g.OW + ow;
            if constexpr (kBackward)
              P::backward(win, step, xp, dy[o], out + p * in_plane);
            else
              out[o] = P::forward(win, step, xp);
          }
        }
      }
    });
  };
  if (g.DW == 1)
    run(std::integral_constant<int64_t, 1>{});
  else
    run(g.DW);
}

// The CNN workhorse, 2x2 windows at stride 2 that all lie inside the input: no per-window
// bookkeeping. The max keeps MaxCpu's order (so results, NaN included, match), the average
// AverageCpu's order of summation.
bool is_plain_2x2(const Window2d& g) {
  return g.KH == 2 && g.KW == 2 && g.SH == 2 && g.SW == 2 && g.DH == 1 && g.DW == 1 &&
         g.PT == 0 && g.PL == 0 && g.PB == 0 && g.PR == 0 && 2 * g.OH <= g.H && 2 * g.OW <= g.W;
}

template <PoolKind kKind>
void pool_2x2(const Window2d& g, int64_t planes, const float* x, float* y) {
  const int64_t in_plane = g.H * g.W, out_plane = g.OH * g.OW;
  parallel_for(planes, std::max<int64_t>(1, (1 << 15) / std::max<int64_t>(1, out_plane * 4)),
               [&](int64_t begin, int64_t end) {
                 for (int64_t p = begin; p < end; ++p) {
                   for (int64_t oh = 0; oh < g.OH; ++oh) {
                     const float* r0 = x + p * in_plane + 2 * oh * g.W;
                     const float* r1 = r0 + g.W;
                     float* out = y + p * out_plane + oh * g.OW;
                     if constexpr (kKind == PoolKind::Average) {
                       for (int64_t ow = 0; ow < g.OW; ++ow)
                         out[ow] = (((r0[2 * ow] + r0[2 * ow + 1]) + r1[2 * ow]) + r1[2 * ow + 1]) *
                                   0.25f;
                       continue;
                     }
                     // A plain max, and beside it whether the row met a NaN (rare: the
                     // row is then redone so that NaN wins its windows).
                     int nan = 0;
                     for (int64_t ow = 0; ow < g.OW; ++ow) {
                       const float a = r0[2 * ow], b = r0[2 * ow + 1], c = r1[2 * ow],
                                   d = r1[2 * ow + 1];
                       out[ow] = std::max(std::max(a, b), std::max(c, d));
                       nan |= (a != a) | (b != b) | (c != c) | (d != d);
                     }
                     for (int64_t ow = 0; nan && ow < g.OW; ++ow)
                       for (float v : {r0[2 * ow], r0[2 * ow + 1], r1[2 * ow], r1[2 * ow + 1]})
                         if (v != v) out[ow] = v;
                   }
                 }
               });
}

}  // namespace

void pool2d_forward_cpu(PoolKind kind, const Window2d& g, bool count_include_pad,
                        int64_t planes, const float* x, float* y) {
  if (is_plain_2x2(g) && kind == PoolKind::Max)
    pool_2x2<PoolKind::Max>(g, planes, x, y);
  else if (is_plain_2x2(g))
    pool_2x2<PoolKind::Average>(g, planes, x, y);
  else if (kind == PoolKind::Max)
    run_planes<MaxCpu, false>(g, count_include_pad, planes, x, nullptr, y);
  else
    run_planes<AverageCpu, false>(g, count_include_pad, planes, x, nullptr, y);
}

void pool2d_backward_cpu(PoolKind kind, const Window2d& g, bool count_include_pad,
                         int64_t planes, const float* x, const float* dy, float* dx) {
  if (kind == PoolKind::Max)
    run_planes<MaxCpu, true>(g, count_include_pad, planes, x, dy, dx);
  else
    run_planes<AverageCpu, true>(g, count_include_pad, planes, x, dy, dx);
}

}  // namespace engine
