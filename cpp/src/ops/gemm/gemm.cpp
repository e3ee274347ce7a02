#include "ops/gemm/gemm.h"

#include <string>
#include <vector>

#include "cpu/gemm.h"
#include "ops/common.h"
#include "ops/gemm/gemm_cuda.h"

namespace engine {

namespace {

// The host versions of the helpers (the same for `ref` and `cpu`: no arithmetic to speak of).
void scaled_copy_host(int64_t n, float scale, const float* x, int64_t step, float* out) {
  for (int64_t i = 0; i < n; ++i) out[i] = scale * x[i * step];
}

// Sums in double.
void sum_to_host(const float* dy, int64_t M, int64_t N, int64_t rows, int64_t cols, float scale,
                 float* dc) {
  std::vector<double> sum(static_cast<size_t>(rows * cols), 0.0);
  for (int64_t i = 0; i < M; ++i) {
    double* s = sum.data() + (rows == 1 ? 0 : i * cols);
    const float* gi = dy + i * N;
    if (cols == 1) {
      double acc = 0.0;
      for (int64_t j = 0; j < N; ++j) acc += gi[j];
      s[0] += acc;
    } else {
      for (int64_t j = 0; j < N; ++j) s[j] += gi[j];
    }
  }
  for (size_t i = 0; i < sum.size(); ++i) dc[i] += static_cast<float>(scale * sum[i]);
}

}  // namespace

const KernelTable<GemmKernels>& gemm_kernels() {
  static const KernelTable<GemmKernels> table("GEMM", {gemm_ref, scaled_copy_host, sum_to_host},
                                              {gemm_cpu, scaled_copy_host, sum_to_host},
                                              gemm_cuda_kernels<HostGrid>());
  return table;
}

namespace {

struct GemmDims {
  int64_t M, N, K;
  // C seen as [c_rows, c_cols], each either 1 (broadcast) or M / N.
  int64_t c_rows = 0, c_cols = 0;
};

GemmDims gemm_dims(const Tensor& a, const Tensor& b, const Tensor& c, const GemmAttrs& at,
                   const std::string& op) {
  check_dense_float(a, (op + ": A").c_str());
  check_ndim(a, 2, (op + ": A").c_str());
  check_dense_float(b, (op + ": B").c_str());
  check_ndim(b, 2, (op + ": B").c_str());
  GemmDims d;
  d.M = at.trans_a ? a.dim(1) : a.dim(0);
  d.K = at.trans_a ? a.dim(0) : a.dim(1);
  const int64_t kb = at.trans_b ? b.dim(1) : b.dim(0);
  d.N = at.trans_b ? b.dim(0) : b.dim(1);
  ENGINE_CHECK(d.K == kb, op, ": inner dimensions differ: A' is [", d.M, ", ", d.K, "] (A ",
               a.describe(), ", transA=", at.trans_a, ") but B' is [", kb, ", ", d.N, "] (B ",
               b.describe(), ", transB=", at.trans_b, ")");
  if (c.defined()) {
    check_dense_float(c, (op + ": C").c_str());
    const Shape& s = c.shape();
    d.c_rows = s.size() == 2 ? s[0] : 1;
    d.c_cols = s.empty() ? 1 : s.back();
    ENGINE_CHECK(s.size() <= 2 && (d.c_rows == 1 || d.c_rows == d.M) &&
                     (d.c_cols == 1 || d.c_cols == d.N),
                 op, ": C ", c.describe(), " cannot be broadcast to [", d.M, ", ", d.N, "]");
  }
  return d;
}

void check_grad(const Tensor& g, const Tensor& like, const std::string& what) {
  check_dense_float(g, what.c_str());
  ENGINE_CHECK(g.shape() == like.shape(), what, " ", g.describe(), " does not match ",
               like.describe());
}

bool wanted(const Tensor* t) { return t && t->defined(); }

}  // namespace

Shape gemm_output_shape(const Tensor& a, const Tensor& b, const Tensor& c, const GemmAttrs& attrs,
                        const std::string& op) {
  const GemmDims d = gemm_dims(a, b, c, attrs, op);
  return {d.M, d.N};
}

void gemm_forward(const Tensor& a, const Tensor& b, const Tensor& c, const GemmAttrs& at,
                  Tensor& y) {
  const GemmDims d = gemm_dims(a, b, c, at, "Gemm");
  const GemmKernels& kernels = gemm_kernels().get(a.device());
  const auto gemm = kernels.gemm;
  check_dense_float(y, "Gemm: Y");
  ENGINE_CHECK(y.shape() == (Shape{d.M, d.N}), "Gemm: Y ", y.describe(), " must be [", d.M, ", ",
               d.N, "]");
  GemmArgs g;
  g.trans_a = at.trans_a;
  g.trans_b = at.trans_b;
  g.M = d.M;
  g.N = d.N;
  g.K = d.K;
  g.alpha = at.alpha;
  g.A = a.data<float>();
  g.lda = a.dim(1);
  g.B = b.data<float>();
  g.ldb = b.dim(1);
  g.C = y.data<float>();
  g.ldc = d.N;
  g.beta = 0.0f;
  // A full C is copied into Y and scaled by the GEMM's beta; a broadcast C becomes a
  // row or column bias of the epilogue (scaled by the scaled_copy kernel into a vector of M
  // or N floats on the operands' device).
  Tensor bias;  // on the operands' device, as everything the kernels read
  const bool use_c = c.defined() && at.beta != 0.0f && d.M > 0 && d.N > 0;
  // (A bias row or column is one even when M or N is 1: the epilogue reads it, no copy.)
  const bool c_vector = at.beta == 1.0f && (d.c_rows == 1 || d.c_cols == 1);
  if (use_c && d.c_rows == d.M && d.c_cols == d.N && !c_vector) {
    if (c.raw_data() != y.raw_data()) y.copy_from(c.reshape(y.shape()));
    g.beta = at.beta;
  } else if (use_c) {
    const float* cv = c.data<float>();
    const bool per_row = d.c_cols == 1 && d.c_rows == d.M;
    const bool full = per_row || d.c_cols == d.N;
    if (at.beta == 1.0f && full) {
      // The Dense case (a bias vector, beta 1): the epilogue reads C itself, no copy.
      (per_row ? g.epilogue.row_bias : g.epilogue.col_bias) = cv;
      g.epilogue.relu = at.relu;
      gemm(g);
      return;
    }
    const int64_t n = per_row ? d.M : d.N;
    bias = Tensor::empty({n}, DType::Float32, a.device());
    kernels.scaled_copy(n, at.beta, cv, (per_row || d.c_cols > 1) ? 1 : 0, bias.data<float>());
    (per_row ? g.epilogue.row_bias : g.epilogue.col_bias) = bias.data<float>();
  }
  g.epilogue.relu = at.relu;
  gemm(g);
}

void gemm_backward(const Tensor& dy, const Tensor& a, const Tensor& b, const Tensor& c,
                   const GemmAttrs& at, Tensor* da, Tensor* db, Tensor* dc) {
  const std::string op = "Gemm_backward";
  const GemmDims d = gemm_dims(a, b, c, at, op);
  check_dense_float(dy, (op + ": dy").c_str());
  ENGINE_CHECK(dy.shape() == (Shape{d.M, d.N}), op, ": dy ", dy.describe(), " must be [", d.M,
               ", ", d.N, "]");
  const float* g = dy.data<float>();
  const GemmKernels& kernels = gemm_kernels().get(a.device());
  const auto gemm = kernels.gemm;
  // With A' = op(A), B' = op(B):  dA' = alpha dY B'^T,  dB' = alpha A'^T dY, then each is
  // transposed back when its operand was stored transposed; the GEMM flags do it for free.
  if (wanted(da)) {
    check_grad(*da, a, op + ": da");
    if (!at.trans_a)  // dA [M,K] = alpha dY B'^T
      gemm(packed_gemm_args(false, !at.trans_b, d.M, d.K, d.N, at.alpha, g, b.data<float>(),
                            0.0f, da->data<float>()));
    else  // dA [K,M] = alpha B' dY^T
      gemm(packed_gemm_args(at.trans_b, true, d.K, d.M, d.N, at.alpha, b.data<float>(), g,
                            0.0f, da->data<float>()));
  }
  if (wanted(db)) {
    check_grad(*db, b, op + ": db");
    if (!at.trans_b)  // dB [K,N] += alpha A'^T dY
      gemm(packed_gemm_args(!at.trans_a, false, d.K, d.N, d.M, at.alpha, a.data<float>(), g,
                            1.0f, db->data<float>()));
    else  // dB [N,K] += alpha dY^T A'
      gemm(packed_gemm_args(true, at.trans_a, d.N, d.K, d.M, at.alpha, g, a.data<float>(),
                            1.0f, db->data<float>()));
  }
  if (wanted(dc)) {
    ENGINE_CHECK(c.defined(), op, ": dc requested but C is missing");
    check_grad(*dc, c, op + ": dc");
    // dC += beta * dY summed over C's broadcast dims.
    kernels.sum_to(g, d.M, d.N, d.c_rows, d.c_cols, at.beta, dc->data<float>());
  }
}

}  // namespace engine
