#include "cuda/launch.cuh"
#include "ops/mod/mod_kernels.h"

ENGINE_DEFINE_CUDA_KERNELS(mod_cuda_entry, ModKernels, mod_kernels_for<GridLoop<DeviceGrid>>())
