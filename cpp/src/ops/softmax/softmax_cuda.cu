#include "cuda/launch.cuh"
#include "ops/softmax/softmax_cuda.h"

ENGINE_DEFINE_CUDA_KERNELS(softmax_cuda_entry, SoftmaxKernels, softmax_cuda_kernels<DeviceGrid>())
