// CPU kernels. Work is split over the O*I lanes of [O, L, I]. When I == 1 each lane is a
// contiguous row; otherwise up to kLanes neighbouring lanes of one outer index are
// processed together so that every inner loop runs over contiguous memory.
#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>

#include "core/cpu_features.h"
#include "cpu/fast_math.h"
#include "engine/threads.h"
#include "ops/softmax/softmax.h"
#include "ops/softmax/softmax_row_loops.h"

namespace engine {

// softmax_cpu_avx2.cpp: softmax_row<Log> compiled for AVX2/FMA.
SoftmaxRow softmax_row_avx2(bool log);

namespace {

constexpr int64_t kGrain = 1 << 14;  // elements per task
constexpr int64_t kLanes = 256;      // lanes per block: the per-lane state stays in L1

// One block: `lanes` lanes of `len` elements, element (l, j) at l * stride + j, the lanes
// side by side. Row sums accumulate in double: long axes keep full float accuracy.
template <bool Log>
void forward_block(int64_t len, int64_t stride, int64_t lanes, const float* x, float* y) {
  float m[kLanes], f[kLanes];
  double s[kLanes];
  for (int64_t j = 0; j < lanes; ++j) {
    m[j] = -std::numeric_limits<float>::infinity();
    s[j] = 0.0;
  }
  for (int64_t l = 0; l < len; ++l) {
    const float* xl = x + l * stride;
    for (int64_t j = 0; j < lanes; ++j) m[j] = xl[j] > m[j] ? xl[j] : m[j];
  }
  for (int64_t l = 0; l < len; ++l) {
    const float* xl = x + l * stride;
    float* yl = y + l * stride;
    for (int64_t j = 0; j < lanes; ++j) {
      const float e = FastMath::exp(xl[j] - m[j]);
      if constexpr (!Log) yl[j] = e;  // rescaled below; safe when y aliases x
      s[j] += e;
    }
  }
  for (int64_t j = 0; j < lanes; ++j)
    f[j] = Log ? static_cast<float>(std::log(s[j])) : static_cast<float>(1.0 / s[j]);
  for (int64_t l = 0; l < len; ++l) {
    const float* xl = x + l * stride;
    float* yl = y + l * stride;
    for (int64_t j = 0; j < lanes; ++j) {
      // (x - m) first: exact for the large entries even when |x| is huge.
      if constexpr (Log) yl[j] = (xl[j] - m[j]) - f[j];
      else yl[j] *= f[j];
    }
  }
}

template <bool Log, bool Row>
void backward_block(int64_t len, int64_t stride, int64_t lanes, const float* y,
                    const float* dy, float* dx) {
  if constexpr (Row) stride = lanes = 1;
  double acc[kLanes];  // sum(dy * y) for Softmax, sum(dy) for LogSoftmax
  float a[kLanes];
  for (int64_t j = 0; j < lanes; ++j) acc[j] = 0.0;
  for (int64_t l = 0; l < len; ++l) {
    const float* yl = y + l * stride;
    const float* dyl = dy + l * stride;
    for (int64_t j = 0; j < lanes; ++j) acc[j] += Log ? dyl[j] : dyl[j] * yl[j];
  }
  for (int64_t j = 0; j < lanes; ++j) a[j] = static_cast<float>(acc[j]);
  for (int64_t l = 0; l < len; ++l) {
    const float* yl = y + l * stride;
    const float* dyl = dy + l * stride;
    float* dxl = dx + l * stride;
    for (int64_t j = 0; j < lanes; ++j)
      dxl[j] = Log ? dyl[j] - std::exp(yl[j]) * a[j] : yl[j] * (dyl[j] - a[j]);
  }
}

// Calls block(row_tag, offset, lanes) over every lane of g, threaded with parallel_for.
template <class Block>
void for_each_block(const SoftmaxGeometry& g, const Block& block) {
  const int64_t grain = std::max<int64_t>(1, kGrain / std::max<int64_t>(g.len, 1));
  parallel_for(g.outer * g.inner, grain, [&](int64_t begin, int64_t end) {
    if (g.inner == 1) {
      for (int64_t o = begin; o < end; ++o) block(std::true_type{}, o * g.len, 1);
      return;
    }
    while (begin < end) {
      const int64_t o = begin / g.inner, i = begin % g.inner;
      const int64_t lanes = std::min({end - begin, g.inner - i, kLanes});
      block(std::false_type{}, o * g.len * g.inner + i, lanes);
      begin += lanes;
    }
  });
}

template <bool Log>
void forward(const SoftmaxGeometry& g, const float* x, float* y) {
  const SoftmaxRow row_fn = use_avx2_fma() ? softmax_row_avx2(Log) : softmax_row<Log>;
  for_each_block(g, [&](auto row, int64_t off, int64_t lanes) {
    if constexpr (decltype(row)::value)
      row_fn(g.len, x + off, y + off);
    else
      forward_block<Log>(g.len, g.inner, lanes, x + off, y + off);
  });
}

template <bool Log>
void backward(const SoftmaxGeometry& g, const float* y, const float* dy, float* dx) {
  for_each_block(g, [&](auto row, int64_t off, int64_t lanes) {
    backward_block<Log, decltype(row)::value>(g.len, g.inner, lanes, y + off, dy + off,
                                              dx + off);
  });
}

}  // namespace

void softmax_forward_cpu(SoftmaxKind kind, const SoftmaxGeometry& g, const float* x, float* y) {
  if (kind == SoftmaxKind::LogSoftmax) forward<true>(g, x, y);
  else forward<false>(g, x, y);
}

void softmax_backward_cpu(SoftmaxKind kind, const SoftmaxGeometry& g, const float* y,
                          const float* dy, float* dx) {
  if (kind == SoftmaxKind::LogSoftmax) backward<true>(g, y, dy, dx);
  else backward<false>(g, y, dy, dx);
}

}  // namespace engine
