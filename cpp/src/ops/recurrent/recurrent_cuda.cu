#include "cuda/launch.cuh"
#include "ops/recurrent/recurrent_cuda.h"

ENGINE_DEFINE_CUDA_KERNELS(recurrent_cuda_entry, RecurrentKernels,
                           recurrent_cuda_kernels<DeviceGrid>())
