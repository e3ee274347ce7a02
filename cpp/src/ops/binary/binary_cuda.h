// The CUDA kernels of the binary ops (binary_ops.inc), over a Grid (core/grid.h):
// DeviceGrid in the CUDA plugin (binary_cuda.cu), HostGrid for their emulation in the
// kernel table. Both work on the collapsed layout (binary_collapse.h).
//   forward: one thread per output element, its input offsets found from its index.
//   backward, per wanted input x: where x is not broadcast, one thread per element. Else
//     each element of x is a sum over the positions it was broadcast to, taken in a fixed
//     order (deterministic, no atomics): one thread per element looping over them when
//     there are few; otherwise blocks that each reduce a chunk of them with a tree in
//     shared memory, and when an element has several chunks (few elements, long sums) one
//     thread per element adds its chunks' partial sums.
//   Both gradients are OVERWRITTEN, as the CPU kernels do; a null da or db is skipped.
// Index arithmetic is in 32 bits when the output is small enough: 64-bit division costs
// several times more on the GPU.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "core/grid.h"
#include "ops/binary/binary_collapse.h"
#include "ops/binary/binary_math.h"

namespace engine {

constexpr int kBinaryMaxAxes = 12;           // collapsed axes a kernel handles
constexpr int64_t kBinaryShortSum = 256;     // broadcast positions one thread sums alone
constexpr int kBinaryThreads = 256;          // threads of a reduction block (a power of two)
constexpr int64_t kBinaryMinChunk = kBinaryThreads * 16;  // terms per reduction block, at least
constexpr int64_t kBinaryTargetBlocks = 2048;  // enough reduction blocks to fill a GPU

// Some axes of the collapsed layout, with the strides of y, a and b along them.
template <class I>
struct BinaryAxes {
  int rank = 0;
  I size[kBinaryMaxAxes] = {};
  I sy[kBinaryMaxAxes] = {}, sa[kBinaryMaxAxes] = {}, sb[kBinaryMaxAxes] = {};

  // The offsets of the idx-th (row-major) index combination over these axes; idx is below
  // the product of the sizes, so the outermost index needs no division.
  ENGINE_HD void locate(I idx, I& oy, I& oa, I& ob) const {
    oy = oa = ob = 0;
    for (int d = rank - 1; d > 0; --d) {
      const I i = idx % size[d];
      idx /= size[d];
      oy += i * sy[d];
      oa += i * sa[d];
      ob += i * sb[d];
    }
    if (rank > 0) {
      oy += idx * sy[0];
      oa += idx * sa[0];
      ob += idx * sb[0];
    }
  }
};

// The axes d of `c` for which keep(d), in order.
template <class I, class Keep>
BinaryAxes<I> binary_axes(const BinaryCollapsed& c, Keep keep) {
  BinaryAxes<I> ax;
  for (int d = 0; d <= c.last(); ++d) {
    if (!keep(d)) continue;
    if (ax.rank == kBinaryMaxAxes)
      fail(ErrorKind::NotImplemented, "binary: the CUDA kernels handle broadcasts of at most ",
           kBinaryMaxAxes, " axes after merging, this one has ", c.size.size());
    ax.size[ax.rank] = static_cast<I>(c.size[d]);
    ax.sy[ax.rank] = static_cast<I>(c.sy[d]);
    ax.sa[ax.rank] = static_cast<I>(c.sa[d]);
    ax.sb[ax.rank] = static_cast<I>(c.sb[d]);
    ++ax.rank;
  }
  return ax;
}

// 32-bit indices when every index and offset (and a chunk past them) stays below 2^31.
inline bool binary_fits_int32(int64_t numel) { return numel <= (int64_t(1) << 30); }

template <BinaryOp op, bool of_a>
ENGINE_HD inline float binary_partial(float va, float vb) {
  return of_a ? BinaryMath<op>::da(va, vb) : BinaryMath<op>::db(va, vb);
}

template <class Grid, class I, BinaryOp op>
void binary_forward_on(const BinaryAxes<I>& ax, int64_t n, const float* a, const float* b,
                       float* y) {
  for_each_index<Grid>(n, [=] ENGINE_HD(int64_t i) {
    I oy, oa, ob;
    ax.locate(static_cast<I>(i), oy, oa, ob);
    y[i] = BinaryMath<op>::f(a[oa], b[ob]);
  });
}

// The terms of one gradient: dy * the partial derivative, at an element of x (its offsets
// along the kept axes) and one of the positions it was broadcast to (reduced index r).
template <class I, BinaryOp op, bool of_a>
struct BinaryGradientTerms {
  BinaryAxes<I> kept, reduced;
  const float *dy, *a, *b;

  ENGINE_HD float term(I ky, I ka, I kb, I r) const {
    I ry, ra, rb;
    reduced.locate(r, ry, ra, rb);
    return dy[ky + ry] * binary_partial<op, of_a>(a[ka + ra], b[kb + rb]);
  }
};

// x not broadcast: dx has y's layout.
template <class Grid, class I, BinaryOp op, bool of_a>
void binary_gradient_dense(const BinaryAxes<I>& ax, int64_t n, const float* dy, const float* a,
                           const float* b, float* dx) {
  for_each_index<Grid>(n, [=] ENGINE_HD(int64_t i) {
    I oy, oa, ob;
    ax.locate(static_cast<I>(i), oy, oa, ob);
    dx[i] = dy[i] * binary_partial<op, of_a>(a[oa], b[ob]);
  });
}

// Few positions per element: one thread per element of x sums them in order.
template <class Grid, class I, BinaryOp op, bool of_a>
void binary_gradient_short(const BinaryGradientTerms<I, op, of_a>& s, int64_t K, I R,
                           float* dx) {
  for_each_index<Grid>(K, [=] ENGINE_HD(int64_t k) {
    I ky, ka, kb;
    s.kept.locate(static_cast<I>(k), ky, ka, kb);
    float acc = 0.0f;
    for (I r = 0; r < R; ++r) acc += s.term(ky, ka, kb, r);
    dx[of_a ? ka : kb] = acc;
  });
}

// Block `block` sums chunk block % chunks of element block / chunks: each thread a strided
// share of the chunk, then a tree over the threads. With one chunk per element the sum is
// the gradient; else it is a partial sum, at partial[block].
template <class I, BinaryOp op, bool of_a>
struct BinaryGradientBlocks {
  struct Shared {
    float sum[kBinaryThreads];
  };
  struct Local {};

  BinaryGradientTerms<I, op, of_a> s;
  I R, chunk, chunks;
  float* dx;
  float* partial;

  template <class Each>
  ENGINE_HD void run_block(int64_t block, int threads, Shared& sh, Each&& each) const {
    const I k = static_cast<I>(block / chunks), c = static_cast<I>(block % chunks);
    I ky, ka, kb;
    s.kept.locate(k, ky, ka, kb);
    const I begin = c * chunk, end = R - begin < chunk ? R : begin + chunk;
    each([&](int t, Local&) {
      float acc = 0.0f;
      for (I r = begin + t; r < end; r += threads) acc += s.term(ky, ka, kb, r);
      sh.sum[t] = acc;
    });
    tree_fold<Local>(each, threads, [&](int a, int b) { sh.sum[a] += sh.sum[b]; });
    each([&](int t, Local&) {
      if (t != 0) return;
      if (chunks == 1)
        dx[of_a ? ka : kb] = sh.sum[0];
      else
        partial[block] = sh.sum[0];
    });
  }
};

// dx[k] = the sum of element k's chunk sums, in chunk order.
template <class Grid, class I>
void binary_gradient_finish(const BinaryAxes<I>& kept, bool of_a, int64_t K, I chunks,
                            const float* partial, float* dx) {
  for_each_index<Grid>(K, [=] ENGINE_HD(int64_t k) {
    I ky, ka, kb;
    kept.locate(static_cast<I>(k), ky, ka, kb);
    double acc = 0.0;  // at most kBinaryTargetBlocks terms
    for (I c = 0; c < chunks; ++c) acc += partial[k * chunks + c];
    dx[of_a ? ka : kb] = static_cast<float>(acc);
  });
}

template <class Grid, class I, BinaryOp op, bool of_a>
void binary_gradient_on(const BinaryCollapsed& c, const float* dy, const float* a,
                        const float* b, float* dx) {
  const std::vector<int64_t>& sx = of_a ? c.sa : c.sb;
  int64_t K = 1, R = 1;
  for (int d = 0; d <= c.last(); ++d) (sx[d] != 0 ? K : R) *= c.size[d];
  if (R == 1) {
    const auto all = binary_axes<I>(c, [](int) { return true; });
    binary_gradient_dense<Grid, I, op, of_a>(all, c.numel(), dy, a, b, dx);
    return;
  }
  BinaryGradientTerms<I, op, of_a> s;
  s.kept = binary_axes<I>(c, [&](int d) { return sx[d] != 0; });
  s.reduced = binary_axes<I>(c, [&](int d) { return sx[d] == 0; });
  s.dy = dy;
  s.a = a;
  s.b = b;
  if (R <= kBinaryShortSum) {
    binary_gradient_short<Grid, I, op, of_a>(s, K, static_cast<I>(R), dx);
    return;
  }
  // Chunks per element: enough blocks in all to fill the GPU, each of >= kBinaryMinChunk.
  int64_t chunks = ceil_div(kBinaryTargetBlocks, K);
  chunks = std::min(chunks, ceil_div(R, kBinaryMinChunk));
  chunks = std::max<int64_t>(chunks, 1);
  const int64_t chunk = ceil_div(R, chunks);
  float* partial =
      chunks > 1 ? static_cast<float*>(Grid::scratch(sizeof(float) * K * chunks)) : nullptr;
  Grid::launch_blocks(GridDims{K * chunks, kBinaryThreads},
                      BinaryGradientBlocks<I, op, of_a>{s, static_cast<I>(R),
                                                        static_cast<I>(chunk),
                                                        static_cast<I>(chunks), dx, partial});
  if (chunks > 1)
    binary_gradient_finish<Grid, I>(s.kept, of_a, K, static_cast<I>(chunks), partial, dx);
}

template <class Grid, class I>
void binary_forward_as(BinaryOp op, const BinaryCollapsed& c, const float* a, const float* b,
                       float* y) {
  const auto all = binary_axes<I>(c, [](int) { return true; });
  dispatch_binary(op, [&](auto tag) {
    binary_forward_on<Grid, I, decltype(tag)::value>(all, c.numel(), a, b, y);
  });
}

template <class Grid, class I>
void binary_backward_as(BinaryOp op, const BinaryCollapsed& c, const float* dy, const float* a,
                        const float* b, float* da, float* db) {
  dispatch_binary(op, [&](auto tag) {
    constexpr BinaryOp kOp = decltype(tag)::value;
    if (da) binary_gradient_on<Grid, I, kOp, true>(c, dy, a, b, da);
    if (db) binary_gradient_on<Grid, I, kOp, false>(c, dy, a, b, db);
  });
}

template <class Grid>
void binary_fill_zero(int64_t n, float* x) {
  for_each_index<Grid>(n, [=] ENGINE_HD(int64_t i) { x[i] = 0.0f; });
}

template <class Grid>
void binary_forward_grid(BinaryOp op, const BinaryLayout& l, const float* a, const float* b,
                         float* y) {
  const int64_t n = shape_numel(l.shape);
  if (n == 0) return;
  const BinaryCollapsed c = binary_collapse(l);
  if (binary_fits_int32(n))
    binary_forward_as<Grid, int32_t>(op, c, a, b, y);
  else
    binary_forward_as<Grid, int64_t>(op, c, a, b, y);
}

template <class Grid>
void binary_backward_grid(BinaryOp op, const BinaryLayout& l, const float* dy, const float* a,
                          const float* b, float* da, float* db) {
  const int64_t n = shape_numel(l.shape);
  if (n == 0) {  // nothing flows back: broadcast inputs get zeros
    if (da) binary_fill_zero<Grid>(l.a_numel, da);
    if (db) binary_fill_zero<Grid>(l.b_numel, db);
    return;
  }
  const BinaryCollapsed c = binary_collapse(l);
  if (binary_fits_int32(n))
    binary_backward_as<Grid, int32_t>(op, c, dy, a, b, da, db);
  else
    binary_backward_as<Grid, int64_t>(op, c, dy, a, b, da, db);
}

template <class Grid>
BinaryKernels binary_cuda_kernels() {
  return {binary_forward_grid<Grid>, binary_backward_grid<Grid>};
}

}  // namespace engine
