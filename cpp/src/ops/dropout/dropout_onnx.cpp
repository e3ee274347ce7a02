// Dropout from ONNX files. Opsets >= 12 take the ratio and training_mode as inputs: a ratio
// known at import becomes the attribute; a training_mode known to be false is dropped (the
// executor's mode decides whether masks are drawn), one known to be true stays (masks at
// inference too: Monte Carlo dropout).
#include "ops/dropout/dropout.h"
#include "ops/onnx_translate.h"

namespace engine {

void translate_dropout_onnx(Node& node, OnnxImportContext& ctx) {
  bool keep_mode = false;
  if (node.inputs.size() > 2 && !node.inputs[2].empty()) {
    const Tensor* mode = ctx.constant(node.inputs[2]);
    if (!mode) ctx.fail("the training_mode input must be known at import");
    if (mode->numel() != 1) ctx.fail("training_mode must be a scalar");
    switch (mode->dtype()) {
      case DType::Bool: keep_mode = mode->data<bool>()[0]; break;
      case DType::Int64: keep_mode = mode->data<int64_t>()[0] != 0; break;
      default: keep_mode = mode->data<float>()[0] != 0.0f;
    }
  }
  if (node.inputs.size() > 1 && !node.inputs[1].empty()) {
    const Tensor* ratio = ctx.constant(node.inputs[1]);
    if (!ratio) ctx.fail("the ratio input must be known at import");
    if (ratio->numel() != 1 || ratio->dtype() != DType::Float32)
      ctx.fail(str("the ratio must be a float scalar, got ", ratio->describe()));
    node.attrs["ratio"] = Attribute::of_float(ratio->data<float>()[0]);
  }
  if (keep_mode) {
    node.inputs[1].clear();
    return;
  }
  node.inputs.resize(1);
}

}  // namespace engine
