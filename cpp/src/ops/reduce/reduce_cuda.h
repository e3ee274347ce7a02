// The CUDA kernels of the reductions, over a Grid (core/grid.h): DeviceGrid in the CUDA
// plugin (reduce_cuda.cu), HostGrid for their emulation in the kernel table.
//   forward: one thread per output, accumulating in float; when there are few outputs and
//     long reductions, one thread per chunk of an output's elements, then one thread per
//     output joining its chunks in order (deterministic, no atomics).
//   backward: one thread per chunk writes the chunk's dx. Max and Min first find each
//     chunk's first element equal to the result, then route dy to the output's first one;
//     Prod first computes the outputs' accumulators as the forward pass does.
// A thread walks its elements in x's order; where the reduced axis is x's innermost, the
// threads of a warp read separate rows (uncoalesced), a cost accepted for now.
#pragma once

#include <cstdint>

#include "core/grid.h"
#include "ops/reduce/reduce_math.h"

namespace engine {

constexpr int64_t kReduceCudaGrain = 1024;   // elements a chunk takes at least
constexpr int64_t kReduceCudaItems = 8192;   // outputs below which long reductions are chunked

// Each output's accumulator, in scratch memory: its chunks' accumulators, joined in order.
template <class Grid, ReduceOp op>
const ReduceAcc<float>* reduce_accs_on(const ReduceLayout& l, const float* x,
                                       const ReduceSplit& split) {
  const int64_t n = l.count, chunks = split.chunks, chunk = split.chunk;
  const int64_t items = l.outputs * chunks;
  auto* parts = static_cast<ReduceAcc<float>*>(Grid::scratch(
      sizeof(ReduceAcc<float>) * static_cast<size_t>(items + (chunks > 1 ? l.outputs : 0))));
  for_each_index<Grid>(items, [=] ENGINE_HD(int64_t i) {
    const int64_t k = i / chunks, lo = (i % chunks) * chunk;
    const int64_t hi = n - lo < chunk ? n : lo + chunk;
    parts[i] = reduce_partial<op, float>(l, x, k, lo, hi);
  });
  if (chunks == 1) return parts;
  ReduceAcc<float>* accs = parts + items;
  for_each_index<Grid>(l.outputs, [=] ENGINE_HD(int64_t k) {
    ReduceAcc<float> s = parts[k * chunks];
    for (int64_t c = 1; c < chunks; ++c) ReduceMath<op>::merge(s, parts[k * chunks + c]);
    accs[k] = s;
  });
  return accs;
}

template <class Grid, ReduceOp op>
void reduce_forward_on(const ReduceLayout& l, const float* x, float* y) {
  const ReduceSplit split = reduce_split(l, kReduceCudaGrain, kReduceCudaItems);
  const ReduceAcc<float>* accs = reduce_accs_on<Grid, op>(l, x, split);
  const int64_t n = l.count;
  for_each_index<Grid>(l.outputs, [=] ENGINE_HD(int64_t k) {
    y[k] = ReduceMath<op>::finish(accs[k], n);
  });
}

template <class Grid, ReduceOp op>
void reduce_backward_on(const ReduceLayout& l, const float* x, const float* y, const float* dy,
                        float* dx) {
  const ReduceSplit split = reduce_split(l, kReduceCudaGrain, kReduceCudaItems);
  const int64_t n = l.count, chunks = split.chunks, chunk = split.chunk;
  const int64_t items = l.outputs * chunks;
  if constexpr (ReduceMath<op>::kArg) {
    auto* first = static_cast<int64_t*>(Grid::scratch(sizeof(int64_t) * static_cast<size_t>(items)));
    for_each_index<Grid>(items, [=] ENGINE_HD(int64_t i) {
      const int64_t k = i / chunks, lo = (i % chunks) * chunk;
      first[i] = reduce_find_chunk(l, x, y, k, lo, n - lo < chunk ? n : lo + chunk);
    });
    for_each_index<Grid>(items, [=] ENGINE_HD(int64_t i) {
      const int64_t k = i / chunks, lo = (i % chunks) * chunk;
      int64_t winner = -1;
      for (int64_t c = 0; c < chunks && winner < 0; ++c) winner = first[k * chunks + c];
      reduce_route_chunk(l, dy, dx, k, lo, n - lo < chunk ? n : lo + chunk, winner);
    });
  } else if constexpr (ReduceMath<op>::kGradFromAcc) {
    const ReduceAcc<float>* accs = reduce_accs_on<Grid, op>(l, x, split);
    for_each_index<Grid>(items, [=] ENGINE_HD(int64_t i) {
      const int64_t k = i / chunks, lo = (i % chunks) * chunk;
      reduce_gradient_chunk_acc<op, float>(l, x, accs[k], dy, dx, k, lo,
                                           n - lo < chunk ? n : lo + chunk);
    });
  } else {
    for_each_index<Grid>(items, [=] ENGINE_HD(int64_t i) {
      const int64_t k = i / chunks, lo = (i % chunks) * chunk;
      reduce_gradient_chunk<op, float>(l, x, y, dy, dx, k, lo, n - lo < chunk ? n : lo + chunk);
    });
  }
}

template <class Grid>
void reduce_forward_grid(ReduceOp op, const ReduceLayout& l, const float* x, float* y) {
  if (l.outputs == 0) return;
  dispatch_reduce(op, [&](auto tag) { reduce_forward_on<Grid, decltype(tag)::value>(l, x, y); });
}

template <class Grid>
void reduce_backward_grid(ReduceOp op, const ReduceLayout& l, const float* x, const float* y,
                          const float* dy, float* dx) {
  if (l.outputs == 0 || l.count == 0) return;
  dispatch_reduce(op, [&](auto tag) {
    reduce_backward_on<Grid, decltype(tag)::value>(l, x, y, dy, dx);
  });
}

template <class Grid>
ReduceKernels reduce_cuda_kernels() {
  return {reduce_forward_grid<Grid>, reduce_backward_grid<Grid>};
}

}  // namespace engine
