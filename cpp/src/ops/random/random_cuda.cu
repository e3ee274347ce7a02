#include "cuda/launch.cuh"
#include "ops/random/random_cuda.h"

ENGINE_DEFINE_CUDA_KERNELS(random_cuda_entry, RandomKernels, random_cuda_kernels<DeviceGrid>())
