// RNN, LSTM and GRU in a graph (ONNX opset 14 forms; older opsets read the same, without
// layout). Inputs X, W, R, B?, sequence_lens?, initial_h? (LSTM: initial_c?, P?); outputs Y,
// Y_h? (LSTM: Y_c?). The state is recurrent.h's RecurrentSlot buffers.
#include "ops/op.h"
#include "ops/recurrent/recurrent.h"

namespace engine {

namespace {

constexpr size_t kSequenceLens = 4;

RnnDirection direction_of(const Node& node) {
  const std::string d = node.attr_string("direction");
  if (d == "forward") return RnnDirection::Forward;
  if (d == "reverse") return RnnDirection::Reverse;
  if (d == "bidirectional") return RnnDirection::Bidirectional;
  fail(ErrorKind::Value, node.label(), ": direction must be forward, reverse or bidirectional, got '",
       d, "'");
}

class RecurrentNode : public NodeOp {
 public:
  RecurrentNode(const Node& node, CellKind cell) : NodeOp(node) {
    attrs_.cell = cell;
    attrs_.direction = direction_of(node);
    attrs_.hidden_size = node.attr_int("hidden_size", -1);
    attrs_.activations = node.attr_strings("activations");
    attrs_.clip = node.has_attr("clip") ? node.attr_float("clip") : -1.0f;
    attrs_.layout = node.attr_int("layout");
    attrs_.linear_before_reset = cell == CellKind::Gru && node.attr_int("linear_before_reset") != 0;
    attrs_.input_forget = cell == CellKind::Lstm && node.attr_int("input_forget") != 0;
    if (attrs_.clip == 0.0f || (node.has_attr("clip") && !(attrs_.clip > 0.0f)))
      fail_node("clip must be positive, got ", node.attr_float("clip"));
  }

  std::vector<ValueDesc> plan(const std::vector<ValueDesc>& in,
                              const PlanOptions& options) override {
    const bool lstm = attrs_.cell == CellKind::Lstm;
    // No backward: forward skips (and the state omits) what only backward reads.
    attrs_.saves = options.backward;
    expect_inputs(in, 3, lstm ? 8 : 6);
    for (size_t i = 0; i < in.size(); ++i) {
      if (!in[i].present || i == kSequenceLens) continue;
      if (in[i].dtype != DType::Float32)
        fail(ErrorKind::Type, node_.label(), ": input ", i, " must be float32, got ",
             dtype_name(in[i].dtype));
    }
    auto get = [&](size_t i) { return has_input(in, i) ? shape_only(in[i]) : Tensor(); };
    const RecurrentGeometry g =
        recurrent_geometry(attrs_, get(0), get(1), get(2), get(3), get(4), get(5),
                           lstm ? get(6) : Tensor(), lstm ? get(7) : Tensor());
    for (const Shape& s : recurrent_state_shapes(g)) add_state(s);
    std::vector<ValueDesc> out = {{DType::Float32, recurrent_y_shape(g)}};
    for (size_t k = 1; k < node_.outputs.size(); ++k)
      out.push_back({DType::Float32, recurrent_state_shape(g)});
    return out;
  }

  void forward(const OpIO& io, const RunContext&) const override {
    Tensor* yh = io.num_outputs() > 1 ? &io.out(1) : nullptr;
    Tensor* yc = io.num_outputs() > 2 ? &io.out(2) : nullptr;
    recurrent_forward(attrs_, inputs(io), &io.out(0), yh, yc, io.states);
  }

  bool differentiable_input(size_t index) const override { return index != kSequenceLens; }

  void backward(const OpIO& io, const RunContext&) const override {
    RecurrentInputGrads g;
    g.dx = io.wanted(0);
    g.dw = io.wanted(1);
    g.dr = io.wanted(2);
    g.db = io.wanted(3);
    g.dh0 = io.wanted(5);
    g.dc0 = io.wanted(6);
    g.dp = io.wanted(7);
    recurrent_backward(attrs_, inputs(io), io.dout(0), io.dout(1), io.dout(2), g, io.states);
  }

 private:
  RecurrentInputs inputs(const OpIO& io) const {
    RecurrentInputs in;
    in.x = io.in(0);
    in.w = io.in(1);
    in.r = io.in(2);
    in.b = io.in(3);
    in.lens = io.in(4);
    in.h0 = io.in(5);
    in.c0 = io.in(6);
    in.p = io.in(7);
    return in;
  }

  RecurrentAttrs attrs_;
};

template <CellKind cell>
std::unique_ptr<NodeOp> make_recurrent_node(const Node& node) {
  return std::make_unique<RecurrentNode>(node, cell);
}

// The attributes the three share.
void recurrent_schema(OpDef& def, int max_inputs, int max_outputs) {
  def.schema.inputs(3, max_inputs)
      .outputs(1, max_outputs)
      .optional("activations", Attribute::Kind::Strings)
      .optional("clip", Attribute::Kind::Float)
      .attr("direction", Attribute::of_string("forward"))
      .optional("hidden_size", Attribute::Kind::Int)
      .attr("layout", Attribute::of_int(0));
  // Opset 7 is the oldest form the engine reads; layout (opset 14) defaults to 0 before it.
  def.onnx.since_opset = 7;
}

}  // namespace

void rnn_op(OpDef& def) {
  recurrent_schema(def, 6, 2);
  def.make = make_recurrent_node<CellKind::Rnn>;
}

void lstm_op(OpDef& def) {
  recurrent_schema(def, 8, 3);
  def.schema.attr("input_forget", Attribute::of_int(0));
  def.make = make_recurrent_node<CellKind::Lstm>;
}

void gru_op(OpDef& def) {
  recurrent_schema(def, 6, 2);
  def.schema.attr("linear_before_reset", Attribute::of_int(0));
  def.make = make_recurrent_node<CellKind::Gru>;
}

}  // namespace engine
