// The CUDA GEMM and its helper kernels, over a Grid (core/grid.h): DeviceGrid in the CUDA
// plugin (gemm_cuda.cu), HostGrid for their emulation in the kernel table.
//
// gemm_batched_grid<Grid> is the one entry every op uses (Gemm, MatMul, Conv). On the
// device it goes to cuBLAS when cuda/cublas.h says so (use_cublas()) and applies the
// epilogue with a small elementwise kernel after it; otherwise, and always on the host,
// it runs our own tiled SGEMM (SgemmBody). The cuBLAS calls sit in a branch that only the
// DeviceGrid instantiation compiles, so the host build never references them.
#pragma once

#include <climits>
#include <cstdint>
#include <type_traits>

#include "core/gemm_args.h"
#include "core/grid.h"
#include "cuda/cublas.h"
#include "ops/gemm/gemm.h"

#if defined(__CUDA_ARCH__)
#define ENGINE_UNROLL _Pragma("unroll")
#else
#define ENGINE_UNROLL
#endif

namespace engine {

// `count` GEMMs of the same sizes: the i-th reads A + i*stride_a and B + i*stride_b and
// writes C + i*stride_c (strides in elements; 0 shares the operand). The epilogue's biases
// are the same for every item.
struct GemmBatch {
  int64_t count = 1;
  int64_t stride_a = 0, stride_b = 0, stride_c = 0;
};

// ---- our SGEMM ----------------------------------------------------------------------------

// One 256-thread block computes a 64x64 tile of one item's C: per step of 16 along K it
// stages the 64x16 slice of op(A) and the 16x64 slice of op(B) in shared memory (loaded
// along their contiguous dimension, so global reads coalesce for every transpose), then
// each thread accumulates a 4x4 block of C in registers. Thread (ty, tx) = (t / 16, t % 16)
// owns rows ty + 16r and columns tx + 16c: a warp reads consecutive shared words and
// writes consecutive columns of C. Out-of-range rows, columns and K are loaded as zeros
// and never stored. The store applies alpha, beta (C unread when beta == 0) and the
// epilogue, in the CPU GEMM's order.
struct SgemmBody {
  static constexpr int kBM = 64, kBN = 64, kBK = 16, kThreads = 256, kTM = 4, kTN = 4;
  static constexpr int kSide = 16;  // threads along each side of the tile: kBM / kTM

  struct Shared {
    float a[kBK][kBM + 1];  // op(A) slice, [k][i]; +1 spreads the column writes over banks
    float b[kBK][kBN + 1];  // op(B) slice, [k][j]
  };
  struct Local {
    float acc[kTM][kTN];
  };

  GemmArgs g;
  GemmBatch batch;
  int64_t tiles_n = 1, tiles_per_item = 1;
  int64_t depth = 0;  // K, or 0 when there is no product to add (alpha == 0)

  template <class Each>
  ENGINE_HD void run_block(int64_t block, int threads, Shared& sh, Each&& each) const {
    const int64_t item = block / tiles_per_item, tile = block % tiles_per_item;
    const int64_t i0 = tile / tiles_n * kBM, j0 = tile % tiles_n * kBN;
    const float* A = g.A + item * batch.stride_a;
    const float* B = g.B + item * batch.stride_b;
    float* C = g.C + item * batch.stride_c;
    const int64_t M = g.M, N = g.N, K = depth, lda = g.lda, ldb = g.ldb;
    const bool ta = g.trans_a, tb = g.trans_b;

    each([&](int, Local& l) {
      for (int r = 0; r < kTM; ++r)
        for (int c = 0; c < kTN; ++c) l.acc[r][c] = 0.0f;
    });
    for (int64_t k0 = 0; k0 < K; k0 += kBK) {
      each([&](int t, Local&) {
        // 4 elements of each slice per thread, consecutive threads on consecutive addresses.
        ENGINE_UNROLL
        for (int r = 0; r < 4; ++r) {
          // op(A)(i, k) is A[i*lda + k], or A[k*lda + i] when transposed.
          const int ai = ta ? t % kBM : t / kBK + 16 * r;
          const int ak = ta ? t / kBM + 4 * r : t % kBK;
          const int64_t gi = i0 + ai, gk = k0 + ak;
          sh.a[ak][ai] = gi < M && gk < K ? (ta ? A[gk * lda + gi] : A[gi * lda + gk]) : 0.0f;
          // op(B)(k, j) is B[k*ldb + j], or B[j*ldb + k] when transposed.
          const int bj = tb ? t / kBK + 16 * r : t % kBN;
          const int bk = tb ? t % kBK : t / kBN + 4 * r;
          const int64_t gj = j0 + bj, gkb = k0 + bk;
          sh.b[bk][bj] = gj < N && gkb < K ? (tb ? B[gj * ldb + gkb] : B[gkb * ldb + gj]) : 0.0f;
        }
      });
      each([&](int t, Local& l) {
        const int ty = t / kSide, tx = t % kSide;
        ENGINE_UNROLL
        for (int k = 0; k < kBK; ++k) {
          float a[kTM], b[kTN];
          ENGINE_UNROLL
          for (int r = 0; r < kTM; ++r) a[r] = sh.a[k][ty + kSide * r];
          ENGINE_UNROLL
          for (int c = 0; c < kTN; ++c) b[c] = sh.b[k][tx + kSide * c];
          ENGINE_UNROLL
          for (int r = 0; r < kTM; ++r) {
            ENGINE_UNROLL
            for (int c = 0; c < kTN; ++c) l.acc[r][c] += a[r] * b[c];
          }
        }
      });
    }
    const float alpha = g.alpha, beta = g.beta;
    const int64_t ldc = g.ldc;
    const GemmEpilogue e = g.epilogue;
    each([&](int t, Local& l) {
      const int ty = t / kSide, tx = t % kSide;
      ENGINE_UNROLL
      for (int r = 0; r < kTM; ++r) {
        const int64_t i = i0 + ty + kSide * r;
        if (i >= M) continue;
        ENGINE_UNROLL
        for (int c = 0; c < kTN; ++c) {
          const int64_t j = j0 + tx + kSide * c;
          if (j >= N) continue;
          float* out = C + i * ldc + j;
          float v = alpha * l.acc[r][c];
          if (beta != 0.0f) v += beta * *out;
          if (e.row_bias) v += e.row_bias[i];
          if (e.col_bias) v += e.col_bias[j];
          if (e.relu && v < 0.0f) v = 0.0f;  // NaN stays NaN, as on the CPU
          *out = v;
        }
      }
    });
    (void)threads;  // always kThreads (gemm_own_grid launches it so)
  }
};

template <class Grid>
void gemm_own_grid(const GemmArgs& g, const GemmBatch& batch) {
  SgemmBody body;
  body.g = g;
  body.batch = batch;
  body.tiles_n = (g.N + SgemmBody::kBN - 1) / SgemmBody::kBN;
  body.tiles_per_item = (g.M + SgemmBody::kBM - 1) / SgemmBody::kBM * body.tiles_n;
  body.depth = g.alpha == 0.0f ? 0 : g.K;  // as the CPU GEMM: no product, A and B unread
  Grid::launch_blocks(GridDims{batch.count * body.tiles_per_item, SgemmBody::kThreads}, body);
}

// The epilogue alone, after a cuBLAS product: C[i, j] += row_bias[i] + col_bias[j], relu.
template <class Grid>
void gemm_epilogue_grid(const GemmArgs& g, const GemmBatch& batch) {
  const GemmEpilogue e = g.epilogue;
  if (!e.row_bias && !e.col_bias && !e.relu) return;
  const int64_t M = g.M, N = g.N, ldc = g.ldc, stride_c = batch.stride_c;
  float* C = g.C;
  for_each_index<Grid>(batch.count * M * N, [=] ENGINE_HD(int64_t idx) {
    const int64_t item = idx / (M * N), i = idx / N % M, j = idx % N;
    float* out = C + item * stride_c + i * ldc + j;
    float v = *out;
    if (e.row_bias) v += e.row_bias[i];
    if (e.col_bias) v += e.col_bias[j];
    if (e.relu && v < 0.0f) v = 0.0f;
    *out = v;
  });
}

// Whether cuBLAS can take this GEMM: sizes that fit its int arguments and a product to
// compute (K == 0 or alpha == 0 only scale C, which our kernel does without reading A, B).
inline bool cublas_can_take(const GemmArgs& g, const GemmBatch& batch) {
  const int64_t most = INT_MAX;
  return g.K > 0 && g.alpha != 0.0f && g.M <= most && g.N <= most && g.K <= most &&
         g.lda <= most && g.ldb <= most && g.ldc <= most && batch.count <= most;
}

// C_i = alpha op(A_i) op(B_i) + beta C_i (+ epilogue) for every item of the batch.
template <class Grid>
void gemm_batched_grid(const GemmArgs& g, const GemmBatch& batch) {
  if (g.M <= 0 || g.N <= 0 || batch.count <= 0) return;
  if constexpr (!std::is_same_v<Grid, HostGrid>) {
    if (use_cublas() && cublas_can_take(g, batch)) {
      cublas_sgemm_batched(g, batch.count, batch.stride_a, batch.stride_b, batch.stride_c);
      gemm_epilogue_grid<Grid>(g, batch);
      return;
    }
  }
  gemm_own_grid<Grid>(g, batch);
}

template <class Grid>
void gemm_grid(const GemmArgs& g) {
  gemm_batched_grid<Grid>(g, GemmBatch{});
}

// ---- sums over one axis ----------------------------------------------------------------

// out[o] = (accumulate ? out[o] : 0) + scale * sum_{r < R} term(o, r) for o < outputs.
// A block of 256 threads sums one span of at most kSpan terms of one output (each thread
// at most 64 terms, strided so that a warp reads consecutive r, then a shared-memory tree);
// when R needs several spans, a second pass sums the spans' partial sums the same way.
// Every term is summed in float, but never more than ~64 of them in a row.
template <class Term>
struct BlockSumBody {
  static constexpr int kThreads = 256;
  static constexpr int64_t kSpan = int64_t(kThreads) * 64;
  struct Shared {
    float part[kThreads];
  };
  struct Local {};

  Term term;
  int64_t R = 0, span = kSpan, spans = 1;  // the terms of output o, cut into spans
  float scale = 1.0f;
  bool accumulate = false;
  float* out = nullptr;  // [outputs * spans], indexed by block

  template <class Each>
  ENGINE_HD void run_block(int64_t block, int threads, Shared& sh, Each&& each) const {
    const int64_t o = block / spans, begin = block % spans * span;
    const int64_t end = begin + span < R ? begin + span : R;
    each([&](int t, Local&) {
      float sum = 0.0f;
      for (int64_t r = begin + t; r < end; r += threads) sum += term(o, r);
      sh.part[t] = sum;
    });
    tree_fold<Local>(each, threads, [&](int a, int b) { sh.part[a] += sh.part[b]; });
    each([&](int t, Local&) {
      if (t == 0) out[block] = (accumulate ? out[block] : 0.0f) + scale * sh.part[0];
    });
  }
};

template <class Grid, class Term>
void launch_block_sums(int64_t outputs, int64_t R, int64_t span, float scale, bool accumulate,
                       float* out, const Term& term) {
  BlockSumBody<Term> body{term};
  body.R = R;
  body.span = span < 1 ? 1 : span;
  body.spans = R <= body.span ? 1 : (R + body.span - 1) / body.span;
  body.scale = scale;
  body.accumulate = accumulate;
  body.out = out;
  Grid::launch_blocks(GridDims{outputs * body.spans, BlockSumBody<Term>::kThreads}, body);
}

// The second pass of block_sums: the partial sums of each output's spans.
struct PartialTerm {
  const float* partial;
  int64_t spans;
  ENGINE_HD float operator()(int64_t o, int64_t s) const { return partial[o * spans + s]; }
};

template <class Grid, class Term>
void block_sums(int64_t outputs, int64_t R, float scale, bool accumulate, float* out,
                const Term& term) {
  if (outputs <= 0) return;
  constexpr int64_t span = BlockSumBody<Term>::kSpan;
  if (R <= span) {
    launch_block_sums<Grid>(outputs, R, span, scale, accumulate, out, term);
    return;
  }
  const int64_t spans = (R + span - 1) / span;
  float* partial = static_cast<float*>(Grid::scratch(sizeof(float) * outputs * spans));
  launch_block_sums<Grid>(outputs, R, span, 1.0f, false, partial, term);
  launch_block_sums<Grid>(outputs, spans, spans, scale, accumulate, out,
                          PartialTerm{partial, spans});
}

// x[o*outer + r*inner] as the terms of output o (a strided view of a matrix's rows or
// columns; r < R).
struct StridedTerm {
  const float* x;
  int64_t outer, inner;
  ENGINE_HD float operator()(int64_t o, int64_t r) const { return x[o * outer + r * inner]; }
};

// ---- the Gemm op's helpers -------------------------------------------------------------

// out[i] = scale * x[i * step] for i < n.
template <class Grid>
void gemm_scaled_copy_grid(int64_t n, float scale, const float* x, int64_t step, float* out) {
  for_each_index<Grid>(n, [=] ENGINE_HD(int64_t i) { out[i] = scale * x[i * step]; });
}

// dc[rows, cols] += scale * dy[M, N] summed over the dims where C broadcasts.
template <class Grid>
void gemm_sum_to_grid(const float* dy, int64_t M, int64_t N, int64_t rows, int64_t cols,
                      float scale, float* dc) {
  if (rows == M && cols == N) {  // nothing to sum
    for_each_index<Grid>(M * N, [=] ENGINE_HD(int64_t i) { dc[i] += scale * dy[i]; });
  } else if (rows == 1 && cols == N) {  // column sums
    block_sums<Grid>(N, M, scale, true, dc, StridedTerm{dy, 1, N});
  } else if (cols == 1 && rows == M) {  // row sums
    block_sums<Grid>(M, N, scale, true, dc, StridedTerm{dy, N, 1});
  } else {  // everything
    block_sums<Grid>(1, M * N, scale, true, dc, StridedTerm{dy, 0, 1});
  }
}

template <class Grid>
GemmKernels gemm_cuda_kernels() {
  return {gemm_grid<Grid>, gemm_scaled_copy_grid<Grid>, gemm_sum_to_grid<Grid>};
}

}  // namespace engine
