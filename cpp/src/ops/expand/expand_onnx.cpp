// Expand from ONNX files. Exporters often compute the target shape from a Shape of another
// value; a target holding the batch size, only known at run time, cannot be fixed at plan
// time (a 1 in its place would keep the input's dim, which need not be the batch).
#include <algorithm>

#include "ops/expand/expand.h"
#include "ops/onnx_translate.h"

namespace engine {

void translate_expand_onnx(Node& node, OnnxImportContext& ctx) {
  if (node.inputs.size() < 2 || node.inputs[1].empty()) return;
  const Tensor* shape = ctx.constant(node.inputs[1]);
  if (!shape || shape->dtype() != DType::Int64) return;  // the plan reports it
  const int64_t* v = shape->data<int64_t>();
  if (std::any_of(v, v + shape->numel(), is_symbolic))
    ctx.fail("the target shape depends on the batch size, which is only known at run time");
}

}  // namespace engine
