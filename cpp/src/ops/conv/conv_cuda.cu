#include "cuda/launch.cuh"
#include "ops/conv/conv_cuda.h"

ENGINE_DEFINE_CUDA_KERNELS(conv_cuda_entry, ConvKernels, conv_cuda_kernels<DeviceGrid>())
