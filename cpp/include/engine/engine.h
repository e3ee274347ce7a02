// The engine's C++ API: include this one header.
#pragma once

#include "engine/graph.h"
#include "engine/onnx.h"
#include "engine/status.h"
#include "engine/tensor.h"
#include "engine/threads.h"

namespace engine {

const char* version();
// CPU features found at run time ("avx2 fma" or "portable").
const char* cpu_features();
// Which kernels run: the optimized CPU kernels (default) or the naive reference kernels
// kept as oracles. Tests switch this to diff one against the other.
enum class KernelImpl { Optimized, Reference };
void set_kernel_impl(KernelImpl impl);
KernelImpl get_kernel_impl();

// CUDA devices visible to this build (0 when built without CUDA or without a GPU).
int cuda_device_count();
bool cuda_built();

}  // namespace engine
