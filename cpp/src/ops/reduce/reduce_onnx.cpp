// The reductions in ONNX files. Before opset 18 (13 for ReduceSum) the axes were an
// attribute and noop_with_empty_axes did not exist: reading such a file turns the attribute
// into the constant input the engine reads; writing one turns the input back into the
// attribute.
#include <algorithm>

#include "ops/onnx_translate.h"
#include "ops/reduce/reduce.h"

namespace engine {

void translate_reduce_onnx(Node& node, OnnxImportContext& ctx) {
  if (!node.has_attr("axes")) return;  // the legacy check admits it only in older opsets
  const std::vector<int64_t> axes = node.attr_ints("axes");
  Tensor t = Tensor::empty({static_cast<int64_t>(axes.size())}, DType::Int64);
  std::copy(axes.begin(), axes.end(), t.data<int64_t>());
  node.inputs.resize(1);
  node.inputs.push_back(ctx.add_constant(t, node.outputs.at(0) + "/axes"));
}

void reduce_to_opset(Node& node, OnnxExportContext& ctx) {
  const ReduceOp op = reduce_op_from_name(node.op_type);
  if (ctx.opset() >= reduce_axes_input_since(op)) return;
  const bool has_axes = node.inputs.size() > 1 && !node.inputs[1].empty();
  if (node.attr_int("noop_with_empty_axes", 0) != 0 && !has_axes)
    ctx.fail(str("opset ", ctx.opset(), " has no noop_with_empty_axes (from opset ",
                 reduce_axes_input_since(op), "): without axes it reduces every axis"));
  node.attrs.erase("noop_with_empty_axes");
  if (!has_axes) return;
  const Tensor* axes = ctx.constant(node.inputs[1]);
  if (!axes)
    ctx.fail(str("opset ", ctx.opset(), " takes the axes as an attribute, but input '",
                 node.inputs[1], "' is not a constant of the graph"));
  if (axes->dtype() != DType::Int64 || axes->ndim() != 1)
    ctx.fail(str("the axes must be a 1-D int64 tensor, got ", axes->describe()));
  const Tensor host = axes->to(Device::cpu());
  const int64_t* v = host.data<int64_t>();
  node.attrs["axes"] = Attribute::of_ints(std::vector<int64_t>(v, v + host.numel()));
  node.inputs.resize(1);
}

}  // namespace engine
