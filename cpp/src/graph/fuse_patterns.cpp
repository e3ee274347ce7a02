// Exporters without a Gelu, LayerNormalization or SiLU op write them as chains of elementwise
// nodes and reductions; each chain becomes the one op, with its vectorized kernel and its
// backward pass, instead of two to nine passes over the activations.
//
// Exact GELU (ONNX before opset 20; PyTorch at opset 17):
//   u = x / sqrt(2)  (or x * (1 / sqrt(2)))     e = Erf(u)     a = e + 1
//   y = (x * a) * 0.5  (or (x * 0.5) * a, or x * (a * 0.5); operands in either order)
//
// LayerNormalization (ONNX before opset 17; PyTorch before opset 17):
//   m = ReduceMean(x, trailing axes)   d = x - m     p = d ^ 2  (or d * d)
//   v = ReduceMean(p, same axes)       s = Sqrt(v + epsilon)    n = d / s
//   y = n * scale (+ bias)
//
// SiLU (PyTorch's nn.SiLU at any opset, Swish before opset 24): y = x * Sigmoid(x), which
// becomes Swish with alpha 1; and HardSwish before opset 14: y = x * HardSigmoid(x) with
// alpha 1/6 and beta 1/2.
//
// Every intermediate value must be read by the chain alone and not be a graph output; the
// constants must be initializers (scalars, or the scale and bias with the normalized
// dims). Like the Relu fusion, this works on the executor's copy of the nodes: an exported
// graph keeps what it was given.
#include <algorithm>
#include <cmath>

#include "graph/plan.h"

namespace engine {

namespace {

// The nodes being rewritten, with who produces and who reads each value.
class Chains {
 public:
  explicit Chains(const Graph& graph) : graph_(graph), nodes_(graph.nodes) {
    removed_.assign(nodes_.size(), 0);
    for (size_t i = 0; i < nodes_.size(); ++i) {
      for (const std::string& in : nodes_[i].inputs) readers_[in].push_back(i);
      for (const std::string& o : nodes_[i].outputs) producer_.emplace(o, i);
    }
    for (const ValueInfo& v : graph.outputs) readers_[v.name].push_back(kGraphOutput);
  }

  std::vector<Node>& nodes() { return nodes_; }

  int readers(const std::string& v) const {
    auto it = readers_.find(v);
    return it == readers_.end() ? 0 : static_cast<int>(it->second.size());
  }
  Node* producer(const std::string& v) {
    auto it = producer_.find(v);
    return it == producer_.end() ? nullptr : &nodes_[it->second];
  }
  // The one node that reads v, when only one does and v is not a graph output.
  Node* sole_reader(const std::string& v) {
    if (readers(v) != 1) return nullptr;
    const size_t i = readers_.at(v)[0];
    return i == kGraphOutput ? nullptr : &nodes_[i];
  }
  // The node `op_type` (ONNX domain, two inputs, one output) that alone reads v.
  Node* sole_binary_reader(const std::string& v, const char* op_type) {
    Node* n = sole_reader(v);
    return n && is_binary(*n, op_type) ? n : nullptr;
  }

  // A float initializer, or null.
  const Tensor* constant(const std::string& name) const {
    auto it = graph_.initializers.find(name);
    if (it == graph_.initializers.end()) return nullptr;
    const Tensor& t = it->second;
    return t.dtype() == DType::Float32 && t.device().is_cpu() ? &t : nullptr;
  }
  // The value of a scalar float initializer, or NaN.
  float scalar(const std::string& name) const {
    const Tensor* t = constant(name);
    return t && t->numel() == 1 ? *t->data<float>() : NAN;
  }
  bool scalar_is(const std::string& name, double want) const {
    return std::fabs(scalar(name) - want) <= 1e-6 * std::fabs(want);
  }

  void remove(const Node* n) {
    if (n) removed_[static_cast<size_t>(n - nodes_.data())] = 1;
  }
  bool is_removed(const Node& n) const { return removed_[static_cast<size_t>(&n - nodes_.data())]; }
  std::vector<Node> kept() {
    std::vector<Node> out;
    for (size_t i = 0; i < nodes_.size(); ++i)
      if (!removed_[i]) out.push_back(std::move(nodes_[i]));
    return out;
  }

  static bool is_binary(const Node& n, const char* op_type) {
    return n.op_type == op_type && n.domain.empty() && n.inputs.size() == 2 &&
           n.outputs.size() == 1;
  }

 private:
  static constexpr size_t kGraphOutput = static_cast<size_t>(-1);
  const Graph& graph_;
  std::vector<Node> nodes_;
  std::vector<char> removed_;
  std::map<std::string, std::vector<size_t>> readers_;
  std::map<std::string, size_t> producer_;
};

// For a binary node with `value` as one operand: the other operand, or "" if neither is.
std::string other_operand(const Node& n, const std::string& value) {
  if (n.inputs[0] == value) return n.inputs[1];
  if (n.inputs[1] == value) return n.inputs[0];
  return "";
}

// Turns `keep` into `op_type` reading `inputs` and writing `output`; the rest go.
void replace_chain(Chains& c, Node& keep, const char* op_type, std::vector<std::string> inputs,
                   const std::string& output, std::initializer_list<const Node*> rest) {
  for (const Node* n : rest)
    if (n != &keep) c.remove(n);
  keep.op_type = op_type;
  keep.inputs = std::move(inputs);
  keep.outputs = {output};
  keep.attrs.clear();
}

bool fuse_erf_gelu(Chains& c, Node& erf) {
  if (erf.op_type != "Erf" || !erf.domain.empty() || erf.inputs.size() != 1 ||
      erf.outputs.size() != 1)
    return false;
  // u = x / sqrt(2) or x * (1 / sqrt(2)), read by the Erf alone
  Node* scale = c.producer(erf.inputs[0]);
  if (!scale || c.readers(erf.inputs[0]) != 1) return false;
  std::string x;
  if (Chains::is_binary(*scale, "Div") && c.scalar_is(scale->inputs[1], std::sqrt(2.0)))
    x = scale->inputs[0];
  else if (Chains::is_binary(*scale, "Mul") && c.scalar_is(scale->inputs[1], std::sqrt(0.5)))
    x = scale->inputs[0];
  else if (Chains::is_binary(*scale, "Mul") && c.scalar_is(scale->inputs[0], std::sqrt(0.5)))
    x = scale->inputs[1];
  else
    return false;
  // a = e + 1
  Node* add = c.sole_binary_reader(erf.outputs[0], "Add");
  if (!add || !c.scalar_is(other_operand(*add, erf.outputs[0]), 1.0)) return false;
  // y = x * a * 0.5 over two Muls, in any grouping
  Node* first = c.sole_binary_reader(add->outputs[0], "Mul");
  if (!first) return false;
  const std::string with_a = other_operand(*first, add->outputs[0]);
  Node* last = first;                             // the Mul that writes y
  Node* halving = nullptr;                        // x * 0.5, when grouped that way
  if (with_a == x || c.scalar_is(with_a, 0.5)) {  // (x * a) * 0.5 or (a * 0.5) * x
    last = c.sole_binary_reader(first->outputs[0], "Mul");
    if (!last) return false;
    const std::string rest = other_operand(*last, first->outputs[0]);
    if (!(with_a == x ? c.scalar_is(rest, 0.5) : rest == x)) return false;
  } else {  // (x * 0.5) * a
    halving = c.producer(with_a);
    if (!halving || c.readers(with_a) != 1 || !Chains::is_binary(*halving, "Mul") ||
        !c.scalar_is(other_operand(*halving, x), 0.5))
      return false;
  }
  const std::string y = last->outputs[0];
  replace_chain(c, erf, "Gelu", {x}, y, {scale, add, first, last, halving});
  erf.attrs["approximate"] = Attribute::of_string("none");
  return true;
}

// The axes of a ReduceMean that keeps its dims (its constant int64 input), or none.
std::vector<int64_t> kept_mean_axes(const Graph& graph, const Node& n) {
  if (n.op_type != "ReduceMean" || !n.domain.empty() || n.outputs.size() != 1 ||
      n.attr_int("keepdims", 1) != 1 || n.attr_int("noop_with_empty_axes", 0) != 0)
    return {};
  if (n.inputs.size() < 2) return {};
  auto it = graph.initializers.find(n.inputs[1]);
  if (it == graph.initializers.end() || it->second.dtype() != DType::Int64 ||
      !it->second.device().is_cpu())
    return {};
  const int64_t* a = it->second.data<int64_t>();
  return std::vector<int64_t>(a, a + it->second.numel());
}

bool fuse_layer_norm(Chains& c, const Graph& graph, Node& mean) {
  // The trailing axes -k .. -1, in any order: what LayerNormalization(axis = -k) normalizes.
  std::vector<int64_t> axes = kept_mean_axes(graph, mean);
  if (axes.empty() || mean.inputs.empty()) return false;
  std::sort(axes.begin(), axes.end());
  const int64_t k = static_cast<int64_t>(axes.size());
  for (int64_t i = 0; i < k; ++i)
    if (axes[static_cast<size_t>(i)] != i - k) return false;
  const std::string x = mean.inputs[0];
  // d = x - m, read by the square and the division alone
  Node* sub = c.sole_binary_reader(mean.outputs[0], "Sub");
  if (!sub || sub->inputs[0] != x || sub->inputs[1] != mean.outputs[0]) return false;
  const std::string d = sub->outputs[0];
  Node* square = nullptr;
  Node* divide = nullptr;
  int reads = 0;  // must account for every reader: d may not be a graph output
  for (Node& n : c.nodes()) {
    const int64_t here = std::count(n.inputs.begin(), n.inputs.end(), d);
    if (here == 0 || c.is_removed(n)) continue;
    reads += static_cast<int>(here);
    if (Chains::is_binary(n, "Pow") && n.inputs[0] == d && c.scalar_is(n.inputs[1], 2.0))
      square = &n;
    else if (Chains::is_binary(n, "Mul") && n.inputs[0] == d && n.inputs[1] == d)
      square = &n;
    else if (Chains::is_binary(n, "Div") && n.inputs[0] == d)
      divide = &n;
    else
      return false;
  }
  if (!square || !divide || reads != c.readers(d)) return false;
  // v = ReduceMean(p, same axes); s = Sqrt(v + epsilon); n = d / s
  Node* variance = c.sole_reader(square->outputs[0]);
  if (!variance) return false;
  std::vector<int64_t> variance_axes = kept_mean_axes(graph, *variance);
  std::sort(variance_axes.begin(), variance_axes.end());
  if (variance_axes != axes || variance->inputs[0] != square->outputs[0]) return false;
  Node* add_eps = c.sole_binary_reader(variance->outputs[0], "Add");
  if (!add_eps) return false;
  const float epsilon = c.scalar(other_operand(*add_eps, variance->outputs[0]));
  if (!(epsilon >= 0.0f)) return false;
  Node* root = c.sole_reader(add_eps->outputs[0]);
  if (!root || root->op_type != "Sqrt" || !root->domain.empty() || root->outputs.size() != 1 ||
      divide->inputs[1] != root->outputs[0] || c.readers(root->outputs[0]) != 1)
    return false;
  // y = n * scale (+ bias): the scale and bias must have the normalized dims (all of them
  // greater than 1, so that the Mul and Add did not broadcast them)
  auto normalized_param = [&](const std::string& name) {
    const Tensor* t = c.constant(name);
    if (!t || t->ndim() != k) return false;
    for (int64_t dim : t->shape())
      if (dim < 2) return false;
    return true;
  };
  Node* times = c.sole_binary_reader(divide->outputs[0], "Mul");
  if (!times) return false;
  const std::string scale = other_operand(*times, divide->outputs[0]);
  if (!normalized_param(scale)) return false;
  Node* plus = c.sole_binary_reader(times->outputs[0], "Add");
  std::string bias = plus ? other_operand(*plus, times->outputs[0]) : "";
  if (plus && !normalized_param(bias)) plus = nullptr, bias.clear();
  const std::string y = (plus ? plus : times)->outputs[0];
  std::vector<std::string> inputs = {x, scale};
  if (plus) inputs.push_back(bias);
  replace_chain(c, mean, "LayerNormalization", inputs, y,
                {sub, square, variance, add_eps, root, divide, times, plus});
  mean.attrs["axis"] = Attribute::of_int(-k);
  mean.attrs["epsilon"] = Attribute::of_float(epsilon);
  return true;
}

// y = x * gate(x), the gate read by that Mul alone (operands in either order), becomes
// `fused` reading x.
bool fuse_gated(Chains& c, Node& gate, const char* fused) {
  if (!gate.domain.empty() || gate.inputs.size() != 1 || gate.outputs.size() != 1) return false;
  Node* mul = c.sole_binary_reader(gate.outputs[0], "Mul");
  const std::string x = gate.inputs[0];
  if (!mul || other_operand(*mul, gate.outputs[0]) != x) return false;
  replace_chain(c, gate, fused, {x}, mul->outputs[0], {mul});
  return true;
}

bool fuse_silu(Chains& c, Node& sigmoid) {
  if (sigmoid.op_type != "Sigmoid" || !fuse_gated(c, sigmoid, "Swish")) return false;
  sigmoid.attrs["alpha"] = Attribute::of_float(1.0f);
  return true;
}

bool fuse_hard_swish(Chains& c, Node& gate) {
  if (gate.op_type != "HardSigmoid") return false;
  const float alpha = gate.has_attr("alpha") ? gate.attr_float("alpha") : 0.2f;
  const float beta = gate.has_attr("beta") ? gate.attr_float("beta") : 0.5f;
  return std::fabs(alpha - 1.0f / 6) <= 1e-6f && beta == 0.5f && fuse_gated(c, gate, "HardSwish");
}

}  // namespace

std::vector<Node> fuse_patterns(const Graph& graph, FusedPatterns* counts) {
  Chains c(graph);
  for (Node& n : c.nodes()) {
    if (c.is_removed(n)) continue;
    if (fuse_erf_gelu(c, n))
      ++counts->gelus;
    else if (fuse_layer_norm(c, graph, n))
      ++counts->layer_norms;
    else if (fuse_silu(c, n))
      ++counts->swishes;
    else if (fuse_hard_swish(c, n))
      ++counts->hard_swishes;
  }
  return c.kept();
}

}  // namespace engine
