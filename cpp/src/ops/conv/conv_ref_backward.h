// The backward of a sum of products y[yi] += x[xi] * w[wi], in double: what Conv's and
// ConvTranspose's reference kernels share once each has enumerated its own terms.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace engine {

// `terms(fn)` calls fn(x index, w index, y index) for every product. dx is overwritten, dw
// and db are added to (either may be null); db sums dy over the batch and the `plane`
// positions of each of the `channels` output channels.
template <class Terms>
void backward_of_terms(Terms&& terms, int64_t x_size, int64_t w_size, int64_t batch,
                       int64_t channels, int64_t plane, const float* dy, const float* x,
                       const float* w, float* dx, float* dw, float* db) {
  std::vector<double> gx(static_cast<size_t>(dx ? x_size : 0), 0.0);
  std::vector<double> gw(static_cast<size_t>(dw ? w_size : 0), 0.0);
  if (dx || dw) {
    terms([&](int64_t xi, int64_t wi, int64_t yi) {
      if (dx) gx[xi] += double(dy[yi]) * w[wi];
      if (dw) gw[wi] += double(dy[yi]) * x[xi];
    });
  }
  if (dx)
    for (int64_t i = 0; i < x_size; ++i) dx[i] = static_cast<float>(gx[i]);
  if (dw)
    for (int64_t i = 0; i < w_size; ++i) dw[i] = static_cast<float>(dw[i] + gw[i]);
  if (db) {
    for (int64_t o = 0; o < channels; ++o) {
      double sum = 0.0;
      for (int64_t n = 0; n < batch; ++n)
        for (int64_t p = 0; p < plane; ++p) sum += dy[(n * channels + o) * plane + p];
      db[o] = static_cast<float>(db[o] + sum);
    }
  }
}

}  // namespace engine
