// Softmax and LogSoftmax from ONNX files. Opsets < 13 coerce the input to 2-D at `axis`
// (default 1) and normalise over all the trailing dims together; that is the opset-13 op
// when the axis is the last one, and engine_coerce_2d otherwise.
#include "ops/onnx_translate.h"
#include "ops/softmax/softmax.h"

namespace engine {

void translate_softmax_onnx(Node& node, OnnxImportContext& ctx) {
  if (ctx.opset() >= 13) return;
  const int rank = ctx.rank(node.inputs.at(0));
  int64_t axis = node.attr_int("axis", 1);
  if (axis < -rank || axis >= rank)
    ctx.fail(str("axis ", axis, " is out of range for an input of rank ", rank));
  if (axis < 0) axis += rank;
  node.attrs["axis"] = Attribute::of_int(axis);
  if (axis != rank - 1) node.attrs[kSoftmaxCoerce2d] = Attribute::of_int(1);
}

}  // namespace engine
