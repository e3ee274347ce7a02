// Split in ONNX files: opsets < 13 gave the sizes as the split attribute, which becomes the
// constant input of the later form when read, and the attribute again when written; opsets
// < 18 have no num_outputs.
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

void split_to_opset(Node& node, OnnxExportContext& ctx) {
  if (ctx.opset() < 18 && node.has_attr("num_outputs"))
    ctx.fail(str("opset ", ctx.opset(), " has no num_outputs (from opset 18); give the sizes "
                 "as the split input"));
  const bool has_sizes = node.inputs.size() > 1 && !node.inputs[1].empty();
  if (ctx.opset() >= 13 || !has_sizes) return;
  const Tensor* sizes = ctx.constant(node.inputs[1]);
  if (!sizes)
    ctx.fail(str("opset ", ctx.opset(), " takes the sizes as an attribute, but input '",
                 node.inputs[1], "' is not a constant of the graph"));
  if (sizes->dtype() != DType::Int64 || sizes->ndim() != 1)
    ctx.fail(str("the sizes must be a 1-D int64 tensor, got ", sizes->describe()));
  const Tensor host = sizes->to(Device::cpu());
  const int64_t* v = host.data<int64_t>();
  node.attrs["split"] = Attribute::of_ints(std::vector<int64_t>(v, v + host.numel()));
  node.inputs.resize(1);
}

}  // namespace engine
