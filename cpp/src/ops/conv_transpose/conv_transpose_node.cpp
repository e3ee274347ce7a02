// ConvTranspose in a graph: inputs X, W and an optional B.
#include "ops/conv_transpose/conv_transpose.h"
#include "ops/op.h"
#include "ops/window2d_node.h"

namespace engine {

namespace {

class ConvTransposeNode : public NodeOp {
 public:
  explicit ConvTransposeNode(const Node& node) : NodeOp(node) {
    attrs_.window = window2d_attrs_from_node(node);
    attrs_.group = node.attr_int("group");
    attrs_.output_padding = node.attr_ints("output_padding");
    attrs_.output_shape = node.attr_ints("output_shape");
  }

  std::vector<ValueDesc> plan(const std::vector<ValueDesc>& in, const PlanOptions&) override {
    expect_inputs(in, 2, 3);
    const Tensor b = has_input(in, 2) ? shape_only(in[2]) : Tensor();
    const ConvTransposeShape t = conv_transpose_shape(shape_only(in[0]), shape_only(in[1]), b, attrs_);
    return {{DType::Float32, t.y_shape()}};
  }

  void forward(const OpIO& io, const RunContext&) const override {
    conv_transpose_forward(io.in(0), io.in(1), io.in(2), attrs_, io.out(0));
  }

  bool backward_reads_forward() const override { return false; }

  void backward(const OpIO& io, const RunContext&) const override {
    Tensor* dw = io.wanted(1);
    Tensor* db = io.wanted(2);
    // The kernels accumulate weight and bias gradients; the caller wants them written.
    if (dw) zero_fill(*dw);
    if (db) zero_fill(*db);
    conv_transpose_backward(io.dout(0), io.in(0), io.in(1), attrs_, io.wanted(0), dw, db);
  }

 private:
  ConvTransposeAttrs attrs_;
};

std::unique_ptr<NodeOp> make_conv_transpose_node(const Node& node) {
  return std::make_unique<ConvTransposeNode>(node);
}

}  // namespace

void conv_transpose_op(OpDef& def) {
  def.schema.inputs(2, 3);
  add_window2d_attrs(def.schema, /*pooling=*/false);
  def.schema.attr("group", Attribute::of_int(1))
      .optional("output_padding", Attribute::Kind::Ints)
      .optional("output_shape", Attribute::Kind::Ints);
  def.make = make_conv_transpose_node;
}

}  // namespace engine
