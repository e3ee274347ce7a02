// Graph adapters for MaxPool, AveragePool and GlobalAveragePool.
#include "graph/node_op.h"
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
    if (kind_ == PoolKind::Max && node.attr_int("storage_order", 0) != 0)
      fail_node("storage_order=1 (column-major indices) is not supported");
  }

  std::vector<ValueDesc> plan(const std::vector<ValueDesc>& in, Mode) override {
    expect_inputs(in, 1, 1);
    return {{DType::Float32, pool2d_output_shape(kind_, shape_only(in[0]), attrs_), nullptr}};
  }

  void forward(const std::vector<Tensor>& in, std::vector<Tensor>& out, const RunContext&) override {
    pool2d_forward(kind_, in[0], attrs_, out[0]);
  }

  void backward(const std::vector<Tensor>& in, const std::vector<Tensor>&,
                const std::vector<Tensor>& dout, std::vector<Tensor>& din,
                const RunContext&) override {
    pool2d_backward(kind_, dout[0], in[0], attrs_, din[0]);
  }

 private:
  PoolKind kind_;
  PoolAttrs attrs_;
};

class GlobalAveragePoolNode : public NodeOp {
 public:
  using NodeOp::NodeOp;

  std::vector<ValueDesc> plan(const std::vector<ValueDesc>& in, Mode) override {
    expect_inputs(in, 1, 1);
    if (in[0].dtype != DType::Float32 || in[0].shape.size() != 4)
      fail_node("expects a float32 NCHW input, got ", dtype_name(in[0].dtype), shape_str(in[0].shape));
    return {{DType::Float32, {in[0].shape[0], in[0].shape[1], 1, 1}, nullptr}};
  }

  void forward(const std::vector<Tensor>& in, std::vector<Tensor>& out, const RunContext&) override {
    global_avg_pool2d_forward(in[0], out[0]);
  }

  void backward(const std::vector<Tensor>& in, const std::vector<Tensor>&,
                const std::vector<Tensor>& dout, std::vector<Tensor>& din,
                const RunContext&) override {
    global_avg_pool2d_backward(dout[0], in[0], din[0]);
  }
};
}  // namespace

std::unique_ptr<NodeOp> make_pool_node(const Node& node) { return std::make_unique<PoolNode>(node); }

std::unique_ptr<NodeOp> make_global_average_pool_node(const Node& node) {
  return std::make_unique<GlobalAveragePoolNode>(node);
}

}  // namespace engine
