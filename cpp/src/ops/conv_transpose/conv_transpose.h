// ConvTranspose (ONNX ConvTranspose, 2-D NCHW or 3-D NCDHW), forward and backward. The
// formulas below are the 2-D ones; 3-D adds the depth axis in front (x [N, C, D, H, W],
// w [C, OC/G, KD, KH, KW]), as Conv does.
//
//   N  batch             C  input channels      H, W    input height, width
//   OC output channels   G  group               KH, KW  kernel height, width
//   OH, OW output height, width
//
//   x [N, C, H, W], w [C, OC/G, KH, KW], b [OC] (optional) -> y [N, OC, OH, OW]
//   y[n, g*OC/G + o, i*SH - PT + kh*DH, j*SW - PL + kw*DW] += x[n, c, i, j] * w[c, o, kh, kw]
//   for every input pixel (i, j), input channel c of group g = c / (C/G), o < OC/G and tap
//   (kh, kw) that lands inside y; then y += b.
//
// That is the gradient of a Conv with respect to its input: the Conv whose input is y
// (OC channels, OH x OW) and whose output is x (C channels, H x W), with the same weight
// ([C, OC/G, KH, KW] is Conv's [its OC, its C/G, KH, KW]), strides, pads and dilations.
// So the kernels are Conv's: forward = Conv's backward-data, dx = Conv's forward of dy,
// dw += Conv's weight gradient with x in the role of Conv's dy and dy in that of its
// input, db += the sum of dy over N, OH, OW. dx is OVERWRITTEN, dw and db ACCUMULATED.
//
// Sizes (ONNX): OH = SH*(H-1) + output_padding + (KH-1)*DH + 1 - PT - PB. When
// output_shape is given it decides the pads (total = that size minus OH without pads; the
// odd one at the end for SAME_UPPER, else at the beginning); SAME_UPPER / SAME_LOWER
// without it ask for OH = H*SH; VALID means no pads. An output_shape larger than the
// output without pads (onnxruntime accepts it) gets no pads: its extra rows receive only
// the bias. It may exceed that size by less than the stride minus output_padding, so
// that the Conv seen from the output still has H outputs.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/tensor.h"
#include "ops/conv/conv.h"
#include "ops/window2d.h"

namespace engine {

struct ConvTransposeAttrs {
  Window2dAttrs window;  // kernel_shape (optional, checked against w), strides, pads,
                         // dilations, auto_pad; ceil_mode unused
  int64_t group = 1;
  std::vector<int64_t> output_padding;  // [H, W] (3-D: [D, H, W]), each smaller than its
                                        // stride; empty: 0
  std::vector<int64_t> output_shape;    // [OH, OW] (3-D: [OD, OH, OW]); empty: from the pads
};

// The geometry as that of the Conv whose input gradient this op computes: conv.C = OC,
// conv.OC = C, conv.win.H x W = OH x OW (y), conv.win.OH x OW = H x W (x).
struct ConvTransposeShape {
  ConvShape conv;
  Shape y_shape() const {
    if (conv.win.rank == 3) return {conv.N, conv.C, conv.win.D, conv.win.H, conv.win.W};
    return {conv.N, conv.C, conv.win.H, conv.win.W};
  }
};

// Validates x, w, the optional b (undefined = no bias) and the attributes; errors name
// "ConvTranspose" and the offending values.
ConvTransposeShape conv_transpose_shape(const Tensor& x, const Tensor& w, const Tensor& b,
                                        const ConvTransposeAttrs& attrs);

void conv_transpose_forward(const Tensor& x, const Tensor& w, const Tensor& b,
                            const ConvTransposeAttrs& attrs, Tensor& y);

// dx [N, C, H, W] is overwritten; dw and db are accumulated into; null or undefined ones
// are not computed.
void conv_transpose_backward(const Tensor& dy, const Tensor& x, const Tensor& w,
                             const ConvTransposeAttrs& attrs, Tensor* dx, Tensor* dw,
                             Tensor* db);

// Kernels on contiguous float buffers; `s` is the Conv geometry above (s.C = OC channels
// of y, s.OC = C channels of x); b, dx, dw, db may be null.
struct ConvTransposeKernels {
  void (*forward)(const ConvShape& s, const float* x, const float* w, const float* b, float* y);
  void (*backward)(const ConvShape& s, const float* dy, const float* x, const float* w,
                   float* dx, float* dw, float* db);
};
void conv_transpose2d_forward_ref(const ConvShape& s, const float* x, const float* w,
                                  const float* b, float* y);
void conv_transpose2d_backward_ref(const ConvShape& s, const float* dy, const float* x,
                                   const float* w, float* dx, float* dw, float* db);
void conv_transpose2d_forward_cpu(const ConvShape& s, const float* x, const float* w,
                                  const float* b, float* y);
void conv_transpose2d_backward_cpu(const ConvShape& s, const float* dy, const float* x,
                                   const float* w, float* dx, float* dw, float* db);

}  // namespace engine
