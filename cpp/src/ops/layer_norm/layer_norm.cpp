#include "ops/layer_norm/layer_norm.h"

#include <cmath>
#include <string>

#include "core/kernel_table.h"
#include "ops/common.h"
#include "ops/layer_norm/layer_norm_cuda.h"

namespace engine {

LayerNormGeometry layer_norm_geometry(const Shape& x, const LayerNormAttrs& attrs, const char* op) {
  const int ndim = static_cast<int>(x.size());
  ENGINE_CHECK(ndim >= 1, op, ": x must have rank >= 1, got a scalar");
  const int axis = normalize_axis(attrs.axis, ndim, op);
  ENGINE_CHECK(std::isfinite(attrs.epsilon) && attrs.epsilon >= 0.0f, op,
               ": epsilon must be >= 0, got ", attrs.epsilon);
  LayerNormGeometry g;
  for (int i = 0; i < axis; ++i) g.rows *= x[i];
  for (int i = axis; i < ndim; ++i) g.len *= x[i];
  return g;
}

const KernelTable<LayerNormKernels>& layer_norm_kernels() {
  static const KernelTable<LayerNormKernels> table(
      "LayerNormalization", {layer_norm_forward_ref, layer_norm_backward_ref},
      {layer_norm_forward_cpu, layer_norm_backward_cpu}, layer_norm_cuda_kernels<HostGrid>());
  return table;
}

namespace {

// scale and bias: the normalised dims of x (a suffix of them: leading dims may be left out,
// as ONNX's broadcasting allows when they hold the same values).
void check_param(const Tensor& t, const Shape& x, const LayerNormAttrs& attrs,
                 const LayerNormGeometry& g, const std::string& what) {
  check_dense_float(t, what.c_str());
  const int axis = static_cast<int>(attrs.axis < 0 ? attrs.axis + int64_t(x.size()) : attrs.axis);
  const Shape dims(x.begin() + axis, x.end());
  bool ok = t.numel() == g.len && t.ndim() <= static_cast<int>(dims.size());
  for (int i = 0; ok && i < t.ndim(); ++i)
    ok = t.dim(i) == dims[dims.size() - t.ndim() + i];
  ENGINE_CHECK(ok, what, " must have the normalised dims of x ", shape_str(dims), ", got ",
               t.describe());
}

void check_stats(const Tensor& t, const LayerNormGeometry& g, const std::string& what) {
  check_dense_float(t, what.c_str());
  ENGINE_CHECK(t.numel() == g.rows, what, " must hold ", g.rows, " values (one per row), got ",
               t.describe());
}

void check_like(const Tensor& t, const Tensor& x, const std::string& what) {
  check_dense_float(t, what.c_str());
  ENGINE_CHECK(t.shape() == x.shape(), what, " ", t.describe(), " does not match x ",
               x.describe());
}

float* data_or_null(Tensor& t) { return t.defined() ? t.data<float>() : nullptr; }

}  // namespace

void layer_norm_forward(const Tensor& x, const Tensor& scale, const Tensor& bias,
                        const LayerNormAttrs& attrs, Tensor& y, Tensor& mean, Tensor& inv_std) {
  const std::string op = "LayerNormalization";
  check_dense_float(x, (op + ": x").c_str());
  const LayerNormGeometry g = layer_norm_geometry(x.shape(), attrs, op.c_str());
  check_param(scale, x.shape(), attrs, g, op + ": scale");
  if (bias.defined()) check_param(bias, x.shape(), attrs, g, op + ": bias");
  check_like(y, x, op + ": y");
  check_stats(mean, g, op + ": mean");
  check_stats(inv_std, g, op + ": inv_std");
  layer_norm_kernels().get(x.device()).forward(
      g, attrs.epsilon, x.data<float>(), scale.data<float>(),
      bias.defined() ? bias.data<float>() : nullptr, y.data<float>(), mean.data<float>(),
      inv_std.data<float>());
}

void layer_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& scale,
                         const Tensor& mean, const Tensor& inv_std, const LayerNormAttrs& attrs,
                         Tensor& dx, Tensor& dscale, Tensor& dbias) {
  const std::string op = "LayerNormalization_backward";
  check_dense_float(x, (op + ": x").c_str());
  const LayerNormGeometry g = layer_norm_geometry(x.shape(), attrs, op.c_str());
  check_param(scale, x.shape(), attrs, g, op + ": scale");
  check_like(dy, x, op + ": dy");
  check_stats(mean, g, op + ": mean");
  check_stats(inv_std, g, op + ": inv_std");
  if (dx.defined()) check_like(dx, x, op + ": dx");
  if (dscale.defined()) check_param(dscale, x.shape(), attrs, g, op + ": dscale");
  if (dbias.defined()) check_param(dbias, x.shape(), attrs, g, op + ": dbias");
  layer_norm_kernels().get(x.device()).backward(
      g, x.data<float>(), scale.data<float>(), mean.data<float>(), inv_std.data<float>(),
      dy.data<float>(), data_or_null(dx), data_or_null(dscale), data_or_null(dbias));
}

}  // namespace engine
