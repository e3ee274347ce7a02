// ONNX import: the file's graph, node for node, into the graph the engine runs. Four passes,
// and nothing is built until all succeed:
//   1. structure: duplicate value names, dangling inputs and cycles are errors; the nodes
//      are put in topological order;
//   2. support: every node's domain, op type, opset and attributes are checked against the
//      op's definition, and all the problems are reported in one error;
//   3. translation, in order: import-time ops (Constant, Shape, Cast, ...) and ops on
//      known values are folded, nodes of older opsets are rewritten by their op's ONNX mapping
//      (ops/<op>/<op>_onnx.cpp), and every node kept is planned at two batch sizes, which
//      checks it and tells the dims that follow the batch from the static ones;
//   4. build: the engine graph, its weights and constants, and the output shapes.
// The batch dimension stays symbolic through the folding: Shape of a batch-major value gives
// kSymbolicBatch in place of the batch size (kSymbolicDerived for a dim computed from it, as
// the batch times the heads of an attention), which a Reshape target turns back into 0 or -1,
// and an Expand to the batch takes from the first graph input (expand_to_batch).
#include <algorithm>
#include <cctype>
#include <limits>
#include <map>
#include <set>

#include "engine/onnx.h"
#include "engine/ops.h"
#include "core/checked.h"
#include "graph/topological_order.h"
#include "onnx/expansion.h"
#include "onnx/fold.h"
#include "onnx/onnx_common.h"
#include "ops/cast/cast.h"
#include "ops/onnx_translate.h"
#include "ops/op.h"

namespace engine {

namespace {

// Shapes are inferred for two batch sizes: a dim that moves with the batch is the batch.
constexpr int kRuns = 2;

std::string node_label(const Node& node, size_t index) {
  const std::string name = node.name.empty() ? "#" + std::to_string(index) : node.name;
  return "'" + name + "' (" + node.op_type + ")";
}

std::string join(const std::vector<std::string>& parts, const char* sep) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) out += (i ? sep : "") + parts[i];
  return out;
}

bool has_symbolic_batch(const Tensor& t) {
  if (t.dtype() != DType::Int64) return false;
  const int64_t* v = t.data<int64_t>();
  return std::any_of(v, v + t.numel(), is_symbolic);
}

// Data-movement ops that exporters also apply to shape values (Shape -> Gather -> ...).
bool moves_data(const std::string& op_type) { return op_type == "Gather" || op_type == "Slice"; }

// Engine ops that follow the symbolic batch size through shape arithmetic (fold.h): they
// fold even when an input holds it, and weights read by them fold with them.
bool folds_symbolic_batch(const std::string& op_type) {
  static const std::set<std::string> ops = {"Add",       "Sub",     "Mul",    "Div", "Concat",
                                            "Unsqueeze", "Squeeze", "Reshape", "Where"};
  return ops.count(op_type) != 0 || moves_data(op_type);
}

// Ops whose every call draws a new value: never folded, whatever their inputs.
bool draws_random(const std::string& op_type) {
  return op_type == "Dropout" || op_type == "RandomNormalLike" ||
         op_type == "RandomUniformLike";
}

// An Einsum equation's labels: one list per operand and one for the output. Letters are
// their character codes; the dims an ellipsis stands for are kEllipsisLabel + k, aligned
// right over the widest ellipsis (numpy's broadcasting). Without "->" the output is the
// ellipsis dims, then the letters used once, in alphabetical order.
constexpr int kEllipsisLabel = 128;

struct EinsumLabels {
  std::vector<std::vector<int>> operands;
  std::vector<int> output;
};

EinsumLabels parse_einsum(std::string equation, const std::vector<int>& ranks) {
  equation.erase(std::remove_if(equation.begin(), equation.end(), ::isspace), equation.end());
  const size_t arrow = equation.find("->");
  const std::string lhs = equation.substr(0, arrow);
  std::vector<std::string> terms(1);
  for (char c : lhs) {
    if (c == ',')
      terms.emplace_back();
    else
      terms.back() += c;
  }
  ENGINE_CHECK(terms.size() == ranks.size(), "the equation '", equation, "' names ", terms.size(),
               " operands, the node has ", ranks.size());
  // Letters, and where the ellipsis sits (-1: none) in one term.
  auto letters_of = [&](const std::string& term, int& ellipsis) {
    std::vector<int> letters;
    ellipsis = -1;
    for (size_t k = 0; k < term.size(); ++k) {
      if (term.compare(k, 3, "...") == 0 && ellipsis < 0) {
        ellipsis = static_cast<int>(letters.size());
        k += 2;
      } else {
        ENGINE_CHECK(std::isalpha(static_cast<unsigned char>(term[k])), "the equation '", equation,
                     "' has '", term[k], "' where a letter or one '...' belongs");
        letters.push_back(term[k]);
      }
    }
    return letters;
  };
  std::vector<std::vector<int>> letters(terms.size());
  std::vector<int> ellipses(terms.size());
  int widest = 0;
  for (size_t t = 0; t < terms.size(); ++t) {
    letters[t] = letters_of(terms[t], ellipses[t]);
    const int rest = ranks[t] - static_cast<int>(letters[t].size());
    ENGINE_CHECK(rest == 0 || (ellipses[t] >= 0 && rest > 0), "operand ", t, " has rank ", ranks[t],
                 ", the equation's term '", terms[t], "' does not");
    widest = std::max(widest, rest);
  }
  EinsumLabels out;
  std::map<int, int> uses;
  for (size_t t = 0; t < terms.size(); ++t) {
    std::vector<int> labels = letters[t];
    if (ellipses[t] >= 0) {
      std::vector<int> dims;
      for (int k = widest - (ranks[t] - static_cast<int>(letters[t].size())); k < widest; ++k)
        dims.push_back(kEllipsisLabel + k);
      labels.insert(labels.begin() + ellipses[t], dims.begin(), dims.end());
    }
    for (int l : letters[t]) ++uses[l];
    out.operands.push_back(std::move(labels));
  }
  if (arrow == std::string::npos) {
    for (int k = 0; k < widest; ++k) out.output.push_back(kEllipsisLabel + k);
    for (const auto& [label, count] : uses)
      if (count == 1) out.output.push_back(label);
    return out;
  }
  int ellipsis = -1;
  out.output = letters_of(equation.substr(arrow + 2), ellipsis);
  for (int k = 0; k < widest && ellipsis >= 0; ++k)
    out.output.insert(out.output.begin() + ellipsis + k, kEllipsisLabel + k);
  std::set<int> seen;
  for (int l : out.output) {
    ENGINE_CHECK(seen.insert(l).second, "the equation '", equation, "' repeats an output label");
    ENGINE_CHECK(l >= kEllipsisLabel || uses.count(l), "the equation '", equation,
                 "' has output label '", static_cast<char>(l), "' that no operand has");
  }
  return out;
}

class Importer final : public OnnxExpansionContext {
 public:
  Importer(const OnnxModel& model, std::string source, int runs)
      : model_(model), source_(std::move(source)), runs_(runs) {}

  OnnxImport run() {
    find_opset();
    collect_values();
    check_structure();
    check_support();
    for (size_t k = 0; k < nodes_.size(); ++k) translate(nodes_[k], k);
    return build();
  }

  // ---- OnnxImportContext ----------------------------------------------------------------
  int64_t opset() const override { return opset_; }

  const Tensor* constant(const std::string& name) const override {
    auto c = consts_.find(name);
    if (c != consts_.end()) return &c->second;
    auto i = inits_.find(name);
    return i == inits_.end() ? nullptr : &i->second;
  }

  int rank(const std::string& name) const override {
    if (const Tensor* t = constant(name)) return t->ndim();
    auto it = shapes_.find(name);
    if (it == shapes_.end()) fail("the rank of '" + name + "' is unknown");
    return static_cast<int>(it->second.run[0].size());
  }

  std::string add_constant(const Tensor& value, const std::string& base) override {
    const std::string name = unique(base);
    consts_[name] = value;
    return name;
  }

  std::string add_weight(const Tensor& value, const std::string& base) override {
    const std::string name = add_constant(value, base);
    weights_.insert(name);
    return name;
  }

  bool is_weight(const std::string& name) const override { return weights_.count(name) != 0; }
  void freeze_weight(const std::string& name) override { frozen_.insert(name); }
  bool is_read(const std::string& name) const override { return read_.count(name) != 0; }

  [[noreturn]] void fail(const std::string& message) const override {
    fail_model("node " + label_ + ": " + message);
  }

  // ---- OnnxExpansionContext ---------------------------------------------------------------
  DType dtype(const std::string& name) const override {
    if (const Tensor* t = constant(name)) return t->dtype();
    auto it = shapes_.find(name);
    if (it == shapes_.end()) fail("the type of '" + name + "' is unknown");
    return it->second.dtype;
  }

  std::string expand_part(const Node& whole, const char* op, std::vector<std::string> inputs,
                          const char* what, const std::string& output,
                          std::map<std::string, Attribute> attrs) override {
    Node n = part_node(whole, op, std::move(inputs), what, output, std::move(attrs));
    if (all_inputs_known(n) && !reads_weight(n) && !reads_symbolic_batch(n, 0))
      fold_engine_op(n);
    else
      emit(n);
    return n.outputs[0];
  }

  void alias(const std::string& name, const std::string& value) override { alias_[name] = value; }

 private:
  [[noreturn]] void fail_model(const std::string& message) const {
    engine::fail(ErrorKind::Value, "ONNX import of ", source_, " (opset ", opset_, "): ", message);
  }

  void find_opset() {
    for (const auto& entry : model_.opset_imports)
      if (entry.first.empty() || entry.first == "ai.onnx") opset_ = entry.second;
    if (opset_ == 0) {
      std::string listed;
      for (const auto& entry : model_.opset_imports)
        listed += (listed.empty() ? "" : ", ") +
                  ("'" + entry.first + "': " + std::to_string(entry.second));
      fail_model("the model imports no default-domain opset (opset imports {" + listed + "})");
    }
    if (opset_ > kOnnxMaxOpset)
      fail_model("opset " + std::to_string(opset_) +
                 " is newer than the newest the engine knows (" + std::to_string(kOnnxMaxOpset) +
                 ")");
  }

  void collect_values() {
    const Graph& g = model_.graph;
    inits_ = g.initializers;
    for (const auto& kv : inits_) {
      names_.insert(kv.first);
      if (kv.second.dtype() == DType::Float32) weights_.insert(kv.first);
    }
    for (const ValueInfo& v : g.inputs) {
      names_.insert(v.name);
      if (inits_.count(v.name)) continue;
      inputs_.push_back(v);
      // Dim 0 (the batch) at its declared size or 1, then one more; other symbolic dims at
      // 3, then 5.
      if (inputs_.size() == 1 && !v.shape.empty()) batch_ = v.shape[0] >= 0 ? v.shape[0] : 1;
      ValueShape& s = shapes_[v.name];
      s.dtype = v.dtype;
      try {
        for (int r = 0; r < kRuns; ++r) {
          for (size_t d = 0; d < v.shape.size(); ++d) {
            const int64_t declared = v.shape[d];
            const int64_t more = d == 0 && declared != 0 ? r : 0;
            s.run[r].push_back(declared >= 0 ? checked_add(declared, more, "a dim")
                                             : (d == 0 ? 1 + r : 3 + 2 * r));
          }
          shape_nbytes(s.run[r], v.dtype);
        }
      } catch (const Error&) {
        fail_model("graph input '" + v.name + "' declares shape " + shape_str(v.shape) +
                   ", more than memory can hold");
      }
    }
    nodes_ = g.nodes;
    for (const Node& n : nodes_) {
      for (const std::string& i : n.inputs)
        if (!i.empty()) read_.insert(i);
      for (const std::string& o : n.outputs) names_.insert(o);
    }
    for (const ValueInfo& v : g.outputs) read_.insert(v.name);
  }

  // ---- pass 1: structure ------------------------------------------------------------------
  void check_structure() {
    std::map<std::string, std::string> producer;
    for (const ValueInfo& v : inputs_) {
      if (producer.count(v.name)) fail_model("graph input '" + v.name + "' is declared twice");
      producer[v.name] = "graph input";
    }
    for (const auto& kv : inits_) producer.emplace(kv.first, "initializer");
    for (size_t k = 0; k < nodes_.size(); ++k)
      for (const std::string& o : nodes_[k].outputs) {
        if (o.empty()) continue;
        auto it = producer.find(o);
        if (it != producer.end())
          fail_model("value '" + o + "' is produced twice: by " + it->second + " and by node " +
                     node_label(nodes_[k], k));
        producer[o] = "node " + node_label(nodes_[k], k);
      }
    std::vector<std::string> dangling;
    for (size_t k = 0; k < nodes_.size(); ++k)
      for (const std::string& i : nodes_[k].inputs)
        if (!i.empty() && !producer.count(i))
          dangling.push_back("'" + i + "' (read by node " + node_label(nodes_[k], k) + ")");
    std::set<std::string> outputs;
    for (const ValueInfo& v : model_.graph.outputs) {
      if (!producer.count(v.name)) dangling.push_back("'" + v.name + "' (a graph output)");
      if (!outputs.insert(v.name).second)
        fail_model("graph outputs repeat the name '" + v.name + "'");
    }
    if (!dangling.empty()) fail_model("values that nothing produces: " + join(dangling, ", "));

    // In file order where the edges allow; the nodes left over sit on a cycle.
    std::map<std::string, size_t> made_by;
    for (size_t k = 0; k < nodes_.size(); ++k)
      for (const std::string& o : nodes_[k].outputs)
        if (!o.empty()) made_by[o] = k;
    std::vector<int> waiting(nodes_.size(), 0);
    std::vector<std::vector<size_t>> readers(nodes_.size());
    for (size_t k = 0; k < nodes_.size(); ++k) {
      std::set<std::string> inputs(nodes_[k].inputs.begin(), nodes_[k].inputs.end());
      for (const std::string& i : inputs) {
        auto it = made_by.find(i);
        if (it == made_by.end()) continue;
        ++waiting[k];
        readers[it->second].push_back(k);
      }
    }
    const std::vector<size_t> order = topological_order(readers, waiting);
    if (order.size() != nodes_.size()) {
      std::vector<char> placed(nodes_.size(), 0);
      for (size_t k : order) placed[k] = 1;
      std::vector<std::string> stuck;
      for (size_t k = 0; k < nodes_.size(); ++k)
        if (!placed[k]) stuck.push_back(node_label(nodes_[k], k));
      fail_model("the graph has a cycle through nodes " + join(stuck, ", "));
    }
    std::vector<Node> sorted;
    std::vector<size_t> index;
    for (size_t k : order) {
      sorted.push_back(nodes_[k]);
      index.push_back(k);
    }
    nodes_ = std::move(sorted);
    file_index_ = std::move(index);
  }

  // ---- pass 2: support --------------------------------------------------------------------
  void check_support() {
    std::vector<std::string> attrs, kinds, opsets;
    // Unsupported operators by type, in file order: how many nodes, and the first one's name
    // (an exported model has many nodes of a type, with long names).
    std::vector<std::string> missing;
    std::map<std::string, std::pair<size_t, std::string>> missing_nodes;
    auto unsupported = [&](const std::string& op, const Node& n, size_t index) {
      auto it = missing_nodes.find(op);
      if (it == missing_nodes.end()) {
        missing.push_back(op);
        missing_nodes[op] = {1, n.name.empty() ? "#" + std::to_string(index) : n.name};
      } else {
        ++it->second.first;
      }
    };
    for (size_t k = 0; k < nodes_.size(); ++k) {
      const Node& n = nodes_[k];
      const std::string label = node_label(n, file_index_[k]);
      if (!n.domain.empty() && n.domain != "ai.onnx") {
        unsupported(n.op_type + " in domain '" + n.domain + "'", n, file_index_[k]);
        continue;
      }
      std::map<std::string, Attribute::Kind> allowed;
      if (const auto* fold = fold_op_attrs(n.op_type)) {
        for (const FoldAttr& a : *fold) allowed[a.name] = a.kind;
      } else if (const OpDef* def = find_op("", n.op_type)) {
        if (opset_ < def->onnx.since_opset)
          opsets.push_back(label + " from opset " + std::to_string(def->onnx.since_opset));
        for (const AttrSpec& a : def->schema.attrs)
          if (!a.internal) allowed[a.name] = a.kind;
        for (const LegacyAttr& a : def->onnx.legacy)
          if (opset_ < a.until_opset) allowed[a.name] = a.kind;
      } else {
        unsupported(n.op_type, n, file_index_[k]);
        continue;
      }
      std::vector<std::string> unknown;
      for (const auto& kv : n.attrs) {
        auto it = allowed.find(kv.first);
        if (it == allowed.end()) {
          unknown.push_back(kv.first);
        } else if (kv.second.kind != it->second && !(it->second == Attribute::Kind::Float &&
                                                     kv.second.kind == Attribute::Kind::Int)) {
          kinds.push_back(label + ": " + kv.first + " must be " + attribute_kind_name(it->second) +
                          ", got " + attribute_kind_name(kv.second.kind));
        }
      }
      if (!unknown.empty()) attrs.push_back(label + ": " + join(unknown, ", "));
    }
    std::vector<std::string> ops;
    for (const std::string& op : missing) {
      const auto& [count, first] = missing_nodes.at(op);
      ops.push_back(op + " (" +
                    (count == 1 ? "node '" + first + "'"
                                : std::to_string(count) + " nodes, the first '" + first + "'") +
                    ")");
    }
    std::vector<std::string> problems;
    if (!ops.empty()) problems.push_back("unsupported operators: " + join(ops, ", "));
    if (!attrs.empty()) problems.push_back("unsupported attributes: " + join(attrs, "; "));
    if (!kinds.empty()) problems.push_back("attributes of the wrong type: " + join(kinds, "; "));
    if (!opsets.empty())
      problems.push_back("ops the engine reads only in newer opsets: " + join(opsets, ", "));
    if (!problems.empty()) fail_model(join(problems, "; "));
  }

  // ---- pass 3: translation ----------------------------------------------------------------
  std::string resolve(std::string name) const {
    for (auto it = alias_.find(name); it != alias_.end(); it = alias_.find(name)) name = it->second;
    return name;
  }

  // The value of input `index`, or nullptr when the node omits it; an error when it is
  // present but only known at run time.
  const Tensor* need_constant(const Node& node, size_t index, const char* what) const {
    if (index >= node.inputs.size() || node.inputs[index].empty()) return nullptr;
    const Tensor* t = constant(node.inputs[index]);
    if (!t) fail(std::string(what) + " must be known at import (it is computed at run time)");
    return t;
  }

  void set(const Node& node, const Tensor& value) { consts_[node.outputs.at(0)] = value; }

  void translate(Node node, size_t k) {
    label_ = node_label(node, file_index_[k]);
    for (std::string& i : node.inputs) i = resolve(i);
    if (fold_op_attrs(node.op_type) || folds_scatter_nd(node)) return fold_import_op(node);
    const OpDef& def = get_op("", node.op_type);
    node.domain.clear();
    drop_uncomputed_outputs(def, node);
    name_skipped_outputs(node);
    if (node.op_type == "Identity") {
      if (const Tensor* v = constant(node.inputs.at(0)))
        set(node, *v);
      else
        alias_[node.outputs.at(0)] = node.inputs.at(0);
      return;
    }
    // Any op whose inputs are all known is computed here by its reference kernel, except
    // random draws and nodes that read a weight (kept so that training reaches it), and except
    // where an input holds the symbolic batch size, which only the shape-arithmetic ops
    // follow. A weight read by a data-movement op stays a weight (an embedding table).
    const bool fold = all_inputs_known(node) && !draws_random(node.op_type) &&
                      (folds_symbolic_batch(node.op_type)
                           ? !(node.op_type != "Concat" && node.op_type != "Where" &&
                                 reads_symbolic_batch(node, 1)) &&
                                 !(moves_data(node.op_type) && is_weight(node.inputs.at(0)))
                           : !reads_weight(node) && !reads_symbolic_batch(node, 0));
    if (node.op_type == "Equal" && all_inputs_known(node) && reads_symbolic_batch(node, 0))
      return fold_with_symbolic_batch(node);
    if (node.op_type == "Expand" && !fold && node.inputs.size() == 2 && constant(node.inputs[1]) &&
        has_symbolic_batch(*constant(node.inputs[1])))
      return expand_to_batch(node);
    if (def.onnx.translate) def.onnx.translate(node, *this);
    for (const LegacyAttr& a : def.onnx.legacy) node.attrs.erase(a.name);
    if (node.op_type == "Resize" && !fold && emit_resize_by_dim(node)) return;
    if (is_1d_window(node)) return emit_as_2d(node);
    if (node.op_type == "Dropout" && node.outputs.size() > 1) return emit_dropout_with_mask(node);
    // (Shape arithmetic keeps its int64 values, which may hold the symbolic batch size.)
    const bool shape_arithmetic = fold && folds_symbolic_batch(node.op_type);
    const bool symbolic =
        std::any_of(node.inputs.begin(), node.inputs.end(), [&](const std::string& i) {
          const Tensor* t = i.empty() ? nullptr : constant(i);
          return t && has_symbolic_batch(*t);
        });
    if (!shape_arithmetic && !symbolic)
      if (const unsigned converted = inputs_to_compute_in_float(node))
        return translate_in_float(node, converted, fold);
    if (fold)
      fold_engine_op(node);
    else
      emit(node);
  }

  // RMSNormalization(x, scale) over the dims from `axis` on, as the ops it is made of (so
  // it trains too): x / sqrt(ReduceMean(x * x) + epsilon) * scale, in float32.
  void emit_rms_normalization(const Node& node) {
    if (node.inputs.size() != 2 || node.inputs[1].empty()) fail("takes 2 inputs (x and scale)");
    if (node.outputs.size() != 1) fail("has one output");
    const int rank = this->rank(node.inputs[0]);
    int64_t axis = node.attr_int("axis", -1);
    if (axis < -rank || axis >= rank) fail(str("axis ", axis, " is out of range for rank ", rank));
    if (axis < 0) axis += rank;
    std::vector<int64_t> axes;
    for (int64_t d = axis; d < rank; ++d) axes.push_back(d);
    const std::string& base = node.outputs[0];
    Tensor epsilon = Tensor::full({}, node.attr_float("epsilon", 1e-5f));
    const std::string& x = node.inputs[0];
    const std::string squares = emit_part(node, "Mul", {x, x}, "square");
    const std::string mean =
        emit_part(node, "ReduceMean", {squares, add_int64s(axes, base + "/axes")}, "mean");
    const std::string shifted =
        emit_part(node, "Add", {mean, add_constant(epsilon, base + "/epsilon")}, "plus_epsilon");
    const std::string rms = emit_part(node, "Sqrt", {shifted}, "rms");
    const std::string normed = emit_part(node, "Div", {x, rms}, "normalized");
    emit_part(node, "Mul", {normed, node.inputs[1]}, "scaled", base);
  }

  // Einsum as the ops it is made of (so it trains too). Each operand's repeated labels (a
  // diagonal) are masked with the identity and summed; labels that only one operand has and
  // nothing later reads are summed; operands are contracted left to right by one MatMul each
  // over [batch..., kept, contracted] (Transpose, and Reshape where a group is not one dim);
  // the result is transposed to the output's order. Sizes must be known at import, except
  // one symbolic dim (the batch) per reshape.
  void emit_einsum(const Node& node) {
    if (node.inputs.empty()) fail("takes at least one input");
    struct Term {
      std::string value;
      std::vector<int> labels;
      std::vector<int64_t> dims;
    };
    std::vector<int> ranks;
    for (const std::string& i : node.inputs) ranks.push_back(rank(i));
    const EinsumLabels eq = parse_einsum(node.attr_string("equation"), ranks);
    std::vector<Term> terms;
    for (size_t t = 0; t < node.inputs.size(); ++t)
      terms.push_back({node.inputs[t], eq.operands[t], symbolic_shape(node.inputs[t])});
    auto ints = [&](const std::vector<int64_t>& v, const char* what) {
      return add_int64s(v, node.outputs[0] + "/" + what);
    };
    auto transpose = [&](Term& x, const std::vector<int>& order) {
      std::vector<int64_t> perm;
      Term moved{"", order, {}};
      for (int l : order) {
        const auto at = std::find(x.labels.begin(), x.labels.end(), l) - x.labels.begin();
        perm.push_back(at);
        moved.dims.push_back(x.dims[at]);
      }
      bool same = true;
      for (size_t k = 0; k < perm.size(); ++k) same = same && perm[k] == int64_t(k);
      moved.value = same ? x.value
                         : emit_part(node, "Transpose", {x.value}, "transpose", "",
                                     {{"perm", Attribute::of_ints(perm)}});
      x = moved;
    };
    auto sum_over = [&](Term& x, const std::vector<int64_t>& axes) {
      if (axes.empty()) return;
      x.value = emit_part(node, "ReduceSum", {x.value, ints(axes, "axes")}, "sum", "",
                          {{"keepdims", Attribute::of_int(0)}});
      for (auto a = axes.rbegin(); a != axes.rend(); ++a) {
        x.labels.erase(x.labels.begin() + *a);
        x.dims.erase(x.dims.begin() + *a);
      }
    };
    auto known = [&](int64_t dim) {
      if (is_symbolic(dim)) fail("the size of a dim to take a diagonal of must be known");
      return dim;
    };
    // A Reshape target: `keep` leading dims as they are (0), then `dims`, where at most one
    // may be symbolic (-1).
    auto reshape = [&](const std::string& x, size_t keep, const std::vector<int64_t>& dims) {
      std::vector<int64_t> target(keep, 0);
      int open = 0;
      for (int64_t d : dims) {
        open += is_symbolic(d);
        target.push_back(is_symbolic(d) ? -1 : d);
      }
      if (open > 1) fail("the sizes of the dims it merges or splits must be known at import");
      return emit_part(node, "Reshape", {x, ints(target, "shape")}, "reshape");
    };
    auto product = [&](const Term& x, size_t from, size_t to) {
      int64_t p = 1;
      for (size_t k = from; k < to; ++k) {
        if (is_symbolic(x.dims[k])) return x.dims[k];
        p *= x.dims[k];
      }
      return p;
    };
    for (Term& x : terms) {
      for (size_t q = 1; q < x.labels.size(); ++q) {
        const size_t p =
            std::find(x.labels.begin(), x.labels.end(), x.labels[q]) - x.labels.begin();
        if (p == q) continue;
        const int64_t n = known(x.dims[p]);
        if (known(x.dims[q]) != n) fail("a repeated label has dims of different sizes");
        std::vector<int64_t> shape(x.labels.size(), 1);
        shape[p] = shape[q] = n;
        // The identity over dims p and q (the others 1): (i, i) is at i * (n + 1).
        Tensor eye = Tensor::zeros(shape, DType::Float32);
        for (int64_t i = 0; i < n; ++i) eye.data<float>()[i * (n + 1)] = 1.0f;
        x.value = emit_part(node, "Mul", {x.value, add_constant(eye, node.outputs[0] + "/eye")},
                            "diagonal");
        sum_over(x, {static_cast<int64_t>(q)});
        --q;
      }
    }
    // Labels needed after operand t: the output's and those of the operands after it.
    auto needed_after = [&](size_t t) {
      std::set<int> labels(eq.output.begin(), eq.output.end());
      for (size_t u = t + 1; u < terms.size(); ++u)
        labels.insert(terms[u].labels.begin(), terms[u].labels.end());
      return labels;
    };
    auto drop_unneeded = [&](Term& x, const std::set<int>& needed, const Term* other) {
      std::vector<int64_t> axes;
      for (size_t k = 0; k < x.labels.size(); ++k)
        if (!needed.count(x.labels[k]) &&
            !(other && std::count(other->labels.begin(), other->labels.end(), x.labels[k])))
          axes.push_back(static_cast<int64_t>(k));
      sum_over(x, axes);
    };
    Term a = terms[0];
    for (size_t t = 1; t < terms.size(); ++t) {
      Term b = terms[t];
      const std::set<int> needed = needed_after(t);
      drop_unneeded(a, needed, &b);
      drop_unneeded(b, needed, &a);
      std::vector<int> batch, left, inner, right;
      for (int l : a.labels) {
        const bool shared = std::count(b.labels.begin(), b.labels.end(), l) != 0;
        (shared ? (needed.count(l) ? batch : inner) : left).push_back(l);
      }
      for (int l : b.labels)
        if (!std::count(a.labels.begin(), a.labels.end(), l)) right.push_back(l);
      std::vector<int> a_order = batch, b_order = batch;
      a_order.insert(a_order.end(), left.begin(), left.end());
      a_order.insert(a_order.end(), inner.begin(), inner.end());
      b_order.insert(b_order.end(), inner.begin(), inner.end());
      b_order.insert(b_order.end(), right.begin(), right.end());
      transpose(a, a_order);
      transpose(b, b_order);
      const size_t nb = batch.size(), nl = left.size(), ni = inner.size(), nr = right.size();
      std::string lhs = a.value, rhs = b.value;
      if (nl != 1 || ni != 1)
        lhs = reshape(lhs, nb, {product(a, nb, nb + nl), product(a, nb + nl, nb + nl + ni)});
      if (ni != 1 || nr != 1)
        rhs = reshape(rhs, nb, {product(b, nb, nb + ni), product(b, nb + ni, nb + ni + nr)});
      Term c{emit_part(node, "MatMul", {lhs, rhs}, "matmul"), batch, {}};
      for (size_t k = 0; k < nb; ++k)  // (a dim of 1 broadcasts)
        c.dims.push_back(a.dims[k] == 1 ? b.dims[k] : a.dims[k]);
      c.labels.insert(c.labels.end(), left.begin(), left.end());
      c.labels.insert(c.labels.end(), right.begin(), right.end());
      c.dims.insert(c.dims.end(), a.dims.begin() + nb, a.dims.begin() + nb + nl);
      c.dims.insert(c.dims.end(), b.dims.begin() + nb + ni, b.dims.end());
      if (nl != 1 || nr != 1)
        c.value = reshape(c.value, nb, std::vector<int64_t>(c.dims.begin() + nb, c.dims.end()));
      a = c;
    }
    drop_unneeded(a, needed_after(terms.size() - 1), nullptr);
    transpose(a, eq.output);
    alias_[node.outputs.at(0)] = a.value;
  }

  // Hardmax as the ops it is made of: Equal(ArgMax(x, axis), the ids along the axis) as
  // float32, a one-hot of the first maximum. Before opset 13 the op saw x as 2-D [the dims
  // before axis, the dims from it on], so x is reshaped to that and back around it.
  void emit_hardmax(const Node& node) {
    if (node.inputs.size() != 1 || node.outputs.size() != 1) fail("takes 1 input, has 1 output");
    const bool flat = opset() < 13;
    const std::string& x = node.inputs[0];
    const std::vector<int64_t> dims = symbolic_shape(x);
    const int rank = static_cast<int>(dims.size());
    int64_t axis = node.attr_int("axis", flat ? 1 : -1);
    if (axis < -rank || axis >= rank || rank == 0)
      fail(str("axis ", axis, " is out of range for rank ", rank));
    if (axis < 0) axis += rank;
    std::string input = x;
    int64_t classes = dims[axis];
    if (flat) {
      classes = 1;
      for (int d = static_cast<int>(axis); d < rank; ++d)
        classes = is_symbolic(dims[d]) ? dims[d] : classes * dims[d];
      input = emit_part(node, "Reshape", {x, add_int64s({-1, classes}, node.outputs[0] + "/as_2d")},
                        "as_2d");
    }
    if (is_symbolic(classes)) fail("the size of the axis must be known at import");
    const int64_t at = flat ? 1 : axis;
    std::vector<int64_t> id_shape(flat ? 2 : rank, 1);
    id_shape[at] = classes;
    Tensor ids = Tensor::empty(id_shape, DType::Int64);
    for (int64_t c = 0; c < classes; ++c) ids.data<int64_t>()[c] = c;
    const std::string best =
        emit_part(node, "ArgMax", {input}, "argmax", "", {{"axis", Attribute::of_int(at)}});
    const std::string hit =
        emit_part(node, "Equal", {best, add_constant(ids, node.outputs[0] + "/ids")}, "one_hot");
    const std::string& y = node.outputs[0];
    const std::string one_hot = emit_part(node, "Cast", {hit}, "one_hot_float", flat ? "" : y,
                                          {{"to", Attribute::of_int(onnx_proto::dtype::FLOAT)}});
    if (flat)
      emit_part(node, "Reshape", {one_hot, add_int64s(dims_or_open(dims), y + "/shape")}, "shape",
                y);
  }

  // GlobalMaxPool(x [N, C, d...]) as ReduceMax over the d axes, kept as 1s.
  void emit_global_max_pool(const Node& node) {
    if (node.inputs.size() != 1 || node.outputs.size() != 1) fail("takes 1 input, has 1 output");
    const int rank = this->rank(node.inputs[0]);
    if (rank < 3) fail(str("x must have rank >= 3 ([N, C, d...]), got rank ", rank));
    std::vector<int64_t> axes;
    for (int64_t d = 2; d < rank; ++d) axes.push_back(d);
    emit_part(node, "ReduceMax", {node.inputs[0], add_int64s(axes, node.outputs[0] + "/axes")},
              "max", node.outputs[0], {{"keepdims", Attribute::of_int(1)}});
  }

  // IsNaN(x) as Not(Equal(x, x)); IsInf(x) as Equal(x, inf) Or Equal(x, -inf), each side
  // where its detect_ attribute asks for it (neither: Less(x, -inf), false everywhere).
  void emit_float_class(const Node& node) {
    if (node.inputs.size() != 1 || node.outputs.size() != 1) fail("takes 1 input, has 1 output");
    const std::string& x = node.inputs[0];
    const std::string& y = node.outputs[0];
    if (node.op_type == "IsNaN") {
      emit_part(node, "Not", {emit_part(node, "Equal", {x, x}, "is_number")}, "is_nan", y);
      return;
    }
    const float inf = std::numeric_limits<float>::infinity();
    auto equal_to = [&](float v, const char* what) {
      return emit_part(node, "Equal", {x, add_constant(Tensor::full({}, v), y + "/" + what)}, what);
    };
    const bool positive = node.attr_int("detect_positive", 1) != 0;
    const bool negative = node.attr_int("detect_negative", 1) != 0;
    if (positive && negative)
      emit_part(node, "Or", {equal_to(inf, "inf"), equal_to(-inf, "minus_inf")}, "is_inf", y);
    else if (positive || negative)
      alias_[y] = positive ? equal_to(inf, "inf") : equal_to(-inf, "minus_inf");
    else
      emit_part(node, "Less", {x, add_constant(Tensor::full({}, -inf), y + "/minus_inf")}, "never",
                y);
  }

  // LpNormalization(x) as x / max(norm, the least normal float), norm the ReduceL1 or
  // ReduceL2 along axis: rows of zeros stay 0 (their norm 0 divides nothing but zeros).
  void emit_lp_normalization(const Node& node) {
    if (node.inputs.size() != 1 || node.outputs.size() != 1) fail("takes 1 input, has 1 output");
    const int rank = this->rank(node.inputs[0]);
    int64_t axis = node.attr_int("axis", -1);
    if (axis < -rank || axis >= rank) fail(str("axis ", axis, " is out of range for rank ", rank));
    if (axis < 0) axis += rank;
    const int64_t p = node.attr_int("p", 2);
    if (p != 1 && p != 2) fail(str("p must be 1 or 2, got ", p));
    const std::string& y = node.outputs[0];
    const std::string norm = emit_part(node, p == 1 ? "ReduceL1" : "ReduceL2",
                                       {node.inputs[0], add_int64s({axis}, y + "/axis")}, "norm");
    const Tensor least = Tensor::full({}, std::numeric_limits<float>::min());
    const std::string safe =
        emit_part(node, "Max", {norm, add_constant(least, y + "/least")}, "safe_norm");
    emit_part(node, "Div", {node.inputs[0], safe}, "normalized", y);
  }

  // An antialiased linear or cubic Resize of several dims as one Resize per dim, one after
  // another: the same separable interpolation (ONNX defines it dim by dim), each pass reading
  // only its own dim's stretched taps, so that strong downscaling stays within the op's taps.
  // False (the node left whole) when the split does not apply.
  bool emit_resize_by_dim(const Node& node) {
    if (node.attr_int("antialias", 0) == 0 || node.attr_string("mode", "nearest") == "nearest" ||
        node.attr_string("keep_aspect_ratio_policy", "stretch") != "stretch" ||
        node.attr_string("coordinate_transformation_mode", "half_pixel") == "tf_crop_and_resize")
      return false;
    auto given = [&](size_t i) -> const Tensor* {
      const Tensor* t =
          i < node.inputs.size() && !node.inputs[i].empty() ? constant(node.inputs[i]) : nullptr;
      return t && t->numel() > 0 ? t : nullptr;
    };
    const Tensor* scales = given(2);
    const Tensor* sizes = given(3);
    if ((scales == nullptr) == (sizes == nullptr)) return false;  // the op says why
    const std::vector<int64_t> dims = symbolic_shape(node.inputs[0]);
    std::vector<int64_t> axes = node.attr_ints("axes");
    if (!node.has_attr("axes"))
      for (size_t d = 0; d < dims.size(); ++d) axes.push_back(static_cast<int64_t>(d));
    const Tensor& values = scales ? *scales : *sizes;
    if (values.ndim() != 1 || values.numel() != static_cast<int64_t>(axes.size())) return false;
    std::vector<size_t> changed;
    for (size_t k = 0; k < axes.size(); ++k) {
      const int64_t a = axes[k] < 0 ? axes[k] + static_cast<int64_t>(dims.size()) : axes[k];
      if (a < 0 || a >= static_cast<int64_t>(dims.size())) return false;
      axes[k] = a;
      if (scales ? scales->data<float>()[k] != 1.0f : sizes->data<int64_t>()[k] != dims[a])
        changed.push_back(k);
    }
    if (changed.size() < 2) return false;
    std::string current = node.inputs[0];
    for (size_t i = 0; i < changed.size(); ++i) {
      const size_t k = changed[i];
      const std::string what = str("dim", axes[k]);
      Tensor one = Tensor::empty({1}, values.dtype());
      if (scales)
        one.data<float>()[0] = scales->data<float>()[k];
      else
        one.data<int64_t>()[0] = sizes->data<int64_t>()[k];
      const std::string amount = add_constant(one, node.outputs[0] + "/" + what);
      std::map<std::string, Attribute> attrs = node.attrs;
      attrs["axes"] = Attribute::of_ints({axes[k]});
      current = emit_part(node, "Resize", {current, "", scales ? amount : "", scales ? "" : amount},
                          what.c_str(), i + 1 == changed.size() ? node.outputs[0] : "", attrs);
    }
    return true;
  }

  // LpPool(x) as (K * AveragePool(|x|^p, count_include_pad=1))^(1/p), K the kernel's taps:
  // the pads hold zeros, so K times the average over the padded window is the sum of |x|^p
  // under it (without ceil_mode every window lies inside the padded input). Over [N, C, L]
  // the AveragePool runs as its 2-D form, as a 1-D AveragePool does.
  void emit_lp_pool(const Node& node) {
    if (node.inputs.size() != 1 || node.outputs.size() != 1) fail("takes 1 input, has 1 output");
    if (node.attr_int("ceil_mode", 0) != 0)
      fail("ceil_mode=1 is not supported (a window past the padded input)");
    const std::vector<int64_t> kernel = node.attr_ints("kernel_shape");
    if (kernel.empty()) fail("the kernel_shape attribute is required");
    int64_t taps = 1;
    for (int64_t k : kernel) {
      if (k <= 0) fail(str("kernel_shape must be positive, got ", shape_str(kernel)));
      taps = checked_mul(taps, k, label_, ": the kernel's taps");
    }
    const int64_t p = node.attr_int("p", 2);
    if (p < 1) fail(str("p must be at least 1, got ", p));
    const std::string& x = node.inputs[0];
    const std::string& y = node.outputs[0];
    std::string powered = emit_part(node, "Abs", {x}, "abs");
    if (p != 1)
      powered = emit_part(node, "Pow",
                          {powered, add_constant(Tensor::full({}, float(p)), y + "/p")}, "pow");
    Node average;
    average.op_type = "AveragePool";
    average.name = node.name + "/average";
    average.inputs = {powered};
    average.outputs = {unique(y + "/average")};
    average.attrs = node.attrs;
    average.attrs.erase("p");
    average.attrs["count_include_pad"] = Attribute::of_int(1);
    if (rank(x) == 3)
      emit_as_2d(average);
    else
      emit(average);
    const Tensor count = Tensor::full({}, static_cast<float>(taps));
    const std::string sum =
        emit_part(node, "Mul", {average.outputs[0], add_constant(count, y + "/taps")}, "sum",
                  p == 1 ? y : "");
    if (p != 1)
      emit_part(node, "Pow", {sum, add_constant(Tensor::full({}, 1.0f / float(p)), y + "/root")},
                "root", y);
  }

  // A Reshape target for `dims`: each as it is, one symbolic dim as -1.
  std::vector<int64_t> dims_or_open(std::vector<int64_t> dims) const {
    if (std::count_if(dims.begin(), dims.end(), is_symbolic) > 1)
      fail("more than one dim depends on the batch size");
    for (int64_t& d : dims) d = is_symbolic(d) ? -1 : d;
    return dims;
  }

  // ---- Mean, PRelu, EyeLike, DepthToSpace, SpaceToDepth, MeanVarianceNormalization,
  // InstanceNormalization, GroupNormalization and CenterCropPad, written out as the engine ops
  // they are made of (so they train through those ops' gradients) ---------------------------

  // Mean(x...) as Sum(x...) / n, broadcast as Sum broadcasts.
  void emit_mean(const Node& node) {
    if (node.inputs.empty() || node.outputs.size() != 1)
      fail("takes 1 or more inputs, has 1 output");
    const std::string& y = node.outputs[0];
    if (node.inputs.size() == 1) {
      emit_part(node, "Identity", {node.inputs[0]}, "mean", y);
      return;
    }
    const std::string sum = emit_part(node, "Sum", node.inputs, "sum");
    const Tensor count = Tensor::full({}, static_cast<float>(node.inputs.size()));
    emit_part(node, "Div", {sum, add_constant(count, y + "/count")}, "mean", y);
  }

  // PRelu(x, slope) as the Keras PReLU layer writes it: Relu(x) - slope * Relu(-x), the slope
  // broadcast to x (a weight slope stays trainable).
  void emit_prelu(const Node& node) {
    if (node.inputs.size() != 2 || node.inputs[1].empty() || node.outputs.size() != 1)
      fail("takes 2 inputs (x and slope), has 1 output");
    const std::string& x = node.inputs[0];
    const std::string positive = emit_part(node, "Relu", {x}, "positive");
    const std::string negative =
        emit_part(node, "Relu", {emit_part(node, "Neg", {x}, "minus_x")}, "negative");
    const std::string sloped = emit_part(node, "Mul", {node.inputs[1], negative}, "sloped");
    emit_part(node, "Sub", {positive, sloped}, "prelu", node.outputs[0]);
  }

  // EyeLike(x [R, C]): ones on the diagonal k, folded here from x's shape.
  void fold_eye_like(const Node& node) {
    if (node.inputs.size() != 1 || node.outputs.size() != 1) fail("takes 1 input, has 1 output");
    const std::string& x = node.inputs[0];
    const std::vector<int64_t> dims = symbolic_shape(x);
    if (dims.size() != 2) fail(str("the input must have rank 2, got rank ", dims.size()));
    if (is_symbolic(dims[0]) || is_symbolic(dims[1]))
      fail("the input's shape must be known at import (it depends on the batch size)");
    DType dtype = constant(x) ? constant(x)->dtype() : shapes_.at(x).dtype;
    if (node.has_attr("dtype")) {
      const int32_t holder = onnx_proto::computing_type(node.attr_int("dtype"));
      if (holder == onnx_proto::dtype::UNDEFINED)
        fail(str("dtype ", onnx_proto::dtype_name(node.attr_int("dtype")), " is not supported"));
      dtype = holder == onnx_proto::dtype::FLOAT   ? DType::Float32
              : holder == onnx_proto::dtype::INT64 ? DType::Int64
                                                   : DType::Bool;
    }
    const int64_t k = node.attr_int("k", 0);
    Tensor eye = Tensor::zeros(dims, dtype);
    for (int64_t r = std::max<int64_t>(0, -k); r < dims[0] && r + k < dims[1]; ++r) {
      const int64_t at = r * dims[1] + r + k;
      if (dtype == DType::Float32)
        eye.data<float>()[at] = 1.0f;
      else if (dtype == DType::Int64)
        eye.data<int64_t>()[at] = 1;
      else
        eye.data<bool>()[at] = true;
    }
    set(node, eye);
  }

  // DepthToSpace and SpaceToDepth on x [N, C, H, W] as Reshape to 6-D, Transpose, Reshape:
  // the channel index splits as (by, bx, c) in DCR mode, (c, by, bx) in CRD mode.
  void emit_depth_space(const Node& node) {
    if (node.inputs.size() != 1 || node.outputs.size() != 1) fail("takes 1 input, has 1 output");
    const bool to_space = node.op_type == "DepthToSpace";
    const std::string& x = node.inputs[0];
    const std::vector<int64_t> dims = symbolic_shape(x);
    if (dims.size() != 4)
      fail(str("the input must have rank 4 ([N, C, H, W]), got rank ", dims.size()));
    const int64_t n = dims[0], c = dims[1], h = dims[2], w = dims[3];
    if (is_symbolic(c) || is_symbolic(h) || is_symbolic(w))
      fail("C, H and W must be known at import");
    if (!node.has_attr("blocksize")) fail("the blocksize attribute is missing");
    const int64_t b = node.attr_int("blocksize");
    if (b <= 0) fail(str("blocksize must be positive, got ", b));
    const std::string mode = node.attr_string("mode", "DCR");
    if (mode != "DCR" && mode != "CRD") fail("mode must be DCR or CRD, got '" + mode + "'");
    const bool dcr = mode == "DCR";
    std::vector<int64_t> split, perm, joined;
    if (to_space) {
      if (c % (b * b)) fail(str("C ", c, " is not a multiple of blocksize^2 ", b * b));
      const int64_t depth = c / (b * b);
      split = dcr ? std::vector<int64_t>{n, b, b, depth, h, w}
                  : std::vector<int64_t>{n, depth, b, b, h, w};
      perm = dcr ? std::vector<int64_t>{0, 3, 4, 1, 5, 2} : std::vector<int64_t>{0, 1, 4, 2, 5, 3};
      joined = {n, depth, h * b, w * b};
    } else {
      if (h % b || w % b) fail(str("H ", h, " and W ", w, " must be multiples of blocksize ", b));
      split = {n, c, h / b, b, w / b, b};
      perm = dcr ? std::vector<int64_t>{0, 3, 5, 1, 2, 4} : std::vector<int64_t>{0, 1, 3, 5, 2, 4};
      joined = {n, c * b * b, h / b, w / b};
    }
    const std::string& y = node.outputs[0];
    const std::string parts =
        emit_part(node, "Reshape", {x, add_int64s(dims_or_open(split), y + "/split")}, "split");
    const std::string moved =
        emit_part(node, "Transpose", {parts}, "moved", "", {{"perm", Attribute::of_ints(perm)}});
    emit_part(node, "Reshape", {moved, add_int64s(dims_or_open(joined), y + "/joined")}, "joined",
              y);
  }

  // MeanVarianceNormalization(x) over `axes` (default N, H, W): (x - mean) / (std + 1e-9),
  // as the ONNX function body (std the population one).
  void emit_mean_variance_normalization(const Node& node) {
    if (node.inputs.size() != 1 || node.outputs.size() != 1) fail("takes 1 input, has 1 output");
    const std::string& x = node.inputs[0];
    const std::string& y = node.outputs[0];
    const int rank = this->rank(x);
    std::vector<int64_t> axes = node.attr_ints("axes", {0, 2, 3});
    for (int64_t& a : axes) {
      if (a < -rank || a >= rank) fail(str("axis ", a, " is out of range for rank ", rank));
      if (a < 0) a += rank;
    }
    const std::string axes_name = add_int64s(axes, y + "/axes");
    const std::string mean = emit_part(node, "ReduceMean", {x, axes_name}, "mean");
    const std::string centered = emit_part(node, "Sub", {x, mean}, "centered");
    const std::string variance =
        emit_part(node, "ReduceMean",
                  {emit_part(node, "Mul", {centered, centered}, "square"), axes_name}, "variance");
    const std::string std_dev = emit_part(node, "Sqrt", {variance}, "std");
    const std::string safe =
        emit_part(node, "Add", {std_dev, add_constant(Tensor::full({}, 1e-9f), y + "/epsilon")},
                  "std_plus_epsilon");
    emit_part(node, "Div", {centered, safe}, "normalized", y);
  }

  // InstanceNormalization(x [N, C, d...], scale [C], bias [C]) and GroupNormalization(x, scale,
  // bias) with num_groups G: x normalized over the dims of each (n, group) by one
  // LayerNormalization of unit scale (over the d dims, or over x viewed as [N, G, C / G * d]),
  // then scaled and shifted per channel (per group: GroupNormalization before opset 21).
  void emit_instance_group_normalization(const Node& node) {
    const bool group = node.op_type == "GroupNormalization";
    if (node.inputs.size() != 3 || node.inputs[1].empty() || node.inputs[2].empty() ||
        node.outputs.size() != 1)
      fail("takes 3 inputs (x, scale and bias), has 1 output");
    const std::string& x = node.inputs[0];
    const std::string& y = node.outputs[0];
    const std::vector<int64_t> dims = symbolic_shape(x);
    const int rank = static_cast<int>(dims.size());
    if (rank < 3) fail(str("x must have rank >= 3 ([N, C, d...]), got rank ", rank));
    for (int d = 1; d < rank; ++d)
      if (is_symbolic(dims[d])) fail("the dims after the batch must be known at import");
    const int64_t channels = dims[1];
    const int64_t groups = group ? node.attr_int("num_groups", 0) : channels;
    if (groups <= 0 || channels % groups)
      fail(str("num_groups ", groups, " does not divide the ", channels, " channels"));
    const bool per_group = group && opset_ < 21;  // opset 18's scale and bias: [G]
    std::vector<int64_t> norm_dims(dims.begin() + 2, dims.end());
    std::string input = x;
    if (group) {
      int64_t len = channels / groups;
      for (int d = 2; d < rank; ++d) len *= dims[d];
      norm_dims = {len};
      input = emit_part(node, "Reshape",
                        {x, add_int64s(dims_or_open({dims[0], groups, len}), y + "/grouped")},
                        "grouped");
    }
    const std::string ones = add_constant(Tensor::full(norm_dims, 1.0f), y + "/unit_scale");
    std::string v =
        emit_part(node, "LayerNormalization", {input, ones}, "normalized", "",
                  {{"axis", Attribute::of_int(2)},
                   {"epsilon", Attribute::of_float(node.attr_float("epsilon", 1e-5f))}});
    // value * scale + bias, scale and bias as [K, 1...] with `unit_dims` 1s (against the
    // value's dims after the batch).
    auto affine = [&](const std::string& value, int unit_dims, const std::string& output) {
      std::vector<int64_t> shape(unit_dims + 1, 1);
      shape[0] = -1;
      const std::string scale = emit_part(
          node, "Reshape", {node.inputs[1], add_int64s(shape, y + "/scale_shape")}, "scale");
      const std::string bias = emit_part(
          node, "Reshape", {node.inputs[2], add_int64s(shape, y + "/bias_shape")}, "bias");
      return emit_part(node, "Add", {emit_part(node, "Mul", {value, scale}, "scaled"), bias},
                       "shifted", output);
    };
    if (per_group) v = affine(v, 1, "");
    if (group)
      v = emit_part(node, "Reshape", {v, add_int64s(dims_or_open(dims), y + "/shape")}, "ungrouped",
                    per_group ? y : "");
    if (!per_group) affine(v, rank - 2, y);
  }

  // CenterCropPad(x, shape) with known sizes: Slice for the axes that shrink (the window
  // centred, the odd element dropped at the end), then Pad with zeros for those that grow (the
  // odd element added at the end).
  void emit_center_crop_pad(const Node& node) {
    if (node.inputs.size() != 2 || node.outputs.size() != 1) fail("takes 2 inputs, has 1 output");
    const Tensor* target = need_constant(node, 1, "the shape input");
    if (!target || target->dtype() != DType::Int64 || target->ndim() != 1)
      fail("the shape input must be a 1-D int64 tensor");
    const std::string& x = node.inputs[0];
    const std::string& y = node.outputs[0];
    const std::vector<int64_t> dims = symbolic_shape(x);
    const int64_t rank = static_cast<int64_t>(dims.size());
    std::vector<int64_t> axes = node.attr_ints("axes", {});
    if (!node.has_attr("axes"))
      for (int64_t a = 0; a < rank; ++a) axes.push_back(a);
    const std::vector<int64_t> sizes = int64_values(*target);
    if (sizes.size() != axes.size())
      fail(str("the shape input has ", sizes.size(), " values for ", axes.size(), " axes"));
    std::vector<int64_t> starts, ends, cut_axes, pads(2 * rank, 0);
    for (size_t k = 0; k < axes.size(); ++k) {
      int64_t a = axes[k];
      if (a < -rank || a >= rank) fail(str("axis ", a, " is out of range for rank ", rank));
      if (a < 0) a += rank;
      const int64_t dim = dims[a], size = sizes[k];
      if (is_symbolic(dim)) fail(str("the size of axis ", a, " must be known at import"));
      if (size < 0) fail(str("the target size ", size, " is negative"));
      if (size < dim) {
        starts.push_back((dim - size) / 2);
        ends.push_back((dim - size) / 2 + size);
        cut_axes.push_back(a);
      } else if (size > dim) {
        pads[a] = (size - dim) / 2;
        pads[a + rank] = size - dim - pads[a];
      }
    }
    const bool grows = std::any_of(pads.begin(), pads.end(), [](int64_t p) { return p != 0; });
    std::string v = x;
    if (!cut_axes.empty())
      v = emit_part(node, "Slice",
                    {x, add_int64s(starts, y + "/starts"), add_int64s(ends, y + "/ends"),
                     add_int64s(cut_axes, y + "/axes")},
                    "cropped", grows ? "" : y);
    if (grows)
      emit_part(node, "Pad", {v, add_int64s(pads, y + "/pads")}, "padded", y);
    else if (cut_axes.empty())
      emit_part(node, "Identity", {x}, "same", y);
  }

  // A node `op` over `inputs` giving one new value named after `base` and `what` (or
  // `output`), emitted; its name.
  std::string emit_part(const Node& whole, const char* op, std::vector<std::string> inputs,
                        const char* what, const std::string& output = "",
                        std::map<std::string, Attribute> attrs = {}) {
    Node n = part_node(whole, op, std::move(inputs), what, output, std::move(attrs));
    emit(n);
    return n.outputs[0];
  }

  // A node of `whole`'s expansion, named after it and `what`, writing `output` or a new value.
  Node part_node(const Node& whole, const char* op, std::vector<std::string> inputs,
                 const char* what, const std::string& output,
                 std::map<std::string, Attribute> attrs) {
    Node n;
    n.op_type = op;
    n.name = whole.name + "/" + what;
    n.inputs = std::move(inputs);
    n.outputs = {output.empty() ? unique(whole.outputs[0] + "/" + what) : output};
    n.attrs = std::move(attrs);
    return n;
  }

  // NegativeLogLikelihoodLoss(input [N, C, d...], target [N, d...], weight [C]?) and
  // SoftmaxCrossEntropyLoss (the same on LogSoftmax of the scores, which it may also
  // return), as the ops they are made of (so they train too): each element's loss is
  // -input[n, target, d...] times weight[target] (0 where target is ignore_index), then none,
  // sum, or mean (the sum over the sum of the weights).
  void emit_class_loss(const Node& node) {
    const bool softmax = node.op_type == "SoftmaxCrossEntropyLoss";
    if (node.inputs.size() < 2 || node.inputs.size() > 3) fail("takes 2 or 3 inputs");
    if (node.outputs.size() > (softmax ? 2u : 1u)) fail("has too many outputs");
    const std::string reduction = node.attr_string("reduction", "mean");
    if (reduction != "none" && reduction != "sum" && reduction != "mean")
      fail("reduction must be none, sum or mean, got '" + reduction + "'");
    const std::string& scores = node.inputs[0];
    const std::string target = node.inputs[1];
    const int rank = this->rank(scores);
    if (rank < 2) fail("the input must have rank >= 2 ([N, C, ...])");
    const std::vector<int64_t> dims = symbolic_shape(scores);
    const int64_t classes = dims[1];
    if (is_symbolic(classes) || classes <= 0) fail("the number of classes (dim 1) must be known");
    std::string input = scores;
    if (softmax) {
      const bool wants_log_prob = node.outputs.size() == 2 && !node.outputs[1].empty();
      input = emit_part(node, "LogSoftmax", {scores}, "log_prob",
                        wants_log_prob ? node.outputs[1] : "", {{"axis", Attribute::of_int(1)}});
    }
    // The one-hot of each target over the classes, [N, C, d...]; an ignored target selects
    // no class.
    std::vector<int64_t> class_shape(rank, 1), ids(classes);
    class_shape[1] = classes;
    for (int64_t c = 0; c < classes; ++c) ids[c] = c;
    Tensor class_ids = Tensor::empty(class_shape, DType::Int64);
    std::copy(ids.begin(), ids.end(), class_ids.data<int64_t>());
    const std::string unit = add_int64s({1}, node.outputs[0] + "/class_axis");
    const std::string expanded = emit_part(node, "Unsqueeze", {target, unit}, "target_per_class");
    const std::string hits =
        emit_part(node, "Equal", {expanded, add_constant(class_ids, node.outputs[0] + "/classes")},
                  "one_hot");
    std::string one_hot = emit_part(node, "Cast", {hits}, "one_hot_float", "",
                                    {{"to", Attribute::of_int(onnx_proto::dtype::FLOAT)}});
    if (node.has_attr("ignore_index")) {  // (the ignored id may be a class too)
      Tensor ignored = Tensor::empty({}, DType::Int64);
      ignored.data<int64_t>()[0] = node.attr_int("ignore_index");
      const std::string is_ignored = emit_part(
          node, "Equal", {expanded, add_constant(ignored, node.outputs[0] + "/ignore_index")},
          "ignored");
      const std::string kept =
          emit_part(node, "Cast", {emit_part(node, "Not", {is_ignored}, "kept")}, "kept_float", "",
                    {{"to", Attribute::of_int(onnx_proto::dtype::FLOAT)}});
      one_hot = emit_part(node, "Mul", {one_hot, kept}, "one_hot_kept");
    }
    const std::string picked = emit_part(
        node, "ReduceSum", {emit_part(node, "Mul", {input, one_hot}, "picked_terms"), unit},
        "picked", "", {{"keepdims", Attribute::of_int(0)}});
    std::string loss = emit_part(node, "Neg", {picked}, "loss");
    // Each element's weight: weight[target] (a target out of range has none), 0 where ignored.
    std::string weight;
    if (node.inputs.size() == 3 && !node.inputs[2].empty()) {
      const std::string per_class =
          emit_part(node, "Reshape",
                    {node.inputs[2], add_int64s(class_shape, node.outputs[0] + "/weight_shape")},
                    "weight_per_class");
      weight = emit_part(node, "ReduceSum",
                         {emit_part(node, "Mul", {one_hot, per_class}, "weight_terms"), unit},
                         "weight", "", {{"keepdims", Attribute::of_int(0)}});
      loss = emit_part(node, "Mul", {loss, weight}, "weighted");
    } else if (node.has_attr("ignore_index") && reduction == "mean") {
      weight = emit_part(node, "ReduceSum", {one_hot, unit}, "counted", "",
                         {{"keepdims", Attribute::of_int(0)}});
    }
    const std::string& result = node.outputs[0];
    if (reduction == "none") {
      emit_part(node, "Identity", {loss}, "result", result);
    } else if (reduction == "sum" || weight.empty()) {
      emit_part(node, reduction == "sum" ? "ReduceSum" : "ReduceMean", {loss}, "result", result,
                {{"keepdims", Attribute::of_int(0)}});
    } else {
      const std::string total =
          emit_part(node, "ReduceSum", {loss}, "total", "", {{"keepdims", Attribute::of_int(0)}});
      const std::string weights = emit_part(node, "ReduceSum", {weight}, "weights", "",
                                            {{"keepdims", Attribute::of_int(0)}});
      emit_part(node, "Div", {total, weights}, "result", result);
    }
  }

  // Conv, ConvTranspose and the pooling ops over [N, C, L]: the engine's windows are 2-D or 3-D.
  bool is_1d_window(const Node& node) const {
    static const std::set<std::string> windowed{"Conv", "ConvTranspose", "MaxPool", "AveragePool"};
    if (!windowed.count(node.op_type)) return false;
    const std::string& x = node.inputs.at(0);
    if (const Tensor* t = constant(x)) return t->ndim() == 3;
    auto it = shapes_.find(x);
    return it != shapes_.end() && it->second.run[0].size() == 3;
  }

  // Runs a 1-D window op as its 2-D form over [N, C, 1, L]: Unsqueeze before (the weight
  // too, which stays the trainable one), Squeeze after, and the window attributes given a
  // unit first dimension.
  // MaxPool's Indices, when read, keep their values: with H = 1 a flat index over
  // [N, C, 1, L] is the one over [N, C, L], in either storage order.
  void emit_as_2d(Node node) {
    std::vector<std::string> results = node.outputs;
    if (results.size() > 1 && !is_read(results[1])) results.resize(1);
    node.outputs.resize(results.size());
    const std::string base = node.outputs[0];
    const std::string axes = add_int64s({2}, base + "/unit_axis");
    const size_t windowed_inputs = node.op_type.rfind("Conv", 0) == 0 ? 2 : 1;  // x (and w)
    for (size_t k = 0; k < std::min(node.inputs.size(), windowed_inputs); ++k)
      node.inputs[k] = emit_part(node, "Unsqueeze", {node.inputs[k], axes}, "to_2d",
                                 unique(node.inputs[k] + "/2d"));
    for (auto& [key, a] : node.attrs) {
      if (a.kind != Attribute::Kind::Ints) continue;
      std::vector<int64_t>& v = a.ints;
      if (key == "pads" && v.size() == 2)
        v = {0, v[0], 0, v[1]};
      else if (key == "output_padding" && v.size() == 1)
        v.insert(v.begin(), 0);
      else if ((key == "kernel_shape" || key == "strides" || key == "dilations" ||
                key == "output_shape") && v.size() == 1)
        v.insert(v.begin(), 1);
    }
    for (size_t k = 0; k < results.size(); ++k) node.outputs[k] = unique(results[k] + "/2d");
    emit(node);
    for (size_t k = 0; k < results.size(); ++k)
      emit_part(node, "Squeeze", {node.outputs[k], axes}, k ? "indices_to_1d" : "to_1d",
                results[k]);
  }

  // Dropout's mask: the engine's is float32 (1 where kept), as ONNX's before opset 10; from
  // opset 10 on ONNX's is bool, a Cast of it.
  void emit_dropout_with_mask(Node node) {
    if (opset_ < 10) return emit(node);
    const std::string mask = node.outputs[1];
    node.outputs[1] = unique(mask + "/float");
    emit(node);
    emit_part(node, "Cast", {node.outputs[1]}, "mask", mask,
              {{"to", Attribute::of_int(onnx_proto::dtype::BOOL)}});
  }

  // Equal on shape values that hold the symbolic batch size, where the answer does not
  // depend on it (exporters compare target shapes with -1).
  void fold_with_symbolic_batch(const Node& node) {
    try {
      set(node, fold_symbolic_equal(*constant(node.inputs.at(0)), *constant(node.inputs.at(1))));
    } catch (const Error& e) {
      fail(e.what());
    }
  }

  // Expand(x, shape) whose shape holds the batch size (a class token repeated over the
  // batch) becomes Where(mask, Expand(x, shape with 1 for the batch), same), where the bool
  // mask [1.., B, ..1] is taken from the first graph input, whose dim 0 is the batch: its
  // values do not matter, as both branches are the same. Standard ops, so the graph stays
  // trainable (Where passes the gradient to x) and exports as it is.
  // A symbolic target dim that x already has (Expand(x, Shape(y)) with y's dim x's) is 1
  // instead, which keeps x's dim; when no symbolic dim is left the Expand is plain.
  void expand_to_batch(const Node& node) {
    std::vector<int64_t> target = int64_values(*constant(node.inputs[1]));
    const std::vector<int64_t> x_dims = symbolic_shape(node.inputs[0]);
    for (size_t d = 0; d < target.size() && d < x_dims.size(); ++d) {
      int64_t& t = target[target.size() - 1 - d];
      if (is_symbolic(t) && t == x_dims[x_dims.size() - 1 - d]) t = 1;
    }
    const std::string base = node.outputs.at(0);
    if (std::none_of(target.begin(), target.end(), is_symbolic)) {
      Node plain = node;
      plain.inputs = {node.inputs[0],
                      add_constant(int64_tensor({int64_t(target.size())}, target), base + "/shape")};
      return emit(plain);
    }
    const auto at = std::find(target.begin(), target.end(), kSymbolicBatch);
    if (std::count_if(target.begin(), target.end(), is_symbolic) != 1 || at == target.end() ||
        inputs_.empty())
      fail("the target shape depends on the batch size, which is only known at run time");
    const int64_t k = at - target.begin();
    const std::string& source = inputs_[0].name;
    const int64_t rank = static_cast<int64_t>(shapes_.at(source).run[0].size());
    if (rank < 1) fail("the batch size comes from a scalar graph input");
    auto make = [&](const char* op, std::vector<std::string> inputs, const char* what) {
      return emit_part(node, op, std::move(inputs), what);
    };
    // [B, 1, ..., 1] from the graph input, reshaped to the target's rank with B at k.
    std::string batch = source;
    if (rank > 1) {
      std::vector<int64_t> zeros(rank - 1, 0), ones(rank - 1, 1), axes;
      for (int64_t d = 1; d < rank; ++d) axes.push_back(d);
      const Shape n{rank - 1};
      batch = make("Slice",
                   {source, add_constant(int64_tensor(n, zeros), base + "/starts"),
                    add_constant(int64_tensor(n, ones), base + "/ends"),
                    add_constant(int64_tensor(n, axes), base + "/axes")},
                   "batch_slice");
    }
    std::vector<int64_t> mask_shape(target.size(), 1);
    mask_shape[k] = -1;
    batch = make("Reshape",
                 {batch, add_constant(int64_tensor({int64_t(mask_shape.size())}, mask_shape),
                                      base + "/mask_shape")},
                 "batch_reshape");
    const std::string mask = make("Equal", {batch, batch}, "batch_mask");
    target[k] = 1;
    const std::string x =
        make("Expand",
             {node.inputs[0],
              add_constant(int64_tensor({int64_t(target.size())}, target), base + "/shape")},
             "expand");
    Node where;
    where.op_type = "Where";
    where.name = node.name;
    where.inputs = {mask, x, x};
    where.outputs = node.outputs;
    emit(where);
  }

  bool all_inputs_known(const Node& node) const {
    for (const std::string& i : node.inputs)
      if (!i.empty() && !constant(i)) return false;
    return true;
  }

  // ScatterND of known values without a reduction is folded here, which carries the
  // symbolic batch size through (a shape being edited); otherwise it is the run-time op, as
  // where it edits a weight (Swin V2 zeroes the key part of its qkv bias), which keeps
  // training the rest of the weight.
  bool folds_scatter_nd(const Node& node) const {
    return node.op_type == "ScatterND" && all_inputs_known(node) && !reads_weight(node) &&
           node.attr_string("reduction", "none") == "none";
  }

  bool reads_weight(const Node& node) const {
    for (const std::string& i : node.inputs)
      if (!i.empty() && is_weight(i)) return true;
    return false;
  }

  // True when an input from `first` on holds the symbolic batch size. The shape-arithmetic
  // ops carry it in their data (input 0, every input of Concat, Where's x and y), never in
  // their indices,
  // axes or target shapes, which must be plain numbers to fold.
  bool reads_symbolic_batch(const Node& node, size_t first) const {
    for (size_t k = first; k < node.inputs.size(); ++k)
      if (!node.inputs[k].empty() && has_symbolic_batch(*constant(node.inputs[k]))) return true;
    return false;
  }

  // Optional outputs the engine does not compute (the saved statistics of BatchNormalization
  // before opset 14) are dropped when nothing reads them.
  void drop_uncomputed_outputs(const OpDef& def, Node& node) const {
    const size_t keep = static_cast<size_t>(def.schema.max_outputs);
    // BatchNormalization's running statistics come with training_mode=1 only: unread ones
    // (the training outputs every opset < 14 node lists) go.
    if (node.op_type == "BatchNormalization")
      while (node.outputs.size() > 1 && !is_read(node.outputs.back())) node.outputs.pop_back();
    while (node.outputs.size() > keep || (!node.outputs.empty() && node.outputs.back().empty())) {
      if (!node.outputs.back().empty() && is_read(node.outputs.back()))
        fail("output '" + node.outputs.back() + "' is read but the engine does not compute it");
      node.outputs.pop_back();
    }
  }

  // An optional output left out before one that is wanted (LSTM's Y before Y_h) is still
  // computed: it gets a name of its own, which nothing reads.
  void name_skipped_outputs(Node& node) {
    for (size_t k = 0; k < node.outputs.size(); ++k)
      if (node.outputs[k].empty())
        node.outputs[k] = unique(str(node.name.empty() ? node.op_type : node.name, "/unused_", k));
  }

  void fold_import_op(const Node& node) {
    const std::string& op = node.op_type;
    try {
      if (op == "Constant") {
        set(node, fold_constant(node));
      } else if (op == "ConstantOfShape") {
        const Tensor* shape = need_constant(node, 0, "the shape input");
        if (!shape) fail("the shape input is missing");
        if (has_symbolic_batch(*shape))
          fail("the shape depends on the batch size, which is only known at run time");
        set(node, fold_constant_of_shape(node, *shape));
      } else if (op == "Shape") {
        set(node, shape_of(node));
      } else if (op == "Cast") {
        fold_cast_node(node);
      } else if (op == "IsNaN" || op == "IsInf") {
        emit_float_class(node);
      } else if (op == "LpNormalization") {
        emit_lp_normalization(node);
      } else if (op == "LpPool") {
        emit_lp_pool(node);
      } else if (op == "GlobalMaxPool") {
        emit_global_max_pool(node);
      } else if (op == "Hardmax") {
        emit_hardmax(node);
      } else if (op == "Einsum") {
        emit_einsum(node);
      } else if (op == "RMSNormalization") {
        emit_rms_normalization(node);
      } else if (op == "Attention") {
        emit_attention(node, *this);
      } else if (op == "RotaryEmbedding") {
        emit_rotary_embedding(node, *this);
      } else if (op == "LinearAttention") {
        emit_linear_attention(node, *this);
      } else if (op == "AffineGrid") {
        emit_affine_grid(node, *this);
      } else if (op == "NegativeLogLikelihoodLoss" || op == "SoftmaxCrossEntropyLoss") {
        emit_class_loss(node);
      } else if (op == "Mean") {
        emit_mean(node);
      } else if (op == "PRelu") {
        emit_prelu(node);
      } else if (op == "EyeLike") {
        fold_eye_like(node);
      } else if (op == "DepthToSpace" || op == "SpaceToDepth") {
        emit_depth_space(node);
      } else if (op == "MeanVarianceNormalization") {
        emit_mean_variance_normalization(node);
      } else if (op == "InstanceNormalization" || op == "GroupNormalization") {
        emit_instance_group_normalization(node);
      } else if (op == "CenterCropPad") {
        emit_center_crop_pad(node);
      } else if (op == "CastLike") {  // Cast to the type of its second input
        const std::string& like = node.inputs.at(1);
        const Tensor* t = constant(like);
        const DType dtype = t ? t->dtype() : shapes_.at(like).dtype;
        Node cast = node;
        cast.op_type = "Cast";
        cast.inputs.resize(1);
        cast.attrs.erase("saturate");
        cast.attrs["to"] = Attribute::of_int(dtype == DType::Float32 ? onnx_proto::dtype::FLOAT
                                             : dtype == DType::Int64 ? onnx_proto::dtype::INT64
                                                                     : onnx_proto::dtype::BOOL);
        fold_cast_node(cast);
      } else if (op == "Range") {
        const Tensor* start = need_constant(node, 0, "start");
        const Tensor* limit = need_constant(node, 1, "limit");
        const Tensor* delta = need_constant(node, 2, "delta");
        if (!start || !limit || !delta) fail("takes 3 inputs");
        set(node, fold_range(*start, *limit, *delta));
      } else if (op == "ScatterND") {
        const Tensor* data = need_constant(node, 0, "data");
        const Tensor* indices = need_constant(node, 1, "indices");
        const Tensor* updates = need_constant(node, 2, "updates");
        if (!data || !indices || !updates) fail("takes 3 inputs");
        set(node, fold_scatter_nd(node, *data, *indices, *updates));
      }
    } catch (const Error& e) {
      const std::string prefix = "ONNX import of ";
      if (std::string(e.what()).compare(0, prefix.size(), prefix) == 0) throw;
      fail(e.what());
    }
  }

  Tensor shape_of(const Node& node) const {
    const std::vector<int64_t> dims = symbolic_shape(node.inputs.at(0));
    const int64_t rank = static_cast<int64_t>(dims.size());
    auto clamp = [&](int64_t v) { return std::clamp(v < 0 ? v + rank : v, int64_t{0}, rank); };
    const int64_t start = clamp(node.attr_int("start", 0));
    const int64_t end = clamp(node.attr_int("end", rank));
    std::vector<int64_t> part(dims.begin() + start, dims.begin() + std::max(start, end));
    return int64_tensor({static_cast<int64_t>(part.size())}, part);
  }

  // A value's shape with kSymbolicBatch for the dim that follows the batch, and
  // kSymbolicDerived for a dim that changes with it otherwise (the batch times the heads).
  std::vector<int64_t> symbolic_shape(const std::string& name) const override {
    if (const Tensor* t = constant(name)) return t->shape();
    auto it = shapes_.find(name);
    if (it == shapes_.end()) fail("the shape of '" + name + "' is unknown");
    const ValueShape& s = it->second;
    std::vector<int64_t> dims = s.run[0];
    for (size_t d = 0; runs_ > 1 && d < dims.size(); ++d) {
      if (s.run[0][d] == s.run[1][d]) continue;
      dims[d] = s.run[0][d] == batch_ && s.run[1][d] == batch_ + 1 ? kSymbolicBatch
                                                                    : kSymbolicDerived;
    }
    return dims;
  }

  void fold_cast_node(const Node& node) {
    if (const Tensor* x = constant(node.inputs.at(0))) return set(node, fold_cast(node, *x));
    auto it = shapes_.find(node.inputs[0]);
    if (it != shapes_.end() && cast_keeps(node, it->second.dtype)) {
      alias_[node.outputs.at(0)] = node.inputs[0];
      return;
    }
    // Else the engine's Cast converts it when the graph runs, into the type that holds the
    // target's values (int32 in int64, float64 in float32).
    Node cast = node;
    cast.domain.clear();
    cast.attrs.erase("saturate");
    const int32_t holder = onnx_proto::computing_type(node.attr_int("to", 0));
    if (holder != onnx_proto::dtype::UNDEFINED) cast.attrs["to"] = Attribute::of_int(holder);
    emit(cast);
  }

  void fold_engine_op(const Node& node) {
    std::vector<Tensor> inputs;
    for (const std::string& i : node.inputs) inputs.push_back(i.empty() ? Tensor() : *constant(i));
    const bool arithmetic = node.op_type == "Add" || node.op_type == "Sub" ||
                            node.op_type == "Mul" || node.op_type == "Div";
    try {
      if (arithmetic && inputs.at(0).dtype() != inputs.at(1).dtype())
        fail("the operands differ in type");
      if (arithmetic && inputs[0].dtype() == DType::Int64)
        return set(node, fold_int64_binary(node.op_type, inputs[0], inputs[1]));
      OpCall call;
      call.op_type = node.op_type;
      call.attrs = node.attrs;
      call.num_outputs = static_cast<int>(node.outputs.size());
      const std::vector<Tensor> outputs = run_op(call, inputs).outputs;
      for (size_t k = 0; k < node.outputs.size() && k < outputs.size(); ++k)
        consts_[node.outputs[k]] = outputs[k];
    } catch (const Error& e) {
      const std::string prefix = "ONNX import of ";
      if (std::string(e.what()).compare(0, prefix.size(), prefix) == 0) throw;
      fail(e.what());
    }
  }

  void emit(const Node& node) {
    infer(node);
    out_.push_back(node);
  }

  // Plans the node at each batch size: an error the first time; a graph that cannot run at
  // the second size keeps the batch size its inputs declare.
  void infer(const Node& node) {
    const OpDef& def = get_op(node.domain, node.op_type);
    Node checked;
    try {
      checked = checked_node(def, node);
    } catch (const Error& e) {
      fail(e.what());
    }
    for (int r = 0; r < runs_; ++r) {
      const std::vector<ValueDesc> in = input_descs(node, r);
      std::vector<ValueDesc> out;
      try {
        out = plan_node(*def.make(checked), in, PlanOptions{});
      } catch (const Error& e) {
        if (r == 0) fail_model(e.what());
        runs_ = 1;
        break;
      }
      if (out.size() != node.outputs.size())
        fail(str("produces ", out.size(), " outputs, the node names ", node.outputs.size()));
      for (size_t k = 0; k < out.size(); ++k) {
        ValueShape& s = shapes_[node.outputs[k]];
        s.dtype = out[k].dtype;
        s.run[r] = out[k].shape;
      }
    }
  }

  // What planning a node sees of its inputs at batch-size run r.
  std::vector<ValueDesc> input_descs(const Node& node, int r) const {
    std::vector<ValueDesc> in;
    for (const std::string& i : node.inputs) {
      if (i.empty()) {
        in.push_back({DType::Float32, {}, nullptr, false});
      } else if (const Tensor* t = constant(i)) {
        in.push_back({t->dtype(), t->shape(), t, true});
      } else {
        const ValueShape& s = shapes_.at(i);
        in.push_back({s.dtype, s.run[r], nullptr, true});
      }
    }
    return in;
  }

  // The inputs (a bit mask) that, converted from int64 or bool to float32, let a node plan
  // whose op has no kernel for them (Max of integers, Pow with an integer exponent, Pad of
  // int32 values, ReduceMax of bools): the fewest such inputs, 0 when none is needed or
  // none helps.
  unsigned inputs_to_compute_in_float(const Node& node) const {
    const std::vector<ValueDesc> in = input_descs(node, 0);
    unsigned candidates = 0;
    for (size_t k = 0; k < in.size() && k < 8; ++k)
      if (in[k].present && (in[k].dtype == DType::Int64 || in[k].dtype == DType::Bool))
        candidates |= 1u << k;
    if (!candidates) return 0;
    const OpDef& def = get_op(node.domain, node.op_type);
    auto plans_with = [&](unsigned converted) {
      std::vector<ValueDesc> descs = in;
      for (size_t k = 0; k < descs.size(); ++k) {
        if (!(converted >> k & 1u)) continue;
        descs[k].dtype = DType::Float32;
        descs[k].constant = nullptr;
      }
      try {
        plan_node(*def.make(checked_node(def, node)), descs, PlanOptions{});
        return true;
      } catch (const Error& e) {
        if (!converted && e.kind() != ErrorKind::Type) throw;  // another problem: report it
        return false;
      }
    };
    try {
      if (plans_with(0)) return 0;
    } catch (const Error&) {
      return 0;  // emit() reports it
    }
    for (int count = 1; count <= __builtin_popcount(candidates); ++count)
      for (unsigned mask = candidates; mask; mask = (mask - 1) & candidates)
        if (__builtin_popcount(mask) == count && plans_with(mask)) return mask;
    return 0;
  }

  // The node on float32 copies of the inputs in `converted`. When its first input was one of
  // them, its outputs go back to that input's type, as ONNX types these ops' outputs after
  // it: integer arithmetic (exact below 2^24, the quotient of Div truncated as ONNX's
  // integer Div is), Pow of an integer base, any/all of bools.
  void translate_in_float(Node node, unsigned converted, bool fold) {
    DType first = DType::Float32;
    if (converted & 1u) {
      const Tensor* t = constant(node.inputs[0]);
      first = t ? t->dtype() : shapes_.at(node.inputs[0]).dtype;
    }
    for (size_t k = 0; k < node.inputs.size(); ++k)
      if (converted >> k & 1u)
        node.inputs[k] = cast_value(node.inputs[k], DType::Float32, node.name);
    const bool back = first != DType::Float32;
    std::vector<std::string> results = node.outputs;
    if (back)
      for (std::string& o : node.outputs) o = unique(o + "/float");
    if (fold)
      fold_engine_op(node);
    else
      emit(node);
    if (!back) return;
    for (size_t k = 0; k < results.size(); ++k) {
      const std::string cast = cast_value(node.outputs[k], first, node.name);
      if (const Tensor* v = constant(cast)) consts_[results[k]] = *v;
      else alias_[results[k]] = cast;
    }
  }

  // `name` converted to `dtype` (a constant converted now, else a Cast node); the new name.
  std::string cast_value(const std::string& name, DType dtype, const std::string& node_name) {
    Node cast;
    cast.op_type = "Cast";
    cast.name = node_name + "/cast";
    cast.inputs = {name};
    cast.outputs = {unique(name + "/as_" + dtype_name(dtype))};
    cast.attrs["to"] = Attribute::of_int(dtype == DType::Float32 ? onnx_proto::dtype::FLOAT
                                         : dtype == DType::Int64 ? onnx_proto::dtype::INT64
                                                                 : onnx_proto::dtype::BOOL);
    if (const Tensor* t = constant(name)) {
      Tensor converted = Tensor::empty(t->shape(), dtype);
      cast_forward(t->contiguous(), converted);
      consts_[cast.outputs[0]] = converted;
    } else {
      emit(cast);
    }
    return cast.outputs[0];
  }

  std::string unique(const std::string& base) {
    std::string name = base;
    for (int k = 1; names_.count(name); ++k) name = base + "_" + std::to_string(k);
    names_.insert(name);
    return name;
  }

  // ---- pass 4: build ------------------------------------------------------------------------
  OnnxImport build() {
    // Graph outputs are values of their own: a folded or renamed one is copied out.
    for (const ValueInfo& v : model_.graph.outputs) {
      const std::string value = resolve(v.name);
      if (value == v.name && !constant(value)) continue;  // computed under its own name
      label_ = "'" + v.name + "' (graph output)";
      if (const Tensor* t = constant(value))
        if (has_symbolic_batch(*t))
          fail("the value depends on the batch size, which is only known at run time");
      Node copy;
      copy.op_type = "Identity";
      copy.name = v.name;
      copy.inputs = {value == v.name ? rename_constant(value) : value};
      copy.outputs = {v.name};
      emit(copy);
    }

    OnnxImport result;
    result.opset = opset_;
    result.fixed_batch = runs_ == 1 && !inputs_.empty();
    Graph& g = result.graph;
    for (ValueInfo v : inputs_) {
      if (!v.shape.empty() && !result.fixed_batch) v.shape[0] = -1;
      g.inputs.push_back(v);
    }
    g.nodes = out_;
    for (const Node& n : out_)
      for (const std::string& i : n.inputs) {
        const Tensor* t = i.empty() ? nullptr : constant(i);
        if (!t || g.initializers.count(i)) continue;
        if (has_symbolic_batch(*t))
          fail_model("value '" + i +
                     "' depends on the batch size, which is only known at run time");
        g.initializers[i] = *t;
        if (weights_.count(i)) {
          result.weights.insert(i);
          if (!frozen_.count(i)) g.trainable.insert(i);
        }
      }
    for (const ValueInfo& v : model_.graph.outputs) {
      ValueInfo out = v;
      auto it = shapes_.find(v.name);
      if (it != shapes_.end()) {
        out.dtype = it->second.dtype;
        out.shape = it->second.run[0];
        for (size_t d = 0; runs_ > 1 && d < out.shape.size(); ++d)
          if (it->second.run[1][d] != out.shape[d]) out.shape[d] = -1;
      } else {  // a graph input returned as it is
        for (const ValueInfo& i : g.inputs)
          if (i.name == v.name) out = i;
      }
      g.outputs.push_back(out);
      result.output_shapes.push_back(out.shape);
    }
    return result;
  }

  // A folded graph output that kept its name moves its value under a new name, so the
  // Identity copying it out can produce the output's own name.
  std::string rename_constant(const std::string& name) {
    const Tensor value = *constant(name);
    consts_.erase(name);
    return add_constant(value, name + "/value");
  }

  struct ValueShape {
    DType dtype = DType::Float32;
    Shape run[kRuns];
  };

  const OnnxModel& model_;
  std::string source_;
  int64_t opset_ = 0;
  std::vector<Node> nodes_;               // topologically sorted
  std::vector<size_t> file_index_;        // each sorted node's position in the file
  std::string label_;                     // the node being translated, for messages
  std::vector<ValueInfo> inputs_;         // graph inputs that are not initializers
  std::map<std::string, Tensor> inits_;   // the file's initializers
  std::map<std::string, Tensor> consts_;  // folded values and constants added by translation
  std::set<std::string> weights_;         // float initializers and added weights
  std::set<std::string> frozen_;
  std::map<std::string, std::string> alias_;  // a value that equals another (Identity, Cast)
  std::set<std::string> read_;                // values some node or graph output reads
  std::set<std::string> names_;               // every value name, for unique new ones
  std::vector<Node> out_;
  std::map<std::string, ValueShape> shapes_;
  int runs_;  // batch sizes planned: kRuns, or 1 where the input shapes are exact
  int64_t batch_ = 1;  // the batch size of run 0; run 1 uses batch_ + 1
};

}  // namespace

OnnxImport onnx_import(const OnnxModel& model, const std::string& source, bool exact_shapes) {
  return Importer(model, source, exact_shapes ? 1 : kRuns).run();
}

OnnxImport onnx_load(const std::string& path) { return onnx_import(onnx_read(path), path); }

}  // namespace engine
