// Clip from ONNX files: opsets < 11 give the bounds as the min and max attributes, which
// become scalar constant inputs.
#include "ops/clip/clip.h"
#include "ops/onnx_translate.h"

namespace engine {

void translate_clip_onnx(Node& node, OnnxImportContext& ctx) {
  if (ctx.opset() >= 11) return;
  node.inputs.resize(1);
  for (const char* name : {"min", "max"}) {
    if (!node.has_attr(name)) {
      node.inputs.push_back("");
      continue;
    }
    const Tensor value = Tensor::full({}, node.attr_float(name));
    node.inputs.push_back(ctx.add_constant(value, node.outputs.at(0) + "/" + name));
  }
}

}  // namespace engine
