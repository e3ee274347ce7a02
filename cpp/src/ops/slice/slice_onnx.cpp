// Slice from ONNX files: opsets < 10 gave starts, ends and axes as attributes, which become
// the constant inputs of the later form.
#include <algorithm>

#include "ops/onnx_translate.h"
#include "ops/slice/slice.h"

namespace engine {

namespace {
Tensor int64_vector(const std::vector<int64_t>& values) {
  Tensor t = Tensor::empty({static_cast<int64_t>(values.size())}, DType::Int64);
  std::copy(values.begin(), values.end(), t.data<int64_t>());
  return t;
}
}  // namespace

void translate_slice_onnx(Node& node, OnnxImportContext& ctx) {
  if (ctx.opset() >= 10) return;
  if (!node.has_attr("starts") || !node.has_attr("ends"))
    ctx.fail("the starts and ends attributes are required");
  const std::string base = node.outputs.at(0);
  node.inputs.resize(1);
  node.inputs.push_back(ctx.add_constant(int64_vector(node.attr_ints("starts")), base + "/starts"));
  node.inputs.push_back(ctx.add_constant(int64_vector(node.attr_ints("ends")), base + "/ends"));
  if (node.has_attr("axes"))
    node.inputs.push_back(ctx.add_constant(int64_vector(node.attr_ints("axes")), base + "/axes"));
}

}  // namespace engine
