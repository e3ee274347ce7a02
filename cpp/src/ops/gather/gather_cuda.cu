#include "cuda/launch.cuh"
#include "ops/gather/gather_cuda.h"

ENGINE_DEFINE_CUDA_KERNELS(gather_cuda_entry, GatherKernels, gather_cuda_kernels<DeviceGrid>())
