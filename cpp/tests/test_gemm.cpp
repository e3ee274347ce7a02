// The packed GEMM against the naive oracle: every transpose, edge sizes, padded leading
// dimensions, alpha/beta, the epilogue, every ISA's kernels the machine has (portable,
// AVX2, AVX-512) and 1/2 threads, with guard cells around C that must never be written;
// GemmPackedA/B bitwise against gemm_cpu.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "check.h"
#include "core/cpu_features.h"
#include "cpu/gemm.h"
#include "engine/engine.h"
#include "engine/runtime.h"
#include "ops/gemm/gemm.h"

using engine::GemmArgs;

namespace {

constexpr float kGuard = 12345.0f;
constexpr int64_t kGuardCells = 67;

struct Case {
  bool ta, tb;
  int64_t M, N, K;
  float alpha, beta;
  int64_t pad;  // extra elements per row of A, B and C
  bool row_bias, col_bias, relu;
};

using GemmFn = void (*)(const GemmArgs&);

// Runs one case through `gemm` (gemm_cpu unless told) and gemm_ref on identical inputs;
// returns false on a mismatch or a touched guard cell.
bool run_case(const Case& t, std::mt19937& gen, GemmFn gemm = engine::gemm_cpu) {
  std::normal_distribution<float> normal(0.0f, 1.0f);
  auto fill = [&](std::vector<float>& v) {
    for (float& x : v) x = normal(gen);
  };
  const int64_t a_rows = t.ta ? t.K : t.M, a_cols = t.ta ? t.M : t.K;
  const int64_t b_rows = t.tb ? t.N : t.K, b_cols = t.tb ? t.K : t.N;
  const int64_t lda = a_cols + t.pad, ldb = b_cols + t.pad, ldc = t.N + t.pad;
  std::vector<float> A(a_rows * lda), B(b_rows * ldb), rb(t.M), cb(t.N);
  fill(A);
  fill(B);
  fill(rb);
  fill(cb);
  // C lives between two guard regions; with beta == 0 it starts as NaN, which must not leak.
  const int64_t c_size = (t.M - 1) * ldc + t.N;
  std::vector<float> C0(c_size);
  fill(C0);
  if (t.beta == 0.0f) C0.assign(c_size, std::nanf(""));
  std::vector<float> got(c_size + 2 * kGuardCells, kGuard);
  std::copy(C0.begin(), C0.end(), got.begin() + kGuardCells);
  std::vector<float> want = C0;

  GemmArgs g;
  g.trans_a = t.ta;
  g.trans_b = t.tb;
  g.M = t.M;
  g.N = t.N;
  g.K = t.K;
  g.alpha = t.alpha;
  g.beta = t.beta;
  g.A = A.data();
  g.lda = lda;
  g.B = B.data();
  g.ldb = ldb;
  g.ldc = ldc;
  g.epilogue.row_bias = t.row_bias ? rb.data() : nullptr;
  g.epilogue.col_bias = t.col_bias ? cb.data() : nullptr;
  g.epilogue.relu = t.relu;
  g.C = want.data();
  engine::gemm_ref(g);
  g.C = got.data() + kGuardCells;
  gemm(g);

  for (int64_t i = 0; i < kGuardCells; ++i)
    if (got[i] != kGuard || got[kGuardCells + c_size + i] != kGuard) return false;
  const double tol_abs = 1e-5 * std::sqrt(double(t.K) + 1.0) * 4.0;
  for (int64_t i = 0; i < t.M; ++i) {
    for (int64_t j = 0; j < ldc && i * ldc + j < c_size; ++j) {
      const float g_v = got[kGuardCells + i * ldc + j], w_v = want[i * ldc + j];
      if (j >= t.N) {  // padding between rows stays exactly as it was
        if (!(g_v == C0[i * ldc + j] || (std::isnan(g_v) && std::isnan(C0[i * ldc + j]))))
          return false;
        continue;
      }
      if (!std::isfinite(g_v) || std::fabs(g_v - w_v) > tol_abs + 1e-4 * std::fabs(w_v)) {
        std::printf("  M%lld N%lld K%lld ta%d tb%d: C[%lld,%lld] = %g, want %g\n",
                    (long long)t.M, (long long)t.N, (long long)t.K, t.ta, t.tb, (long long)i,
                    (long long)j, g_v, w_v);
        return false;
      }
    }
  }
  return true;
}

// Every remainder of the 6x16 tile and sizes on both sides of it, primes, 1.
constexpr int64_t kSizes[] = {1,  2,  3,  5,  6,  7,  11, 12, 13, 16, 17,
                              19, 23, 29, 31, 32, 33, 37, 47, 53, 67, 70};
constexpr int kNumSizes = sizeof(kSizes) / sizeof(kSizes[0]);
constexpr float kAlphas[] = {1.0f, -1.0f, 0.25f, -0.5f, 0.0f};
constexpr float kBetas[] = {0.0f, -0.0f, 0.25f, -0.5f, 1.0f, -1.0f};

void sweep(std::mt19937& gen, GemmFn gemm = engine::gemm_cpu) {
  for (int ta = 0; ta < 2; ++ta)
    for (int tb = 0; tb < 2; ++tb)
      for (int i = 0; i < kNumSizes; ++i)
        for (int j = 0; j < kNumSizes; ++j) {
          const int64_t M = kSizes[i], N = kSizes[j];
          const int64_t K = kSizes[(i + 5 * j + 3 * ta + tb) % kNumSizes];
          const int s = i + j;
          const Case c{bool(ta), bool(tb), M, N, K, kAlphas[s % 5], kBetas[(s + 2 * ta) % 6],
                       s % 4, s % 3 == 0, s % 2 == 1, s % 4 == 1};
          CHECK(run_case(c, gen, gemm));
        }
  // Sizes that cross the cache blocks (K > KC, M > MC) with odd remainders.
  for (int ta = 0; ta < 2; ++ta)
    for (int tb = 0; tb < 2; ++tb) {
      CHECK(run_case({bool(ta), bool(tb), 151, 67, 601, 0.75f, -1.0f, 5, true, true, true}, gen,
                     gemm));
      CHECK(run_case({bool(ta), bool(tb), 7, 301, 263, 1.0f, 0.0f, 0, false, true, false}, gen,
                     gemm));
      // Four rows (the most the few-rows path takes): column tiles, vectors and a tail.
      CHECK(run_case({bool(ta), bool(tb), 4, 131, 37, -0.5f, 0.25f, 1, true, false, true}, gen,
                     gemm));
      CHECK(run_case({bool(ta), bool(tb), 4, 13, 301, 1.0f, 1.0f, 2, false, true, true}, gen,
                     gemm));
    }
  // Few columns (the unpacked path for a plain A when K >= 4 N^2): long K with every vector
  // remainder, column counts with every remainder of the column tile, row counts that leave
  // partial row tiles, enough rows for threads.
  for (int tb = 0; tb < 2; ++tb)
    for (int64_t N : {1, 2, 3, 5, 8, 13, 21})
      for (int64_t M : {5, 7, 151})
        CHECK(run_case({false, bool(tb), M, N, std::max<int64_t>(597 + N, 4 * N * N + 7), 0.5f,
                        M == 7 ? 0.0f : 1.0f, N % 3, N % 2 == 1, N % 3 == 0, M == 151},
                       gen, gemm));
  // K == 0 and alpha == 0: only beta*C and the epilogue.
  CHECK(run_case({false, false, 5, 9, 0, 1.0f, 0.5f, 1, true, true, false}, gen, gemm));
  CHECK(run_case({true, true, 9, 5, 7, 0.0f, 0.0f, 2, false, true, true}, gen, gemm));
}

}  // namespace

TEST_CASE(gemm_every_alpha_beta_and_transpose) {
  std::mt19937 gen(7);
  for (int ta = 0; ta < 2; ++ta)
    for (int tb = 0; tb < 2; ++tb)
      for (float alpha : kAlphas)
        for (float beta : kBetas)
          CHECK(run_case({bool(ta), bool(tb), 13, 17, 7, alpha, beta, 1, false, false, false}, gen));
}

TEST_CASE(gemm_cpu_matches_ref_sweep) {
  std::mt19937 gen(1234);
  for (int threads : {1, 2}) {
    engine::set_num_threads(threads);
    sweep(gen);
  }
}

// Every ISA level this CPU has, forced in turn; the ones it lacks are reported skipped.
template <class Fn>
void for_each_isa(Fn&& fn) {
  for (const char* isa : {"portable", "avx2", "avx512"}) {
    if (!engine::cpu_isa_supported(isa)) {
      std::printf("  skipped %s: this CPU lacks it\n", isa);
      continue;
    }
    engine::set_cpu_isa(isa);
    fn();
  }
  engine::set_cpu_isa("best");
}

TEST_CASE(gemm_every_isa_matches_ref) {
  std::mt19937 gen(99);
  for_each_isa([&] {
    for (int threads : {1, 2}) {
      engine::set_num_threads(threads);
      sweep(gen);
    }
  });
}

TEST_CASE(gemm_set_cpu_isa_rejects_unknown_levels) {
  CHECK(engine::cpu_isa_supported("portable"));
  CHECK(!engine::cpu_isa_supported("sse9"));
  CHECK_THROWS(engine::set_cpu_isa("sse9"));
  engine::set_portable_kernels(true);
  CHECK(std::string(engine::cpu_features()) == "portable");
  engine::set_portable_kernels(false);
}

// gemm_cpu_packed with a packed A or B gives gemm_cpu's result bit for bit, for any other
// operand, beta and epilogue, on every ISA; a different operand is refused.
TEST_CASE(gemm_packed_operands_match_gemm_cpu_bitwise) {
  std::mt19937 gen(5);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  auto random = [&](int64_t n) {
    std::vector<float> v(n);
    for (float& x : v) x = normal(gen);
    return v;
  };
  for_each_isa([&] {
    for (int threads : {1, 2}) {
      engine::set_num_threads(threads);
      for (int t = 0; t < 2; ++t) {
        // Crosses the K and M blocks; N = 9 takes the few-columns path, which ignores A.
        for (int64_t N : {9, 33, 301}) {
          const int64_t M = 157, K = 613, pad = 3;
          const bool ta = t == 1, tb = t == 0;
          const int64_t lda = (ta ? M : K) + pad, ldb = (tb ? K : N) + pad;
          const std::vector<float> A = random((ta ? K : M) * lda), B = random((tb ? N : K) * ldb);
          const std::vector<float> C0 = random(M * N), rb = random(M);
          GemmArgs g = engine::gemm_args(M, N, K, A.data(), lda, B.data(), ldb, nullptr, N);
          g.trans_a = ta;
          g.trans_b = tb;
          g.alpha = 0.75f;
          g.beta = N == 33 ? 0.0f : -0.5f;
          g.epilogue.row_bias = rb.data();
          g.epilogue.relu = N == 301;
          std::vector<float> want = C0, got_a = C0, got_b = C0;
          g.C = want.data();
          engine::gemm_cpu(g);
          engine::GemmPackedA pa;
          engine::GemmPackedB pb;
          pa.pack(g);
          pb.pack(g);
          g.C = got_a.data();
          engine::gemm_cpu_packed(g, pa);
          g.C = got_b.data();
          engine::gemm_cpu_packed(g, pb);
          CHECK(std::memcmp(want.data(), got_a.data(), want.size() * sizeof(float)) == 0);
          CHECK(std::memcmp(want.data(), got_b.data(), want.size() * sizeof(float)) == 0);
          GemmArgs other = g;
          other.A = B.data();
          other.B = A.data();
          CHECK_THROWS(engine::gemm_cpu_packed(other, pa));
          CHECK_THROWS(engine::gemm_cpu_packed(other, pb));
        }
      }
    }
  });
}

// An operand packed into the caller's memory and attached (GemmPacked::pack_into, attach),
// its pointer then cleared so that no path can read it: the whole sweep against the oracle,
// with every ISA, for A and for B.
template <engine::GemmOperand Which>
void gemm_attached(const GemmArgs& g) {
  using Packed = engine::GemmPacked<Which>;
  engine::Workspace storage;  // 64-byte aligned, as pack_into asks
  float* kept = storage.get(std::max<int64_t>(Packed::packed_floats(g), 1));
  Packed::pack_into(g, kept);
  GemmArgs blind = g;
  (Which == engine::GemmOperand::A ? blind.A : blind.B) = nullptr;
  Packed packed;
  packed.attach(blind, kept);
  engine::gemm_cpu_packed(blind, packed);
}

TEST_CASE(gemm_attached_packed_operands_match_ref_sweep) {
  std::mt19937 gen(77);
  for_each_isa([&] {
    for (int threads : {1, 2}) {
      engine::set_num_threads(threads);
      sweep(gen, gemm_attached<engine::GemmOperand::A>);
      sweep(gen, gemm_attached<engine::GemmOperand::B>);
    }
  });
}

// The CUDA SGEMM's body run over its grid on the host (ops/gemm/gemm_cuda.h): the same
// sweep, which crosses its 64x64 tiles and 16-deep K steps with odd remainders.
TEST_CASE(gemm_cuda_emulated_matches_ref_sweep) {
  std::mt19937 gen(4321);
  const GemmFn emulated =
      engine::gemm_kernels().get(engine::KernelVariant::CudaEmulated).gemm;
  sweep(gen, emulated);
  for (int ta = 0; ta < 2; ++ta)
    for (int tb = 0; tb < 2; ++tb)
      for (float alpha : kAlphas)
        for (float beta : kBetas)
          CHECK(run_case({bool(ta), bool(tb), 67, 65, 17, alpha, beta, 3, true, true, true}, gen,
                         emulated));
}

TEST_CASE(gemm_packed_args_use_packed_leading_dims) {
  // C[2,3] = A[2,4] * B^T where B is [3,4].
  const float A[] = {1, 2, 3, 4, 5, 6, 7, 8};
  const float B[] = {1, 0, 0, 0, 0, 1, 0, 0, 1, 1, 1, 1};
  const float want[] = {1, 2, 10, 5, 6, 26};
  for (auto gemm : {engine::gemm_cpu, engine::gemm_ref}) {
    float C[6] = {std::nanf(""), 0, 0, 0, 0, 0};
    gemm(engine::packed_gemm_args(false, true, 2, 3, 4, 1.0f, A, B, 0.0f, C));
    for (int i = 0; i < 6; ++i) CHECK(C[i] == want[i]);
  }
}

TEST_CASE(gemm_relu_epilogue_keeps_nan) {
  // NaN * 1 + 1 * 1 is NaN; the fused Relu must not turn it into 0.
  const float A[] = {std::nanf(""), 1.0f};
  const float B[] = {1.0f, 1.0f};
  const GemmFn emulated =
      engine::gemm_kernels().get(engine::KernelVariant::CudaEmulated).gemm;
  for (auto gemm : {engine::gemm_cpu, engine::gemm_ref, emulated}) {
    float C[1] = {0.0f};
    engine::GemmArgs g = engine::packed_gemm_args(false, false, 1, 1, 2, 1.0f, A, B, 0.0f, C);
    g.epilogue.relu = true;
    gemm(g);
    CHECK(std::isnan(C[0]));
  }
}

TEST_MAIN()
