// The CPU passes: recurrent_steps.h over the packed CPU GEMM and threaded loops, with
// FastMath's rational sigmoid and tanh in the cell formulas. Included by recurrent_cpu.cpp
// (baseline ISA), recurrent_cpu_avx2.cpp (AVX2/FMA) and recurrent_cpu_avx512.cpp: the anonymous
// namespace gives each its own copy, and CpuMath, a type of each file's own, makes every
// template the step bodies instantiate (cells, activations) that file's too, compiled for
// its ISA.
#pragma once

#include <algorithm>
#include <atomic>

#include "cpu/fast_math.h"
#include "cpu/gemm.h"
#include "cpu/gemm_kernel.h"
#include "engine/threads.h"
#include "ops/recurrent/recurrent.h"
#include "ops/recurrent/recurrent_steps.h"

namespace engine {
namespace {

// The cells' sigmoid and tanh in their rational forms (no exp): an LSTM step's cell update
// ran 2.2x faster (AVX-512) than with FastMath's exp and tanh, within 2.5e-7 absolute for
// the sigmoid (the gates scale values of order one) and 7 ulp for tanh.
struct CpuMath : FastMath {
  static float tanh(float x) { return FastMath::tanh_rational(x); }
  static float sigmoid(float x) { return FastMath::sigmoid_rational(x); }
};

struct CpuBackend {
  using Math = CpuMath;
  static void gemm(const GemmArgs& args) { gemm_cpu(args); }
  using PackedB = GemmPackedB;
  static void pack_b(const GemmArgs& args, PackedB& packed) { packed.pack(args); }
  static void gemm_packed(const GemmArgs& args, const PackedB& packed) {
    gemm_cpu_packed(args, packed);
  }
  template <class F>
  static void for_each(int64_t n, const F& f) {
    // A cell update costs tens of flops and a few exp: a few thousand per task.
    parallel_for(n, 2048, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) f(i);
    });
  }
  // Rows outer, columns inner (vectorized), a range of columns per thread.
  static void column_sums(int64_t rows, int64_t cols, const float* src, int64_t ld, float* dst) {
    parallel_for(cols, 256, [&](int64_t begin, int64_t end) {
      for (int64_t c = begin; c < end; ++c) dst[c] = 0.0f;
      for (int64_t r = 0; r < rows; ++r) {
        const float* row = src + r * ld;
        ENGINE_IVDEP for (int64_t c = begin; c < end; ++c) dst[c] += row[c];
      }
    });
  }
  // Batch entries across threads (serial inside a batch slice's thread); each one's units
  // in one vectorized loop.
  template <class F>
  static void for_each_unit(int64_t b0, int64_t b1, int64_t H, const F& f) {
    parallel_for(b1 - b0, std::max<int64_t>(1, 4096 / H), [&](int64_t begin, int64_t end) {
      for (int64_t b = b0 + begin; b < b0 + end; ++b) f(b, 0, H);
    });
  }
  // Slices of whole GEMM row tiles (two or more each), twice as many as threads, which
  // claim them one at a time: a thread the OS has not run yet (the other core busy) holds
  // up at most the slice it took, and the others take the rest. [64, 50] steps of
  // LSTM(128) ran 1.3x (predict) faster on two threads than with each step's GEMM and cell
  // split. One thread, or a batch too small for two slices, runs the batch as one slice,
  // whose GEMMs then split their columns.
  template <class F>
  static void for_each_batch_slice(int64_t B, const F& f) {
    constexpr int64_t kRows = gemm_detail::MR;
    const int64_t tiles = (B + kRows - 1) / kRows, threads = get_num_threads();
    const int64_t slices = threads > 1 ? std::min(tiles / 2, 2 * threads) : 1;
    if (slices <= 1) return f(0, B);
    std::atomic<int64_t> next{0};
    parallel_for(threads, 1, [&](int64_t, int64_t) {
      for (int64_t k = next++; k < slices; k = next++)
        f(tiles * k / slices * kRows, std::min(B, tiles * (k + 1) / slices * kRows));
    });
  }
};

void recurrent_forward_loops(const RecurrentGeometry& g, const RecurrentData& d) {
  recurrent_forward_steps<CpuBackend>(g, d);
}

void recurrent_backward_loops(const RecurrentGeometry& g, const RecurrentData& d,
                              const RecurrentGrads& gr) {
  recurrent_backward_steps<CpuBackend>(g, d, gr);
}

}  // namespace
}  // namespace engine
