// Graph adapter for Concat along `axis` (required by ONNX).
#include "graph/node_op.h"
#include "ops/concat/concat.h"

namespace engine {

namespace {
class ConcatNode : public NodeOp {
 public:
  explicit ConcatNode(const Node& node) : NodeOp(node) {
    if (!node.has_attr("axis")) fail_node("the axis attribute is required");
    axis_ = node.attr_int("axis", 0);
  }

  std::vector<ValueDesc> plan(const std::vector<ValueDesc>& in, Mode) override {
    if (in.empty()) fail_node("needs at least one input");
    shapes_.clear();
    for (const ValueDesc& d : in) {
      if (d.dtype != in[0].dtype) fail_node("inputs mix ", dtype_name(in[0].dtype), " and ", dtype_name(d.dtype));
      shapes_.push_back(d.shape);
    }
    return {{in[0].dtype, concat_output_shape(shapes_, axis_), nullptr}};
  }

  void forward(const std::vector<Tensor>& in, std::vector<Tensor>& out, const RunContext&) override {
    concat_forward(in, axis_, out[0]);
  }

  void backward(const std::vector<Tensor>&, const std::vector<Tensor>&,
                const std::vector<Tensor>& dout, std::vector<Tensor>& din,
                const RunContext&) override {
    concat_backward(dout[0], shapes_, axis_, din);
  }

 private:
  int64_t axis_ = 0;
  std::vector<Shape> shapes_;
};
}  // namespace

std::unique_ptr<NodeOp> make_concat_node(const Node& node) { return std::make_unique<ConcatNode>(node); }

}  // namespace engine
