#include "ops/conv_transpose/conv_transpose.h"

#include <algorithm>

#include "core/checked.h"
#include "core/kernel_table.h"
#include "ops/conv_transpose/conv_transpose_cuda.h"

namespace engine {

namespace {

constexpr const char* kOp = "ConvTranspose";

void check_shape(const Tensor& t, const Shape& expected, const char* what) {
  check_dense_float(t, what);
  ENGINE_CHECK(t.shape() == expected, what, " has shape ", shape_str(t.shape()), ", expected ",
               shape_str(expected));
}

bool wanted(const Tensor* t) { return t != nullptr && t->defined(); }

// One axis: the output size `out` of input size `in`, and its pads (ONNX's rules, see
// conv_transpose.h). out_given < 0: not given. Every size is checked for overflow.
int64_t resolve_axis(const char* axis, int64_t in, int64_t k, int64_t s, int64_t d,
                     int64_t out_pad, int64_t out_given, AutoPad auto_pad, int64_t& pad_begin,
                     int64_t& pad_end) {
  const int64_t span = checked_add(checked_mul(k - 1, d, kOp, ": the ", axis, " window (kernel ",
                                               k, ", dilation ", d, ")"),
                                   1, kOp, ": the ", axis, " window span");
  // The output with no pads; a Conv over it (pads 0) has `in` outputs again, since
  // out_pad < s: that is what lets Conv's kernels run this op.
  const int64_t full = checked_add(
      checked_add(checked_mul(in - 1, s, kOp, ": the ", axis, " output (", in, " - 1) * stride ", s),
                  out_pad, kOp, ": the ", axis, " output"),
      span, kOp, ": the ", axis, " output (window span ", span, ")");
  if (out_given >= 0 || auto_pad == AutoPad::SameUpper || auto_pad == AutoPad::SameLower) {
    const int64_t out = out_given >= 0 ? out_given
                                       : checked_mul(in, s, kOp, ": the ", axis, " output ", in,
                                                     " * stride ", s);
    ENGINE_CHECK(out <= full, kOp, ": the ", axis, " output_shape ", out,
                 " is larger than the output without pads (", full, ")");
    const int64_t total = full - out;
    const bool end_heavy = auto_pad == AutoPad::SameUpper;
    pad_begin = end_heavy ? total / 2 : total - total / 2;
    pad_end = total - pad_begin;
    return out;
  }
  if (auto_pad == AutoPad::Valid) pad_begin = pad_end = 0;
  const int64_t out = full - pad_begin - pad_end;  // full, pads >= 0: no overflow
  ENGINE_CHECK(out >= 1, kOp, ": pads ", pad_begin, " + ", pad_end, " leave no ", axis,
               " output (", full, " without them)");
  return out;
}

}  // namespace

const KernelTable<ConvTransposeKernels>& conv_transpose_kernels() {
  static const KernelTable<ConvTransposeKernels> table(
      kOp, {conv_transpose2d_forward_ref, conv_transpose2d_backward_ref},
      {conv_transpose2d_forward_cpu, conv_transpose2d_backward_cpu},
      conv_transpose_cuda_kernels<HostGrid>());
  return table;
}

ConvTransposeShape conv_transpose_shape(const Tensor& x, const Tensor& w, const Tensor& b,
                                        const ConvTransposeAttrs& attrs) {
  check_dense_float(x, "ConvTranspose: x");
  check_dense_float(w, "ConvTranspose: w");
  ENGINE_CHECK(x.ndim() == 4, kOp, ": x must be 4-D [N, C, H, W], got ", x.describe());
  ENGINE_CHECK(w.ndim() == 4, kOp, ": w must be 4-D [C, OC/group, KH, KW], got ", w.describe());
  const int64_t G = attrs.group;
  ENGINE_CHECK(G >= 1, kOp, ": group must be positive, got ", G);
  const int64_t C = x.dim(1);
  ENGINE_CHECK(C >= 1 && w.dim(1) >= 1, kOp,
               ": need at least one input and one output channel, got x ", x.describe(),
               " and w ", w.describe());
  ENGINE_CHECK(C % G == 0, kOp, ": group ", G, " does not divide the ", C,
               " input channels of x ", x.describe());
  ENGINE_CHECK(w.dim(0) == C, kOp, ": w ", w.describe(), " has weights for ", w.dim(0),
               " input channels, but x ", x.describe(), " has ", C);
  const int64_t OC = checked_mul(w.dim(1), G, kOp, ": the output channels");
  const int64_t KH = w.dim(2), KW = w.dim(3);
  ENGINE_CHECK(KH > 0 && KW > 0, kOp, ": kernel size must be positive, got [", KH, ", ", KW, "]");
  ENGINE_CHECK(x.dim(2) > 0 && x.dim(3) > 0, kOp, ": input spatial size must be positive, got ",
               x.describe());
  const Window2dAttrs& a = attrs.window;
  if (!a.kernel_shape.empty()) {
    ENGINE_CHECK(a.kernel_shape == Shape({KH, KW}), kOp, ": kernel_shape ",
                 shape_str(a.kernel_shape), " does not match the kernel [", KH, ", ", KW,
                 "] of w ", w.describe());
  }
  if (b.defined()) check_shape(b, {OC}, "ConvTranspose: b");
  ConvTransposeShape t;
  ConvShape& s = t.conv;
  s.N = x.dim(0);
  s.C = OC;
  s.OC = C;
  s.G = G;
  Window2d& g = s.win;
  g = window2d_geometry(kOp, KH, KW, a);
  const auto out_pad = window2d_pair(kOp, "output_padding", attrs.output_padding, 0);
  ENGINE_CHECK(out_pad[0] >= 0 && out_pad[1] >= 0 && out_pad[0] < g.SH && out_pad[1] < g.SW, kOp,
               ": output_padding ", shape_str(out_pad), " must be non-negative and smaller than the "
               "strides ", shape_str({g.SH, g.SW}));
  std::vector<int64_t> out_shape = {-1, -1};
  if (!attrs.output_shape.empty()) {
    ENGINE_CHECK(attrs.output_shape.size() == 2, kOp,
                 ": output_shape must have 2 values [OH, OW] for a 2-D input, got ",
                 shape_str(attrs.output_shape));
    out_shape = attrs.output_shape;
    ENGINE_CHECK(out_shape[0] >= 1 && out_shape[1] >= 1, kOp,
                 ": output_shape must be positive, got ", shape_str(out_shape));
  }
  g.OH = x.dim(2);
  g.OW = x.dim(3);
  g.H = resolve_axis("height", g.OH, KH, g.SH, g.DH, out_pad[0], out_shape[0], a.auto_pad, g.PT,
                     g.PB);
  g.W = resolve_axis("width", g.OW, KW, g.SW, g.DW, out_pad[1], out_shape[1], a.auto_pad, g.PL,
                     g.PR);
  // The kernels' col matrix for one image and group: [OC/group * KH * KW, H * W].
  try {
    shape_nbytes({w.dim(1) * KH * KW, g.OH, g.OW}, DType::Float32);
    shape_nbytes(t.y_shape(), DType::Float32);
  } catch (const Error&) {
    fail(ErrorKind::Value, kOp, ": the output ", shape_str(t.y_shape()), " or col matrix for ",
         window2d_str(g), " is more than memory can hold");
  }
  return t;
}

void conv_transpose_forward(const Tensor& x, const Tensor& w, const Tensor& b,
                            const ConvTransposeAttrs& attrs, Tensor& y) {
  const ConvTransposeShape t = conv_transpose_shape(x, w, b, attrs);
  check_shape(y, t.y_shape(), "ConvTranspose: y");
  conv_transpose_kernels().get(x.device()).forward(t.conv, x.data<float>(), w.data<float>(),
                                                   b.defined() ? b.data<float>() : nullptr,
                                                   y.data<float>());
}

void conv_transpose_backward(const Tensor& dy, const Tensor& x, const Tensor& w,
                             const ConvTransposeAttrs& attrs, Tensor* dx, Tensor* dw,
                             Tensor* db) {
  const ConvTransposeShape t = conv_transpose_shape(x, w, Tensor(), attrs);
  check_shape(dy, t.y_shape(), "ConvTranspose_backward: dy");
  if (wanted(dx)) check_shape(*dx, x.shape(), "ConvTranspose_backward: dx");
  if (wanted(dw)) check_shape(*dw, w.shape(), "ConvTranspose_backward: dw");
  if (wanted(db)) check_shape(*db, {t.conv.C}, "ConvTranspose_backward: db");
  conv_transpose_kernels().get(x.device()).backward(
      t.conv, dy.data<float>(), x.data<float>(), w.data<float>(),
      wanted(dx) ? dx->data<float>() : nullptr, wanted(dw) ? dw->data<float>() : nullptr,
      wanted(db) ? db->data<float>() : nullptr);
}

}  // namespace engine
