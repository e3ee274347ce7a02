#include "cuda/launch.cuh"
#include "ops/activation/activation_cuda.h"

ENGINE_DEFINE_CUDA_KERNELS(activation_cuda_entry, ActivationKernels,
                           activation_cuda_kernels<DeviceGrid>())
