#include "ops/conv/conv.h"

#include "core/cpu_features.h"
#include "core/kernel_table.h"
#include "engine/runtime.h"
#include "ops/conv/conv_cuda.h"

namespace engine {

namespace {

void check_shape(const Tensor& t, const Shape& expected, const char* what) {
  check_dense_float(t, what);
  ENGINE_CHECK(t.shape() == expected, what, " has shape ", shape_str(t.shape()), ", expected ",
               shape_str(expected));
}

bool wanted(const Tensor* t) { return t != nullptr && t->defined(); }

}  // namespace

const KernelTable<ConvKernels>& conv_kernels() {
  static const KernelTable<ConvKernels> table(
      "Conv", {conv2d_forward_ref, conv2d_backward_ref},
      {conv2d_forward_cpu, conv2d_backward_cpu, conv2d_prepared_floats_cpu, conv2d_prepare_cpu,
       conv2d_forward_prepared_cpu},
      conv_cuda_kernels<HostGrid>());
  return table;
}

ConvShape conv_shape(const Tensor& x, const Tensor& w, const Tensor& b, const ConvAttrs& attrs) {
  check_dense_float(x, "Conv: x");
  check_dense_float(w, "Conv: w");
  window_rank("Conv: x", x);
  if (x.ndim() == 4)
    ENGINE_CHECK(w.ndim() == 4, "Conv: w must be 4-D [OC, C/group, KH, KW] for a 4-D x, got ",
                 w.describe());
  else
    ENGINE_CHECK(w.ndim() == 5, "Conv: w must be 5-D [OC, C/group, KD, KH, KW] for a 5-D x, got ",
                 w.describe());
  ConvShape s;
  s.N = x.dim(0);
  s.C = x.dim(1);
  s.OC = w.dim(0);
  s.G = attrs.group;
  s.relu = attrs.relu;
  ENGINE_CHECK(s.G >= 1, "Conv: group must be positive, got ", s.G);
  ENGINE_CHECK(s.C >= 1 && s.OC >= 1, "Conv: need at least one input and one output channel, got x ",
               x.describe(), " and w ", w.describe());
  ENGINE_CHECK(s.C % s.G == 0, "Conv: group ", s.G, " does not divide the ", s.C,
               " input channels of x ", x.describe());
  ENGINE_CHECK(s.OC % s.G == 0, "Conv: group ", s.G, " does not divide the ", s.OC,
               " output channels of w ", w.describe());
  ENGINE_CHECK(w.dim(1) == s.C / s.G, "Conv: w ", w.describe(), " expects ", w.dim(1),
               " input channels per group, but x ", x.describe(), " with group ", s.G, " has ",
               s.C / s.G);
  const Shape kernel(w.shape().begin() + 2, w.shape().end());
  if (!attrs.window.kernel_shape.empty()) {
    ENGINE_CHECK(attrs.window.kernel_shape == kernel, "Conv: kernel_shape ",
                 shape_str(attrs.window.kernel_shape), " does not match the kernel ",
                 shape_str(kernel), " of w ", w.describe());
  }
  if (b.defined()) check_shape(b, {s.OC}, "Conv: b");
  s.win =
      resolve_window("Conv", Shape(x.shape().begin() + 2, x.shape().end()), kernel, attrs.window);
  // The kernels' im2col matrix for one image and group: [C/group * taps, output pixels].
  try {
    shape_nbytes({w.dim(1), s.win.KD, s.win.KH, s.win.KW, s.win.OD, s.win.OH, s.win.OW},
                 DType::Float32);
  } catch (const Error&) {
    const std::string depth = s.win.rank == 3 ? str(s.win.OD, " x ") : "";
    fail(ErrorKind::Value, "Conv: the im2col matrix [", w.dim(1) * s.win.taps(), ", ", depth,
         s.win.OH, " x ", s.win.OW, "] for ", window2d_str(s.win), " is more than memory can hold");
  }
  return s;
}

void conv_forward(const Tensor& x, const Tensor& w, const Tensor& b, const ConvAttrs& attrs,
                  Tensor& y) {
  const ConvShape s = conv_shape(x, w, b, attrs);
  check_shape(y, s.y_shape(), "Conv: y");
  conv_kernels().get(x.device()).forward(s, x.data<float>(), w.data<float>(),
                                         b.defined() ? b.data<float>() : nullptr,
                                         y.data<float>());
}

int64_t conv_prepared_floats(const ConvShape& s) {
  const ConvKernels& cpu = conv_kernels().get(KernelVariant::Cpu);
  return cpu.prepared_floats ? cpu.prepared_floats(s) : 0;
}

void conv_forward_prepared(const Tensor& x, const Tensor& w, const Tensor& b,
                           const ConvAttrs& attrs, Tensor& prepared, Tensor& tag, Tensor& y) {
  const ConvShape s = conv_shape(x, w, b, attrs);
  check_shape(y, s.y_shape(), "Conv: y");
  const ConvKernels& k = conv_kernels().get(x.device());
  const float* bias = b.defined() ? b.data<float>() : nullptr;
  if (!k.forward_prepared || k.prepared_floats(s) != prepared.numel())
    return k.forward(s, x.data<float>(), w.data<float>(), bias, y.data<float>());
  // The version is read before preparing: a write to the parameters meanwhile leaves the
  // tag stale, and the next call prepares again.
  const int64_t version = static_cast<int64_t>(parameters_version());
  const int64_t isa = static_cast<int64_t>(cpu_isa());
  int64_t* t = tag.data<int64_t>();
  if (t[0] != version || t[1] != isa) {
    k.prepare(s, w.data<float>(), prepared.data<float>());
    count_prepared_weights();
    t[0] = version;
    t[1] = isa;
  }
  k.forward_prepared(s, x.data<float>(), prepared.data<float>(), bias, y.data<float>());
}

Tensor conv_forward(const Tensor& x, const Tensor& w, const Tensor& b, const ConvAttrs& attrs) {
  Tensor y = Tensor::empty(conv_shape(x, w, b, attrs).y_shape(), DType::Float32, x.device());
  conv_forward(x, w, b, attrs, y);
  return y;
}

void conv_backward(const Tensor& dy, const Tensor& x, const Tensor& w, const ConvAttrs& attrs,
                   Tensor* dx, Tensor* dw, Tensor* db) {
  const ConvShape s = conv_shape(x, w, Tensor(), attrs);
  check_shape(dy, s.y_shape(), "Conv_backward: dy");
  if (wanted(dx)) check_shape(*dx, x.shape(), "Conv_backward: dx");
  if (wanted(dw)) check_shape(*dw, w.shape(), "Conv_backward: dw");
  if (wanted(db)) check_shape(*db, {s.OC}, "Conv_backward: db");
  conv_kernels().get(x.device()).backward(
      s, dy.data<float>(), x.data<float>(), w.data<float>(),
      wanted(dx) ? dx->data<float>() : nullptr, wanted(dw) ? dw->data<float>() : nullptr,
      wanted(db) ? db->data<float>() : nullptr);
}

ConvGrads conv_backward(const Tensor& dy, const Tensor& x, const Tensor& w,
                        const ConvAttrs& attrs, bool need_dx, bool need_dw, bool need_db) {
  const ConvShape s = conv_shape(x, w, Tensor(), attrs);  // before allocating from the shapes
  ConvGrads g;
  if (need_dx) g.dx = Tensor::empty(x.shape(), DType::Float32, x.device());
  if (need_dw) g.dw = Tensor::zeros(w.shape(), DType::Float32, x.device());
  if (need_db) g.db = Tensor::zeros({s.OC}, DType::Float32, x.device());
  conv_backward(dy, x, w, attrs, &g.dx, &g.dw, &g.db);
  return g;
}

}  // namespace engine
