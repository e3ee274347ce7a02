// The CUDA kernels of MaxPool, AveragePool and GlobalAveragePool over a Grid (core/grid.h):
// DeviceGrid in the CUDA plugin (pool_cuda.cu), HostGrid for their emulation in the kernel
// table.
//
// Forward: one thread per output visits its window in scan order as the CPU kernels do (the
// same maximum, ties, NaN and float sum order). Windows of more than kBlockTaps taps (a
// GlobalAveragePool over a large plane) get one block per output and a tree reduction
// instead, so that no thread walks a whole plane.
// Backward: one thread per INPUT element gathers the gradient of every window that covers
// it, in the CPU kernels' window order: deterministic (no atomics) and the same float sums.
// Max backward first stores every window's argmax in scratch memory, then gathers dy where
// the argmax is the element itself.
#pragma once

#include <cstdint>
#include <limits>

#include "core/grid.h"
#include "ops/pool/pool.h"

namespace engine {
namespace pool_cuda {

constexpr int64_t kBlockTaps = 256;  // larger windows get a block per output
constexpr int kBlockThreads = 256;

// a / b rounded up for a >= 0 and b > 0, without overflow (core/checked.h's ceil_div).
ENGINE_HD inline int64_t div_up(int64_t a, int64_t b) { return a / b + (a % b != 0); }

// The taps of one window along one axis, as pool_cpu.cpp's axis_taps: `n` taps inside the
// input from coordinate `first` on (every `dilation`), and `counted` taps for an average.
struct AxisTaps {
  int64_t first, n, counted;
};

ENGINE_HD inline AxisTaps axis_taps(int64_t o, int64_t in, int64_t k, int64_t s, int64_t d,
                                    int64_t pad_begin, int64_t pad_end, bool include_pad) {
  const int64_t start = o * s - pad_begin;
  const int64_t k0 = start >= 0 ? 0 : div_up(-start, d);
  int64_t k1 = start < in ? (in - 1 - start) / d + 1 : 0;
  if (k1 > k) k1 = k;
  // Padded-input taps: start >= -pad_begin always holds, so only the end clips.
  const int64_t end = in + pad_end;
  int64_t kp = start < end ? (end - 1 - start) / d + 1 : 0;
  if (kp > k) kp = k;
  AxisTaps t;
  t.n = k1 > k0 ? k1 - k0 : 0;
  t.first = t.n > 0 ? start + k0 * d : 0;  // k0 * d may overflow when no tap is inside
  t.counted = include_pad ? kp : t.n;
  return t;
}

// The window of output (oh, ow): rows r.first + i * DH, columns c.first + j * DW.
struct PoolWindow {
  AxisTaps r, c;
  ENGINE_HD int64_t taps() const { return r.n * c.n; }
  ENGINE_HD int64_t count() const { return r.counted * c.counted; }
  // The plane offset of tap (i, j); increasing in scan order (row by row, then column).
  ENGINE_HD int64_t at(const Window2d& g, int64_t i, int64_t j) const {
    return (r.first + i * g.DH) * g.W + c.first + j * g.DW;
  }
};

ENGINE_HD inline PoolWindow pool_window(const Window2d& g, bool include_pad, int64_t oh,
                                        int64_t ow) {
  return {axis_taps(oh, g.H, g.KH, g.SH, g.DH, g.PT, g.PB, include_pad),
          axis_taps(ow, g.W, g.KW, g.SW, g.DW, g.PL, g.PR, include_pad)};
}

// A running maximum and its plane offset (arg < 0: no tap yet). Taps taken in scan order
// keep the first maximum and the first NaN (replaces_max), as the CPU kernels do; merge()
// combines partial maxima over interleaved taps into the same winner.
struct MaxArg {
  float v;
  int64_t arg;
  ENGINE_HD void take(float x, int64_t at) {
    if (arg < 0 || replaces_max(x, v)) v = x, arg = at;
  }
  ENGINE_HD void merge(const MaxArg& o) {
    if (o.arg < 0) return;
    if (arg < 0) {
      *this = o;
      return;
    }
    const bool o_nan = o.v != o.v, nan = v != v;
    const bool wins = (o_nan || nan) ? o_nan && (!nan || o.arg < arg)
                                     : o.v > v || (o.v == v && o.arg < arg);
    if (wins) *this = o;
  }
};

// One thread per output o (planes x OH x OW). Max writes y (the lowest float for a window
// with no tap inside) and/or arg (its argmax, -1 then); either may be null.
template <bool kMax>
struct ForwardThread {
  Window2d g;
  bool include_pad;
  const float* x;
  float* y;
  int64_t* arg;
  ENGINE_HD void operator()(int64_t o) const {
    const int64_t out_plane = g.OH * g.OW;
    const int64_t p = o / out_plane, oh = o % out_plane / g.OW, ow = o % g.OW;
    const PoolWindow w = pool_window(g, include_pad, oh, ow);
    const float* xp = x + p * g.H * g.W;
    if constexpr (kMax) {
      MaxArg m{0.0f, -1};
      for (int64_t i = 0; i < w.r.n; ++i)
        for (int64_t j = 0; j < w.c.n; ++j) {
          const int64_t at = w.at(g, i, j);
          m.take(xp[at], at);
        }
      if (y) y[o] = m.arg < 0 ? std::numeric_limits<float>::lowest() : m.v;
      if (arg) arg[o] = m.arg;
    } else {
      float sum = 0.0f;
      for (int64_t i = 0; i < w.r.n; ++i)
        for (int64_t j = 0; j < w.c.n; ++j) sum += xp[w.at(g, i, j)];
      const int64_t count = w.count();
      y[o] = count > 0 ? sum / static_cast<float>(count) : 0.0f;
    }
  }
};

// The same results for large windows: one block per output (block-striding over outputs),
// threads taking every `threads`-th tap, then a tree reduction.
template <bool kMax>
struct ForwardBlock {
  struct Shared {
    float v[kBlockThreads];
    int64_t arg[kBlockThreads];
  };
  struct Local {};
  Window2d g;
  bool include_pad;
  int64_t outputs, blocks;
  const float* x;
  float* y;
  int64_t* arg;

  template <class Each>
  ENGINE_HD void run_block(int64_t block, int threads, Shared& sh, Each&& each) const {
    const int64_t out_plane = g.OH * g.OW;
    for (int64_t o = block; o < outputs; o += blocks) {
      const int64_t p = o / out_plane, oh = o % out_plane / g.OW, ow = o % g.OW;
      const float* xp = x + p * g.H * g.W;
      each([&](int t, Local&) {
        const PoolWindow w = pool_window(g, include_pad, oh, ow);
        MaxArg m{0.0f, -1};
        float sum = 0.0f;
        for (int64_t k = t; k < w.taps(); k += threads) {
          const int64_t at = w.at(g, k / w.c.n, k % w.c.n);
          if constexpr (kMax) m.take(xp[at], at);
          else sum += xp[at];
        }
        sh.v[t] = kMax ? m.v : sum;
        sh.arg[t] = m.arg;
      });
      tree_fold<Local>(each, threads, [&](int a, int b) {
        if constexpr (kMax) {
          MaxArg m{sh.v[a], sh.arg[a]};
          m.merge(MaxArg{sh.v[b], sh.arg[b]});
          sh.v[a] = m.v;
          sh.arg[a] = m.arg;
        } else {
          sh.v[a] += sh.v[b];
        }
      });
      each([&](int t, Local&) {
        if (t != 0) return;
        if constexpr (kMax) {
          if (y) y[o] = sh.arg[0] < 0 ? std::numeric_limits<float>::lowest() : sh.v[0];
          if (arg) arg[o] = sh.arg[0];
        } else {
          const int64_t count = pool_window(g, include_pad, oh, ow).count();
          y[o] = count > 0 ? sh.v[0] / static_cast<float>(count) : 0.0f;
        }
      });
    }
  }
};

template <class Grid, bool kMax>
void pool_windows(const Window2d& g, bool include_pad, int64_t planes, const float* x,
                  float* y, int64_t* arg) {
  const int64_t outputs = planes * g.OH * g.OW;
  if (outputs <= 0) return;
  if (g.KH > kBlockTaps || g.KW > kBlockTaps || g.KH * g.KW > kBlockTaps) {
    const int64_t blocks = outputs < 65535 ? outputs : 65535;
    Grid::launch_blocks(GridDims{blocks, kBlockThreads},
                        ForwardBlock<kMax>{g, include_pad, outputs, blocks, x, y, arg});
  } else {
    for_each_index<Grid>(outputs, ForwardThread<kMax>{g, include_pad, x, y, arg});
  }
}

// The taps of one axis whose window covers input coordinate `pos`: tap t belongs to output
// (pos + pad - t * dilation) / stride when that divides exactly; taps from `hi` down to `lo`
// give the outputs in increasing order. Only taps whose output lies in [0, out) are listed.
struct Covering {
  int64_t hi, lo;
};

ENGINE_HD inline Covering covering(int64_t pos, int64_t out, int64_t k, int64_t s, int64_t d,
                                   int64_t pad) {
  const int64_t t0 = pos + pad;  // = o * s + tap * d
  int64_t hi = t0 / d;           // o >= 0
  if (hi > k - 1) hi = k - 1;
  const int64_t rest = t0 - (out - 1) * s;  // o <= out - 1
  return {hi, rest <= 0 ? 0 : div_up(rest, d)};
}

// One thread per input element e (planes x H x W): dx[e] = the sum, over the windows that
// cover e in (oh, ow) order, of dy / count (average) or of dy where e is the argmax (max).
template <bool kMax>
struct BackwardThread {
  Window2d g;
  bool include_pad;
  const int64_t* arg;  // max only: every window's argmax
  const float* dy;
  float* dx;
  ENGINE_HD void operator()(int64_t e) const {
    const int64_t in_plane = g.H * g.W, out_plane = g.OH * g.OW;
    const int64_t p = e / in_plane, h = e % in_plane / g.W, w = e % g.W;
    const Covering rows = covering(h, g.OH, g.KH, g.SH, g.DH, g.PT);
    const Covering cols = covering(w, g.OW, g.KW, g.SW, g.DW, g.PL);
    const float* dyp = dy + p * out_plane;
    float acc = 0.0f;
    for (int64_t kh = rows.hi; kh >= rows.lo; --kh) {
      const int64_t th = h + g.PT - kh * g.DH;
      if (th % g.SH != 0) continue;
      const int64_t oh = th / g.SH;
      const int64_t row_count =
          kMax ? 0 : axis_taps(oh, g.H, g.KH, g.SH, g.DH, g.PT, g.PB, include_pad).counted;
      for (int64_t kw = cols.hi; kw >= cols.lo; --kw) {
        const int64_t tw = w + g.PL - kw * g.DW;
        if (tw % g.SW != 0) continue;
        const int64_t o = oh * g.OW + tw / g.SW;
        if constexpr (kMax) {
          if (arg[p * out_plane + o] == h * g.W + w) acc += dyp[o];
        } else {
          const int64_t count =
              row_count * axis_taps(tw / g.SW, g.W, g.KW, g.SW, g.DW, g.PL, g.PR, include_pad)
                              .counted;
          if (count > 0) acc += dyp[o] / static_cast<float>(count);
        }
      }
    }
    dx[e] = acc;
  }
};

}  // namespace pool_cuda

template <class Grid>
void pool2d_forward_grid(PoolKind kind, const Window2d& g, bool count_include_pad,
                         int64_t planes, const float* x, float* y) {
  if (kind == PoolKind::Max)
    pool_cuda::pool_windows<Grid, true>(g, count_include_pad, planes, x, y, nullptr);
  else
    pool_cuda::pool_windows<Grid, false>(g, count_include_pad, planes, x, y, nullptr);
}

template <class Grid>
void pool2d_backward_grid(PoolKind kind, const Window2d& g, bool count_include_pad,
                          int64_t planes, const float* x, const float* dy, float* dx) {
  const int64_t inputs = planes * g.H * g.W;
  if (kind == PoolKind::Max) {
    const int64_t outputs = planes * g.OH * g.OW;
    auto* arg = static_cast<int64_t*>(Grid::scratch(static_cast<size_t>(outputs) * sizeof(int64_t)));
    pool_cuda::pool_windows<Grid, true>(g, count_include_pad, planes, x, nullptr, arg);
    for_each_index<Grid>(inputs,
                         pool_cuda::BackwardThread<true>{g, count_include_pad, arg, dy, dx});
  } else {
    for_each_index<Grid>(inputs,
                         pool_cuda::BackwardThread<false>{g, count_include_pad, nullptr, dy, dx});
  }
}

template <class Grid>
PoolKernels pool_cuda_kernels() {
  return {pool2d_forward_grid<Grid>, pool2d_backward_grid<Grid>};
}

}  // namespace engine
