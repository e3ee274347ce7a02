// CPU kernels. Forward copies whole rows (an embedding lookup is one memcpy per index),
// threads over the rows. Backward must not let two threads add into one row of dx, and
// keeps the reference's order of additions per element (so the sums agree bit for bit):
// each task owns a band of dx's rows and walks all the indices, taking those in its band.
#include <algorithm>
#include <cstring>

#include "engine/threads.h"
#include "ops/gather/gather.h"

namespace engine {

namespace {
inline int64_t wrap(int64_t i, int64_t n) { return i < 0 ? i + n : i; }

template <class W>
void gather_elements(const GatherLayout& l, const W* data, const int64_t* indices, W* y) {
  parallel_for(l.outer, std::max<int64_t>(1, (int64_t(1) << 14) / std::max<int64_t>(1, l.count)),
               [&](int64_t b, int64_t e) {
                 for (int64_t o = b; o < e; ++o)
                   for (int64_t k = 0; k < l.count; ++k)
                     y[o * l.count + k] = data[o * l.axis_dim + wrap(indices[k], l.axis_dim)];
               });
}
}  // namespace

void gather_forward_cpu(const GatherLayout& l, size_t elem_size, const void* data,
                        const int64_t* indices, void* y) {
  if (l.inner == 1 && elem_size == 4)
    return gather_elements(l, static_cast<const uint32_t*>(data), indices, static_cast<uint32_t*>(y));
  if (l.inner == 1 && elem_size == 8)
    return gather_elements(l, static_cast<const uint64_t*>(data), indices, static_cast<uint64_t*>(y));
  const size_t row = static_cast<size_t>(l.inner) * elem_size;
  const int64_t rows = l.outer * l.count;
  parallel_for(rows, std::max<int64_t>(1, static_cast<int64_t>((size_t(1) << 16) / std::max<size_t>(1, row))),
               [&](int64_t b, int64_t e) {
                 for (int64_t r = b; r < e; ++r) {
                   const int64_t o = r / l.count, k = r % l.count;
                   const int64_t i = wrap(indices[k], l.axis_dim);
                   std::memcpy(static_cast<char*>(y) + r * row,
                               static_cast<const char*>(data) + (o * l.axis_dim + i) * row, row);
                 }
               });
}

void gather_backward_cpu(const GatherLayout& l, const float* dy, const int64_t* indices,
                         float* dx) {
  if (l.outer * l.count * l.inner == 0) return;
  // Bands of dx rows: one task per thread when outer alone gives too few (each band walks
  // all the indices, so more bands cost more than they balance).
  const int64_t want = get_num_threads();
  const int64_t bands = l.outer >= want ? 1 : std::min(l.axis_dim, (want + l.outer - 1) / l.outer);
  const int64_t band = (l.axis_dim + bands - 1) / bands;
  parallel_for(l.outer * bands, 1, [&](int64_t b, int64_t e) {
    for (int64_t t = b; t < e; ++t) {
      const int64_t o = t / bands, lo = (t % bands) * band, hi = std::min(l.axis_dim, lo + band);
      float* dx_o = dx + o * l.axis_dim * l.inner;
      const float* dy_o = dy + o * l.count * l.inner;
      for (int64_t k = 0; k < l.count; ++k) {
        const int64_t i = wrap(indices[k], l.axis_dim);
        if (i < lo || i >= hi) continue;
        float* dst = dx_o + i * l.inner;
        const float* src = dy_o + k * l.inner;
        for (int64_t c = 0; c < l.inner; ++c) dst[c] += src[c];
      }
    }
  });
}

}  // namespace engine
