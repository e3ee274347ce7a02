#include "cuda/launch.cuh"
#include "ops/reduce/reduce_cuda.h"

ENGINE_DEFINE_CUDA_KERNELS(reduce_cuda_entry, ReduceKernels, reduce_cuda_kernels<DeviceGrid>())
