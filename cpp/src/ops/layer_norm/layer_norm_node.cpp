// LayerNormalization(X, Scale, B?) -> Y in a graph (opset 17).
//   state: 0 saved mean [R], 1 saved inv_std [R] (what backward reads).
#include "ops/layer_norm/layer_norm.h"
#include "ops/op.h"

namespace engine {

namespace {
class LayerNormNode : public NodeOp {
 public:
  explicit LayerNormNode(const Node& node) : NodeOp(node) {
    attrs_.axis = node.attr_int("axis");
    attrs_.epsilon = node.attr_float("epsilon");
    // stash_type names the type of the statistics; the kernels keep them in float32 (and
    // accumulate them in double), which is what 1 (float) asks for.
    if (node.attr_int("stash_type") != 1)
      fail_node("stash_type ", node.attr_int("stash_type"),
                " is not supported (the statistics are float32: stash_type 1)");
  }

  std::vector<ValueDesc> plan(const std::vector<ValueDesc>& in, const PlanOptions&) override {
    expect_inputs(in, 2, 3);
    expect_float(in, {"x", "scale", "bias"});
    const LayerNormGeometry g = layer_norm_geometry(in[0].shape, attrs_, node_.label().c_str());
    add_state({g.rows});  // saved mean
    add_state({g.rows});  // saved inv_std
    // The optional Mean and InvStdDev outputs: the statistics, with x's shape up to axis and 1s
    // after it.
    Shape stats = in[0].shape;
    const int axis = static_cast<int>(attrs_.axis < 0 ? attrs_.axis + int64_t(stats.size())
                                                      : attrs_.axis);
    for (size_t d = static_cast<size_t>(axis); d < stats.size(); ++d) stats[d] = 1;
    std::vector<ValueDesc> out = {{DType::Float32, in[0].shape}};
    for (size_t k = 1; k < node_.outputs.size(); ++k) out.push_back({DType::Float32, stats});
    return out;
  }

  void forward(const OpIO& io, const RunContext&) const override {
    layer_norm_forward(io.in(0), io.in(1), io.in(2), attrs_, io.out(0), io.state(0),
                       io.state(1));
    for (size_t k = 1; k < io.num_outputs(); ++k)
      io.out(k).copy_from(io.state(k - 1).reshape(io.out(k).shape()));
  }

  void backward(const OpIO& io, const RunContext&) const override {
    if (io.dout(1).defined() || io.dout(2).defined())
      fail_node("no gradient flows back through the Mean and InvStdDev outputs");
    Tensor none;
    Tensor* dx = io.wanted(0);
    Tensor* dscale = io.wanted(1);
    Tensor* dbias = io.in(2).defined() ? io.wanted(2) : nullptr;
    layer_norm_backward(io.dout(0), io.in(0), io.in(1), io.state(0), io.state(1), attrs_,
                        dx ? *dx : none, dscale ? *dscale : none, dbias ? *dbias : none);
  }

 private:
  LayerNormAttrs attrs_;
};

std::unique_ptr<NodeOp> make_layer_norm_node(const Node& node) {
  return std::make_unique<LayerNormNode>(node);
}
}  // namespace

void layer_norm_op(OpDef& def) {
  def.schema.inputs(2, 3)
      .outputs(1, 3)
      .attr("axis", Attribute::of_int(-1))
      .attr("epsilon", Attribute::of_float(1e-5f))
      .attr("stash_type", Attribute::of_int(1));
  def.make = make_layer_norm_node;
  def.onnx.since_opset = 17;
}

}  // namespace engine
