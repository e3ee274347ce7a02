// The device side of core/grid.h: DeviceGrid launches kernel bodies on the current
// device's stream. Included by the plugin's .cu files only.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>

#include "core/grid.h"
#include "engine/status.h"

namespace engine {

// The current device's stream (one per device, non-blocking, created on first use).
cudaStream_t cuda_stream();
// Scratch memory on the current device for one kernel call, valid until the next call of
// cuda_scratch on this thread (later work on the same stream is ordered after it).
void* cuda_scratch(size_t nbytes);
// Throws a Runtime-kind error naming `what` when the CUDA call failed.
void cuda_check(cudaError_t status, const char* what);

template <class Body>
__global__ void grid_kernel(Body body) {
  body(static_cast<int64_t>(blockIdx.x), static_cast<int>(threadIdx.x));
}

template <class Body>
__global__ void block_kernel(Body body) {
  __shared__ typename Body::Shared shared;
  typename Body::Local local{};
  body.run_block(static_cast<int64_t>(blockIdx.x), static_cast<int>(blockDim.x), shared,
                 [&](auto&& phase) {
                   phase(static_cast<int>(threadIdx.x), local);
                   __syncthreads();
                 });
}

struct DeviceGrid {
  template <class Body>
  static void launch(const GridDims& g, const Body& body) {
    if (g.blocks <= 0) return;
    grid_kernel<<<static_cast<unsigned>(g.blocks), g.threads, 0, cuda_stream()>>>(body);
    cuda_check(cudaGetLastError(), "kernel launch");
  }
  template <class Body>
  static void launch_blocks(const GridDims& g, const Body& body) {
    if (g.blocks <= 0) return;
    block_kernel<<<static_cast<unsigned>(g.blocks), g.threads, 0, cuda_stream()>>>(body);
    cuda_check(cudaGetLastError(), "kernel launch");
  }
  static void* scratch(size_t nbytes) { return cuda_scratch(nbytes); }
  // Waits for the stream: the copy follows the kernels that wrote `src`.
  static void copy_to_host(void* dst, const void* src, size_t nbytes) {
    if (!nbytes) return;
    cuda_check(cudaMemcpyAsync(dst, src, nbytes, cudaMemcpyDeviceToHost, cuda_stream()),
               "cudaMemcpyAsync");
    cuda_check(cudaStreamSynchronize(cuda_stream()), "cudaStreamSynchronize");
  }
};

}  // namespace engine

// Defines `const void* name(size_t* size)`, the entry of cuda/kernel_list.inc that hands
// the plugin an op's kernel struct instantiated for the device.
#define ENGINE_DEFINE_CUDA_KERNELS(name, Kernels, value) \
  namespace engine {                                     \
  const void* name(size_t* size) {                       \
    static const Kernels kernels = value;                \
    *size = sizeof(Kernels);                             \
    return &kernels;                                     \
  }                                                      \
  }
