#include "ops/matmul/matmul.h"

#include <algorithm>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "engine/threads.h"
#include "ops/gemm/gemm.h"

namespace engine {

namespace {

// Below this many multiply-adds per GEMM, batches run in parallel with serial GEMMs
// rather than one after another with threaded GEMMs.
constexpr int64_t kSmallGemm = int64_t(1) << 17;

// The batched problem: `count` output matrices [M, N]; output batch o reads A's batch
// a_index[o] and B's batch b_index[o] (matrices counted from the start of each tensor).
struct MatMulPlan {
  int64_t M = 0, N = 0, K = 0;
  int64_t count = 1, a_batches = 1, b_batches = 1;
  std::vector<int64_t> a_index, b_index;
  Shape y_shape;
};

MatMulPlan make_plan(const Tensor& a, const Tensor& b, const std::string& op) {
  check_dense_float(a, (op + ": A").c_str());
  check_dense_float(b, (op + ": B").c_str());
  ENGINE_CHECK(a.ndim() >= 1 && b.ndim() >= 1, op, ": operands need rank >= 1, got A ",
               a.describe(), " and B ", b.describe());
  Shape as = a.shape(), bs = b.shape();
  const bool a_vec = as.size() == 1, b_vec = bs.size() == 1;
  if (a_vec) as.insert(as.begin(), 1);
  if (b_vec) bs.push_back(1);
  MatMulPlan p;
  p.M = as[as.size() - 2];
  p.K = as.back();
  p.N = bs.back();
  ENGINE_CHECK(bs[bs.size() - 2] == p.K, op, ": inner dimensions differ: A ", a.describe(),
               " has K = ", p.K, " but B ", b.describe(), " has K = ", bs[bs.size() - 2]);

  // Right-aligned numpy broadcast of the batch dims.
  const size_t na = as.size() - 2, nb = bs.size() - 2, nd = std::max(na, nb);
  Shape batch(nd), a_dims(nd, 1), b_dims(nd, 1);
  for (size_t i = 0; i < na; ++i) a_dims[nd - na + i] = as[i];
  for (size_t i = 0; i < nb; ++i) b_dims[nd - nb + i] = bs[i];
  for (size_t i = 0; i < nd; ++i) {
    ENGINE_CHECK(a_dims[i] == b_dims[i] || a_dims[i] == 1 || b_dims[i] == 1, op,
                 ": batch dims of A ", a.describe(), " and B ", b.describe(),
                 " cannot be broadcast together");
    batch[i] = a_dims[i] == 1 ? b_dims[i] : a_dims[i];
  }
  p.count = shape_numel(batch);
  p.a_batches = shape_numel(a_dims);
  p.b_batches = shape_numel(b_dims);
  p.a_index.resize(p.count);
  p.b_index.resize(p.count);
  for (int64_t o = 0; o < p.count; ++o) {
    int64_t rest = o, ia = 0, ib = 0, sa = 1, sb = 1;
    for (size_t i = nd; i-- > 0;) {
      const int64_t idx = rest % batch[i];
      rest /= batch[i];
      if (a_dims[i] != 1) ia += idx * sa;
      if (b_dims[i] != 1) ib += idx * sb;
      sa *= a_dims[i];
      sb *= b_dims[i];
    }
    p.a_index[o] = ia;
    p.b_index[o] = ib;
  }
  p.y_shape = batch;
  if (!a_vec) p.y_shape.push_back(p.M);
  if (!b_vec) p.y_shape.push_back(p.N);
  return p;
}

// B has a single matrix and A's batches are the output's, in order: the batch folds
// into M and one GEMM does it all.
bool folds_into_m(const MatMulPlan& p) { return p.b_batches == 1 && p.a_batches == p.count; }

// Runs fn(i) for i in [0, n): in parallel when each item is a small GEMM, else in order
// so that each GEMM uses every thread itself. Always in order on a GPU, whose kernels are
// launched from the calling thread (its current device and stream).
void for_each_item(const Device& device, int64_t n, int64_t gemm_flops,
                   const std::function<void(int64_t)>& fn) {
  if (device.is_cpu() && n > 1 && gemm_flops < kSmallGemm) {
    parallel_for(n, 1, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) fn(i);
    });
  } else {
    for (int64_t i = 0; i < n; ++i) fn(i);
  }
}

// For each batch of one operand, the output batches that read it.
std::vector<std::vector<int64_t>> users(const std::vector<int64_t>& index, int64_t batches) {
  std::vector<std::vector<int64_t>> u(static_cast<size_t>(batches));
  for (size_t o = 0; o < index.size(); ++o) u[index[o]].push_back(static_cast<int64_t>(o));
  return u;
}

bool wanted(const Tensor* t) { return t && t->defined(); }

void check_grad(const Tensor& g, const Tensor& like, const std::string& what) {
  check_dense_float(g, what.c_str());
  ENGINE_CHECK(g.shape() == like.shape(), what, " ", g.describe(), " does not match ",
               like.describe());
}

}  // namespace

Shape matmul_output_shape(const Tensor& a, const Tensor& b) {
  return make_plan(a, b, "MatMul").y_shape;
}

void matmul_forward(const Tensor& a, const Tensor& b, Tensor& y) {
  const MatMulPlan p = make_plan(a, b, "MatMul");
  const auto gemm = gemm_kernels().get(a.device()).gemm;
  check_dense_float(y, "MatMul: Y");
  ENGINE_CHECK(y.shape() == p.y_shape, "MatMul: Y ", y.describe(), " must be ",
               shape_str(p.y_shape));
  const float *A = a.data<float>(), *B = b.data<float>();
  float* Y = y.data<float>();
  const int64_t sa = p.M * p.K, sb = p.K * p.N, sy = p.M * p.N;
  if (folds_into_m(p)) {
    gemm(packed_gemm_args(false, false, p.count * p.M, p.N, p.K, 1.0f, A, B, 0.0f, Y));
    return;
  }
  for_each_item(a.device(), p.count, sy * p.K, [&](int64_t o) {
    gemm(packed_gemm_args(false, false, p.M, p.N, p.K, 1.0f, A + p.a_index[o] * sa,
                          B + p.b_index[o] * sb, 0.0f, Y + o * sy));
  });
}

void matmul_backward(const Tensor& dy, const Tensor& a, const Tensor& b, Tensor* da, Tensor* db) {
  const std::string op = "MatMul_backward";
  const MatMulPlan p = make_plan(a, b, op);
  check_dense_float(dy, (op + ": dy").c_str());
  ENGINE_CHECK(dy.shape() == p.y_shape, op, ": dy ", dy.describe(), " must be ",
               shape_str(p.y_shape));
  const float *A = a.data<float>(), *B = b.data<float>(), *G = dy.data<float>();
  const int64_t sa = p.M * p.K, sb = p.K * p.N, sy = p.M * p.N;
  const int64_t flops = p.M * p.N * p.K;
  const auto gemm = gemm_kernels().get(a.device()).gemm;

  if (wanted(da)) {  // dA[M,K] = dY[M,N] B^T, summed over the output batches reading A
    check_grad(*da, a, op + ": da");
    float* dA = da->data<float>();
    if (folds_into_m(p)) {
      gemm(packed_gemm_args(false, true, p.count * p.M, p.K, p.N, 1.0f, G, B, 0.0f, dA));
    } else {
      const auto readers = users(p.a_index, p.a_batches);
      for_each_item(a.device(), p.a_batches, flops, [&](int64_t ia) {
        float* out = dA + ia * sa;
        // A batch no output reads (a broadcast against an empty dim) gets zeros: a GEMM with
        // K = 0 writes them wherever the data is.
        if (readers[ia].empty())
          gemm(packed_gemm_args(false, true, p.M, p.K, 0, 1.0f, G, B, 0.0f, out));
        float beta = 0.0f;
        for (int64_t o : readers[ia]) {
          gemm(packed_gemm_args(false, true, p.M, p.K, p.N, 1.0f, G + o * sy,
                                B + p.b_index[o] * sb, beta, out));
          beta = 1.0f;
        }
      });
    }
  }
  if (wanted(db)) {  // dB[K,N] += A^T dY, summed over the output batches reading B
    check_grad(*db, b, op + ": db");
    float* dB = db->data<float>();
    if (folds_into_m(p)) {
      gemm(packed_gemm_args(true, false, p.K, p.N, p.count * p.M, 1.0f, A, G, 1.0f, dB));
    } else {
      const auto readers = users(p.b_index, p.b_batches);
      for_each_item(a.device(), p.b_batches, flops, [&](int64_t ib) {
        for (int64_t o : readers[ib])
          gemm(packed_gemm_args(true, false, p.K, p.N, p.M, 1.0f, A + p.a_index[o] * sa,
                                G + o * sy, 1.0f, dB + ib * sb));
      });
    }
  }
}

}  // namespace engine
