// CPU kernel: threads split the element pairs; the hash depends only on the pair index, so
// any split gives the same mask. The kept/dropped choice is arithmetic, not a branch: a
// random 50/50 branch costs several times more than the hash.
#include <algorithm>

#include "engine/threads.h"
#include "ops/dropout/dropout.h"

namespace engine {

void dropout_forward_cpu(int64_t n, const float* x, uint64_t threshold, float inv_keep,
                         uint64_t seed, float* y, float* mask) {
  auto one = [&](int64_t i, uint64_t word) {
    // word, threshold < 2^32: the subtraction borrows (sets bit 63) exactly when dropped.
    // Compilers turn comparisons back into jumps; this stays arithmetic.
    const float keep = static_cast<float>(1 - ((word - threshold) >> 63));
    y[i] = x[i] * (keep * inv_keep);
    if (mask) mask[i] = keep;
  };
  parallel_for((n + 1) / 2, 1 << 12, [&](int64_t begin, int64_t end) {
    const int64_t full = std::min(end, n / 2);  // pairs with both elements present
    for (int64_t p = begin; p < full; ++p) {
      const uint64_t h = dropout_hash(seed, static_cast<uint64_t>(p));
      one(2 * p, h >> 32);
      one(2 * p + 1, h & 0xFFFFFFFFull);
    }
    if (end > full && full >= begin) one(2 * full, dropout_hash(seed, full) >> 32);
  });
}

void dropout_backward_cpu(int64_t n, const float* dy, const float* mask, float inv_keep,
                          float* dx) {
  parallel_for(n, 1 << 14, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) dx[i] = dy[i] * mask[i] * inv_keep;
  });
}

void dropout_keep_all_cpu(int64_t n, float* mask) { std::fill(mask, mask + n, 1.0f); }

}  // namespace engine
