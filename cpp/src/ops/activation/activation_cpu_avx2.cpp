// The activation loops compiled for AVX2/FMA (8 floats a vector, fused multiply-adds);
// activation_cpu.cpp calls them after the CPUID check.
#include "ops/activation/activation_cpu_loops.h"

namespace engine {

const ActivationLoops kActivationLoopsAvx2 = {activation_forward_loop, activation_backward_loop};

}  // namespace engine
