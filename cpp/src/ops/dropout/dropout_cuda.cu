#include "cuda/launch.cuh"
#include "ops/dropout/dropout_cuda.h"

ENGINE_DEFINE_CUDA_KERNELS(dropout_cuda_entry, DropoutKernels, dropout_cuda_kernels<DeviceGrid>())
