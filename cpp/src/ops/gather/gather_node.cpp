// Gather(data, indices) along `axis` in a graph; the indices may be computed at run time
// (token ids), so they are checked on every run.
#include "ops/gather/gather.h"
#include "ops/op.h"

namespace engine {

namespace {
class GatherNode : public NodeOp {
 public:
  explicit GatherNode(const Node& node) : NodeOp(node), axis_(node.attr_int("axis")) {}

  std::vector<ValueDesc> plan(const std::vector<ValueDesc>& in, const PlanOptions&) override {
    expect_inputs(in, 2, 2);
    if (in[1].dtype != DType::Int64)
      fail(ErrorKind::Type, node_.label(), ": indices must be int64, got ",
           dtype_name(in[1].dtype), shape_str(in[1].shape));
    return {{in[0].dtype, gather_output_shape(in[0].shape, in[1].shape, axis_)}};
  }

  void forward(const OpIO& io, const RunContext&) const override {
    named([&] { gather_forward(io.in(0), io.in(1), axis_, io.out(0)); });
  }

  void backward(const OpIO& io, const RunContext&) const override {
    named([&] { gather_backward(io.dout(0), io.in(1), axis_, io.din(0)); });
  }

  bool differentiable_input(size_t index) const override { return index == 0; }
  bool backward_reads_forward() const override { return false; }

 private:
  // A bad index is found at run time: "Gather: ..." becomes "Gather 'embed': ...".
  template <class Run>
  void named(Run&& run) const {
    try {
      run();
    } catch (const Error& e) {
      const std::string msg = e.what(), prefix = node_.op_type + ":";
      if (node_.name.empty() || msg.compare(0, prefix.size(), prefix) != 0) throw;
      throw Error(e.kind(), node_.label() + msg.substr(node_.op_type.size()));
    }
  }

  int64_t axis_;
};

std::unique_ptr<NodeOp> make_gather_node(const Node& node) {
  return std::make_unique<GatherNode>(node);
}
}  // namespace

void gather_op(OpDef& def) {
  def.schema.inputs(2, 2).attr("axis", Attribute::of_int(0));
  def.make = make_gather_node;
}

}  // namespace engine
