// The elementwise unary ops in a graph: one input, one output, ONNX attributes alpha, beta
// and gamma where the op has them.
#include <map>
#include <set>

#include "ops/activation/activation.h"
#include "ops/onnx_translate.h"
#include "ops/op.h"

namespace engine {

namespace {
class ActivationNode : public NodeOp {
 public:
  explicit ActivationNode(const Node& node)
      : NodeOp(node), op_(activation_from_name(node.op_type)) {
    if (node.has_attr("alpha")) attrs_.alpha = node.attr_float("alpha");
    if (node.has_attr("beta")) attrs_.beta = node.attr_float("beta");
    if (node.has_attr("gamma")) attrs_.gamma = node.attr_float("gamma");
    if (node.has_attr("lambd")) attrs_.alpha = node.attr_float("lambd");  // Shrink's
    if (node.has_attr("bias")) attrs_.beta = node.attr_float("bias");
    if (node.has_attr("approximate")) {  // Gelu's
      const std::string a = node.attr_string("approximate");
      if (a == "tanh")
        op_ = Activation::GeluTanh;
      else if (a != "none")
        fail_node("approximate must be 'none' or 'tanh', got '", a, "'");
    }
  }

  std::vector<ValueDesc> plan(const std::vector<ValueDesc>& in, const PlanOptions&) override {
    expect_inputs(in, 1, 1);
    expect_float(in, {"x"});
    return {{DType::Float32, in[0].shape}};
  }

  void forward(const OpIO& io, const RunContext&) const override {
    activation_forward(op_, io.in(0), attrs_, io.out(0));
  }

  bool backward_reads_forward() const override { return activation_gradient_reads_output(op_); }

  void backward(const OpIO& io, const RunContext&) const override {
    activation_backward(op_, io.dout(0), io.in(0), io.out(0), attrs_, io.din(0));
  }

 private:
  Activation op_;
  ActivationAttrs attrs_;
};

std::unique_ptr<NodeOp> make_activation_node(const Node& node) {
  return std::make_unique<ActivationNode>(node);
}

// Opsets before 24 have no Swish: x * Sigmoid(alpha * x).
void swish_to_opset(Node& node, OnnxExportContext& ctx) {
  if (ctx.opset() >= 24) return;
  const float alpha = node.has_attr("alpha") ? node.attr_float("alpha") : 1.0f;
  const std::string x = node.inputs.at(0);
  auto part = [&](const char* op, std::vector<std::string> inputs, const char* what) {
    Node n;
    n.op_type = op;
    n.name = node.name.empty() ? std::string() : node.name + "/" + what;
    n.inputs = std::move(inputs);
    n.outputs = {node.outputs.at(0) + "/" + what};
    return n;
  };
  std::string gate_input = x;
  if (alpha != 1.0f) {
    Node value = part("Constant", {}, "alpha");
    value.attrs["value"] = Attribute::of_tensor(Tensor::full({}, alpha));
    Node scaled = part("Mul", {x, value.outputs[0]}, "scaled");
    gate_input = scaled.outputs[0];
    ctx.emit_before(std::move(value));
    ctx.emit_before(std::move(scaled));
  }
  Node gate = part("Sigmoid", {gate_input}, "gate");
  node.op_type = "Mul";
  node.inputs = {x, gate.outputs[0]};
  node.attrs.clear();
  ctx.emit_before(std::move(gate));
}
}  // namespace

void activation_op(OpDef& def) {
  const std::string& type = def.op_type;
  if (type == "LeakyRelu") def.schema.attr("alpha", Attribute::of_float(0.01f));
  if (type == "Elu") def.schema.attr("alpha", Attribute::of_float(1.0f));
  if (type == "Selu")
    def.schema.attr("alpha", Attribute::of_float(1.67326319217681884765625f))
        .attr("gamma", Attribute::of_float(1.05070102214813232421875f));
  if (type == "Gelu") def.schema.attr("approximate", Attribute::of_string("none"));
  if (type == "HardSigmoid")
    def.schema.attr("alpha", Attribute::of_float(0.2f)).attr("beta", Attribute::of_float(0.5f));
  if (type == "ThresholdedRelu" || type == "Celu" || type == "Swish")
    def.schema.attr("alpha", Attribute::of_float(1.0f));
  if (type == "Shrink")
    def.schema.attr("lambd", Attribute::of_float(0.5f)).attr("bias", Attribute::of_float(0.0f));
  def.make = make_activation_node;
  // Opsets < 6 carried consumed_inputs, an in-place hint with no meaning here.
  static const std::set<std::string> consumed_inputs = {
      "Relu", "LeakyRelu", "Elu",        "Selu",  "Sigmoid", "Tanh",        "Exp", "Log",
      "Sqrt", "Abs",       "Reciprocal", "Floor", "Ceil",    "HardSigmoid", "Neg"};
  if (consumed_inputs.count(type))
    def.onnx.legacy.push_back({"consumed_inputs", Attribute::Kind::Ints, 6});
  // The ops ONNX added after opset 1.
  static const std::map<std::string, int64_t> since = {
      {"Sin", 7},    {"Cos", 7},   {"Tan", 7},        {"Asin", 7},   {"Acos", 7},
      {"Atan", 7},   {"Erf", 9},   {"Sign", 9},       {"Shrink", 9}, {"Sinh", 9},
      {"Cosh", 9},   {"Asinh", 9}, {"Acosh", 9},      {"Atanh", 9},  {"ThresholdedRelu", 10},
      {"Round", 11}, {"Celu", 12}, {"HardSwish", 14}, {"Mish", 18},  {"Gelu", 20},
      {"Swish", 24}};
  if (const auto it = since.find(type); it != since.end()) def.onnx.since_opset = it->second;
  if (type == "Swish") def.onnx.to_opset = swish_to_opset;
}

}  // namespace engine
