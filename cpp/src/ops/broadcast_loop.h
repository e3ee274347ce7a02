// Shared by the ops that select or compare elements under numpy broadcasting (logic/, where/)
// without reducing: the offsets of each output element in N inputs, and one loop template
// that the reference (in order), CPU (threads) and CUDA (one grid thread per element) kernels
// run their element functions with.
#pragma once

#include <cstdint>
#include <vector>

#include "core/grid.h"
#include "core/hd.h"
#include "engine/status.h"
#include "engine/tensor.h"
#include "engine/threads.h"

namespace engine {

constexpr int kBroadcastMaxRank = 16;

// Output axes and, per input, its element stride along each (0 where it is broadcast).
template <int N>
struct BroadcastAxes {
  int rank = 0;
  int64_t size[kBroadcastMaxRank] = {};
  int64_t stride[N][kBroadcastMaxRank] = {};

  // off[k] = the offset in input k of output element i (row-major).
  ENGINE_HD void locate(int64_t i, int64_t* off) const {
    for (int k = 0; k < N; ++k) off[k] = 0;
    for (int d = rank - 1; d >= 0; --d) {
      const int64_t idx = i % size[d];
      i /= size[d];
      for (int k = 0; k < N; ++k) off[k] += idx * stride[k][d];
    }
  }
};

// The axes of `out` (the broadcast of `in`) for inputs of shapes `in`; `op` names errors.
template <int N>
BroadcastAxes<N> broadcast_axes(const char* op, const Shape& out, const std::vector<Shape>& in) {
  BroadcastAxes<N> ax;
  if (out.size() > static_cast<size_t>(kBroadcastMaxRank))
    fail(ErrorKind::NotImplemented, op, ": rank ", out.size(), " is over ", kBroadcastMaxRank);
  ax.rank = static_cast<int>(out.size());
  for (int d = 0; d < ax.rank; ++d) ax.size[d] = out[static_cast<size_t>(d)];
  for (int k = 0; k < N; ++k) {
    const Shape& s = in[static_cast<size_t>(k)];
    const Shape dense = contiguous_strides(s);
    const size_t lead = out.size() - s.size();
    for (size_t d = lead; d < out.size(); ++d)
      ax.stride[k][d] = s[d - lead] == 1 ? 0 : dense[d - lead];
  }
  return ax;
}

// f(i) for i in [0, n).
struct SerialLoop {
  template <class F> static void run(int64_t n, const F& f) {
    for (int64_t i = 0; i < n; ++i) f(i);
  }
};
struct ThreadedLoop {
  template <class F> static void run(int64_t n, const F& f) {
    parallel_for(n, int64_t(1) << 14, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) f(i);
    });
  }
};
template <class Grid>
struct GridLoop {
  template <class F> static void run(int64_t n, const F& f) { for_each_index<Grid>(n, f); }
};

}  // namespace engine
