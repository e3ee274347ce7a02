// The optimizer's CUDA kernels, over a Grid (core/grid.h): DeviceGrid in the CUDA plugin
// (optimizer_cuda.cu), HostGrid for their emulation in the kernel table.
//   update: one thread per parameter element, the rules of optimizer_rules.h in float.
//   sum_of_squares: blocks of a fixed split of x each reduce their share (per thread, then
//     a tree in shared memory) in double; the blocks' partial sums are copied to the host
//     and added there in block order, so the result does not depend on scheduling.
//   all_finite: threads that see a NaN or an infinity raise one flag, read back on the host.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "core/grid.h"
#include "optim/optimizer_kernels.h"
#include "optim/optimizer_rules.h"

namespace engine {

constexpr int kOptimizerThreads = 256;             // threads of a reduction block (power of 2)
constexpr int64_t kOptimizerMinChunk = 256 * 16;   // elements per block, at least
constexpr int64_t kOptimizerMaxBlocks = 4096;      // partial sums copied back, at most

// The slot pointers by value: a kernel cannot read the caller's host array.
struct OptimizerSlotPointers {
  float* slot[kMaxOptimizerSlots];
};

template <class Grid, OptimizerKind K>
void optimizer_update_on(const OptimizerStep& s, int64_t n, float* p, const float* g,
                         OptimizerSlotPointers slots) {
  for_each_index<Grid>(n, [=] ENGINE_HD(int64_t i) {
    optimizer_update_element<K, float>(s, p, g, slots.slot, i);
  });
}

template <class Grid>
void optimizer_update_grid(OptimizerKind kind, const OptimizerStep& s, int64_t n, float* p,
                           const float* g, float* const* slots) {
  OptimizerSlotPointers sl;
  for (int k = 0; k < kMaxOptimizerSlots; ++k) sl.slot[k] = slots[k];
  dispatch_optimizer(kind, [&](auto tag) {
    optimizer_update_on<Grid, decltype(tag)::value>(s, n, p, g, sl);
  });
}

// Block b sums the squares of x[b * chunk, (b + 1) * chunk) into partial[b].
struct OptimizerSquaresBlocks {
  struct Shared {
    double sum[kOptimizerThreads];
  };
  struct Local {};

  const float* x;
  int64_t n, chunk;
  double* partial;

  template <class Each>
  ENGINE_HD void run_block(int64_t block, int threads, Shared& sh, Each&& each) const {
    const int64_t begin = block * chunk, end = n - begin < chunk ? n : begin + chunk;
    each([&](int t, Local&) {
      double acc = 0.0;  // float squares are exact in double
      for (int64_t i = begin + t; i < end; i += threads) acc += double(x[i]) * double(x[i]);
      sh.sum[t] = acc;
    });
    tree_fold<Local>(each, threads, [&](int a, int b) { sh.sum[a] += sh.sum[b]; });
    each([&](int t, Local&) {
      if (t == 0) partial[block] = sh.sum[0];
    });
  }
};

template <class Grid>
double sum_of_squares_grid(int64_t n, const float* x) {
  if (n <= 0) return 0.0;
  const int64_t blocks = std::min(ceil_div(n, kOptimizerMinChunk), kOptimizerMaxBlocks);
  const int64_t chunk = ceil_div(n, blocks);
  double* partial = static_cast<double*>(Grid::scratch(sizeof(double) * blocks));
  Grid::launch_blocks(GridDims{blocks, kOptimizerThreads},
                      OptimizerSquaresBlocks{x, n, chunk, partial});
  std::vector<double> host(static_cast<size_t>(blocks));
  Grid::copy_to_host(host.data(), partial, sizeof(double) * blocks);
  double total = 0.0;
  for (double v : host) total += v;
  return total;
}

template <class Grid>
bool all_finite_grid(int64_t n, const float* x) {
  if (n <= 0) return true;
  int* flag = static_cast<int*>(Grid::scratch(sizeof(int)));
  for_each_index<Grid>(1, [=] ENGINE_HD(int64_t) { *flag = 0; });
  // Every writer stores the same value, so the unordered stores need no atomics.
  for_each_index<Grid>(n, [=] ENGINE_HD(int64_t i) {
    if (!(x[i] - x[i] == 0.0f)) *flag = 1;  // NaN, inf
  });
  int bad = 0;
  Grid::copy_to_host(&bad, flag, sizeof(int));
  return bad == 0;
}

template <class Grid>
OptimizerKernels optimizer_cuda_kernels() {
  return {optimizer_update_grid<Grid>, sum_of_squares_grid<Grid>, all_finite_grid<Grid>};
}

}  // namespace engine
