#include "cuda/launch.cuh"
#include "ops/pool/pool_cuda.h"

ENGINE_DEFINE_CUDA_KERNELS(pool_cuda_entry, PoolKernels, pool_cuda_kernels<DeviceGrid>())
