// Pooling (ONNX MaxPool, AveragePool, GlobalAveragePool), NCHW or NCDHW.
//   x [N, C, H, W] -> y [N, C, OH, OW]; each of the N*C planes is pooled on its own. A 5-D
//   x [N, C, D, H, W] has a 3-D window (depth first, scan order depth, row, column); it runs
//   as two passes of the 2-D kernels (pool.cpp), which separate exactly.
//   Window geometry (kernel KH x KW, strides SH/SW, dilations DH/DW, pads [top, left,
//   bottom, right], auto_pad, ceil_mode) comes from window2d.h.
//
//   MaxPool: the largest input under the window; padding never wins (it acts as -inf).
//     A NaN under the window makes the output NaN (as numpy's max and PyTorch).
//     Backward routes dy to the position of the maximum (the first NaN, if any). On ties
//     the first maximum in window scan order (row by row, then column) wins, the position
//     onnxruntime reports in MaxPool's Indices output. That optional output (int64, y's
//     shape) is the maximum's flat index in x, row-major over [N, C, H, W], or with
//     storage_order=1 column-major within each plane (w * H + h; 3-D (w * H + h) * D + d);
//     -1 for a window with no tap inside the input.
//   AveragePool: the sum under the window divided by the number of taps that count:
//     count_include_pad=0: taps inside the input; count_include_pad=1: taps inside the
//     padded input [-top, H + bottom) x [-left, W + right). A ceil_mode window reaching
//     past the padded input never counts that extra part (onnxruntime agrees).
//     Backward spreads dy / count over the counted taps that lie inside the input.
//   Explicit pads must be smaller than the kernel (window2d.h). A window with no tap inside
//   the input (still possible with dilations) gives 0 (average) or the lowest float (max),
//   as onnxruntime does, and no gradient.
//   GlobalAveragePool: y [N, C, 1, 1] = mean over H x W (5-D: [N, C, 1, 1, 1], over D x H x W).
//
// Backward functions OVERWRITE dx.
#pragma once

#include "core/hd.h"
#include "engine/tensor.h"
#include "ops/window2d.h"

namespace engine {

enum class PoolKind { Max, Average };

struct PoolAttrs {
  Window2dAttrs window;            // kernel_shape is required
  bool count_include_pad = false;  // AveragePool only
};

// Validates x (float32, contiguous, rank 4 or 5) and the attributes; resolves the geometry
// (rank 3 for a 5-D x).
Window2d pool2d_geometry(PoolKind kind, const Tensor& x, const PoolAttrs& attrs);
Shape pool2d_output_shape(PoolKind kind, const Tensor& x, const PoolAttrs& attrs);

// A 3-D window's two passes (pool.cpp) meet in a buffer of this shape, [N*C*D, OH, OW];
// empty for a 2-D window.
Shape pool_pass_shape(const Tensor& x, const Window2d& g);

// Op level: validate, then run the selected kernel into caller-provided outputs. A 3-D
// window's forward takes one pass buffer, its backward two (a graph's per-call state); null
// or undefined ones are allocated.
void pool2d_forward(PoolKind kind, const Tensor& x, const PoolAttrs& attrs, Tensor& y,
                    Tensor* pass = nullptr);
void pool2d_backward(PoolKind kind, const Tensor& dy, const Tensor& x, const PoolAttrs& attrs,
                     Tensor& dx, Tensor* pass = nullptr, Tensor* dpass = nullptr);

void max_pool2d_indices(const Tensor& x, const PoolAttrs& attrs, bool column_major,
                        Tensor& indices);

void global_avg_pool2d_forward(const Tensor& x, Tensor& y);
void global_avg_pool2d_backward(const Tensor& dy, const Tensor& x, Tensor& dx);

const char* pool_op_name(PoolKind kind);  // "MaxPool", "AveragePool"

// Kernels over `planes` contiguous H x W input planes and OH x OW output planes (2-D
// windows; the Indices kernels take 3-D ones too).
struct PoolKernels {
  void (*forward)(PoolKind kind, const Window2d& g, bool count_include_pad, int64_t planes,
                  const float* x, float* y);
  void (*backward)(PoolKind kind, const Window2d& g, bool count_include_pad, int64_t planes,
                   const float* x, const float* dy, float* dx);
};
void pool2d_forward_cpu(PoolKind kind, const Window2d& g, bool count_include_pad,
                        int64_t planes, const float* x, float* y);
void pool2d_backward_cpu(PoolKind kind, const Window2d& g, bool count_include_pad,
                         int64_t planes, const float* x, const float* dy, float* dx);
void pool2d_forward_ref(PoolKind kind, const Window2d& g, bool count_include_pad,
                        int64_t planes, const float* x, float* y);
void pool2d_backward_ref(PoolKind kind, const Window2d& g, bool count_include_pad,
                         int64_t planes, const float* x, const float* dy, float* dx);

// Over `planes` H x W planes: indices [planes, OH, OW] (offset by each plane's start).
struct MaxPoolIndicesKernels {
  void (*indices)(const Window2d& g, bool column_major, int64_t planes, const float* x,
                  int64_t* indices);
};

// Whether v replaces best as the running maximum: larger, or the first NaN (which then
// stays, since nothing compares larger than NaN).
template <class T>
ENGINE_HD inline bool replaces_max(T v, T best) {
  return v > best || (v != v && best == best);
}

}  // namespace engine
