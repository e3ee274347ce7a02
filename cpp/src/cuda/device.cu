// CUDA device discovery. A build with the CUDA backend still imports and runs on a
// machine without a GPU: the count is simply 0 there.
#include <cuda_runtime.h>

#include "engine/runtime.h"

namespace engine {

namespace {
__global__ void probe_kernel(int* out) { *out = 42; }
}  // namespace

bool cuda_built() { return true; }

int cuda_device_count() {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky error left by a missing driver
    return 0;
  }
  if (count == 0) return 0;
  // A device that cannot run our code (wrong architecture) does not count.
  int* flag = nullptr;
  if (cudaMalloc(&flag, sizeof(int)) != cudaSuccess) return 0;
  probe_kernel<<<1, 1>>>(flag);
  int value = 0;
  const bool ok = cudaMemcpy(&value, flag, sizeof(int), cudaMemcpyDeviceToHost) == cudaSuccess;
  cudaFree(flag);
  return ok && value == 42 ? count : 0;
}

}  // namespace engine
