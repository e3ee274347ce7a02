// Concat from ONNX files: opsets < 4 made the axis optional, with 1 as the default.
#include "ops/concat/concat.h"
#include "ops/onnx_translate.h"

namespace engine {

void translate_concat_onnx(Node& node, OnnxImportContext& ctx) {
  if (ctx.opset() < 4 && !node.has_attr("axis")) node.attrs["axis"] = Attribute::of_int(1);
}

}  // namespace engine
