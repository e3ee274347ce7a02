#include "cuda/launch.cuh"
#include "ops/losses/losses_cuda.h"

ENGINE_DEFINE_CUDA_KERNELS(losses_cuda_entry, LossKernels, losses_cuda_kernels<DeviceGrid>())
