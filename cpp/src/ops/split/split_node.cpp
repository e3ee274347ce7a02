// Split(input[, split]) in a graph: as many outputs as the node names; the sizes are fixed
// at plan time.
#include "ops/op.h"
#include "ops/split/split.h"

namespace engine {

namespace {
class SplitNode : public NodeOp {
 public:
  explicit SplitNode(const Node& node)
      : NodeOp(node),
        axis_(node.attr_int("axis")),
        num_outputs_(node.has_attr("num_outputs") ? node.attr_int("num_outputs") : 0) {
    if (node.has_attr("num_outputs") && num_outputs_ < 1)
      fail_node("num_outputs must be >= 1, got ", num_outputs_);
  }

  std::vector<ValueDesc> plan(const std::vector<ValueDesc>& in, const PlanOptions&) override {
    expect_inputs(in, 1, 2);
    const std::vector<int64_t> split =
        has_input(in, 1) ? constant_int64s(in, 1, "split") : std::vector<int64_t>{};
    if (has_input(in, 1) && split.empty()) fail_node("the split input is empty");
    sizes_ = split_sizes(in[0].shape, axis_, split, num_outputs_, node_.outputs.size());
    std::vector<ValueDesc> out;
    for (const Shape& s : split_output_shapes(in[0].shape, axis_, sizes_))
      out.push_back({in[0].dtype, s});
    return out;
  }

  void forward(const OpIO& io, const RunContext&) const override {
    std::vector<Tensor> ys;
    for (size_t k = 0; k < io.num_outputs(); ++k) ys.push_back(io.out(k));
    split_forward(io.in(0), axis_, sizes_, ys);
  }

  void backward(const OpIO& io, const RunContext&) const override {
    std::vector<Tensor> dys;
    for (size_t k = 0; k < sizes_.size(); ++k) dys.push_back(io.dout(k));
    split_backward(dys, axis_, sizes_, io.din(0));
  }

  bool differentiable_input(size_t index) const override { return index == 0; }
  bool backward_reads_forward() const override { return false; }

 private:
  int64_t axis_, num_outputs_;
  std::vector<int64_t> sizes_;
};

std::unique_ptr<NodeOp> make_split_node(const Node& node) {
  return std::make_unique<SplitNode>(node);
}
}  // namespace

void split_op(OpDef& def) {
  def.schema.inputs(1, 2)
      .outputs(1, -1)
      .attr("axis", Attribute::of_int(0))
      .optional("num_outputs", Attribute::Kind::Int);
  def.make = make_split_node;
  def.onnx.legacy.push_back({"split", Attribute::Kind::Ints, 13});
  def.onnx.translate = translate_split_onnx;
  def.onnx.to_opset = split_to_opset;
}

}  // namespace engine
