// Split from ONNX files: opsets < 13 gave the sizes as the split attribute, which becomes
// the constant input of the later form (opset 1 also took them as an input).
#include <algorithm>

#include "ops/onnx_translate.h"
#include "ops/split/split.h"

namespace engine {

void translate_split_onnx(Node& node, OnnxImportContext& ctx) {
  if (ctx.opset() >= 13 || !node.has_attr("split")) return;
  const std::vector<int64_t>& sizes = node.attr_ints("split");
  Tensor t = Tensor::empty({static_cast<int64_t>(sizes.size())}, DType::Int64);
  std::copy(sizes.begin(), sizes.end(), t.data<int64_t>());
  node.inputs.resize(1);
  node.inputs.push_back(ctx.add_constant(t, node.outputs.at(0) + "/split"));
}

}  // namespace engine
