// Conv (ONNX Conv, 2-D NCHW or 3-D NCDHW), forward and backward. The formulas below are
// the 2-D ones; a 3-D Conv adds the depth axis D/KD/OD in front (x [N, C, D, H, W], w [OC,
// C/G, KD, KH, KW]), and its window (core/window2d.h) has rank 3.
//
//   N  batch            C  input channels     H, W    input height, width
//   OC output channels  G  group              KH, KW  kernel height, width
//   OH, OW output height, width (window2d.h: pads, strides, dilations, auto_pad)
//
//   x [N, C, H, W], w [OC, C/G, KH, KW], b [OC] (optional) -> y [N, OC, OH, OW]
//   y[n, o, i, j] = b[o] + sum_{c, kh, kw} w[o, c, kh, kw] *
//                   x[n, g*C/G + c, i*SH - PT + kh*DH, j*SW - PL + kw*DW]   (0 in the pads)
//   where g = o / (OC/G): output channel group g sees only input channel group g.
//
// Backward: dx = conv_transpose(dy, w) (OVERWRITTEN), dw += dy (*) x, db += sum over
// N, OH, OW of dy (ACCUMULATED); each may be skipped.
#pragma once

#include <cstdint>

#include <memory>

#include "engine/tensor.h"
#include "ops/op.h"
#include "ops/window2d.h"

namespace engine {

// ONNX Conv attributes: the window (kernel_shape optional, checked against w; ceil_mode
// unused) and group.
struct ConvAttrs {
  Window2dAttrs window;
  int64_t group = 1;
  bool relu = false;  // a Relu fused into the output by the graph planner (not ONNX)
};

// Every size a kernel needs, resolved and validated once.
struct ConvShape {
  int64_t N = 0, C = 0, OC = 0, G = 1;
  bool relu = false;  // apply max(0, y) to the output
  Window2d win;  // H, W, KH, KW, strides, dilations, pads, OH, OW
  Shape y_shape() const {
    if (win.rank == 3) return {N, OC, win.OD, win.OH, win.OW};
    return {N, OC, win.OH, win.OW};
  }
};

// Validates x, w, the optional b (undefined = no bias) and the attributes; errors name
// "Conv" and the offending values.
ConvShape conv_shape(const Tensor& x, const Tensor& w, const Tensor& b, const ConvAttrs& attrs);

// Op level: validate, then run the selected kernel into a caller-provided y; the
// Tensor-returning overload allocates it.
void conv_forward(const Tensor& x, const Tensor& w, const Tensor& b, const ConvAttrs& attrs,
                  Tensor& y);
Tensor conv_forward(const Tensor& x, const Tensor& w, const Tensor& b, const ConvAttrs& attrs);

// dx [N, C, H, W] is overwritten; dw [OC, C/G, KH, KW] and db [OC] are accumulated into.
// A null or undefined gradient is not computed.
void conv_backward(const Tensor& dy, const Tensor& x, const Tensor& w, const ConvAttrs& attrs,
                   Tensor* dx, Tensor* dw, Tensor* db);

// Allocating form: the requested gradients (dx fresh, dw and db from zeros); the others
// are left undefined.
struct ConvGrads {
  Tensor dx, dw, db;
};
ConvGrads conv_backward(const Tensor& dy, const Tensor& x, const Tensor& w,
                        const ConvAttrs& attrs, bool need_dx, bool need_dw, bool need_db);

// Prepared weights: kernels may work from a form of the weights prepared once for many
// forward calls (the CPU's Winograd transform). An inference plan keeps that form between
// its calls in two state buffers: `prepared` (conv_prepared_floats of the CPU kernels) and
// `tag` (int64 [2], zeros until the first call), and prepares it again when
// parameters_version() or the CPU's instruction set changed since. Where the kernels that
// run have no prepared form (the reference ones, CUDA), the call runs from w as usual.
int64_t conv_prepared_floats(const ConvShape& s);  // 0: the CPU route prepares nothing
void conv_forward_prepared(const Tensor& x, const Tensor& w, const Tensor& b,
                           const ConvAttrs& attrs, Tensor& prepared, Tensor& tag, Tensor& y);

// Kernels on contiguous float buffers laid out as above; b, dx, dw, db may be null. The
// prepared-weights entries may be null (nothing to prepare); prepared_floats(s) is 0 where
// s's route prepares nothing.
struct ConvKernels {
  void (*forward)(const ConvShape& s, const float* x, const float* w, const float* b, float* y);
  void (*backward)(const ConvShape& s, const float* dy, const float* x, const float* w,
                   float* dx, float* dw, float* db);
  int64_t (*prepared_floats)(const ConvShape& s) = nullptr;
  void (*prepare)(const ConvShape& s, const float* w, float* prepared) = nullptr;
  void (*forward_prepared)(const ConvShape& s, const float* x, const float* prepared,
                           const float* b, float* y) = nullptr;
};
void conv2d_forward_cpu(const ConvShape& s, const float* x, const float* w, const float* b,
                        float* y);
void conv2d_backward_cpu(const ConvShape& s, const float* dy, const float* x, const float* w,
                         float* dx, float* dw, float* db);
int64_t conv2d_prepared_floats_cpu(const ConvShape& s);
void conv2d_prepare_cpu(const ConvShape& s, const float* w, float* prepared);
void conv2d_forward_prepared_cpu(const ConvShape& s, const float* x, const float* prepared,
                                 const float* b, float* y);
void conv2d_forward_ref(const ConvShape& s, const float* x, const float* w, const float* b,
                        float* y);
void conv2d_backward_ref(const ConvShape& s, const float* dy, const float* x, const float* w,
                         float* dx, float* dw, float* db);

// Inference: Conv(X, W[, B]) followed by BatchNormalization(scale, bias, mean, var) (and a
// Relu when `relu`) as one op; inputs X, W, B (may be absent), scale, bias, mean, var.
std::unique_ptr<NodeOp> make_conv_batch_norm_node(const Node& conv, const Node& batch_norm,
                                                  bool relu);

}  // namespace engine
