// The shape-only ops in a graph: Reshape (target shape from a constant input), Flatten and
// Identity. Forward copies into the planned buffer; backward reshapes back.
#include "ops/op.h"
#include "ops/reshape/reshape.h"

namespace engine {

namespace {
class ReshapeNode : public NodeOp {
 public:
  explicit ReshapeNode(const Node& node) : NodeOp(node), allowzero_(node.attr_int("allowzero") != 0) {}

  std::vector<ValueDesc> plan(const std::vector<ValueDesc>& in, const PlanOptions&) override {
    expect_inputs(in, 2, 2);
    spec_ = constant_int64s(in, 1, "shape");
    return {{in[0].dtype, reshape_output_shape(in[0].shape, spec_, allowzero_)}};
  }

  void forward(const OpIO& io, const RunContext&) const override {
    reshape_forward(io.in(0), spec_, allowzero_, io.out(0));
  }

  void backward(const OpIO& io, const RunContext&) const override {
    reshape_backward(io.dout(0), io.din(0));
  }

  bool differentiable_input(size_t index) const override { return index == 0; }

  bool backward_reads_forward() const override { return false; }

 private:
  bool allowzero_;
  std::vector<int64_t> spec_;
};

class FlattenNode : public NodeOp {
 public:
  explicit FlattenNode(const Node& node) : NodeOp(node), axis_(node.attr_int("axis")) {}

  std::vector<ValueDesc> plan(const std::vector<ValueDesc>& in, const PlanOptions&) override {
    expect_inputs(in, 1, 1);
    return {{in[0].dtype, flatten_output_shape(in[0].shape, axis_)}};
  }

  void forward(const OpIO& io, const RunContext&) const override {
    flatten_forward(io.in(0), axis_, io.out(0));
  }

  void backward(const OpIO& io, const RunContext&) const override {
    reshape_backward(io.dout(0), io.din(0));
  }

  bool backward_reads_forward() const override { return false; }

 private:
  int64_t axis_;
};

class IdentityNode : public NodeOp {
 public:
  using NodeOp::NodeOp;

  std::vector<ValueDesc> plan(const std::vector<ValueDesc>& in, const PlanOptions&) override {
    expect_inputs(in, 1, 1);
    return {{in[0].dtype, in[0].shape}};
  }

  void forward(const OpIO& io, const RunContext&) const override {
    identity_forward(io.in(0), io.out(0));
  }

  void backward(const OpIO& io, const RunContext&) const override {
    io.din(0).copy_from(io.dout(0));
  }

  bool backward_reads_forward() const override { return false; }
};

std::unique_ptr<NodeOp> make_reshape_node(const Node& node) { return std::make_unique<ReshapeNode>(node); }
std::unique_ptr<NodeOp> make_flatten_node(const Node& node) { return std::make_unique<FlattenNode>(node); }
std::unique_ptr<NodeOp> make_identity_node(const Node& node) { return std::make_unique<IdentityNode>(node); }
}  // namespace

void reshape_op(OpDef& def) {
  def.schema.inputs(2, 2).attr("allowzero", Attribute::of_int(0));
  def.make = make_reshape_node;
  def.onnx.legacy = {{"shape", Attribute::Kind::Ints, 5},
                     {"consumed_inputs", Attribute::Kind::Ints, 5}};
  def.onnx.translate = translate_reshape_onnx;
}

void flatten_op(OpDef& def) {
  def.schema.attr("axis", Attribute::of_int(1));
  def.make = make_flatten_node;
}

void identity_op(OpDef& def) { def.make = make_identity_node; }

}  // namespace engine
