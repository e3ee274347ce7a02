// Slice in ONNX files: opsets < 10 gave starts, ends and axes as attributes (and had no
// steps), which become the constant inputs of the later form when read, and the attributes
// again when written.
#include <algorithm>

#include "ops/onnx_translate.h"
#include "ops/slice/slice.h"

namespace engine {

void translate_slice_onnx(Node& node, OnnxImportContext& ctx) {
  if (ctx.opset() >= 10) return;
  if (!node.has_attr("starts") || !node.has_attr("ends"))
    ctx.fail("the starts and ends attributes are required");
  const std::string base = node.outputs.at(0);
  node.inputs.resize(1);
  node.inputs.push_back(ctx.add_int64s(node.attr_ints("starts"), base + "/starts"));
  node.inputs.push_back(ctx.add_int64s(node.attr_ints("ends"), base + "/ends"));
  if (node.has_attr("axes"))
    node.inputs.push_back(ctx.add_int64s(node.attr_ints("axes"), base + "/axes"));
}

void slice_to_opset(Node& node, OnnxExportContext& ctx) {
  if (ctx.opset() >= 10) return;
  auto values = [&](size_t i, const char* what) {
    const Tensor* t = ctx.constant(node.inputs[i]);
    if (!t)
      ctx.fail(str("opset ", ctx.opset(), " takes the ", what, " as an attribute, but input '",
                   node.inputs[i], "' is not a constant of the graph"));
    if (t->dtype() != DType::Int64 || t->ndim() != 1)
      ctx.fail(str("the ", what, " must be a 1-D int64 tensor, got ", t->describe()));
    const Tensor host = t->to(Device::cpu());
    return std::vector<int64_t>(host.data<int64_t>(), host.data<int64_t>() + host.numel());
  };
  auto given = [&](size_t i) { return node.inputs.size() > i && !node.inputs[i].empty(); };
  if (given(4)) {
    const std::vector<int64_t> steps = values(4, "steps");
    if (std::any_of(steps.begin(), steps.end(), [](int64_t s) { return s != 1; }))
      ctx.fail(str("opset ", ctx.opset(), " has no steps (from opset 10), got ", shape_str(steps)));
  }
  node.attrs["starts"] = Attribute::of_ints(values(1, "starts"));
  node.attrs["ends"] = Attribute::of_ints(values(2, "ends"));
  if (given(3)) node.attrs["axes"] = Attribute::of_ints(values(3, "axes"));
  node.inputs.resize(1);
}

}  // namespace engine
