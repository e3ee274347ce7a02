#include "cuda/launch.cuh"
#include "ops/clip/clip_cuda.h"

ENGINE_DEFINE_CUDA_KERNELS(clip_cuda_entry, ClipKernels, clip_cuda_kernels<DeviceGrid>())
