#include "ops/transpose/transpose.h"

#include "core/kernel_table.h"
#include "ops/transpose/transpose_cuda.h"

namespace engine {

const KernelTable<TransposeKernels>& transpose_kernels() {
  static const KernelTable<TransposeKernels> table("Transpose", {transpose_ref}, {transpose_cpu},
                                                   transpose_cuda_kernels<HostGrid>());
  return table;
}

std::vector<int64_t> transpose_perm(const std::vector<int64_t>& perm, int rank) {
  if (perm.empty()) {
    std::vector<int64_t> rev(rank);
    for (int i = 0; i < rank; ++i) rev[i] = rank - 1 - i;
    return rev;
  }
  std::vector<bool> seen(rank, false);
  bool ok = static_cast<int>(perm.size()) == rank;
  for (size_t i = 0; ok && i < perm.size(); ++i) {
    ok = perm[i] >= 0 && perm[i] < rank && !seen[perm[i]];
    if (ok) seen[perm[i]] = true;
  }
  ENGINE_CHECK(ok, "Transpose: perm ", shape_str(perm), " is not a permutation of ", rank,
               " axes");
  return perm;
}

std::vector<int64_t> inverse_perm(const std::vector<int64_t>& perm) {
  const std::vector<int64_t> p = transpose_perm(perm, static_cast<int>(perm.size()));
  std::vector<int64_t> inv(p.size());
  for (size_t i = 0; i < p.size(); ++i) inv[p[i]] = static_cast<int64_t>(i);
  return inv;
}

Shape transpose_output_shape(const Shape& in, const std::vector<int64_t>& perm) {
  const std::vector<int64_t> p = transpose_perm(perm, static_cast<int>(in.size()));
  Shape out(in.size());
  for (size_t k = 0; k < p.size(); ++k) out[k] = in[p[k]];
  return out;
}

namespace {
void run(const Tensor& x, const std::vector<int64_t>& perm, Tensor& y, const char* op) {
  ENGINE_CHECK(x.defined(), op, ": x is missing");
  check_contiguous(x, str(op, ": x").c_str());
  ENGINE_CHECK(y.defined(), op, ": y is missing");
  ENGINE_CHECK_TYPE(y.dtype() == x.dtype(), op, ": y is ", dtype_name(y.dtype()), " but x is ",
                    dtype_name(x.dtype()));
  check_contiguous(y, str(op, ": y").c_str());
  const Shape out = transpose_output_shape(x.shape(), perm);
  ENGINE_CHECK(y.shape() == out, op, ": y ", y.describe(), " does not match the output shape ",
               shape_str(out));
  transpose_kernels().get(x.device()).transpose(x.shape(), transpose_perm(perm, x.ndim()),
                                                dtype_size(x.dtype()), x.raw_data(), y.raw_data());
}
}  // namespace

void transpose_forward(const Tensor& x, const std::vector<int64_t>& perm, Tensor& y) {
  run(x, perm, y, "Transpose");
}

void transpose_backward(const Tensor& dy, const std::vector<int64_t>& perm, Tensor& dx) {
  ENGINE_CHECK(dy.defined(), "Transpose_backward: dy is missing");
  run(dy, inverse_perm(transpose_perm(perm, dy.ndim())), dx, "Transpose_backward");
}

}  // namespace engine
