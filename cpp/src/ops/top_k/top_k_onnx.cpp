// TopK from ONNX files: before opset 10, k was an attribute; it becomes the constant input
// the engine reads.
#include "ops/onnx_translate.h"
#include "ops/top_k/top_k.h"

namespace engine {

void translate_top_k_onnx(Node& node, OnnxImportContext& ctx) {
  if (ctx.opset() >= 10) return;
  node.inputs.resize(1);
  node.inputs.push_back(ctx.add_int64s({node.attr_int("k")}, node.outputs.at(0) + "/k"));
}

}  // namespace engine
