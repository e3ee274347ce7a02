// Add, Sub, Mul, Div and Pow from ONNX files. Opsets < 7 broadcast only with `broadcast=1`, and
// `axis` then aligns B with A starting at that axis instead of at the right: B (known at
// import) gets trailing size-1 dims, which turns it into numpy broadcasting.
#include "ops/binary/binary.h"
#include "ops/onnx_translate.h"

namespace engine {

void translate_binary_onnx(Node& node, OnnxImportContext& ctx) {
  if (ctx.opset() >= 7 || node.attr_int("broadcast", 0) == 0 || !node.has_attr("axis")) return;
  const std::string& b_name = node.inputs.at(1);
  const Tensor* b = ctx.constant(b_name);
  if (!b) ctx.fail("B must be known at import to broadcast along an axis");
  const int rank = ctx.rank(node.inputs.at(0));
  int64_t axis = node.attr_int("axis");
  if (axis < 0) axis += rank;
  const int64_t trailing = rank - axis - b->ndim();
  if (axis < 0 || trailing < 0)
    ctx.fail(str("axis ", node.attr_int("axis"), " does not align B ", b->describe(),
                 " with an input of rank ", rank));
  Shape shape = b->shape();
  shape.insert(shape.end(), static_cast<size_t>(trailing), 1);
  const Tensor aligned = b->reshape(shape).clone();
  node.inputs[1] = ctx.is_weight(b_name) ? ctx.add_weight(aligned, b_name + "/aligned")
                                         : ctx.add_constant(aligned, b_name + "/aligned");
}

}  // namespace engine
