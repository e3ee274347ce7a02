// The scatters written to ONNX files: Scatter (opsets 9-10) is ScatterElements from opset 11,
// and the reductions other than none exist from opset 16 (add, mul) or 18 (max, min).
#include "ops/onnx_translate.h"
#include "ops/scatter/scatter.h"

namespace engine {

void scatter_to_opset(Node& node, OnnxExportContext& ctx) {
  if (node.op_type == "Scatter" && ctx.opset() >= 11) node.op_type = "ScatterElements";
  if (node.op_type == "TensorScatter" && ctx.opset() < 24)
    ctx.fail("TensorScatter exists from opset 24");
  if (!node.has_attr("reduction")) return;
  const std::string reduction = node.attr_string("reduction");
  const int64_t since = reduction == "none"                        ? 11
                        : reduction == "add" || reduction == "mul" ? 16
                                                                   : 18;
  if (ctx.opset() < since)
    ctx.fail(str(node.op_type, " with reduction ", reduction, " exists from opset ", since));
  if (reduction == "none" && ctx.opset() < 16) node.attrs.erase("reduction");
}

}  // namespace engine
