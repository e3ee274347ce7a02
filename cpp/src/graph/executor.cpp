// Executor: validates a graph once, plans it per input shapes and mode (shape inference,
// buffers, gradient routing), caches a few plans, and runs forward and backward passes on
// the planned buffers, so a step after the first allocates no activation or gradient
// memory.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <deque>

#include "engine/engine.h"
#include "engine/graph.h"
#include "graph/node_op.h"
#include "optim/optimizer.h"

namespace engine {

namespace {

// What a plan computes gradients for.
enum class GradKind { None, Parameters, ParametersAndInputs };

constexpr size_t kMaxCachedPlans = 4;

void add_into(Tensor& acc, const Tensor& part) {
  float* a = acc.data<float>();
  const float* p = part.data<float>();
  for (int64_t i = 0, n = acc.numel(); i < n; ++i) a[i] += p[i];
}

}  // namespace

// Inference and training both profit from running a Relu inside the epilogue of the
// Conv or Gemm that feeds it: one pass over the activations instead of two. The pair is
// fused when the Relu is the only reader of the producer's output and that output is not
// a graph output; the producer then writes the Relu's output and carries the internal
// attribute kFusedActivation (never exported: the executor works on a private copy).
std::vector<Node> fuse_activations(const Graph& graph) {
  std::vector<Node> nodes = graph.nodes;
  std::map<std::string, int> readers;
  for (const Node& n : nodes)
    for (const std::string& in : n.inputs) ++readers[in];
  for (const ValueInfo& v : graph.outputs) ++readers[v.name];
  std::map<std::string, size_t> producer;
  for (size_t i = 0; i < nodes.size(); ++i)
    for (const std::string& o : nodes[i].outputs) producer.emplace(o, i);
  std::vector<char> removed(nodes.size(), 0);
  for (size_t r = 0; r < nodes.size(); ++r) {
    Node& relu = nodes[r];
    if (relu.op_type != "Relu" || !relu.domain.empty() || relu.inputs.size() != 1 ||
        relu.outputs.size() != 1)
      continue;
    auto it = producer.find(relu.inputs[0]);
    if (it == producer.end() || readers[relu.inputs[0]] != 1) continue;
    Node& p = nodes[it->second];
    if ((p.op_type != "Conv" && p.op_type != "Gemm") || !p.domain.empty() ||
        p.outputs.size() != 1 || p.has_attr(kFusedActivation))
      continue;
    p.outputs[0] = relu.outputs[0];
    p.attrs[kFusedActivation] = Attribute::of_string("Relu");
    producer[relu.outputs[0]] = it->second;
    removed[r] = 1;
  }
  std::vector<Node> kept;
  for (size_t i = 0; i < nodes.size(); ++i)
    if (!removed[i]) kept.push_back(std::move(nodes[i]));
  return kept;
}

struct Executor::Impl {
  std::shared_ptr<Graph> graph;
  std::vector<Node> nodes;  // the graph's nodes after fusion
  std::vector<std::string> value_names;           // by value id
  std::map<std::string, int> value_ids;
  std::vector<int> input_ids, output_ids;
  std::vector<size_t> order;                      // node indices, topologically sorted
  std::vector<std::vector<int>> node_inputs;      // by node index; -1 = omitted
  std::vector<std::vector<int>> node_outputs;
  std::vector<NodeOpFactory> factories;           // by node index
  ExecutorStats stats;
  uint64_t step = 0;
  std::shared_ptr<Optimizer> optimizer;
  std::vector<std::string> optimized;  // parameter names, in the optimizer's order

  struct Plan {
    Mode mode;
    GradKind grads_for;
    std::vector<Shape> input_shapes;
    std::vector<std::unique_ptr<NodeOp>> ops;  // by position in `order`; null: skipped
    // The values each position reads and writes: the graph's, except where this plan
    // folded nodes together (inference folds BatchNormalization into the Conv before it).
    std::vector<std::vector<int>> ins, outs;
    std::vector<Tensor> values;                // by value id
    std::vector<Tensor> grads;                 // by value id; undefined: no gradient
    std::vector<char> grad_written;            // reset every backward pass
    // Per order position and input slot: a private buffer when the value fans out, so
    // each consumer's contribution is summed instead of overwritten.
    std::vector<std::vector<Tensor>> slot_scratch;
    Tensor ones;  // the gradient seed of a scalar loss
  };
  std::deque<std::unique_ptr<Plan>> plans;  // most recently used first

  void validate();
  Plan& get_plan(const std::vector<Tensor>& inputs, Mode mode, GradKind grads_for);
  std::unique_ptr<Plan> build_plan(const std::vector<Tensor>& inputs, Mode mode,
                                   GradKind grads_for);
  void forward(Plan& p, const std::vector<Tensor>& inputs, const RunContext& ctx);
  static void commit(Plan& p) {
    for (auto& op : p.ops)
      if (op) op->commit();
  }
  std::map<size_t, std::pair<size_t, long>> fold_batch_norms(Plan& p) const;
  void backward(Plan& p, int seed_id, const Tensor& seed, const RunContext& ctx);
  std::vector<Tensor> checked_inputs(const std::vector<Tensor>& inputs) const;
};

void Executor::Impl::validate() {
  std::vector<std::string> problems;
  auto define = [&](const std::string& name, const std::string& what) {
    if (name.empty()) {
      problems.push_back(what + " has an empty name");
      return;
    }
    if (value_ids.count(name)) {
      problems.push_back("duplicate value name '" + name + "' (" + what + ")");
      return;
    }
    value_ids[name] = static_cast<int>(value_names.size());
    value_names.push_back(name);
  };
  for (const ValueInfo& v : graph->inputs) define(v.name, "graph input");
  for (const auto& kv : graph->initializers) {
    if (!kv.second.defined()) problems.push_back("initializer '" + kv.first + "' has no data");
    define(kv.first, "initializer");
  }
  for (const std::string& t : graph->trainable)
    if (!graph->initializers.count(t))
      problems.push_back("trainable '" + t + "' is not an initializer");
  nodes = fuse_activations(*graph);
  stats.fused_activations = static_cast<int64_t>(graph->nodes.size() - nodes.size());
  std::set<std::string> unsupported;
  for (const Node& n : nodes) {
    for (const std::string& o : n.outputs) define(o, "output of " + n.label());
    NodeOpFactory f = find_node_op(n.domain, n.op_type);
    if (!f) unsupported.insert((n.domain.empty() ? "" : n.domain + ".") + n.op_type + " (node '" +
                               n.name + "')");
    factories.push_back(f);
  }
  for (const std::string& u : unsupported) problems.push_back("unsupported op " + u);

  const size_t n_nodes = nodes.size();
  node_inputs.resize(n_nodes);
  node_outputs.resize(n_nodes);
  std::vector<int> producer(value_names.size(), -1);
  for (size_t i = 0; i < n_nodes; ++i)
    for (const std::string& o : nodes[i].outputs) {
      auto it = value_ids.find(o);
      if (it != value_ids.end() && producer[it->second] < 0) {
        producer[it->second] = static_cast<int>(i);
        node_outputs[i].push_back(it->second);
      }
    }
  for (size_t i = 0; i < n_nodes; ++i) {
    for (const std::string& in : nodes[i].inputs) {
      if (in.empty()) {
        node_inputs[i].push_back(-1);
        continue;
      }
      auto it = value_ids.find(in);
      if (it == value_ids.end()) {
        problems.push_back(nodes[i].label() + " reads '" + in + "', which nothing defines");
        node_inputs[i].push_back(-1);
      } else {
        node_inputs[i].push_back(it->second);
      }
    }
  }
  for (const ValueInfo& v : graph->outputs) {
    auto it = value_ids.find(v.name);
    if (it == value_ids.end())
      problems.push_back("graph output '" + v.name + "' is never computed");
    else
      output_ids.push_back(it->second);
  }
  for (const ValueInfo& v : graph->inputs) input_ids.push_back(value_ids.count(v.name) ? value_ids[v.name] : -1);

  // Kahn's algorithm; nodes left over sit on a cycle.
  if (problems.empty()) {
    std::vector<int> pending(n_nodes, 0);
    std::vector<std::vector<size_t>> consumers(value_names.size());
    for (size_t i = 0; i < n_nodes; ++i)
      for (int v : node_inputs[i])
        if (v >= 0 && producer[v] >= 0) {
          ++pending[i];
          consumers[v].push_back(i);
        }
    std::deque<size_t> ready;
    for (size_t i = 0; i < n_nodes; ++i)
      if (pending[i] == 0) ready.push_back(i);
    while (!ready.empty()) {
      size_t i = ready.front();
      ready.pop_front();
      order.push_back(i);
      for (int v : node_outputs[i])
        for (size_t c : consumers[v])
          if (--pending[c] == 0) ready.push_back(c);
    }
    if (order.size() != n_nodes) {
      std::string cyc;
      for (size_t i = 0; i < n_nodes; ++i)
        if (pending[i] > 0) cyc += (cyc.empty() ? "" : ", ") + nodes[i].label();
      problems.push_back("the graph has a cycle through " + cyc);
    }
  }
  // Creating each node's op checks its attributes.
  if (problems.empty()) {
    for (size_t i = 0; i < n_nodes; ++i) {
      try {
        factories[i](nodes[i]);
      } catch (const Error& e) {
        problems.push_back(e.what());
      }
    }
  }
  if (!problems.empty()) {
    std::string msg = "invalid graph (" + std::to_string(problems.size()) + " problem" +
                      (problems.size() > 1 ? "s" : "") + "):";
    for (const std::string& p : problems) msg += "\n  - " + p;
    fail(ErrorKind::Value, msg);
  }
}

std::vector<Tensor> Executor::Impl::checked_inputs(const std::vector<Tensor>& inputs) const {
  ENGINE_CHECK(inputs.size() == graph->inputs.size(), "the model takes ", graph->inputs.size(),
               " input(s), got ", inputs.size());
  std::vector<Tensor> out;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const ValueInfo& info = graph->inputs[i];
    const Tensor& t = inputs[i];
    ENGINE_CHECK(t.defined(), "input '", info.name, "' is missing");
    ENGINE_CHECK_TYPE(t.dtype() == info.dtype, "input '", info.name, "' must be ",
                      dtype_name(info.dtype), ", got ", dtype_name(t.dtype()));
    bool ok = t.ndim() == static_cast<int>(info.shape.size());
    for (size_t d = 0; ok && d < info.shape.size(); ++d)
      ok = info.shape[d] < 0 || info.shape[d] == t.shape()[d];
    ENGINE_CHECK(ok, "input '", info.name, "' expects shape ", shape_str(info.shape),
                 " (-1: any size), got ", shape_str(t.shape()));
    out.push_back(t.contiguous());
  }
  return out;
}

// Inference only: a BatchNormalization reading nothing but a Conv's output becomes part of
// that Conv (weights and bias rescaled per channel at run time from the live parameters),
// and a Relu reading nothing but the BatchNormalization's output joins the epilogue. The
// folded nodes' positions are left with no inputs and outputs.
std::map<size_t, std::pair<size_t, long>> Executor::Impl::fold_batch_norms(Plan& p) const {
  std::vector<int> readers(value_names.size(), 0);
  std::vector<size_t> reader_pos(value_names.size(), 0);
  for (size_t pos = 0; pos < order.size(); ++pos)
    for (int v : p.ins[pos])
      if (v >= 0) {
        ++readers[v];
        reader_pos[v] = pos;
      }
  for (int v : output_ids) readers[v] += 2;  // a graph output must stay a value of its own
  auto sole_reader = [&](int v, const char* op_type) -> long {
    if (readers[v] != 1) return -1;
    const Node& n = nodes[order[reader_pos[v]]];
    if (n.op_type != op_type || !n.domain.empty() || p.ins[reader_pos[v]].empty()) return -1;
    return static_cast<long>(reader_pos[v]);
  };
  std::map<size_t, std::pair<size_t, long>> folds;
  for (size_t pos = 0; pos < order.size(); ++pos) {
    const Node& conv = nodes[order[pos]];
    if (conv.op_type != "Conv" || !conv.domain.empty() || has_fused_relu(conv) ||
        p.outs[pos].size() != 1)
      continue;
    const long bn = sole_reader(p.outs[pos][0], "BatchNormalization");
    if (bn < 0 || p.ins[bn][0] != p.outs[pos][0] || p.outs[bn].size() != 1) continue;
    const long relu = sole_reader(p.outs[bn][0], "Relu");
    std::vector<int> ins = p.ins[pos];
    ins.resize(3, -1);  // X, W, and B or nothing
    ins.insert(ins.end(), p.ins[bn].begin() + 1, p.ins[bn].end());
    p.ins[pos] = ins;
    p.outs[pos] = relu >= 0 ? p.outs[relu] : p.outs[bn];
    for (long gone : {bn, relu})
      if (gone >= 0) {
        p.ins[gone].clear();
        p.outs[gone].clear();
      }
    folds[pos] = {static_cast<size_t>(bn), relu};
  }
  return folds;
}

std::unique_ptr<Executor::Impl::Plan> Executor::Impl::build_plan(const std::vector<Tensor>& inputs,
                                                                 Mode mode, GradKind grads_for) {
  auto p = std::make_unique<Plan>();
  p->mode = mode;
  p->grads_for = grads_for;
  for (const Tensor& t : inputs) p->input_shapes.push_back(t.shape());
  const size_t n_values = value_names.size();
  std::vector<ValueDesc> desc(n_values);
  std::vector<char> known(n_values, 0);
  for (size_t i = 0; i < inputs.size(); ++i) {
    desc[input_ids[i]] = {inputs[i].dtype(), inputs[i].shape(), nullptr};
    known[input_ids[i]] = 1;
  }
  for (const auto& kv : graph->initializers) {
    int id = value_ids.at(kv.first);
    desc[id] = {kv.second.dtype(), kv.second.shape(), &kv.second};
    known[id] = 1;
  }
  p->values.resize(n_values);
  int64_t planned = 0;
  for (size_t pos = 0; pos < order.size(); ++pos) {
    p->ins.push_back(node_inputs[order[pos]]);
    p->outs.push_back(node_outputs[order[pos]]);
  }
  // position -> (BatchNormalization position, Relu position or -1) folded into its Conv
  std::map<size_t, std::pair<size_t, long>> folds;
  if (grads_for == GradKind::None && mode == Mode::Inference) folds = fold_batch_norms(*p);
  // Inference plans share memory between values whose lifetimes do not overlap: a value's
  // buffer returns to the pool after its last reader ran (graph outputs never do).
  // Training plans keep every value, since backward reads them.
  const bool reuse = grads_for == GradKind::None;
  std::vector<size_t> last_use(n_values, 0);
  for (size_t pos = 0; pos < order.size(); ++pos)
    for (int v : p->ins[pos])
      if (v >= 0) last_use[v] = pos;
  for (int v : output_ids) last_use[v] = order.size();
  std::vector<std::shared_ptr<Storage>> pool;
  std::vector<char> released(n_values, 0);
  auto buffer_for = [&](const Shape& shape, DType dtype) {
    const size_t bytes = static_cast<size_t>(shape_numel(shape)) * dtype_size(dtype);
    auto best = pool.end();
    for (auto it = pool.begin(); it != pool.end(); ++it)
      if ((*it)->nbytes() >= bytes && (best == pool.end() || (*it)->nbytes() < (*best)->nbytes()))
        best = it;
    std::shared_ptr<Storage> storage;
    if (best != pool.end()) {
      storage = *best;
      pool.erase(best);
    } else {
      storage = Storage::allocate(bytes);
      planned += static_cast<int64_t>(bytes);
      ++stats.buffer_allocations;
    }
    return Tensor::from_storage(storage, 0, shape, contiguous_strides(shape), dtype);
  };
  auto release = [&](int v, size_t pos) {
    if (reuse && v >= 0 && !released[v] && p->values[v].defined() && last_use[v] <= pos) {
      released[v] = 1;
      pool.push_back(p->values[v].storage());
    }
  };
  for (size_t pos = 0; pos < order.size(); ++pos) {
    const size_t ni = order[pos];
    if (p->ins[pos].empty() && p->outs[pos].empty()) {  // folded into an earlier node
      p->ops.push_back(nullptr);
      continue;
    }
    auto fold = folds.find(pos);
    auto op = fold == folds.end()
                  ? factories[ni](nodes[ni])
                  : make_conv_batch_norm_node(nodes[ni], nodes[order[fold->second.first]],
                                              fold->second.second >= 0);
    std::vector<ValueDesc> in;
    for (int v : p->ins[pos]) in.push_back(v >= 0 ? desc[v] : ValueDesc{DType::Float32, {}, nullptr, false});
    std::vector<ValueDesc> out = op->plan(in, mode);
    ENGINE_CHECK(out.size() == p->outs[pos].size(), nodes[ni].label(), ": produces ",
                 out.size(), " outputs, the graph names ", p->outs[pos].size());
    for (size_t k = 0; k < out.size(); ++k) {
      const int v = p->outs[pos][k];
      desc[v] = {out[k].dtype, out[k].shape, nullptr};
      known[v] = 1;
      p->values[v] = buffer_for(out[k].shape, out[k].dtype);
    }
    // After this node's outputs have their buffers, so an output never aliases an input.
    for (int v : p->ins[pos]) release(v, pos);
    for (int v : p->outs[pos]) release(v, pos);
    p->ops.push_back(std::move(op));
  }
  stats.folded_batch_norms = static_cast<int64_t>(folds.size());

  if (grads_for != GradKind::None) {
    // A value needs a gradient when a trainable parameter (or, on request, a graph input)
    // lies upstream of it through differentiable inputs.
    std::vector<char> needs(n_values, 0);
    for (const std::string& t : graph->trainable) needs[value_ids.at(t)] = 1;
    if (grads_for == GradKind::ParametersAndInputs)
      for (int id : input_ids)
        if (desc[id].dtype == DType::Float32) needs[id] = 1;
    std::vector<int> uses(n_values, 0);
    for (size_t pos = 0; pos < order.size(); ++pos) {
      const size_t ni = order[pos];
      bool any = false;
      for (size_t s = 0; s < node_inputs[ni].size(); ++s) {
        const int v = node_inputs[ni][s];
        if (v >= 0 && needs[v] && p->ops[pos]->differentiable_input(s)) {
          any = true;
          ++uses[v];
        }
      }
      if (any)
        for (int v : node_outputs[ni])
          if (desc[v].dtype == DType::Float32) needs[v] = 1;
    }
    p->grads.resize(n_values);
    p->grad_written.assign(n_values, 0);
    p->slot_scratch.resize(order.size());
    for (size_t v = 0; v < n_values; ++v) {
      if (!needs[v]) continue;
      p->grads[v] = Tensor::empty(desc[v].shape, DType::Float32);
      planned += static_cast<int64_t>(p->grads[v].nbytes());
      ++stats.buffer_allocations;
    }
    for (size_t pos = 0; pos < order.size(); ++pos) {
      const size_t ni = order[pos];
      p->slot_scratch[pos].resize(node_inputs[ni].size());
      for (size_t s = 0; s < node_inputs[ni].size(); ++s) {
        const int v = node_inputs[ni][s];
        if (v >= 0 && needs[v] && uses[v] > 1 && p->ops[pos]->differentiable_input(s)) {
          p->slot_scratch[pos][s] = Tensor::empty(desc[v].shape, DType::Float32);
          planned += static_cast<int64_t>(p->slot_scratch[pos][s].nbytes());
          ++stats.buffer_allocations;
        }
      }
    }
  }
  stats.planned_bytes = planned;
  ++stats.plans;
  return p;
}

Executor::Impl::Plan& Executor::Impl::get_plan(const std::vector<Tensor>& inputs, Mode mode,
                                               GradKind grads_for) {
  for (auto it = plans.begin(); it != plans.end(); ++it) {
    Plan& p = **it;
    bool same = p.mode == mode && p.grads_for == grads_for && p.input_shapes.size() == inputs.size();
    for (size_t i = 0; same && i < inputs.size(); ++i) same = p.input_shapes[i] == inputs[i].shape();
    if (same) {
      if (it != plans.begin()) {
        auto keep = std::move(*it);
        plans.erase(it);
        plans.push_front(std::move(keep));
      }
      return *plans.front();
    }
  }
  plans.push_front(build_plan(inputs, mode, grads_for));
  if (plans.size() > kMaxCachedPlans) plans.pop_back();
  return *plans.front();
}

void Executor::Impl::forward(Plan& p, const std::vector<Tensor>& inputs, const RunContext& ctx) {
  for (size_t i = 0; i < inputs.size(); ++i) p.values[input_ids[i]] = inputs[i];
  for (const auto& kv : graph->initializers) p.values[value_ids.at(kv.first)] = kv.second;
  std::vector<Tensor> in, out;
  for (size_t pos = 0; pos < order.size(); ++pos) {
    if (!p.ops[pos]) continue;
    in.clear();
    out.clear();
    for (int v : p.ins[pos]) in.push_back(v >= 0 ? p.values[v] : Tensor());
    for (int v : p.outs[pos]) out.push_back(p.values[v]);
    p.ops[pos]->forward(in, out, ctx);
  }
}

void Executor::Impl::backward(Plan& p, int seed_id, const Tensor& seed, const RunContext& ctx) {
  std::fill(p.grad_written.begin(), p.grad_written.end(), 0);
  ENGINE_CHECK(p.grads[seed_id].defined(), "'", value_names[seed_id],
               "' does not depend on anything trainable");
  ENGINE_CHECK(seed.shape() == p.grads[seed_id].shape(), "gradient seed ", seed.describe(),
               " does not match '", value_names[seed_id], "' ",
               shape_str(p.grads[seed_id].shape()));
  p.grads[seed_id].copy_from(seed);
  p.grad_written[seed_id] = 1;
  std::vector<Tensor> in, out, dout, din;
  for (size_t pos = order.size(); pos-- > 0;) {
    const size_t ni = order[pos];
    bool flows = false;
    dout.clear();
    for (int v : node_outputs[ni]) {
      const bool has = p.grad_written[v] != 0;
      flows = flows || has;
      dout.push_back(has ? p.grads[v] : Tensor());
    }
    if (!flows) continue;
    din.clear();
    bool wanted = false;
    const auto& slots = node_inputs[ni];
    for (size_t s = 0; s < slots.size(); ++s) {
      const int v = slots[s];
      Tensor target;
      if (v >= 0 && p.grads[v].defined() && p.ops[pos]->differentiable_input(s))
        target = p.slot_scratch[pos][s].defined() ? p.slot_scratch[pos][s] : p.grads[v];
      wanted = wanted || target.defined();
      din.push_back(target);
    }
    if (!wanted) continue;
    in.clear();
    out.clear();
    for (int v : slots) in.push_back(v >= 0 ? p.values[v] : Tensor());
    for (int v : node_outputs[ni]) out.push_back(p.values[v]);
    p.ops[pos]->backward(in, out, dout, din, ctx);
    for (size_t s = 0; s < slots.size(); ++s) {
      if (!din[s].defined()) continue;
      const int v = slots[s];
      if (p.slot_scratch[pos][s].defined()) {
        if (p.grad_written[v])
          add_into(p.grads[v], din[s]);
        else
          p.grads[v].copy_from(din[s]);
      }
      p.grad_written[v] = 1;
    }
  }
  // Parameters nothing reached get an exact zero gradient, not stale values.
  for (size_t v = 0; v < p.grads.size(); ++v)
    if (p.grads[v].defined() && !p.grad_written[v]) std::memset(p.grads[v].raw_data(), 0, p.grads[v].nbytes());
}

Executor::Executor(std::shared_ptr<Graph> graph) : impl_(std::make_unique<Impl>()) {
  ENGINE_CHECK(graph != nullptr, "executor: null graph");
  impl_->graph = std::move(graph);
  impl_->validate();
}

Executor::~Executor() = default;

std::vector<Tensor> Executor::run(const std::vector<Tensor>& inputs, Mode mode) {
  std::vector<Tensor> in = impl_->checked_inputs(inputs);
  Impl::Plan& p = impl_->get_plan(in, mode, GradKind::None);
  RunContext ctx{mode, impl_->step, 0};
  impl_->forward(p, in, ctx);
  if (mode == Mode::Training) Impl::commit(p);
  std::vector<Tensor> out;
  for (int id : impl_->output_ids) out.push_back(p.values[id].clone());
  return out;
}

float Executor::train_step(const std::vector<Tensor>& inputs, const std::string& loss_output,
                           const std::vector<std::string>& fetch, std::vector<Tensor>* fetched) {
  auto it = impl_->value_ids.find(loss_output);
  ENGINE_CHECK(it != impl_->value_ids.end(), "train_step: no value named '", loss_output, "'");
  std::vector<Tensor> in = impl_->checked_inputs(inputs);
  Impl::Plan& p = impl_->get_plan(in, Mode::Training, GradKind::Parameters);
  RunContext ctx{Mode::Training, ++impl_->step, 0};
  impl_->forward(p, in, ctx);
  const Tensor& loss = p.values[it->second];
  ENGINE_CHECK(loss.numel() == 1 && loss.dtype() == DType::Float32, "train_step: loss '",
               loss_output, "' must be a float32 scalar, got ", loss.describe());
  const float value = loss.data<float>()[0];
  if (fetched) {
    fetched->clear();
    for (const std::string& name : fetch) {
      auto f = impl_->value_ids.find(name);
      ENGINE_CHECK(f != impl_->value_ids.end(), "train_step: no value named '", name, "'");
      fetched->push_back(p.values[f->second].clone());
    }
  }
  if (!p.ones.defined() || p.ones.shape() != loss.shape()) p.ones = Tensor::full(loss.shape(), 1.0f);
  impl_->backward(p, it->second, p.ones, ctx);
  if (std::isfinite(value)) Impl::commit(p);
  if (impl_->optimizer && std::isfinite(value)) {
    std::vector<Tensor> params, grads;
    for (const std::string& name : impl_->optimized) {
      params.push_back(impl_->graph->initializers.at(name));
      grads.push_back(p.grads[impl_->value_ids.at(name)]);
    }
    impl_->optimizer->apply(params, grads);
  }
  return value;
}

void Executor::set_optimizer(std::shared_ptr<Optimizer> optimizer,
                             std::vector<std::string> parameters) {
  for (const std::string& name : parameters)
    ENGINE_CHECK(impl_->graph->trainable.count(name), "set_optimizer: '", name,
                 "' is not a trainable initializer");
  impl_->optimizer = std::move(optimizer);
  impl_->optimized = std::move(parameters);
}

const Tensor& Executor::gradient(const std::string& initializer) const {
  auto it = impl_->value_ids.find(initializer);
  ENGINE_CHECK(it != impl_->value_ids.end() && impl_->graph->trainable.count(initializer),
               "no trainable parameter named '", initializer, "'");
  ENGINE_CHECK(!impl_->plans.empty() && impl_->plans.front()->grads_for != GradKind::None,
               "gradient('", initializer, "'): run train_step first");
  return impl_->plans.front()->grads[it->second];
}

std::map<std::string, Tensor> Executor::gradients(const std::vector<Tensor>& inputs,
                                                  const std::string& output, const Tensor& seed,
                                                  Mode mode) {
  auto it = impl_->value_ids.find(output);
  ENGINE_CHECK(it != impl_->value_ids.end(), "gradients: no value named '", output, "'");
  std::vector<Tensor> in = impl_->checked_inputs(inputs);
  Impl::Plan& p = impl_->get_plan(in, mode, GradKind::ParametersAndInputs);
  RunContext ctx{mode, mode == Mode::Training ? ++impl_->step : impl_->step, 0};
  impl_->forward(p, in, ctx);
  check_float32(seed, "gradients: seed");
  impl_->backward(p, it->second, seed.contiguous(), ctx);
  if (mode == Mode::Training) Impl::commit(p);
  std::map<std::string, Tensor> out;
  for (size_t v = 0; v < p.grads.size(); ++v) {
    const std::string& name = impl_->value_names[v];
    const bool is_input = std::find(impl_->input_ids.begin(), impl_->input_ids.end(),
                                    static_cast<int>(v)) != impl_->input_ids.end();
    if (p.grads[v].defined() && (is_input || impl_->graph->trainable.count(name)))
      out[name] = p.grads[v].clone();
  }
  return out;
}

Tensor Executor::value(const std::string& name) const {
  auto it = impl_->value_ids.find(name);
  ENGINE_CHECK(it != impl_->value_ids.end(), "value: no value named '", name, "'");
  ENGINE_CHECK(!impl_->plans.empty(), "value('", name, "'): nothing has run yet");
  const Tensor& t = impl_->plans.front()->values[it->second];
  ENGINE_CHECK(t.defined(), "value('", name, "') is not available");
  return t.clone();
}

void Executor::set_step(uint64_t step) { impl_->step = step; }

const ExecutorStats& Executor::stats() const { return impl_->stats; }
const Graph& Executor::graph() const { return *impl_->graph; }

}  // namespace engine
