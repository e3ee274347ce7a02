// Reshape, Squeeze and Unsqueeze from ONNX files: attributes of older opsets become the
// constant inputs the engine reads, and a Reshape target that mentions the batch size
// (folded from a Shape of the input) keeps it symbolic.
#include <algorithm>

#include "ops/onnx_translate.h"
#include "ops/reshape/reshape.h"

namespace engine {

void translate_reshape_onnx(Node& node, OnnxImportContext& ctx) {
  if (ctx.opset() < 5) {
    node.inputs.resize(1);
    node.inputs.push_back(
        ctx.add_int64s(node.attr_ints("shape"), node.outputs.at(0) + "/shape"));
    return;
  }
  if (node.inputs.size() < 2) return;  // the schema check reports the missing input
  const Tensor* target = ctx.constant(node.inputs[1]);
  if (!target) ctx.fail("the target shape must be known at import (it is computed at run time)");
  if (target->dtype() != DType::Int64 || target->ndim() != 1)
    ctx.fail(str("the target shape must be a 1-D int64 tensor, got ", target->describe()));
  std::vector<int64_t> spec(target->data<int64_t>(), target->data<int64_t>() + target->numel());
  if (std::none_of(spec.begin(), spec.end(), is_symbolic)) return;
  const bool allowzero = node.attr_int("allowzero", 0) != 0;
  const auto unknown = [](int64_t v) { return v == -1 || is_symbolic(v); };
  for (size_t k = 0; k < spec.size(); ++k) {
    if (!is_symbolic(spec[k])) continue;
    // The one dim the others determine is -1, whether the batch or a value computed from
    // it (the batch times the heads of an attention). Else the batch in place is 0, which
    // copies the input's dim 0: planning at two batch sizes checks that it follows the batch
    // (the input's dim 0 may be the batch times something else).
    if (std::count_if(spec.begin(), spec.end(), unknown) == 1)
      spec[k] = -1;
    else if (k == 0 && spec[k] == kSymbolicBatch && !allowzero)
      spec[k] = 0;
    else
      ctx.fail("the target shape moves the batch size, which is only known at run time");
  }
  node.inputs[1] = ctx.add_int64s(spec, node.outputs.at(0) + "/shape");
}

void translate_axes_onnx(Node& node, OnnxImportContext& ctx) {
  if (ctx.opset() >= 13 || !node.has_attr("axes")) return;
  node.inputs.resize(1);
  node.inputs.push_back(
      ctx.add_int64s(node.attr_ints("axes"), node.outputs.at(0) + "/axes"));
}

}  // namespace engine
