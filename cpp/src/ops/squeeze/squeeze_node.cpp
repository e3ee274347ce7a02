// Squeeze(data[, axes]) in a graph: size-1 dims removed (all of them without axes).
#include "ops/axes_shape_node.h"
#include "ops/squeeze/squeeze.h"

namespace engine {

void squeeze_op(OpDef& def) {
  def.schema.inputs(1, 2);
  def.make = AxesShapeNode<squeeze_output_shape, squeeze_forward>::make;
  def.onnx.legacy.push_back({"axes", Attribute::Kind::Ints, 13});
  def.onnx.translate = translate_axes_onnx;
}

}  // namespace engine
