#include "cuda/launch.cuh"
#include "ops/layer_norm/layer_norm_cuda.h"

ENGINE_DEFINE_CUDA_KERNELS(layer_norm_cuda_entry, LayerNormKernels,
                           layer_norm_cuda_kernels<DeviceGrid>())
