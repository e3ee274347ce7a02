// MaxPool, AveragePool and GlobalAveragePool in a graph.
#include "ops/op.h"
#include "ops/pool/pool.h"
#include "ops/window2d_node.h"

namespace engine {

namespace {
class PoolNode : public NodeOp {
 public:
  explicit PoolNode(const Node& node)
      : NodeOp(node), kind_(node.op_type == "MaxPool" ? PoolKind::Max : PoolKind::Average) {
    attrs_.window = window2d_attrs_from_node(node);
    attrs_.count_include_pad = node.attr_int("count_include_pad", 0) != 0;
    column_major_ = node.attr_int("storage_order", 0) != 0;
  }

  std::vector<ValueDesc> plan(const std::vector<ValueDesc>& in, const PlanOptions&) override {
    expect_inputs(in, 1, 1);
    const Tensor x = shape_only(in[0]);
    const Shape y = pool2d_output_shape(kind_, x, attrs_);
    // A 3-D window's pass buffers, per call (the same ones whether or not the plan trains:
    // the backward of a forward-only plan's call is given that call's state).
    const Shape pass = pool_pass_shape(x, pool2d_geometry(kind_, x, attrs_));
    deep_ = !pass.empty();
    if (deep_) {
      pass_ = add_state(pass);
      dpass_ = add_state(pass);
    }
    if (node_.outputs.size() == 2) return {{DType::Float32, y}, {DType::Int64, y}};
    return {{DType::Float32, y}};
  }

  void forward(const OpIO& io, const RunContext&) const override {
    pool2d_forward(kind_, io.in(0), attrs_, io.out(0), deep_ ? &io.state(pass_) : nullptr);
    if (node_.outputs.size() == 2) max_pool2d_indices(io.in(0), attrs_, column_major_, io.out(1));
  }

  bool backward_reads_forward() const override { return false; }

  void backward(const OpIO& io, const RunContext&) const override {
    pool2d_backward(kind_, io.dout(0), io.in(0), attrs_, io.din(0),
                    deep_ ? &io.state(pass_) : nullptr, deep_ ? &io.state(dpass_) : nullptr);
  }

 private:
  PoolKind kind_;
  PoolAttrs attrs_;
  bool column_major_ = false;  // MaxPool's storage_order=1, for the Indices output
  bool deep_ = false;          // a 3-D window: its passes meet in per-call state
  size_t pass_ = 0, dpass_ = 0;  // state: the plane pass's output and its gradient
};

class GlobalAveragePoolNode : public NodeOp {
 public:
  using NodeOp::NodeOp;

  std::vector<ValueDesc> plan(const std::vector<ValueDesc>& in, const PlanOptions&) override {
    expect_inputs(in, 1, 1);
    expect_float(in, {"x"});
    const Shape& x = in[0].shape;
    if (x.size() != 4 && x.size() != 5)
      fail_node("x must be 4-D [N, C, H, W] or 5-D [N, C, D, H, W], got ", shape_str(x));
    Shape y(x.size(), 1);
    y[0] = x[0];
    y[1] = x[1];
    return {{DType::Float32, y}};
  }

  void forward(const OpIO& io, const RunContext&) const override {
    global_avg_pool2d_forward(io.in(0), io.out(0));
  }

  void backward(const OpIO& io, const RunContext&) const override {
    global_avg_pool2d_backward(io.dout(0), io.in(0), io.din(0));
  }

  bool backward_reads_forward() const override { return false; }
};

std::unique_ptr<NodeOp> make_pool_node(const Node& node) { return std::make_unique<PoolNode>(node); }

std::unique_ptr<NodeOp> make_global_average_pool_node(const Node& node) {
  return std::make_unique<GlobalAveragePoolNode>(node);
}
}  // namespace

void pool_op(OpDef& def) {
  add_window2d_attrs(def.schema, /*pooling=*/true);
  if (def.op_type == "MaxPool")
    def.schema.outputs(1, 2).attr("storage_order", Attribute::of_int(0));
  else
    def.schema.attr("count_include_pad", Attribute::of_int(0));
  def.make = make_pool_node;
}

void global_average_pool_op(OpDef& def) { def.make = make_global_average_pool_node; }

}  // namespace engine
