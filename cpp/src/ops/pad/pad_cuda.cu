#include "cuda/launch.cuh"
#include "ops/pad/pad_cuda.h"

ENGINE_DEFINE_CUDA_KERNELS(pad_cuda_entry, PadKernels, pad_cuda_kernels<DeviceGrid>())
