// The CUDA kernels of RNN, LSTM and GRU over a Grid (core/grid.h): recurrent_steps.h with
// the Grid's GEMM (gemm_cuda.h) and one thread per hidden unit for the cell bodies.
// DeviceGrid in the CUDA plugin (recurrent_cuda.cu), HostGrid for their emulation in the
// kernel table.
#pragma once

#include "core/grid.h"
#include "ops/activation/activation_math.h"
#include "ops/gemm/gemm_cuda.h"
#include "ops/recurrent/recurrent.h"
#include "ops/recurrent/recurrent_steps.h"

namespace engine {

template <class Grid>
struct RecurrentGridBackend {
  using Math = StdMath;
  static void gemm(const GemmArgs& args) { gemm_grid<Grid>(args); }
  struct PackedB {};  // the device GEMM reads R as it is
  static void pack_b(const GemmArgs&, PackedB&) {}
  static void gemm_packed(const GemmArgs& args, const PackedB&) { gemm(args); }
  template <class F>
  static void for_each(int64_t n, const F& f) {
    for_each_index<Grid>(n, f);
  }
  static void column_sums(int64_t rows, int64_t cols, const float* src, int64_t ld, float* dst) {
    for_each_index<Grid>(cols, [=] ENGINE_HD(int64_t c) {
      float sum = 0.0f;
      for (int64_t r = 0; r < rows; ++r) sum += src[r * ld + c];
      dst[c] = sum;
    });
  }
  template <class F>
  static void for_each_unit(int64_t b0, int64_t b1, int64_t H, const F& f) {
    for_each_index<Grid>((b1 - b0) * H,
                         [=] ENGINE_HD(int64_t e) { f(b0 + e / H, e % H, e % H + 1); });
  }
  // One slice: the device runs a step's whole batch at once.
  template <class F>
  static void for_each_batch_slice(int64_t B, int64_t T, const F& f) {
    f(0, B, 0, T);
  }
};

template <class Grid>
void recurrent_forward_grid(const RecurrentGeometry& g, const RecurrentData& d) {
  recurrent_forward_steps<RecurrentGridBackend<Grid>>(g, d);
}

template <class Grid>
void recurrent_backward_grid(const RecurrentGeometry& g, const RecurrentData& d,
                             const RecurrentGrads& gr) {
  recurrent_backward_steps<RecurrentGridBackend<Grid>>(g, d, gr);
}

template <class Grid>
RecurrentKernels recurrent_cuda_kernels() {
  return {recurrent_forward_grid<Grid>, recurrent_backward_grid<Grid>};
}

}  // namespace engine
