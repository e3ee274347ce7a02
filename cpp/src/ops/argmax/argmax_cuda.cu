#include "cuda/launch.cuh"
#include "ops/argmax/argmax_kernels.h"

ENGINE_DEFINE_CUDA_KERNELS(argmax_cuda_entry, ArgmaxKernels,
                           argmax_kernels_for<GridLoop<DeviceGrid>>())
