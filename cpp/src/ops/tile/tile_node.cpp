// Tile(input, repeats) in a graph: the repeats are a constant, read at plan time.
#include "ops/op.h"
#include "ops/tile/tile.h"

namespace engine {

namespace {
class TileNode : public NodeOp {
 public:
  using NodeOp::NodeOp;

  std::vector<ValueDesc> plan(const std::vector<ValueDesc>& in, const PlanOptions&) override {
    expect_inputs(in, 2, 2);
    repeats_ = constant_int64s(in, 1, "repeats");
    return {{in[0].dtype, tile_output_shape(in[0].shape, repeats_)}};
  }

  void forward(const OpIO& io, const RunContext&) const override {
    tile_forward(io.in(0), repeats_, io.out(0));
  }

  void backward(const OpIO& io, const RunContext&) const override {
    tile_backward(io.dout(0), repeats_, io.din(0));
  }

  bool differentiable_input(size_t index) const override { return index == 0; }
  bool backward_reads_forward() const override { return false; }

 private:
  std::vector<int64_t> repeats_;
};

std::unique_ptr<NodeOp> make_tile_node(const Node& node) {
  return std::make_unique<TileNode>(node);
}
}  // namespace

void tile_op(OpDef& def) {
  def.schema.inputs(2, 2);
  def.make = make_tile_node;
  def.onnx.since_opset = 6;
}

}  // namespace engine
