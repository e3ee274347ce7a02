// Graph adapters for the shape-only ops: Reshape (target shape from a constant input),
// Flatten and Identity. Forward copies into the planned buffer; backward reshapes back.
#include "graph/node_op.h"
#include "ops/reshape/reshape.h"

namespace engine {

namespace {
class ReshapeNode : public NodeOp {
 public:
  explicit ReshapeNode(const Node& node) : NodeOp(node), allowzero_(node.attr_int("allowzero", 0) != 0) {}

  std::vector<ValueDesc> plan(const std::vector<ValueDesc>& in, Mode) override {
    expect_inputs(in, 2, 2);
    spec_ = constant_int64s(in, 1, "shape");
    return {{in[0].dtype, reshape_output_shape(in[0].shape, spec_, allowzero_), nullptr}};
  }

  void forward(const std::vector<Tensor>& in, std::vector<Tensor>& out, const RunContext&) override {
    reshape_forward(in[0], spec_, allowzero_, out[0]);
  }

  void backward(const std::vector<Tensor>&, const std::vector<Tensor>&,
                const std::vector<Tensor>& dout, std::vector<Tensor>& din,
                const RunContext&) override {
    reshape_backward(dout[0], din[0]);
  }

  bool differentiable_input(size_t index) const override { return index == 0; }

 private:
  bool allowzero_;
  std::vector<int64_t> spec_;
};

class FlattenNode : public NodeOp {
 public:
  explicit FlattenNode(const Node& node) : NodeOp(node), axis_(node.attr_int("axis", 1)) {}

  std::vector<ValueDesc> plan(const std::vector<ValueDesc>& in, Mode) override {
    expect_inputs(in, 1, 1);
    return {{in[0].dtype, flatten_output_shape(in[0].shape, axis_), nullptr}};
  }

  void forward(const std::vector<Tensor>& in, std::vector<Tensor>& out, const RunContext&) override {
    flatten_forward(in[0], axis_, out[0]);
  }

  void backward(const std::vector<Tensor>&, const std::vector<Tensor>&,
                const std::vector<Tensor>& dout, std::vector<Tensor>& din,
                const RunContext&) override {
    reshape_backward(dout[0], din[0]);
  }

 private:
  int64_t axis_;
};

class IdentityNode : public NodeOp {
 public:
  using NodeOp::NodeOp;

  std::vector<ValueDesc> plan(const std::vector<ValueDesc>& in, Mode) override {
    expect_inputs(in, 1, 1);
    return {{in[0].dtype, in[0].shape, nullptr}};
  }

  void forward(const std::vector<Tensor>& in, std::vector<Tensor>& out, const RunContext&) override {
    identity_forward(in[0], out[0]);
  }

  void backward(const std::vector<Tensor>&, const std::vector<Tensor>&,
                const std::vector<Tensor>& dout, std::vector<Tensor>& din,
                const RunContext&) override {
    din[0].copy_from(dout[0]);
  }
};
}  // namespace

std::unique_ptr<NodeOp> make_reshape_node(const Node& node) { return std::make_unique<ReshapeNode>(node); }
std::unique_ptr<NodeOp> make_flatten_node(const Node& node) { return std::make_unique<FlattenNode>(node); }
std::unique_ptr<NodeOp> make_identity_node(const Node& node) { return std::make_unique<IdentityNode>(node); }

}  // namespace engine
