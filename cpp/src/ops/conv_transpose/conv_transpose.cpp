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
    // Larger than without pads: no pads, and the Conv over the output (pads 0) must
    // still have `in` outputs: out - span < in * s.
    ENGINE_CHECK(out - full + out_pad < s, kOp, ": the ", axis, " output_shape ", out,
                 " is larger than the output without pads (", full, ") by ", out - full,
                 ", which the stride ", s, " (output_padding ", out_pad, ") cannot reach");
    const int64_t total = std::max<int64_t>(0, full - out);
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
  const size_t rank = static_cast<size_t>(window_rank("ConvTranspose: x", x));
  if (rank == 2)
    ENGINE_CHECK(w.ndim() == 4, kOp, ": w must be 4-D [C, OC/group, KH, KW] for a 4-D x, got ",
                 w.describe());
  else
    ENGINE_CHECK(w.ndim() == 5, kOp, ": w must be 5-D [C, OC/group, KD, KH, KW] for a 5-D x, got ",
                 w.describe());
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
  const Shape kernel(w.shape().begin() + 2, w.shape().end());
  const Shape in(x.shape().begin() + 2, x.shape().end());
  for (int64_t k : kernel)
    ENGINE_CHECK(k > 0, kOp, ": kernel size must be positive, got ", shape_str(kernel));
  for (int64_t d : in)
    ENGINE_CHECK(d > 0, kOp, ": input spatial size must be positive, got ", x.describe());
  const Window2dAttrs& a = attrs.window;
  if (!a.kernel_shape.empty()) {
    ENGINE_CHECK(a.kernel_shape == kernel, kOp, ": kernel_shape ", shape_str(a.kernel_shape),
                 " does not match the kernel ", shape_str(kernel), " of w ", w.describe());
  }
  if (b.defined()) check_shape(b, {OC}, "ConvTranspose: b");
  ConvTransposeShape t;
  ConvShape& s = t.conv;
  s.N = x.dim(0);
  s.C = OC;
  s.OC = C;
  s.G = G;
  Window2d& g = s.win;
  g = window_geometry(kOp, kernel, a);
  const auto out_pad = window_values(kOp, "output_padding", attrs.output_padding, rank, 0);
  const Shape strides = rank == 3 ? Shape{g.SD, g.SH, g.SW} : Shape{g.SH, g.SW};
  for (size_t i = 0; i < rank; ++i)
    ENGINE_CHECK(out_pad[i] >= 0 && out_pad[i] < strides[i], kOp, ": output_padding ",
                 shape_str(out_pad), " must be non-negative and smaller than the strides ",
                 shape_str(strides));
  std::vector<int64_t> out_shape(rank, -1);
  if (!attrs.output_shape.empty()) {
    ENGINE_CHECK(attrs.output_shape.size() == rank, kOp, ": output_shape must have ", rank,
                 " values for a ", rank, "-D input, got ", shape_str(attrs.output_shape));
    out_shape = attrs.output_shape;
    for (int64_t d : out_shape)
      ENGINE_CHECK(d >= 1, kOp, ": output_shape must be positive, got ", shape_str(out_shape));
  }
  const size_t h = rank - 2;  // the height axis
  if (rank == 3) {
    g.OD = in[0];
    g.D = resolve_axis("depth", g.OD, g.KD, g.SD, g.DD, out_pad[0], out_shape[0], a.auto_pad, g.PF,
                       g.PK);
  }
  g.OH = in[h];
  g.OW = in[h + 1];
  g.H = resolve_axis("height", g.OH, g.KH, g.SH, g.DH, out_pad[h], out_shape[h], a.auto_pad, g.PT,
                     g.PB);
  g.W = resolve_axis("width", g.OW, g.KW, g.SW, g.DW, out_pad[h + 1], out_shape[h + 1], a.auto_pad,
                     g.PL, g.PR);
  // The kernels' col matrix for one image and group: [OC/group * KH * KW, H * W].
  try {
    shape_nbytes({w.dim(1), g.taps(), g.OD, g.OH, g.OW}, DType::Float32);
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
