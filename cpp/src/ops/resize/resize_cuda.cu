#include "cuda/launch.cuh"
#include "ops/resize/resize_cuda.h"

ENGINE_DEFINE_CUDA_KERNELS(resize_cuda_entry, ResizeKernels, resize_cuda_kernels<DeviceGrid>())
