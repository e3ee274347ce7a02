// Mod(a, b) in a graph: float32 or int64 operands of one type, broadcast; fmod 0 or 1.
#include "ops/binary/binary.h"
#include "ops/mod/mod.h"
#include "ops/op.h"

namespace engine {

namespace {
class ModNode : public NodeOp {
 public:
  explicit ModNode(const Node& node) : NodeOp(node) {
    const int64_t fmod = node.attr_int("fmod");
    if (fmod != 0 && fmod != 1) fail_node("fmod must be 0 or 1, got ", fmod);
    c_fmod_ = fmod == 1;
  }

  std::vector<ValueDesc> plan(const std::vector<ValueDesc>& in, const PlanOptions&) override {
    expect_inputs(in, 2, 2);
    for (size_t i = 0; i < 2; ++i)
      if (!in[i].present) fail_node(i ? "b" : "a", " is required");
    if (in[0].dtype != DType::Float32 && in[0].dtype != DType::Int64)
      fail(ErrorKind::Type, node_.label(), ": a must be float32 or int64, got ",
           dtype_name(in[0].dtype));
    if (in[1].dtype != in[0].dtype)
      fail(ErrorKind::Type, node_.label(), ": b is ", dtype_name(in[1].dtype), " but a is ",
           dtype_name(in[0].dtype));
    float_ = in[0].dtype == DType::Float32;
    return {{in[0].dtype, broadcast_shapes(node_.label().c_str(), in[0].shape, in[1].shape)}};
  }

  void forward(const OpIO& io, const RunContext&) const override {
    mod_forward(io.in(0), io.in(1), c_fmod_, io.out(0));
  }

  bool differentiable_input(size_t) const override { return float_; }
  bool backward_reads_forward() const override { return false; }

  void backward(const OpIO& io, const RunContext&) const override {
    mod_backward(io.dout(0), io.in(0), io.in(1), c_fmod_, io.wanted(0), io.wanted(1));
  }

 private:
  bool c_fmod_ = false;
  bool float_ = true;
};

std::unique_ptr<NodeOp> make_mod_node(const Node& node) { return std::make_unique<ModNode>(node); }
}  // namespace

void mod_op(OpDef& def) {
  def.schema.inputs(2, 2).attr("fmod", Attribute::of_int(0));
  def.make = make_mod_node;
  def.onnx.since_opset = 10;
}

}  // namespace engine
