// The CUDA kernel of Transpose, over a Grid (core/grid.h): DeviceGrid in the CUDA plugin
// (transpose_cuda.cu), HostGrid for its emulation in the kernel table. It works on the
// simplified permutation (transpose_simplify.h):
//   - where the innermost axis stays innermost, or either of the two axes that are
//     contiguous in x and in y is short, one thread per output element (writes coalesced);
//   - else a batch of 2-D transposes through 32x32 tiles in shared memory, so that both the
//     reads of x and the writes of y are coalesced: one block per tile.
// Elements move as 4- or 8-byte words; index arithmetic is in 32 bits when it fits.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "core/grid.h"
#include "ops/transpose/transpose.h"
#include "ops/transpose/transpose_simplify.h"

namespace engine {

constexpr int kTransposeMaxAxes = 12;  // simplified axes the kernel handles
constexpr int kTransposeTile = 32;
constexpr int kTransposeThreads = 256;

// Output axes with x's and y's strides along them.
template <class I>
struct TransposeAxes {
  int rank = 0;
  I size[kTransposeMaxAxes] = {};
  I xs[kTransposeMaxAxes] = {}, ys[kTransposeMaxAxes] = {};

  // The offsets of the idx-th (row-major) index combination; idx is below the product of
  // the sizes, so the outermost index needs no division.
  ENGINE_HD void locate(I idx, I& xo, I& yo) const {
    xo = yo = 0;
    for (int d = rank - 1; d > 0; --d) {
      const I i = idx % size[d];
      idx /= size[d];
      xo += i * xs[d];
      yo += i * ys[d];
    }
    if (rank > 0) {
      xo += idx * xs[0];
      yo += idx * ys[0];
    }
  }

  void push(int64_t n, int64_t x_stride, int64_t y_stride) {
    if (rank == kTransposeMaxAxes)
      fail(ErrorKind::NotImplemented, "Transpose: the CUDA kernel handles at most ",
           kTransposeMaxAxes, " axes after merging");
    size[rank] = static_cast<I>(n);
    xs[rank] = static_cast<I>(x_stride);
    ys[rank] = static_cast<I>(y_stride);
    ++rank;
  }
};

template <class Grid, class W, class I>
void transpose_elements(const TransposeAxes<I>& ax, int64_t n, const W* x, W* y) {
  for_each_index<Grid>(n, [=] ENGINE_HD(int64_t j) {
    I xo, yo;
    ax.locate(static_cast<I>(j), xo, yo);
    y[j] = x[xo];
  });
}

// Block b moves tile b % tiles of 2-D transpose b / tiles: rows i run along x's contiguous
// axis, columns j along y's; the tile goes through shared memory (one padding column keeps
// the column reads free of bank conflicts).
template <class W, class I>
struct TransposeTiles {
  struct Shared {
    W tile[kTransposeTile][kTransposeTile + 1];
  };
  struct Local {};

  TransposeAxes<I> batch;
  I rows, cols, x_col_stride, y_row_stride, row_tiles, col_tiles;
  const W* x;
  W* y;

  template <class Each>
  ENGINE_HD void run_block(int64_t block, int threads, Shared& sh, Each&& each) const {
    constexpr int T = kTransposeTile;
    const I tiles = row_tiles * col_tiles;
    I xo, yo;
    batch.locate(static_cast<I>(block / tiles), xo, yo);
    const I t = static_cast<I>(block % tiles);
    const I i0 = (t / col_tiles) * T, j0 = (t % col_tiles) * T;
    const I ni = rows - i0 < T ? rows - i0 : T, nj = cols - j0 < T ? cols - j0 : T;
    each([&](int th, Local&) {  // consecutive threads read consecutive i
      for (int e = th; e < T * T; e += threads) {
        const int i = e % T, j = e / T;
        if (i < ni && j < nj) sh.tile[j][i] = x[xo + (i0 + i) + (j0 + j) * x_col_stride];
      }
    });
    each([&](int th, Local&) {  // and write consecutive j
      for (int e = th; e < T * T; e += threads) {
        const int j = e % T, i = e / T;
        if (i < ni && j < nj) y[yo + (i0 + i) * y_row_stride + (j0 + j)] = sh.tile[j][i];
      }
    });
  }
};

template <class Grid, class W, class I>
void transpose_as(const TransposeSimplified& s, const W* x, W* y) {
  const int r = static_cast<int>(s.in.size());
  const TransposeStrides st = transpose_strides(s);
  const Shape &out = st.out, &xs = st.xs, &ys = st.ys;
  int64_t n = 1;
  for (int64_t d : s.in) n *= d;
  const int last = r - 1;
  // The output axis that is x's contiguous one.
  const int q = static_cast<int>(std::find(s.perm.begin(), s.perm.end(), last) - s.perm.begin());
  if (r <= 1 || q == last || out[q] < 8 || out[last] < 8) {
    TransposeAxes<I> all;
    for (int k = 0; k < r; ++k) all.push(out[k], xs[k], ys[k]);
    transpose_elements<Grid, W, I>(all, n, x, y);
    return;
  }
  TransposeTiles<W, I> body;
  int64_t batch = 1;
  for (int k = 0; k < r; ++k)
    if (k != q && k != last) {
      body.batch.push(out[k], xs[k], ys[k]);
      batch *= out[k];
    }
  body.rows = static_cast<I>(out[q]);
  body.cols = static_cast<I>(out[last]);
  body.x_col_stride = static_cast<I>(xs[last]);
  body.y_row_stride = static_cast<I>(ys[q]);
  body.row_tiles = static_cast<I>(ceil_div(out[q], kTransposeTile));
  body.col_tiles = static_cast<I>(ceil_div(out[last], kTransposeTile));
  body.x = x;
  body.y = y;
  Grid::launch_blocks(
      GridDims{batch * int64_t(body.row_tiles) * int64_t(body.col_tiles), kTransposeThreads},
      body);
}

template <class Grid, class W>
void transpose_words(const Shape& in, const std::vector<int64_t>& perm, const void* x, void* y) {
  const TransposeSimplified s = transpose_simplify(in, perm);
  const int64_t n = shape_numel(s.in);
  if (n == 0) return;
  const W* xw = static_cast<const W*>(x);
  W* yw = static_cast<W*>(y);
  if (n <= (int64_t(1) << 30))
    transpose_as<Grid, W, int32_t>(s, xw, yw);
  else
    transpose_as<Grid, W, int64_t>(s, xw, yw);
}

template <class Grid>
void transpose_grid(const Shape& in, const std::vector<int64_t>& perm, size_t elem_size,
                    const void* x, void* y) {
  if (elem_size == 4)
    transpose_words<Grid, uint32_t>(in, perm, x, y);
  else
    transpose_words<Grid, uint64_t>(in, perm, x, y);
}

template <class Grid>
TransposeKernels transpose_cuda_kernels() {
  TransposeKernels k;
  k.transpose = &transpose_grid<Grid>;  // (a one-member brace list trips nvcc's host pass)
  return k;
}

}  // namespace engine
