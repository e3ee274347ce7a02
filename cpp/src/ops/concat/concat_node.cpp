// Concat along `axis` in a graph (axis required, as in ONNX from opset 4).
#include "ops/concat/concat.h"
#include "ops/op.h"

namespace engine {

namespace {
class ConcatNode : public NodeOp {
 public:
  explicit ConcatNode(const Node& node) : NodeOp(node), axis_(node.attr_int("axis")) {}

  std::vector<ValueDesc> plan(const std::vector<ValueDesc>& in, const PlanOptions&) override {
    if (in.empty()) fail_node("needs at least one input");
    shapes_.clear();
    for (size_t i = 0; i < in.size(); ++i) {
      if (in[i].dtype != in[0].dtype)
        fail(ErrorKind::Type, node_.label(), ": input ", i, " is ", dtype_name(in[i].dtype),
             " but input 0 is ", dtype_name(in[0].dtype));
      shapes_.push_back(in[i].shape);
    }
    return {{in[0].dtype, concat_output_shape(shapes_, axis_)}};
  }

  void forward(const OpIO& io, const RunContext&) const override {
    concat_forward(io.input_list(), axis_, io.out(0));
  }

  bool backward_reads_forward() const override { return false; }

  void backward(const OpIO& io, const RunContext&) const override {
    std::vector<Tensor> dxs;
    for (size_t i = 0; i < io.num_inputs(); ++i) dxs.push_back(io.wanted(i) ? io.din(i) : Tensor());
    concat_backward(io.dout(0), shapes_, axis_, dxs);
  }

 private:
  int64_t axis_;
  std::vector<Shape> shapes_;
};

std::unique_ptr<NodeOp> make_concat_node(const Node& node) { return std::make_unique<ConcatNode>(node); }
}  // namespace

void concat_op(OpDef& def) {
  def.schema.inputs(1, -1).required("axis", Attribute::Kind::Int);
  def.make = make_concat_node;
  def.onnx.translate = translate_concat_onnx;
}

}  // namespace engine
