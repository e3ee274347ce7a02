// engine.StoreState(x, value, target) -> x: passes x through and, once the run is done
// (commit, after inference runs too), copies `value` into `target`, an initializer of the
// same shape. This is how a stateful recurrent layer carries its final states into the
// next batch: `target` is the non-trainable variable its next run starts from. The copy
// waits for commit so that a training step that fails (a NaN loss) leaves the state as it
// was. Gradients flow to x only (the carried state is not differentiated across batches).
#include "ops/op.h"

namespace engine {

namespace {

class StoreStateNode : public NodeOp {
 public:
  using NodeOp::NodeOp;

  std::vector<ValueDesc> plan(const std::vector<ValueDesc>& in, const PlanOptions&) override {
    expect_inputs(in, 3, 3);
    if (in[1].dtype != DType::Float32 || in[2].dtype != DType::Float32)
      fail(ErrorKind::Type, node_.label(), ": value and target must be float32, got ",
           dtype_name(in[1].dtype), " and ", dtype_name(in[2].dtype));
    if (in[1].shape != in[2].shape)
      fail_node("value ", shape_str(in[1].shape), " and target ", shape_str(in[2].shape),
                " differ in shape (a stateful layer's batch size is fixed)");
    add_state(in[1].shape);
    return {{in[0].dtype, in[0].shape}};
  }

  void forward(const OpIO& io, const RunContext&) const override {
    io.out(0).copy_from(io.in(0));
    io.state(0).copy_from(io.in(1));
  }

  void commit(const OpIO& io) const override {
    Tensor target = io.in(2);
    target.copy_from(io.state(0));
  }

  bool differentiable_input(size_t index) const override { return index == 0; }
  bool backward_reads_forward() const override { return false; }

  void backward(const OpIO& io, const RunContext&) const override {
    io.din(0).copy_from(io.dout(0));
  }
};

std::unique_ptr<NodeOp> make_store_state_node(const Node& node) {
  return std::make_unique<StoreStateNode>(node);
}

}  // namespace

void store_state_op(OpDef& def) {
  def.schema.inputs(3, 3);
  def.make = make_store_state_node;
  def.commits_at_inference = true;
}

}  // namespace engine
