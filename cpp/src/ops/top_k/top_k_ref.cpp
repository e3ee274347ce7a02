// Reference kernels: every element's rank counted, one element at a time.
#include "ops/top_k/top_k_kernels.h"

namespace engine {
TopKKernels top_k_ref_kernels() { return top_k_rank_kernels<SerialLoop>(); }
}  // namespace engine
