// The CUDA kernels of Softmax and LogSoftmax over a Grid (core/grid.h): DeviceGrid in the
// CUDA plugin (softmax_cuda.cu), HostGrid for their emulation in the kernel table.
//
// Every lane (o, i) of [O, L, I] is a "row" of L values at stride I. A row is reduced by a
// group of `group` threads of one block (a power of two sized so that each thread takes
// about four values, up to the whole block for long rows): the threads of a group stride
// over the row, then a tree reduction in shared memory within the group combines their
// partial max and sum. A block handles threads / group rows at a time and strides over the
// rows. The losses (losses_cuda.h) reduce their per-position rows the same way.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>

#include "core/grid.h"
#include "ops/softmax/softmax.h"

namespace engine {

namespace row_groups {

constexpr int kThreads = 256;        // per block
constexpr int64_t kMaxBlocks = 65535;

// `rows` rows of `len` values at stride `inner`, numbered r = o * inner + i as the lanes of
// [O, L, I]; inner = 1 for contiguous rows.
struct RowGroups {
  int64_t rows = 0, len = 0, inner = 1;
  int group = 1;       // threads per row
  int64_t blocks = 1;  // the grid; blocks stride over the rows
  ENGINE_HD int64_t start(int64_t r) const { return r / inner * len * inner + r % inner; }
  ENGINE_HD int64_t rows_per_block() const { return kThreads / group; }
  // The row of thread t in the pass that starts at row `first`; >= rows when idle.
  ENGINE_HD int64_t row(int64_t first, int t) const { return first + t / group; }
  ENGINE_HD int lane(int t) const { return t & (group - 1); }
  ENGINE_HD int leader(int t) const { return t & ~(group - 1); }  // the group's thread 0
  GridDims dims() const { return GridDims{blocks, kThreads}; }
};

inline RowGroups plan(int64_t rows, int64_t len, int64_t inner = 1) {
  RowGroups g;
  g.rows = rows;
  g.len = len;
  g.inner = inner;
  while (g.group < kThreads && int64_t(g.group) * 4 < len) g.group *= 2;
  const int64_t per_block = g.rows_per_block();
  g.blocks = (rows + per_block - 1) / per_block;
  if (g.blocks > kMaxBlocks) g.blocks = kMaxBlocks;
  if (g.blocks < 1) g.blocks = 1;
  return g;
}

// red[leader] = op over red[leader, leader + group) for every group of the block, one phase
// per halving.
template <class Local, class Each, class T, class Op>
ENGINE_HD void reduce(Each& each, const RowGroups& g, T* red, Op op) {
  tree_fold<Local>(each, g.group, [&](int a, int b) { red[a] = op(red[a], red[b]); });
}

// The CPU kernels' maximum (v > m ? v : m): NaN never wins it, and turns the sum NaN instead.
struct MaxOp {
  ENGINE_HD float operator()(float a, float b) const { return b > a ? b : a; }
};
struct SumOp {
  template <class T>
  ENGINE_HD T operator()(T a, T b) const { return a + b; }
};

// fn(first) for the passes of block `block`: each pass gives its threads the rows from
// `first` on (g.row(first, t)).
template <class Fn>
ENGINE_HD void for_each_pass(const RowGroups& g, int64_t block, Fn&& fn) {
  const int64_t per_block = g.rows_per_block();
  for (int64_t first = block * per_block; first < g.rows; first += g.blocks * per_block) fn(first);
}

// One phase and the group's tree: red[leader] = op over the row of value(l, i, k), where i =
// start + k * inner is the offset of the row's k-th value, from `init` (what idle threads
// give).
template <class Local, class Each, class Op, class Value>
ENGINE_HD void reduce_row(Each& each, const RowGroups& g, int64_t first, float* red, float init,
                          Op op, Value value) {
  each([&](int t, Local& l) {
    const int64_t r = g.row(first, t);
    float acc = init;
    if (r < g.rows) {
      const int64_t base = g.start(r);
      for (int64_t k = g.lane(t); k < g.len; k += g.group) acc = op(acc, value(l, base + k * g.inner, k));
    }
    red[t] = acc;
  });
  reduce<Local>(each, g, red, op);
}

// l.m = the row's maximum of x, red[leader] = sum exp(x - m) over the row: the shared start
// of softmax and of the softmax cross-entropy.
template <class Local, class Each>
ENGINE_HD void max_and_sum_exp(Each& each, const RowGroups& g, int64_t first, float* red,
                               const float* x) {
  reduce_row<Local>(each, g, first, red, -std::numeric_limits<float>::infinity(), MaxOp{},
                    [&](Local&, int64_t i, int64_t) { return x[i]; });
  each([&](int t, Local& l) { l.m = red[g.leader(t)]; });
  reduce_row<Local>(each, g, first, red, 0.0f, SumOp{},
                    [&](Local& l, int64_t i, int64_t) { return std::exp(x[i] - l.m); });
}

}  // namespace row_groups

namespace softmax_cuda {

using row_groups::RowGroups;

// y = exp(x - m) / s or (x - m) - log(s); y may alias x (each value is read, then written,
// by the same thread in the last phase).
template <bool Log>
struct ForwardBody {
  struct Shared {
    float red[row_groups::kThreads];
  };
  struct Local {
    float m;
  };
  RowGroups g;
  const float* x;
  float* y;

  template <class Each>
  ENGINE_HD void run_block(int64_t block, int, Shared& sh, Each&& each) const {
    row_groups::for_each_pass(g, block, [&](int64_t first) {
      row_groups::max_and_sum_exp<Local>(each, g, first, sh.red, x);
      each([&](int t, Local& l) {
        const int64_t r = g.row(first, t);
        if (r >= g.rows) return;
        const float s = sh.red[g.leader(t)];
        const float f = Log ? std::log(s) : 1.0f / s;
        const float* xr = x + g.start(r);
        float* yr = y + g.start(r);
        for (int64_t k = g.lane(t); k < g.len; k += g.group) {
          // (x - m) first: exact for the large entries even when |x| is huge.
          const float z = xr[k * g.inner] - l.m;
          yr[k * g.inner] = Log ? z - f : std::exp(z) * f;
        }
      });
    });
  }
};

// dx = y * (dy - sum(dy * y)) or dy - exp(y) * sum(dy).
template <bool Log>
struct BackwardBody {
  struct Shared {
    float red[row_groups::kThreads];
  };
  struct Local {};
  RowGroups g;
  const float *y, *dy;
  float* dx;

  template <class Each>
  ENGINE_HD void run_block(int64_t block, int, Shared& sh, Each&& each) const {
    row_groups::for_each_pass(g, block, [&](int64_t first) {
      row_groups::reduce_row<Local>(each, g, first, sh.red, 0.0f, row_groups::SumOp{},
                                    [&](Local&, int64_t i, int64_t) { return Log ? dy[i] : dy[i] * y[i]; });
      each([&](int t, Local&) {
        const int64_t r = g.row(first, t);
        if (r >= g.rows) return;
        const float a = sh.red[g.leader(t)];
        const int64_t base = g.start(r);
        for (int64_t k = g.lane(t); k < g.len; k += g.group) {
          const int64_t i = base + k * g.inner;
          dx[i] = Log ? dy[i] - std::exp(y[i]) * a : y[i] * (dy[i] - a);
        }
      });
    });
  }
};

}  // namespace softmax_cuda

template <class Grid>
void softmax_forward_grid(SoftmaxKind kind, const SoftmaxGeometry& geo, const float* x,
                          float* y) {
  const auto g = row_groups::plan(geo.outer * geo.inner, geo.len, geo.inner);
  if (g.rows * g.len == 0) return;
  if (kind == SoftmaxKind::LogSoftmax)
    Grid::launch_blocks(g.dims(), softmax_cuda::ForwardBody<true>{g, x, y});
  else
    Grid::launch_blocks(g.dims(), softmax_cuda::ForwardBody<false>{g, x, y});
}

template <class Grid>
void softmax_backward_grid(SoftmaxKind kind, const SoftmaxGeometry& geo, const float* y,
                           const float* dy, float* dx) {
  const auto g = row_groups::plan(geo.outer * geo.inner, geo.len, geo.inner);
  if (g.rows * g.len == 0) return;
  if (kind == SoftmaxKind::LogSoftmax)
    Grid::launch_blocks(g.dims(), softmax_cuda::BackwardBody<true>{g, y, dy, dx});
  else
    Grid::launch_blocks(g.dims(), softmax_cuda::BackwardBody<false>{g, y, dy, dx});
}

template <class Grid>
SoftmaxKernels softmax_cuda_kernels() {
  return {softmax_forward_grid<Grid>, softmax_backward_grid<Grid>};
}

}  // namespace engine
