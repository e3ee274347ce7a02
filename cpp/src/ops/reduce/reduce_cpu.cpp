// CPU kernels: outputs split across threads, and long reductions split into chunks whose
// accumulators (in double) are joined in order, so results do not depend on the number of
// threads.
#include <vector>

#include "engine/threads.h"
#include "ops/reduce/reduce_math.h"

namespace engine {

namespace {
constexpr int64_t kGrain = 1 << 14;  // elements a thread (or chunk) takes at least
constexpr int64_t kItems = 64;       // outputs below which long reductions are chunked

// Grain in outputs for outputs of `count` elements each.
int64_t output_grain(int64_t count) { return std::max<int64_t>(1, kGrain / std::max<int64_t>(1, count)); }

// Each output's accumulator: the accumulators of its chunks, joined in order.
template <ReduceOp kOp>
std::vector<ReduceAcc<double>> output_accs(const ReduceLayout& l, const float* x,
                                           const ReduceSplit& split) {
  std::vector<ReduceAcc<double>> parts(static_cast<size_t>(l.outputs * split.chunks));
  const int64_t grain = split.chunks == 1 ? output_grain(l.count) : 1;
  parallel_for(l.outputs * split.chunks, grain, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const int64_t k = i / split.chunks, c = i % split.chunks;
      const int64_t lo = c * split.chunk, hi = std::min(l.count, lo + split.chunk);
      parts[static_cast<size_t>(i)] = reduce_partial<kOp, double>(l, x, k, lo, hi);
    }
  });
  if (split.chunks == 1) return parts;
  std::vector<ReduceAcc<double>> accs(static_cast<size_t>(l.outputs));
  for (int64_t k = 0; k < l.outputs; ++k) {
    ReduceAcc<double>& s = accs[static_cast<size_t>(k)];
    s = parts[static_cast<size_t>(k * split.chunks)];
    for (int64_t c = 1; c < split.chunks; ++c)
      ReduceMath<kOp>::merge(s, parts[static_cast<size_t>(k * split.chunks + c)]);
  }
  return accs;
}
}  // namespace

void reduce_forward_cpu(ReduceOp op, const ReduceLayout& l, const float* x, float* y) {
  if (l.outputs == 0) return;
  const ReduceSplit split = reduce_split(l, kGrain, kItems);
  dispatch_reduce(op, [&](auto tag) {
    constexpr ReduceOp kOp = decltype(tag)::value;
    const std::vector<ReduceAcc<double>> accs = output_accs<kOp>(l, x, split);
    for (int64_t k = 0; k < l.outputs; ++k)
      y[k] = static_cast<float>(ReduceMath<kOp>::finish(accs[static_cast<size_t>(k)], l.count));
  });
}

void reduce_backward_cpu(ReduceOp op, const ReduceLayout& l, const float* x, const float* y,
                         const float* dy, float* dx) {
  if (l.outputs == 0 || l.count == 0) return;
  const ReduceSplit split = reduce_split(l, kGrain, kItems);
  const int64_t items = l.outputs * split.chunks;
  const int64_t grain = split.chunks == 1 ? output_grain(l.count) : 1;
  auto chunk_of = [&](int64_t i, int64_t& k, int64_t& lo, int64_t& hi) {
    k = i / split.chunks;
    lo = (i % split.chunks) * split.chunk;
    hi = std::min(l.count, lo + split.chunk);
  };
  dispatch_reduce(op, [&](auto tag) {
    constexpr ReduceOp kOp = decltype(tag)::value;
    if constexpr (ReduceMath<kOp>::kArg) {
      // Each chunk's first match, then each output's winner: its first chunk with one.
      std::vector<int64_t> first(static_cast<size_t>(items));
      parallel_for(items, grain, [&](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i) {
          int64_t k, lo, hi;
          chunk_of(i, k, lo, hi);
          first[static_cast<size_t>(i)] = reduce_find_chunk(l, x, y, k, lo, hi);
        }
      });
      parallel_for(items, grain, [&](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i) {
          int64_t k, lo, hi;
          chunk_of(i, k, lo, hi);
          int64_t winner = -1;
          for (int64_t c = 0; c < split.chunks && winner < 0; ++c)
            winner = first[static_cast<size_t>(k * split.chunks + c)];
          reduce_route_chunk(l, dy, dx, k, lo, hi, winner);
        }
      });
    } else if constexpr (ReduceMath<kOp>::kGradFromAcc) {
      const std::vector<ReduceAcc<double>> accs = output_accs<kOp>(l, x, split);
      parallel_for(items, grain, [&](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i) {
          int64_t k, lo, hi;
          chunk_of(i, k, lo, hi);
          reduce_gradient_chunk_acc<kOp, double>(l, x, accs[static_cast<size_t>(k)], dy, dx, k,
                                                 lo, hi);
        }
      });
    } else {
      parallel_for(items, grain, [&](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i) {
          int64_t k, lo, hi;
          chunk_of(i, k, lo, hi);
          reduce_gradient_chunk<kOp, double>(l, x, y, dy, dx, k, lo, hi);
        }
      });
    }
  });
}

}  // namespace engine
