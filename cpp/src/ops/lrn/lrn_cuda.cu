#include "cuda/launch.cuh"
#include "ops/lrn/lrn_cuda.h"

ENGINE_DEFINE_CUDA_KERNELS(lrn_cuda_entry, LrnKernels, lrn_cuda_kernels<DeviceGrid>())
