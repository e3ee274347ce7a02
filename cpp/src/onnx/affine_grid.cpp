// AffineGrid as the engine ops it is made of: the sampling grid of GridSample from affine
// matrices, trainable through theta.
#include "onnx/expansion.h"
#include "onnx/fold.h"

namespace engine {

// AffineGrid(theta [N, 2, 3] or [N, 3, 4], size [N, C, H, W] or [N, C, D, H, W]) ->
// grid [N, H, W, 2] or [N, D, H, W, 3]: the base grid of normalized (x, y[, z], 1) per
// output position, a constant, times theta transposed: one MatMul over the batch of theta.
// Coordinates are -1 + (j + 1/2) * 2/size (align_corners=0) or -1 + j * 2/(size - 1)
// (align_corners=1; 0 for a size of 1, as PyTorch and onnxruntime have it), as numpy's arange
// over those steps gives them. size must be known at import (it shapes the output).
void emit_affine_grid(const Node& node, OnnxExpansionContext& ctx) {
  if (ctx.opset() < 20) ctx.fail("AffineGrid is an operator from opset 20");
  if (node.inputs.size() != 2 || node.inputs[0].empty() || node.inputs[1].empty())
    ctx.fail("takes 2 inputs (theta, size)");
  if (node.outputs.size() != 1) ctx.fail("has one output");
  const std::string& theta = node.inputs[0];
  const Tensor* size_value = ctx.constant(node.inputs[1]);
  if (!size_value) ctx.fail("size must be known at import (it shapes the output)");
  if (size_value->dtype() != DType::Int64 || size_value->ndim() != 1)
    ctx.fail("size must be a 1-D integer tensor");
  const std::vector<int64_t> size = int64_values(*size_value);
  if (size.size() != 4 && size.size() != 5)
    ctx.fail(str("size must be [N, C, H, W] or [N, C, D, H, W], got ", size.size(), " values"));
  const int64_t dims = static_cast<int64_t>(size.size()) - 2;  // spatial dims: 2 or 3
  const std::vector<int64_t> ts = ctx.symbolic_shape(theta);
  if (ctx.dtype(theta) != DType::Float32 || ts.size() != 3 || ts[1] != dims || ts[2] != dims + 1)
    ctx.fail(str("theta must be float [N, ", dims, ", ", dims + 1, "] for a size of ", size.size(),
                 " values, got ", shape_str(ts)));
  const bool align = node.attr_int("align_corners", 0) != 0;
  int64_t points = 1;
  for (int64_t d = 2; d < static_cast<int64_t>(size.size()); ++d) {
    if (size[d] <= 0) ctx.fail(str("size holds a spatial size of ", size[d]));
    points *= size[d];
  }
  // base[p] = (x, y[, z], 1) of output position p, x along the last dim.
  Tensor base = Tensor::empty({points, dims + 1});
  float* b = base.data<float>();
  for (int64_t p = 0; p < points; ++p) {
    int64_t rest = p;
    for (int64_t d = 0; d < dims; ++d) {  // d = 0: x, along the last dim of size
      const int64_t n = size[2 + dims - 1 - d];
      const int64_t j = rest % n;
      rest /= n;
      const double step = align ? 2.0 / double(n - 1) : 2.0 / double(n);
      const double start = align ? -1.0 : -1.0 + step / 2;
      b[p * (dims + 1) + d] = static_cast<float>(align && n == 1 ? 0.0 : start + j * step);
    }
    b[p * (dims + 1) + dims] = 1.0f;
  }
  const std::string base_name = ctx.add_constant(base, node.outputs[0] + "/base_grid");
  const std::string theta_t = ctx.expand_part(node, "Transpose", {theta}, "theta_transposed", "",
                                              {{"perm", Attribute::of_ints({0, 2, 1})}});
  const std::string flat = ctx.expand_part(node, "MatMul", {base_name, theta_t}, "grid_flat");
  std::vector<int64_t> shape = {0};
  shape.insert(shape.end(), size.begin() + 2, size.end());
  shape.push_back(dims);
  ctx.expand_part(node, "Reshape", {flat, ctx.add_int64s(shape, node.outputs[0] + "/shape")},
                  "grid", node.outputs[0]);
}

}  // namespace engine
