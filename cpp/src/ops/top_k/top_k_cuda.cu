#include "cuda/launch.cuh"
#include "ops/top_k/top_k_kernels.h"

ENGINE_DEFINE_CUDA_KERNELS(top_k_cuda_entry, TopKKernels,
                           (top_k_rank_kernels<GridLoop<DeviceGrid>>()))
