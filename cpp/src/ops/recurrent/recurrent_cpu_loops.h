// The CPU passes: recurrent_steps.h over the packed CPU GEMM and threaded loops, with
// FastMath's exp and rational tanh in the cell formulas. Included by recurrent_cpu.cpp
// (baseline ISA), recurrent_cpu_avx2.cpp (AVX2/FMA) and recurrent_cpu_avx512.cpp: the
// anonymous namespace gives each its own copy, and CpuMath, a type of each file's own, makes every
// template the step bodies instantiate (cells, activations) that file's too, compiled for
// its ISA.
#pragma once

#include <algorithm>
#include <atomic>
#include <memory>
#include <thread>

#include "cpu/fast_math.h"
#include "cpu/gemm.h"
#include "cpu/gemm_kernel.h"
#include "engine/threads.h"
#include "ops/recurrent/recurrent.h"
#include "ops/recurrent/recurrent_steps.h"

namespace engine {
namespace {

// The cells' tanh in its rational form (no exp, 7 ulp), and the sigmoid with a one-scale exp.
// (The sigmoid as (1 + tanh(x/2)) / 2 would be cheaper still, but loses all relative
// accuracy in the negative tail, where small gate values still reach the states.)
struct CpuMath : FastMath {
  static float tanh(float x) { return FastMath::tanh_rational(x); }
  static float sigmoid(float x) { return FastMath::sigmoid_normal(x); }
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
  // Batch slices of whole GEMM row tiles (two or more each), twice as many as threads, and
  // each slice's steps in segments. A thread runs a slice's segments in turn and moves on
  // to another slice when its slice is done or held: a thread that the OS preempts (the
  // other core busy) holds up one segment of one slice, and the other thread takes the
  // rest. [64, 50] steps of LSTM(128) ran 1.3x (predict) faster on two threads than with
  // each step's GEMM and cell split. One thread, or a batch too small for two slices, runs
  // as one slice, whose GEMMs then split their columns.
  template <class F>
  static void for_each_batch_slice(int64_t B, int64_t T, const F& f) {
    constexpr int64_t kRows = gemm_detail::MR;
    const int64_t tiles = (B + kRows - 1) / kRows, threads = get_num_threads();
    const int64_t slices = threads > 1 ? std::min(tiles / 2, 2 * threads) : 1;
    if (slices <= 1) return f(0, B, 0, T);
    const int64_t segments = std::min<int64_t>(T, 8);
    struct Slice {
      std::atomic<int64_t> done{0};  // segments run
      std::atomic<bool> held{false};
    };
    std::unique_ptr<Slice[]> state(new Slice[slices]);
    std::atomic<int64_t> left{slices * segments};
    parallel_for(threads, 1, [&](int64_t first, int64_t) {
      int64_t s = first * slices / threads;
      for (int idle = 0; left.load() > 0;) {
        Slice& x = state[s];
        if (x.done.load() < segments && !x.held.exchange(true)) {
          const int64_t j = x.done.load();
          if (j < segments) {
            try {
              f(tiles * s / slices * kRows, std::min(B, tiles * (s + 1) / slices * kRows),
                T * j / segments, T * (j + 1) / segments);
            } catch (...) {
              left = 0;  // the others stop; parallel_for rethrows this
              throw;
            }
            x.done.store(j + 1);
            left--;
          }
          x.held.store(false);
          idle = 0;
          continue;  // the same slice next: its rows stay in this core's caches
        }
        s = (s + 1) % slices;
        if (++idle % slices == 0) std::this_thread::yield();  // all done or held elsewhere
      }
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
