#include "cuda/launch.cuh"
#include "ops/transpose/transpose_cuda.h"

ENGINE_DEFINE_CUDA_KERNELS(transpose_cuda_entry, TransposeKernels,
                           transpose_cuda_kernels<DeviceGrid>())
