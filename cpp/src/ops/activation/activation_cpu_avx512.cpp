// The activation loops compiled for AVX-512 (16 floats a vector, 32 registers);
// activation_cpu.cpp calls them after the CPUID check.
#include "ops/activation/activation_cpu_loops.h"

namespace engine {

const ActivationLoops kActivationLoopsAvx512 = {activation_forward_loop,
                                                activation_backward_loop};

}  // namespace engine
