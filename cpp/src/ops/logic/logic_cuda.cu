#include "cuda/launch.cuh"
#include "ops/logic/logic_kernels.h"

ENGINE_DEFINE_CUDA_KERNELS(logic_cuda_entry, LogicKernels, logic_kernels_for<GridLoop<DeviceGrid>>())
