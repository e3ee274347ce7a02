#include "cuda/launch.cuh"
#include "optim/optimizer_cuda.h"

ENGINE_DEFINE_CUDA_KERNELS(optimizer_cuda_entry, OptimizerKernels,
                           optimizer_cuda_kernels<DeviceGrid>())
