// Exporters without a Gelu op (ONNX before opset 20, PyTorch at opset 17) write the exact
// GELU as five elementwise nodes:
//
//   u = x / sqrt(2)  (or x * (1 / sqrt(2)))     e = Erf(u)     a = e + 1
//   y = (x * a) * 0.5  (or (x * 0.5) * a, or x * (a * 0.5); operands in either order)
//
// Five passes over the activations, four of them temporaries, become one Gelu node (which
// has a vectorized kernel and a backward pass). Every intermediate value must be read by
// the pattern alone and not be a graph output; the constants must be scalar float
// initializers. Like the Relu fusion, this works on the executor's copy of the nodes: an
// exported graph keeps what it was given.
#include <cmath>

#include "graph/plan.h"

namespace engine {

namespace {

struct Uses {
  std::map<std::string, int> readers;      // value -> how many node inputs and graph outputs
  std::map<std::string, size_t> producer;  // value -> node index
};

Uses uses_of(const Graph& graph, const std::vector<Node>& nodes) {
  Uses u;
  for (const Node& n : nodes)
    for (const std::string& in : n.inputs) ++u.readers[in];
  for (const ValueInfo& v : graph.outputs) ++u.readers[v.name];
  for (size_t i = 0; i < nodes.size(); ++i)
    for (const std::string& o : nodes[i].outputs) u.producer.emplace(o, i);
  return u;
}

// The value of a scalar float initializer, or NaN.
float scalar_constant(const Graph& graph, const std::string& name) {
  auto it = graph.initializers.find(name);
  if (it == graph.initializers.end()) return NAN;
  const Tensor& t = it->second;
  if (t.dtype() != DType::Float32 || t.numel() != 1 || !t.device().is_cpu()) return NAN;
  return *t.data<float>();
}

bool is_binary(const Node& n, const char* op_type) {
  return n.op_type == op_type && n.domain.empty() && n.inputs.size() == 2 && n.outputs.size() == 1;
}

// For a binary node with `value` as one operand: the other operand, or "" if neither is.
std::string other_operand(const Node& n, const std::string& value) {
  if (n.inputs[0] == value) return n.inputs[1];
  if (n.inputs[1] == value) return n.inputs[0];
  return "";
}

}  // namespace

std::vector<Node> fuse_erf_gelu(const Graph& graph, int64_t* fused) {
  std::vector<Node> nodes = graph.nodes;
  const Uses u = uses_of(graph, nodes);
  auto readers = [&](const std::string& v) {
    auto it = u.readers.find(v);
    return it == u.readers.end() ? 0 : it->second;
  };
  auto node_of = [&](const std::string& v) -> Node* {
    auto it = u.producer.find(v);
    return it == u.producer.end() ? nullptr : &nodes[it->second];
  };
  // The one node reading v, when only one node does and v is not a graph output.
  auto sole_reader = [&](const std::string& v) -> Node* {
    if (readers(v) != 1) return nullptr;
    for (Node& n : nodes)
      for (const std::string& in : n.inputs)
        if (in == v) return &n;
    return nullptr;
  };
  auto near = [](float got, double want) { return std::fabs(got - want) <= 1e-6 * want; };
  auto is_constant = [&](const std::string& v, double want) {
    return near(scalar_constant(graph, v), want);
  };

  std::vector<char> removed(nodes.size(), 0);
  auto remove = [&](const Node* n) { removed[static_cast<size_t>(n - nodes.data())] = 1; };
  for (Node& erf : nodes) {
    if (erf.op_type != "Erf" || !erf.domain.empty() || erf.inputs.size() != 1 ||
        erf.outputs.size() != 1 || removed[static_cast<size_t>(&erf - nodes.data())])
      continue;
    // u = x / sqrt(2) or x * (1 / sqrt(2)), read by the Erf alone
    Node* scale = node_of(erf.inputs[0]);
    if (!scale || readers(erf.inputs[0]) != 1) continue;
    std::string x;
    if (is_binary(*scale, "Div") && is_constant(scale->inputs[1], std::sqrt(2.0)))
      x = scale->inputs[0];
    else if (is_binary(*scale, "Mul") && is_constant(scale->inputs[1], std::sqrt(0.5)))
      x = scale->inputs[0];
    else if (is_binary(*scale, "Mul") && is_constant(scale->inputs[0], std::sqrt(0.5)))
      x = scale->inputs[1];
    else
      continue;
    // a = e + 1
    Node* add = sole_reader(erf.outputs[0]);
    if (!add || !is_binary(*add, "Add") || !is_constant(other_operand(*add, erf.outputs[0]), 1.0))
      continue;
    // y = x * a * 0.5 over two Muls, in any grouping
    Node* first = sole_reader(add->outputs[0]);
    if (!first || !is_binary(*first, "Mul")) continue;
    const std::string with_a = other_operand(*first, add->outputs[0]);
    Node* last = nullptr;                           // the Mul that writes y
    Node* halving = nullptr;                        // x * 0.5, when grouped that way
    if (with_a == x || is_constant(with_a, 0.5)) {  // (x * a) * 0.5 or (a * 0.5) * x
      last = sole_reader(first->outputs[0]);
      if (!last || !is_binary(*last, "Mul")) continue;
      const std::string rest = other_operand(*last, first->outputs[0]);
      if (!(with_a == x ? is_constant(rest, 0.5) : rest == x)) continue;
    } else {  // (x * 0.5) * a
      halving = node_of(with_a);
      if (!halving || readers(with_a) != 1 || !is_binary(*halving, "Mul")) continue;
      const std::string half = other_operand(*halving, x);
      if (half.empty() || !is_constant(half, 0.5)) continue;
      last = first;
    }
    // The Erf node becomes the Gelu; the others go.
    const std::string y = last->outputs[0];
    for (const Node* n : {scale, add, first, last, halving})
      if (n) remove(n);
    erf.op_type = "Gelu";
    erf.inputs = {x};
    erf.outputs = {y};
    erf.attrs.clear();
    erf.attrs["approximate"] = Attribute::of_string("none");
    ++*fused;
  }
  std::vector<Node> kept;
  for (size_t i = 0; i < nodes.size(); ++i)
    if (!removed[i]) kept.push_back(std::move(nodes[i]));
  return kept;
}

}  // namespace engine
