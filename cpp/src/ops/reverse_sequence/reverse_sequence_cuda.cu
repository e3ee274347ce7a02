#include "cuda/launch.cuh"
#include "ops/reverse_sequence/reverse_sequence_kernels.h"

ENGINE_DEFINE_CUDA_KERNELS(reverse_sequence_cuda_entry, ReverseSequenceKernels,
                           (reverse_sequence_kernels_for<GridLoop<DeviceGrid>>()))
