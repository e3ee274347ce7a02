#include "graph/node_op.h"

#include <cstring>

#include "ops/activation/activation.h"

namespace engine {

void NodeOp::backward(const std::vector<Tensor>&, const std::vector<Tensor>&,
                      const std::vector<Tensor>&, std::vector<Tensor>&, const RunContext&) {
  fail(ErrorKind::NotImplemented, node_.label(), ": no gradient is defined for this op");
}

void NodeOp::expect_inputs(const std::vector<ValueDesc>& inputs, size_t min, size_t max) const {
  if (inputs.size() < min || inputs.size() > max) {
    if (min == max) fail_node("expects ", min, " inputs, got ", inputs.size());
    fail_node("expects ", min, " to ", max, " inputs, got ", inputs.size());
  }
}

std::vector<int64_t> NodeOp::constant_int64s(const std::vector<ValueDesc>& inputs, size_t index,
                                             const char* what) const {
  const ValueDesc& d = inputs[index];
  if (!d.constant) fail_node("the ", what, " input must be a constant (values computed at run time are not supported)");
  if (d.dtype != DType::Int64 || d.shape.size() != 1)
    fail_node("the ", what, " input must be a 1-D int64 tensor, got ", d.constant->describe());
  const int64_t* v = d.constant->data<int64_t>();
  return std::vector<int64_t>(v, v + d.shape[0]);
}

Tensor shape_only(const ValueDesc& desc) {
  static const std::shared_ptr<Storage> nothing = Storage::wrap(nullptr, 0, nullptr);
  return Tensor::from_storage(nothing, 0, desc.shape, contiguous_strides(desc.shape), desc.dtype);
}

void zero_fill(Tensor& t) {
  if (t.defined()) std::memset(t.raw_data(), 0, t.nbytes());
}

bool has_fused_relu(const Node& node) {
  const std::string act = node.attr_string(kFusedActivation, "");
  ENGINE_CHECK(act.empty() || act == "Relu", node.label(), ": cannot fuse activation ", act);
  return act == "Relu";
}

void fused_relu_backward(const Tensor& dy, const Tensor& y, Tensor& dpre) {
  // relu'(x) = [x > 0] = [y > 0] since y = max(x, 0): y stands in for x.
  activation_backward(Activation::Relu, dy, y, y, ActivationAttrs{}, dpre);
}

namespace {
struct OpEntry {
  const char* domain;
  const char* op_type;
  NodeOpFactory factory;
};
const OpEntry kOps[] = {
#define ENGINE_OP(domain, op_type, factory) {domain, op_type, &factory},
#include "ops/op_list.inc"
#undef ENGINE_OP
};
}  // namespace

NodeOpFactory find_node_op(const std::string& domain, const std::string& op_type) {
  const std::string d = domain == "ai.onnx" ? "" : domain;
  for (const OpEntry& e : kOps)
    if (d == e.domain && op_type == e.op_type) return e.factory;
  return nullptr;
}

std::vector<std::string> supported_ops() {
  std::vector<std::string> names;
  for (const OpEntry& e : kOps)
    names.push_back(std::strlen(e.domain) ? std::string(e.domain) + "." + e.op_type : e.op_type);
  return names;
}

}  // namespace engine
