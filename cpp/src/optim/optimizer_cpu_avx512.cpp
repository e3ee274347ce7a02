// The optimizers' update loop compiled for AVX-512; optimizer_cpu.cpp calls it after the
// CPUID check.
#include "optim/optimizer_cpu_loops.h"

namespace engine {

const OptimizerRangeFn kOptimizerRangeAvx512 = optimizer_update_range;

}  // namespace engine
