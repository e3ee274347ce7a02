#include "cuda/launch.cuh"
#include "ops/grid_sample/grid_sample_kernels.h"

ENGINE_DEFINE_CUDA_KERNELS(grid_sample_cuda_entry, GridSampleKernels,
                           grid_sample_grid_kernels<DeviceGrid>())
