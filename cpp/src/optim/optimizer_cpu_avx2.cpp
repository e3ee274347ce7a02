// The optimizers' update loop compiled for AVX2/FMA; optimizer_cpu.cpp calls it after the
// CPUID check.
#include "optim/optimizer_cpu_loops.h"

namespace engine {

const OptimizerRangeFn kOptimizerRangeAvx2 = optimizer_update_range;

}  // namespace engine
