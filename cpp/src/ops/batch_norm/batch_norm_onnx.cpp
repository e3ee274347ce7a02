// BatchNormalization from ONNX files. The running mean and variance are weights the
// optimizer leaves alone (training updates them itself). Opsets < 9 could normalise each
// activation separately (spatial=0), which the engine does not implement; is_test and
// consumed_inputs carried no meaning the executor needs (its mode decides).
#include "ops/batch_norm/batch_norm.h"
#include "ops/onnx_translate.h"

namespace engine {

void translate_batch_norm_onnx(Node& node, OnnxImportContext& ctx) {
  if (ctx.opset() < 9 && node.attr_int("spatial", 1) != 1)
    ctx.fail("spatial=0 (per-activation statistics) is not supported");
  for (size_t i = 3; i < 5 && i < node.inputs.size(); ++i)
    if (ctx.is_weight(node.inputs[i])) ctx.freeze_weight(node.inputs[i]);
}

}  // namespace engine
