// Kernel bodies shared by the CUDA backend and the host.
//
// A CUDA kernel that needs no __syncthreads is written once as a body: a copyable functor
// with `ENGINE_HD void operator()(int64_t block, int thread) const`, for the explicit
// (blockIdx.x, threadIdx.x) of one thread. A Grid policy launches it:
//   DeviceGrid (cuda/launch.cuh)  a __global__ wrapper on the backend's stream;
//   HostGrid (here)               a loop over the grid on the calling thread.
// The kernels' launch code is a template over the Grid, instantiated once per policy, so
// the CPU build runs exactly the CUDA kernels' index arithmetic and math (the
// "cuda-emulated" kernel variant) and the op-case table checks them on every machine.
//
// Most kernels are "one thread per index": for_each_index<Grid>(n, f) runs f(i) for every i
// in [0, n) with a grid-stride loop, f being a lambda marked ENGINE_HD:
//   for_each_index<Grid>(n, [=] ENGINE_HD(int64_t i) { y[i] = x[i] * 2; });
// (nvcc compiles those as extended __host__ __device__ lambdas.)
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "core/checked.h"
#include "core/hd.h"

namespace engine {

struct GridDims {
  int64_t blocks = 1;
  int threads = 256;
};

// Enough blocks of `threads` to give each of `n` work items a thread, capped: bodies loop
// with grid_stride, so a capped grid still covers every item.
inline GridDims grid_for(int64_t n, int threads = 256, int64_t max_blocks = 65535) {
  int64_t blocks = n <= 0 ? 1 : ceil_div(n, static_cast<int64_t>(threads));
  if (blocks > max_blocks) blocks = max_blocks;
  return GridDims{blocks, threads};
}

// *target += value, atomically on the device (kernels whose threads add into one place:
// weight gradients, scatter to overlapping windows). The host emulation runs one thread at
// a time, so a plain add is the same.
ENGINE_HD inline void atomic_add(float* target, float value) {
#if defined(__CUDA_ARCH__)
  atomicAdd(target, value);
#else
  *target += value;
#endif
}

template <class F>
struct IndexBody {
  int64_t n;
  GridDims g;
  F f;
  ENGINE_HD void operator()(int64_t block, int thread) const {
    for (int64_t i = block * g.threads + thread; i < n; i += g.blocks * g.threads) f(i);
  }
};

// The host policy: every (block, thread) in order on the calling thread, and scratch
// memory from a per-thread host buffer.
struct HostGrid {
  template <class Body>
  static void launch(const GridDims& g, const Body& body) {
    for (int64_t b = 0; b < g.blocks; ++b)
      for (int t = 0; t < g.threads; ++t) body(b, t);
  }
  // Cooperative kernels (shared memory, __syncthreads) are written as phases over a block:
  // body.run(block, phase-runner) on the device; here every thread of a block runs one
  // phase before any thread runs the next, which is what __syncthreads guarantees.
  template <class Body>
  static void launch_blocks(const GridDims& g, const Body& body) {
    for (int64_t b = 0; b < g.blocks; ++b) {
      typename Body::Shared shared{};
      std::vector<typename Body::Local> locals(static_cast<size_t>(g.threads));
      body.run_block(b, g.threads, shared, [&](auto&& phase) {
        for (int t = 0; t < g.threads; ++t) phase(t, locals[static_cast<size_t>(t)]);
      });
    }
  }
  // Scratch for one kernel call, valid until the next scratch() on this thread.
  static void* scratch(size_t nbytes) {
    thread_local std::vector<unsigned char> buffer;
    if (buffer.size() < nbytes) buffer.resize(nbytes);
    return buffer.data();
  }
  // Copies kernel memory (scratch, tensor data) to the host once the kernels launched
  // before have finished: results a kernel-table function returns by value (norms, flags).
  static void copy_to_host(void* dst, const void* src, size_t nbytes) {
    if (nbytes) std::memcpy(dst, src, nbytes);
  }
};

// The tree reduction of a cooperative block, or of each group of `width` threads inside it
// (width a power of two): one phase per halving, in which every thread whose lane (t mod
// width) is below `half` folds slot t + half into slot t: fold(t, t + half). Afterwards the
// first slot of each group holds its result.
template <class Local, class Each, class Fold>
ENGINE_HD void tree_fold(Each& each, int width, Fold&& fold) {
  for (int half = width / 2; half > 0; half /= 2)
    each([&](int t, Local&) {
      if ((t & (width - 1)) < half) fold(t, t + half);
    });
}

// f(i) for every i in [0, n), one grid thread per index.
template <class Grid, class F>
void for_each_index(int64_t n, const F& f) {
  if (n <= 0) return;
  const GridDims g = grid_for(n);
  Grid::launch(g, IndexBody<F>{n, g, f});
}

}  // namespace engine
