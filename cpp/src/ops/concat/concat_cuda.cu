#include "cuda/launch.cuh"
#include "ops/concat/concat_cuda.h"

ENGINE_DEFINE_CUDA_KERNELS(concat_cuda_entry, ConcatKernels, concat_cuda_kernels<DeviceGrid>())
