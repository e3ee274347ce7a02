#include "cuda/launch.cuh"
#include "ops/slice/slice_cuda.h"

ENGINE_DEFINE_CUDA_KERNELS(slice_cuda_entry, StridedKernels, slice_cuda_kernels<DeviceGrid>())
