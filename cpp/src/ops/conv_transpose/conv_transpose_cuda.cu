#include "cuda/launch.cuh"
#include "ops/conv_transpose/conv_transpose_cuda.h"

ENGINE_DEFINE_CUDA_KERNELS(conv_transpose_cuda_entry, ConvTransposeKernels,
                           conv_transpose_cuda_kernels<DeviceGrid>())
