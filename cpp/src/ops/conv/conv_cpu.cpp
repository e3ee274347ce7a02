// Optimized kernels. Four routes:
//  - generic: per group and chunk of images, im2col then one GEMM (y = w * col, bias in the
//    GEMM epilogue); backward dcol = w^T * dy then col2im, and dw += dy * col^T. A chunk is
//    one image, or several side by side when an image has few output pixels;
//  - 1x1, stride 1, no pads, one image a chunk: x already is the col matrix;
//  - depthwise (one input channel per group): direct loops, no lowering (a GEMM with
//    K = KH*KW would be all overhead); the forward pass over blocks of eight channels
//    interleaved in scratch, the backward passes over the valid span of each tap;
//  - Winograd (conv_winograd.h) for the 3x3 stride-1 layers with enough channels, forward
//    and data gradient.
// Threads go over images and groups when there are enough of them; otherwise the loop is
// serial and the GEMM, im2col and col2im thread inside (parallel_for never nests).
// 3-D convolutions take the generic and 1x1 routes (im2col lowers the depth axis too); the
// depthwise and Winograd routes are 2-D only. A 3-D image whose col matrix would be large
// (a video layer's can take hundreds of MiB) is lowered a slab of output depth slices at a
// time instead, each slab's GEMMs writing their columns of y (or reading those of dy).
#include <algorithm>
#include <cstring>
#include <memory>
#include <mutex>
#include <vector>

#include "core/checked.h"
#include "core/cpu_features.h"
#include "cpu/gemm.h"
#include "cpu/im2col.h"
#include "cpu/workspace.h"
#include "engine/threads.h"
#include "ops/conv/conv.h"
#include "ops/conv/conv_depthwise_loops.h"
#include "ops/conv/conv_winograd.h"

namespace engine {

// conv_depthwise_avx2.cpp
void depthwise_forward_range_avx2(const ConvShape& s, const float* x, const float* w,
                                  const float* b, float* y, int64_t begin, int64_t end);
void depthwise_backward_data_range_avx2(const ConvShape& s, const float* dy, const float* w,
                                        float* dx, int64_t begin, int64_t end);
void depthwise_backward_weight_range_avx2(const ConvShape& s, const float* dy, const float* x,
                                          float* dw, int64_t begin, int64_t end);

namespace {

// Sizes of one group's GEMMs: w_g [OCg, K] * col [K, P] = y_g [OCg, P].
struct GroupGemm {
  int64_t Cg, OCg, K, P, HW;  // HW, P: input, output pixels per channel (3-D: voxels)
  bool direct;  // 1x1, stride 1, unpadded: col is x itself
  explicit GroupGemm(const ConvShape& s) {
    const Window2d& g = s.win;
    Cg = s.C / s.G;
    OCg = s.OC / s.G;
    K = Cg * g.taps();
    P = g.out_size();
    HW = g.in_size();
    direct = g.KH == 1 && g.KW == 1 && g.SH == 1 && g.SW == 1 && g.PT == 0 && g.PL == 0 &&
             g.PB == 0 && g.PR == 0 && g.KD == 1 && g.SD == 1 && g.PF == 0 && g.PK == 0;
  }
};

// Grain for a loop over `items` independent pieces of work: thread over them when there
// are enough to keep every thread busy; else run them serially so the work inside threads.
int64_t outer_grain(int64_t items) {
  return items >= get_num_threads() ? 1 : std::max<int64_t>(items, 1);
}

// Images per GEMM. Layers with few output pixels (the deep layers of a ResNet: 2x2 at a
// 64x64 input) would multiply the whole weight matrix, packed anew, by a handful of
// columns per image; their images go side by side into one col matrix instead.
int64_t images_per_gemm(const GroupGemm& l, int64_t N) {
  constexpr int64_t kColumns = 256;                // enough for the GEMM's blocking
  constexpr int64_t kMaxColFloats = int64_t(1) << 22;  // 16 MiB of col
  if (l.P >= kColumns || N <= 1) return 1;
  const int64_t by_columns = ceil_div(kColumns, l.P);
  const int64_t by_memory = std::max<int64_t>(1, kMaxColFloats / std::max<int64_t>(1, l.K * l.P));
  return std::min({by_columns, by_memory, N});
}

// A GEMM's share of the batch: images n0 .. n0+nb-1 of group g, their columns side by side
// (cols = nb * P). With one image the operands are the tensors themselves (and, for a
// direct convolution, x itself is col); with several, col and the y/dy blocks are gathered
// into per-thread scratch.
struct Chunk {
  int64_t n0, nb, g, cols;
};

// Scratch per thread, reused by every later call: the col matrix, the gathered y or dy
// block, and a thread's partial weight gradient.
thread_local Workspace t_col;
thread_local Workspace t_block;
thread_local Workspace t_partial_dw;

// Calls fn(chunk) for every (images, group) chunk, threads over them when there are
// enough, else serially (the GEMM threads inside).
template <class Fn>
void for_each_chunk(const ConvShape& s, const GroupGemm& l, Fn&& fn) {
  const int64_t per = images_per_gemm(l, s.N);
  const int64_t chunks = ceil_div(s.N, per), items = chunks * s.G;
  parallel_for(items, outer_grain(items), [&](int64_t begin, int64_t end) {
    for (int64_t item = begin; item < end; ++item) {
      const int64_t n0 = item / s.G * per, nb = std::min(per, s.N - n0);
      fn(Chunk{n0, nb, item % s.G, nb * l.P});
    }
  });
}

// col [K, cols] of the chunk's images (x itself for one image of a direct convolution).
const float* lower(const ConvShape& s, const GroupGemm& l, const Chunk& c, const float* x) {
  const float* x0 = x + (c.n0 * s.C + c.g * l.Cg) * l.HW;
  if (l.direct && c.nb == 1) return x0;
  float* col = t_col.get(l.K * c.cols);
  for (int64_t i = 0; i < c.nb; ++i) im2col(s.win, l.Cg, x0 + i * s.C * l.HW, col + i * l.P, c.cols);
  return col;
}

// The chunk's [OCg, P] blocks of an [N, OC, P] tensor t, side by side as [OCg, cols]: t
// itself for one image, else `block` filled from t (gather) or later written back into it.
float* block_of(const ConvShape& s, const GroupGemm& l, const Chunk& c, const float* t) {
  const float* t0 = t + (c.n0 * s.OC + c.g * l.OCg) * l.P;
  return c.nb == 1 ? const_cast<float*>(t0) : t_block.get(l.OCg * c.cols);
}
void gather_block(const ConvShape& s, const GroupGemm& l, const Chunk& c, const float* t,
                  float* block) {
  if (c.nb == 1) return;
  for (int64_t i = 0; i < c.nb; ++i)
    for (int64_t o = 0; o < l.OCg; ++o)
      std::memcpy(block + o * c.cols + i * l.P, t + ((c.n0 + i) * s.OC + c.g * l.OCg + o) * l.P,
                  sizeof(float) * l.P);
}
void scatter_block(const ConvShape& s, const GroupGemm& l, const Chunk& c, const float* block,
                   float* t) {
  if (c.nb == 1) return;
  for (int64_t i = 0; i < c.nb; ++i)
    for (int64_t o = 0; o < l.OCg; ++o)
      std::memcpy(t + ((c.n0 + i) * s.OC + c.g * l.OCg + o) * l.P, block + o * c.cols + i * l.P,
                  sizeof(float) * l.P);
}

// Every chunk's GEMM multiplies the same weights (its A): with several chunks, each group's
// weights are packed once, by the calling thread, and shared read-only by the threads over
// the chunks. Kept per calling thread, so later calls reuse the memory.
using PackedWeights = std::vector<std::unique_ptr<GemmPackedA>>;
thread_local PackedWeights t_packed_weights;

// The calling thread's weights of each group packed for GEMMs like `a` (group 0, a full
// chunk's columns), or null when packing once saves nothing: one chunk, or a GEMM that
// does not pack.
const PackedWeights* pack_weights(const ConvShape& s, const GroupGemm& l, const GemmArgs& a) {
  if (ceil_div(s.N, images_per_gemm(l, s.N)) <= 1 || !gemm_cpu_packs(a)) return nullptr;
  PackedWeights& packed = t_packed_weights;
  while (static_cast<int64_t>(packed.size()) < s.G)
    packed.push_back(std::make_unique<GemmPackedA>());
  for (int64_t g = 0; g < s.G; ++g) {
    GemmArgs ag = a;
    ag.A += g * l.OCg * l.K;
    packed[g]->pack(ag);
  }
  return &packed;
}

void gemm_with(const GemmArgs& a, const PackedWeights* packed, int64_t group) {
  if (packed)
    gemm_cpu_packed(a, *(*packed)[group]);
  else
    gemm_cpu(a);
}

// out [OCg, cols] = w_g [OCg, K] * col [K, cols], bias and a fused Relu in the epilogue
GemmArgs forward_args(const ConvShape& s, const GroupGemm& l, const float* w, int64_t g,
                      const float* col, int64_t cols, float* out, const float* b) {
  GemmArgs a = gemm_args(l.OCg, cols, l.K, w + g * l.OCg * l.K, l.K, col, cols, out, cols);
  if (b) a.epilogue.row_bias = b + g * l.OCg;
  a.epilogue.relu = s.relu;
  return a;
}

// dcol [K, cols] = w_g^T [K, OCg] * dy [OCg, cols]
GemmArgs backward_data_args(const GroupGemm& l, const float* w, int64_t g, const float* dy,
                            int64_t cols, float* dcol) {
  GemmArgs a = gemm_args(l.K, cols, l.OCg, w + g * l.OCg * l.K, l.K, dy, cols, dcol, cols);
  a.trans_a = true;
  return a;
}

// The columns of a full chunk: what the packed weights are packed for.
int64_t full_chunk_cols(const ConvShape& s, const GroupGemm& l) {
  return std::min(images_per_gemm(l, s.N), s.N) * l.P;
}

// ---- 3-D slabs: output depth slices [od0, od1) of one image and group at a time ------------

constexpr int64_t kSlabFloats = int64_t(1) << 20;  // 4 MiB of col

bool uses_slabs(const ConvShape& s, const GroupGemm& l) {
  return !s.win.planar() && !l.direct && l.K * l.P > kSlabFloats;
}

// The window of output slices [od0, od0 + count): the same taps, the depth padding moved so
// that output slice od0 is the sub-window's first (tap_span takes a negative pad).
Window2d slab_window(const Window2d& g, int64_t od0, int64_t count) {
  Window2d sub = g;
  sub.OD = count;
  sub.PF = g.PF - od0 * g.SD;
  return sub;
}

// Calls fn(n, group, od0, slices, col, cols) for every slab of every image and group, col
// [K, cols] the slab lowered (when `lowered`, else scratch of that size), cols = slices*OH*OW.
// Serial: the im2col, col2im and GEMMs thread inside.
template <class Fn>
void for_each_slab(const ConvShape& s, const GroupGemm& l, const float* x, bool lowered, Fn&& fn) {
  const Window2d& g = s.win;
  const int64_t slice = g.OH * g.OW;
  const int64_t per = std::max<int64_t>(1, kSlabFloats / std::max<int64_t>(1, l.K * slice));
  for (int64_t n = 0; n < s.N; ++n)
    for (int64_t grp = 0; grp < s.G; ++grp)
      for (int64_t od0 = 0; od0 < g.OD; od0 += per) {
        const int64_t count = std::min(per, g.OD - od0), cols = count * slice;
        float* col = t_col.get(l.K * cols);
        if (lowered)
          im2col(slab_window(g, od0, count), l.Cg, x + (n * s.C + grp * l.Cg) * l.HW, col, cols);
        fn(n, grp, od0, count, col, cols);
      }
}

// The offset of slab (n, group, od0) in an [N, OC, P] tensor.
int64_t slab_offset(const ConvShape& s, const GroupGemm& l, int64_t n, int64_t grp, int64_t od0) {
  return (n * s.OC + grp * l.OCg) * l.P + od0 * s.win.OH * s.win.OW;
}

void forward_slabs(const ConvShape& s, const GroupGemm& l, const float* x, const float* w,
                   const float* b, float* y) {
  for_each_slab(
      s, l, x, true, [&](int64_t n, int64_t grp, int64_t od0, int64_t, float* col, int64_t cols) {
        GemmArgs a = forward_args(s, l, w, grp, col, cols, y + slab_offset(s, l, n, grp, od0), b);
        a.ldc = l.P;
        gemm_cpu(a);
      });
}

void backward_data_slabs(const ConvShape& s, const GroupGemm& l, const float* dy, const float* w,
                         float* dx) {
  std::fill(dx, dx + s.N * s.C * l.HW, 0.0f);
  for_each_slab(s, l, nullptr, false,
                [&](int64_t n, int64_t grp, int64_t od0, int64_t count, float* dcol, int64_t cols) {
                  GemmArgs a = backward_data_args(l, w, grp, dy + slab_offset(s, l, n, grp, od0),
                                                  cols, dcol);
                  a.ldb = l.P;
                  gemm_cpu(a);
                  col2im(slab_window(s.win, od0, count), l.Cg, dcol,
                         dx + (n * s.C + grp * l.Cg) * l.HW, cols);
                });
}

void backward_weight_slabs(const ConvShape& s, const GroupGemm& l, const float* dy, const float* x,
                           float* dw) {
  for_each_slab(s, l, x, true,
                [&](int64_t n, int64_t grp, int64_t od0, int64_t, float* col, int64_t cols) {
                  // dw_g [OCg, K] += dy_slab [OCg, cols] * col^T [cols, K]
                  GemmArgs a = gemm_args(l.OCg, l.K, cols, dy + slab_offset(s, l, n, grp, od0), l.P,
                                         col, cols, dw + grp * l.OCg * l.K, l.K);
                  a.trans_b = true;
                  a.beta = 1.0f;
                  gemm_cpu(a);
                });
}

void forward_gemm(const ConvShape& s, const float* x, const float* w, const float* b, float* y) {
  const GroupGemm l(s);
  if (uses_slabs(s, l)) return forward_slabs(s, l, x, w, b, y);
  const PackedWeights* packed =
      pack_weights(s, l, forward_args(s, l, w, 0, x, full_chunk_cols(s, l), y, b));
  for_each_chunk(s, l, [&](const Chunk& c) {
    const float* col = lower(s, l, c, x);
    float* out = block_of(s, l, c, y);
    gemm_with(forward_args(s, l, w, c.g, col, c.cols, out, b), packed, c.g);
    scatter_block(s, l, c, out, y);
  });
}

void backward_data_gemm(const ConvShape& s, const float* dy, const float* w, float* dx) {
  const GroupGemm l(s);
  if (uses_slabs(s, l)) return backward_data_slabs(s, l, dy, w, dx);
  const PackedWeights* packed =
      pack_weights(s, l, backward_data_args(l, w, 0, dy, full_chunk_cols(s, l), dx));
  for_each_chunk(s, l, [&](const Chunk& c) {
    float* dyc = block_of(s, l, c, dy);
    gather_block(s, l, c, dy, dyc);
    float* dx0 = dx + (c.n0 * s.C + c.g * l.Cg) * l.HW;
    // A direct convolution of one image writes dx itself.
    const bool in_place = l.direct && c.nb == 1;
    float* dcol = in_place ? dx0 : t_col.get(l.K * c.cols);
    gemm_with(backward_data_args(l, w, c.g, dyc, c.cols, dcol), packed, c.g);
    if (in_place) return;
    for (int64_t i = 0; i < c.nb; ++i) {
      float* dxi = dx0 + i * s.C * l.HW;
      std::fill(dxi, dxi + l.Cg * l.HW, 0.0f);
      col2im(s.win, l.Cg, dcol + i * l.P, dxi, c.cols);
    }
  });
}

void backward_weight_gemm(const ConvShape& s, const float* dy, const float* x, float* dw) {
  const GroupGemm l(s);
  if (uses_slabs(s, l)) return backward_weight_slabs(s, l, dy, x, dw);
  const int64_t w_size = s.OC * l.K;
  // Threads over the chunks each sum into a private dw, merged at the end; that pays only
  // while a dw is no bigger than one chunk's col matrix, else one chunk at a time with the
  // (then large) GEMM threading inside.
  const int64_t per = images_per_gemm(l, s.N);
  const int64_t items = ceil_div(s.N, per) * s.G;
  const bool private_dw = outer_grain(items) == 1 && items > 1 && w_size <= l.K * l.P * per;
  std::mutex merge;
  auto accumulate = [&](const Chunk& c, float* acc) {
    const float* col = lower(s, l, c, x);
    float* dyc = block_of(s, l, c, dy);
    gather_block(s, l, c, dy, dyc);
    // dw_g [OCg, K] += dy [OCg, cols] * col^T [cols, K]
    GemmArgs a = gemm_args(l.OCg, l.K, c.cols, dyc, c.cols, col, c.cols, acc + c.g * l.OCg * l.K,
                           l.K);
    a.trans_b = true;
    a.beta = 1.0f;
    gemm_cpu(a);
  };
  if (!private_dw) {
    for (int64_t item = 0; item < items; ++item) {
      const int64_t n0 = item / s.G * per, nb = std::min(per, s.N - n0);
      accumulate(Chunk{n0, nb, item % s.G, nb * l.P}, dw);
    }
    return;
  }
  parallel_for(items, 1, [&](int64_t begin, int64_t end) {
    const bool alone = begin == 0 && end == items;  // one thread: add in place
    float* acc = alone ? dw : t_partial_dw.get(w_size);
    if (!alone) std::fill(acc, acc + w_size, 0.0f);
    for (int64_t item = begin; item < end; ++item) {
      const int64_t n0 = item / s.G * per, nb = std::min(per, s.N - n0);
      accumulate(Chunk{n0, nb, item % s.G, nb * l.P}, acc);
    }
    if (alone) return;
    std::lock_guard<std::mutex> lock(merge);
    for (int64_t i = 0; i < w_size; ++i) dw[i] += acc[i];
  });
}

// ---- depthwise: C == G, each output channel o reads input channel o / M -------------------

// The loops of conv_depthwise_loops.h, AVX2/FMA where the CPU has it; threads take planes
// (forward: blocks of eight channels; dx: planes) or output channels (dw).
void forward_depthwise(const ConvShape& s, const float* x, const float* w, const float* b,
                       float* y) {
  const auto range = use_avx2_fma() ? depthwise_forward_range_avx2 : depthwise_forward_range;
  const int64_t blocks = s.N * ceil_div(s.OC, kChannelLanes);
  parallel_for(blocks, 1, [&](int64_t begin, int64_t end) { range(s, x, w, b, y, begin, end); });
}

void backward_data_depthwise(const ConvShape& s, const float* dy, const float* w, float* dx) {
  const auto range =
      use_avx2_fma() ? depthwise_backward_data_range_avx2 : depthwise_backward_data_range;
  parallel_for(s.N * s.C, 1, [&](int64_t begin, int64_t end) { range(s, dy, w, dx, begin, end); });
}

void backward_weight_depthwise(const ConvShape& s, const float* dy, const float* x, float* dw) {
  const auto range =
      use_avx2_fma() ? depthwise_backward_weight_range_avx2 : depthwise_backward_weight_range;
  parallel_for(s.OC, 1, [&](int64_t begin, int64_t end) { range(s, dy, x, dw, begin, end); });
}

void backward_bias(const ConvShape& s, const float* dy, float* db) {
  const int64_t P = s.win.out_size();
  parallel_for(s.OC, 1, [&](int64_t begin, int64_t end) {
    for (int64_t o = begin; o < end; ++o) {
      double sum = 0.0;
      for (int64_t n = 0; n < s.N; ++n) {
        const float* row = dy + (n * s.OC + o) * P;
        float part = 0.0f;
        for (int64_t p = 0; p < P; ++p) part += row[p];
        sum += part;
      }
      db[o] = static_cast<float>(db[o] + sum);
    }
  });
}

bool is_depthwise(const ConvShape& s) { return s.G > 1 && s.G == s.C && s.win.planar(); }

// A single input channel read by at most eight output channels (LeNet's first layer) is one
// block of the depthwise forward: direct loops beat an im2col of K = KH*KW rows there
// (measured 1.3x at 6@5x5 on 32x32, batch 64), though not with more blocks, each of which
// copies the plane again (32@3x3 on 28x28 was 1.6x slower).
bool forward_is_depthwise(const ConvShape& s) {
  return is_depthwise(s) || (s.C == 1 && s.G == 1 && s.OC <= kChannelLanes && s.win.planar());
}

bool forward_is_winograd(const ConvShape& s) {
  return !forward_is_depthwise(s) && s.win.planar() && winograd_applies(s);
}

}  // namespace

void conv2d_forward_cpu(const ConvShape& s, const float* x, const float* w, const float* b,
                        float* y) {
  if (forward_is_depthwise(s))
    forward_depthwise(s, x, w, b, y);
  else if (forward_is_winograd(s))
    conv2d_forward_winograd(s, x, w, b, y);
  else
    forward_gemm(s, x, w, b, y);
}

// Prepared weights: the Winograd route's transformed (and maybe packed) weights.
int64_t conv2d_prepared_floats_cpu(const ConvShape& s) {
  return forward_is_winograd(s) ? winograd_weights_floats(s) : 0;
}

void conv2d_prepare_cpu(const ConvShape& s, const float* w, float* prepared) {
  winograd_transform_weights(s, w, prepared);
}

void conv2d_forward_prepared_cpu(const ConvShape& s, const float* x, const float* prepared,
                                 const float* b, float* y) {
  conv2d_forward_winograd_transformed(s, x, prepared, b, y);
}

void conv2d_backward_cpu(const ConvShape& s, const float* dy, const float* x, const float* w,
                         float* dx, float* dw, float* db) {
  const bool depthwise = is_depthwise(s);
  if (dx) {
    if (depthwise)
      backward_data_depthwise(s, dy, w, dx);
    else if (!s.win.planar() || !conv2d_backward_data_winograd(s, dy, w, dx))
      backward_data_gemm(s, dy, w, dx);
  }
  if (dw) (depthwise ? backward_weight_depthwise : backward_weight_gemm)(s, dy, x, dw);
  if (db) backward_bias(s, dy, db);
}

}  // namespace engine
