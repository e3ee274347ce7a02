// RandomNormalLike(input) and RandomUniformLike(input) in a graph: a float32 output of the
// input's shape (any dtype; only its shape is read), attributes as ONNX names them. Without
// a `seed` the node draws from seed 0; the step counter still makes every call differ.
#include "ops/op.h"
#include "ops/random/random.h"

namespace engine {

namespace {
class RandomNode : public NodeOp {
 public:
  explicit RandomNode(const Node& node) : NodeOp(node) {
    const bool normal = node.op_type == "RandomNormalLike";
    attrs_.distribution = normal ? RandomDistribution::Normal : RandomDistribution::Uniform;
    attrs_.a = node.attr_float(normal ? "mean" : "low");
    attrs_.b = node.attr_float(normal ? "scale" : "high");
    // ONNX gives the seed as a float: its value, as an integer, seeds the stream.
    if (node.has_attr("seed"))
      seed_ = static_cast<uint64_t>(static_cast<int64_t>(node.attr_float("seed")));
  }

  std::vector<ValueDesc> plan(const std::vector<ValueDesc>& in, const PlanOptions&) override {
    expect_inputs(in, 1, 1);
    if (node_.has_attr("dtype") && node_.attr_int("dtype") != 1)
      fail_node("dtype must be 1 (float32), got ", node_.attr_int("dtype"));
    if (attrs_.distribution == RandomDistribution::Uniform && !(attrs_.a <= attrs_.b))
      fail_node("low must not exceed high, got low ", attrs_.a, " and high ", attrs_.b);
    return {{DType::Float32, in[0].shape}};
  }

  void forward(const OpIO& io, const RunContext& ctx) const override {
    random_fill(attrs_, dropout_step_seed(seed_, ctx.step), io.out(0));
  }

  void backward(const OpIO&, const RunContext&) const override {}
  bool differentiable_input(size_t) const override { return false; }
  bool backward_reads_forward() const override { return false; }

 private:
  RandomAttrs attrs_;
  uint64_t seed_ = 0;
};

std::unique_ptr<NodeOp> make_random_node(const Node& node) {
  return std::make_unique<RandomNode>(node);
}
}  // namespace

void random_op(OpDef& def) {
  if (def.op_type == "RandomNormalLike")
    def.schema.attr("mean", Attribute::of_float(0.0f)).attr("scale", Attribute::of_float(1.0f));
  else
    def.schema.attr("low", Attribute::of_float(0.0f)).attr("high", Attribute::of_float(1.0f));
  def.schema.inputs(1, 1).outputs(1, 1).optional("seed", Attribute::Kind::Float)
      .optional("dtype", Attribute::Kind::Int);
  def.make = make_random_node;
}

}  // namespace engine
