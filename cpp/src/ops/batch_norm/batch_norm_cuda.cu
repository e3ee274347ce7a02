#include "cuda/launch.cuh"
#include "ops/batch_norm/batch_norm_cuda.h"

ENGINE_DEFINE_CUDA_KERNELS(batch_norm_cuda_entry, BatchNormKernels,
                           batch_norm_cuda_kernels<DeviceGrid>())
