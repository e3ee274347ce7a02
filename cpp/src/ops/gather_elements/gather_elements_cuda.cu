#include "cuda/launch.cuh"
#include "ops/gather_elements/gather_elements_kernels.h"

ENGINE_DEFINE_CUDA_KERNELS(
    gather_elements_cuda_entry, GatherElementsKernels,
    (gather_elements_kernels_for<GridLoop<DeviceGrid>, GridLoop<DeviceGrid>>()))
