// cuBLAS, found at run time. The plugin has no build-time dependency on it: when
// libcublas can be opened (the nvidia/cu13 or nvidia/cublas pip packages beside the
// engine, $ENGINE_CUBLAS, or the loader's path) the GEMMs may use it; our own SGEMM is
// always there. TF32 is used only when the user allows it.
#pragma once

#include <cstdint>
#include <string>

#include "core/gemm_args.h"

namespace engine {

// "auto" (cuBLAS when loadable), "own" or "cublas"; false when the choice cannot be served.
bool set_gemm_choice(const std::string& choice);
bool use_cublas();  // whether GEMMs go to cuBLAS now
void set_tf32(bool on);
bool tf32_enabled();
const char* cublas_library();  // the path loaded, "" when none
std::string cublas_unavailable_reason();
// C = alpha op(A) op(B) + beta C through cuBLAS on the current stream (no epilogue).
void cublas_sgemm(const GemmArgs& args);
// The same for `count` GEMMs whose operands lie at fixed strides (in elements; 0 shares an
// operand) from args' A, B and C: one cublasSgemmStridedBatched call.
void cublas_sgemm_batched(const GemmArgs& args, int64_t count, int64_t stride_a,
                          int64_t stride_b, int64_t stride_c);

}  // namespace engine
