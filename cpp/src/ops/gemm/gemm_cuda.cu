#include "cuda/launch.cuh"
#include "ops/gemm/gemm_cuda.h"

ENGINE_DEFINE_CUDA_KERNELS(gemm_cuda_entry, GemmKernels, gemm_cuda_kernels<DeviceGrid>())
