#include "cuda/launch.cuh"
#include "ops/pool/pool_cuda.h"
#include "ops/pool/pool_indices_kernels.h"

ENGINE_DEFINE_CUDA_KERNELS(pool_cuda_entry, PoolKernels, pool_cuda_kernels<DeviceGrid>())
ENGINE_DEFINE_CUDA_KERNELS(max_pool_indices_cuda_entry, MaxPoolIndicesKernels,
                           max_pool_indices_kernels_for<GridLoop<DeviceGrid>>())
