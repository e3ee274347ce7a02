// Unsqueeze(data, axes) in a graph: size-1 dims inserted.
#include "ops/axes_shape_node.h"
#include "ops/unsqueeze/unsqueeze.h"

namespace engine {

void unsqueeze_op(OpDef& def) {
  // Older files carry the axes as an attribute, which the translation turns into the input.
  def.schema.inputs(2, 2);
  def.make = AxesShapeNode<unsqueeze_output_shape, unsqueeze_forward>::make;
  def.onnx.legacy.push_back({"axes", Attribute::Kind::Ints, 13});
  def.onnx.translate = translate_axes_onnx;
}

}  // namespace engine
