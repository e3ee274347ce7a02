// ScatterElements (Scatter before opset 11), ScatterND, GatherND and TensorScatter in a graph:
// the indices may be computed at run time, so they are checked on every run.
#include "ops/op.h"
#include "ops/scatter/scatter.h"

namespace engine {

namespace {
// Errors of the op-level functions ("ScatterND: ...") name the node ("ScatterND 'upd': ...").
template <class Run>
void named(const Node& node, Run&& run) {
  try {
    run();
  } catch (const Error& e) {
    const std::string msg = e.what(), prefix = node.op_type;
    if (node.name.empty() || msg.compare(0, prefix.size(), prefix) != 0) throw;
    throw Error(e.kind(), node.label() + msg.substr(prefix.size()));
  }
}

class IndexNode : public NodeOp {
 public:
  explicit IndexNode(const Node& node) : NodeOp(node) {
    const std::string& op = node.op_type;
    attrs_.nd = op == "ScatterND" || op == "GatherND";
    if (op == "ScatterElements" || op == "Scatter") attrs_.axis = node.attr_int("axis");
    if (op == "GatherND") attrs_.batch_dims = node.attr_int("batch_dims");
    if (op == "ScatterElements" || op == "ScatterND")
      attrs_.reduction = parse_scatter_reduction(node.attr_string("reduction"), op.c_str());
  }

  std::vector<ValueDesc> plan(const std::vector<ValueDesc>& in, const PlanOptions&) override {
    const size_t n = gather() ? 2 : 3;
    expect_inputs(in, n, n);
    if (in[0].dtype != DType::Float32 && in[0].dtype != DType::Int64)
      fail(ErrorKind::Type, node_.label(), ": data must be float32 or int64, got ",
           dtype_name(in[0].dtype));
    if (in[1].dtype != DType::Int64)
      fail(ErrorKind::Type, node_.label(), ": indices must be int64, got ",
           dtype_name(in[1].dtype));
    Shape updates;
    scatter_layout(node_.op_type.c_str(), attrs_, in[0].shape, in[1].shape, &updates);
    if (gather()) return {{in[0].dtype, updates}};
    if (in[2].dtype != in[0].dtype)
      fail(ErrorKind::Type, node_.label(), ": updates are ", dtype_name(in[2].dtype),
           " but data is ", dtype_name(in[0].dtype));
    if (in[2].shape != updates)
      fail_node("updates ", shape_str(in[2].shape), " must have the shape ", shape_str(updates));
    return {{in[0].dtype, in[0].shape}};
  }

  void forward(const OpIO& io, const RunContext&) const override {
    named(node_, [&] {
      if (gather())
        gather_nd_forward(io.in(0), io.in(1), attrs_.batch_dims, io.out(0));
      else
        scatter_forward(node_.op_type.c_str(), attrs_, io.in(0), io.in(1), io.in(2), io.out(0));
    });
  }

  bool differentiable_input(size_t index) const override {
    if (gather()) return index == 0;
    return index != 1 && (attrs_.reduction == ScatterReduction::None ||
                          attrs_.reduction == ScatterReduction::Add);
  }
  bool backward_reads_forward() const override { return false; }

  void backward(const OpIO& io, const RunContext&) const override {
    named(node_, [&] {
      if (gather()) {
        if (Tensor* ddata = io.wanted(0))
          gather_nd_backward(io.dout(0), io.in(1), attrs_.batch_dims, *ddata);
      } else {
        const std::string op = node_.op_type + "_backward";
        scatter_backward(op.c_str(), attrs_, io.dout(0), io.in(1), io.wanted(0), io.wanted(2));
      }
    });
  }

 private:
  bool gather() const { return node_.op_type == "GatherND"; }
  ScatterAttrs attrs_;
};

// TensorScatter(past_cache, update, write_indices?): the write indices may be computed at run
// time (the decode step's lengths), so they are checked on every run.
class TensorScatterNode : public NodeOp {
 public:
  explicit TensorScatterNode(const Node& node)
      : NodeOp(node), axis_(node.attr_int("axis")), circular_(mode(node) == "circular") {}

  std::vector<ValueDesc> plan(const std::vector<ValueDesc>& in, const PlanOptions&) override {
    expect_inputs(in, 2, 3);
    if (in[0].dtype != DType::Float32 && in[0].dtype != DType::Int64)
      fail(ErrorKind::Type, node_.label(), ": past_cache must be float32 or int64, got ",
           dtype_name(in[0].dtype));
    if (in[1].dtype != in[0].dtype)
      fail(ErrorKind::Type, node_.label(), ": update is ", dtype_name(in[1].dtype),
           " but past_cache is ", dtype_name(in[0].dtype));
    tensor_scatter_layout(in[0].shape, in[1].shape, axis_, circular_);
    if (has_input(in, 2)) {
      if (in[2].dtype != DType::Int64)
        fail(ErrorKind::Type, node_.label(), ": write_indices must be int64, got ",
             dtype_name(in[2].dtype));
      if (in[2].shape != Shape{in[0].shape[0]})
        fail_node("write_indices ", shape_str(in[2].shape), " must hold one index per batch row (",
                  in[0].shape[0], ")");
    }
    update_shape_ = in[1].shape;
    return {{in[0].dtype, in[0].shape}};
  }

  void forward(const OpIO& io, const RunContext&) const override {
    named(node_, [&] {
      tensor_scatter_forward(io.in(0), io.in(1), io.in(2), axis_, circular_, io.out(0));
    });
  }

  bool differentiable_input(size_t index) const override { return index < 2; }
  bool backward_reads_forward() const override { return false; }

  void backward(const OpIO& io, const RunContext&) const override {
    named(node_, [&] {
      tensor_scatter_backward(io.dout(0), io.in(2), update_shape_, axis_, circular_, io.wanted(0),
                              io.wanted(1));
    });
  }

 private:
  static std::string mode(const Node& node) {
    const std::string m = node.attr_string("mode");
    if (m != "linear" && m != "circular")
      fail(ErrorKind::Value, "TensorScatter: mode '", m, "' is not linear or circular");
    return m;
  }

  int64_t axis_;
  bool circular_;
  Shape update_shape_;
};

std::unique_ptr<NodeOp> make_index_node(const Node& node) {
  if (node.op_type == "TensorScatter") return std::make_unique<TensorScatterNode>(node);
  return std::make_unique<IndexNode>(node);
}
}  // namespace

void scatter_op(OpDef& def) {
  def.make = make_index_node;
  def.onnx.to_opset = scatter_to_opset;
  if (def.op_type == "TensorScatter") {
    def.schema.inputs(2, 3)
        .attr("axis", Attribute::of_int(-2))
        .attr("mode", Attribute::of_string("linear"));
    def.onnx.since_opset = 24;
  } else if (def.op_type == "GatherND") {
    def.schema.inputs(2, 2).attr("batch_dims", Attribute::of_int(0));
    def.onnx.since_opset = 11;
  } else if (def.op_type == "Scatter") {  // ScatterElements without reduction, opsets 9-10
    def.schema.inputs(3, 3).attr("axis", Attribute::of_int(0));
    def.onnx.since_opset = 9;
  } else {
    def.schema.inputs(3, 3).attr("reduction", Attribute::of_string("none"));
    if (def.op_type == "ScatterElements") def.schema.attr("axis", Attribute::of_int(0));
    def.onnx.since_opset = 11;
  }
}

}  // namespace engine
