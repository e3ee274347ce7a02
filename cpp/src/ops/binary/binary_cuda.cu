#include "cuda/launch.cuh"
#include "ops/binary/binary_cuda.h"

ENGINE_DEFINE_CUDA_KERNELS(binary_cuda_entry, BinaryKernels, binary_cuda_kernels<DeviceGrid>())
