// The first pass: the whole graph is checked before anything is planned, and every problem
// is reported in one error (names, ops, attributes against the op schemas, cycles).
#include <set>

#include "graph/plan.h"
#include "graph/topological_order.h"

namespace engine {

namespace {

[[noreturn]] void report(const std::vector<std::string>& problems) {
  std::string msg = "invalid graph (" + std::to_string(problems.size()) + " problem" +
                    (problems.size() > 1 ? "s" : "") + "):";
  for (const std::string& p : problems) msg += "\n  - " + p;
  fail(ErrorKind::Value, msg);
}

// The nodes in run order; the ones on a cycle are named in `problems`.
std::vector<size_t> run_order(const CompiledGraph& g, std::vector<std::string>& problems) {
  const size_t n = g.nodes.size();
  std::vector<int> producer(g.value_names.size(), -1);
  for (size_t i = 0; i < n; ++i)
    for (int v : g.node_outputs[i]) producer[v] = static_cast<int>(i);
  std::vector<int> pending(n, 0);
  std::vector<std::vector<size_t>> readers(n);
  for (size_t i = 0; i < n; ++i)
    for (int v : g.node_inputs[i])
      if (v >= 0 && producer[v] >= 0) {
        ++pending[i];
        readers[producer[v]].push_back(i);
      }
  std::vector<size_t> order = topological_order(readers, pending);
  if (order.size() != n) {
    std::vector<char> placed(n, 0);
    for (size_t i : order) placed[i] = 1;
    std::string cycle;
    for (size_t i = 0; i < n; ++i)
      if (!placed[i]) cycle += (cycle.empty() ? "" : ", ") + g.nodes[i].label();
    problems.push_back("the graph has a cycle through " + cycle);
  }
  return order;
}

}  // namespace

CompiledGraph compile_graph(const Graph& graph) {
  CompiledGraph g;
  std::vector<std::string> problems;
  auto define = [&](const std::string& name, const std::string& what) {
    if (name.empty()) {
      problems.push_back(what + " has an empty name");
      return;
    }
    if (g.value_ids.count(name)) {
      problems.push_back("duplicate value name '" + name + "' (" + what + ")");
      return;
    }
    g.value_ids[name] = static_cast<int>(g.value_names.size());
    g.value_names.push_back(name);
  };
  for (const ValueInfo& v : graph.inputs) define(v.name, "graph input");
  // The graph's device is where its float initializers live. int64 initializers (shapes,
  // axes) are read while planning and stay on the host.
  bool first_initializer = true;
  for (const auto& kv : graph.initializers) {
    const Tensor& t = kv.second;
    if (!t.defined()) {
      problems.push_back("initializer '" + kv.first + "' has no data");
    } else if (t.dtype() != DType::Float32) {
      if (!t.device().is_cpu())
        problems.push_back("initializer '" + kv.first + "' is " + dtype_name(t.dtype()) +
                           " on " + t.device().str() + "; non-float initializers stay on the cpu");
    } else if (first_initializer) {
      g.device = t.device();
      first_initializer = false;
    } else if (t.device() != g.device) {
      problems.push_back("initializer '" + kv.first + "' is on " + t.device().str() +
                         ", the others on " + g.device.str());
    }
    define(kv.first, "initializer");
  }
  for (const std::string& t : graph.trainable)
    if (!graph.initializers.count(t))
      problems.push_back("trainable '" + t + "' is not an initializer");

  // Every node against its op's schema, before the planner rewrites any; the structure
  // is checked as well even when some nodes are bad, so one error lists everything.
  std::set<std::string> unknown;
  bool nodes_ok = true;
  for (const Node& n : graph.nodes) {
    const OpDef* def = find_op(n.domain, n.op_type);
    if (!def) {
      unknown.insert((n.domain.empty() ? "" : n.domain + ".") + n.op_type + " (node '" + n.name +
                     "')");
      nodes_ok = false;
      continue;
    }
    for (const std::string& p : node_problems(*def, n)) {
      problems.push_back(n.label() + ": " + p);
      nodes_ok = false;
    }
  }
  for (const std::string& u : unknown) problems.push_back("unsupported op " + u);

  std::vector<Node> nodes = graph.nodes;
  if (nodes_ok) {
    Graph fused = graph;
    fused.nodes = fuse_patterns(graph, &g.fused_patterns);
    nodes = fuse_activations(fused);
    g.fused_activations = static_cast<int64_t>(fused.nodes.size() - nodes.size());
  }
  for (const Node& n : nodes) {
    const OpDef* def = find_op(n.domain, n.op_type);
    g.nodes.push_back(nodes_ok ? checked_node(*def, n) : n);
    g.defs.push_back(def);
    for (const std::string& o : n.outputs) define(o, "output of " + n.label());
  }
  g.trainable.assign(g.value_names.size(), 0);
  for (const auto& kv : graph.initializers) {
    const int id = g.value_ids.at(kv.first);
    g.initializers.emplace_back(id, kv.second);
    g.trainable[id] = graph.trainable.count(kv.first) != 0 && kv.second.dtype() == DType::Float32;
  }

  const size_t n_nodes = g.nodes.size();
  g.node_inputs.resize(n_nodes);
  g.node_outputs.resize(n_nodes);
  std::vector<char> produced(g.value_names.size(), 0);
  for (size_t i = 0; i < n_nodes; ++i)
    for (const std::string& o : g.nodes[i].outputs) {
      auto it = g.value_ids.find(o);
      if (it != g.value_ids.end() && !produced[it->second]) {
        produced[it->second] = 1;
        g.node_outputs[i].push_back(it->second);
      }
    }
  for (size_t i = 0; i < n_nodes; ++i) {
    for (const std::string& in : g.nodes[i].inputs) {
      if (in.empty()) {
        g.node_inputs[i].push_back(-1);
        continue;
      }
      auto it = g.value_ids.find(in);
      if (it == g.value_ids.end()) {
        problems.push_back(g.nodes[i].label() + " reads '" + in + "', which nothing defines");
        g.node_inputs[i].push_back(-1);
      } else {
        g.node_inputs[i].push_back(it->second);
      }
    }
  }
  for (const ValueInfo& v : graph.outputs) {
    auto it = g.value_ids.find(v.name);
    if (it == g.value_ids.end())
      problems.push_back("graph output '" + v.name + "' is never computed");
    else
      g.output_ids.push_back(it->second);
  }
  for (const ValueInfo& v : graph.inputs) {
    g.input_ids.push_back(g.value_ids.count(v.name) ? g.value_ids.at(v.name) : -1);
    g.input_dtypes.push_back(v.dtype);
  }
  if (problems.empty()) g.order = run_order(g, problems);
  if (!problems.empty()) report(problems);
  // Creating each node's op checks its attribute values.
  if (problems.empty()) {
    for (size_t i = 0; i < n_nodes; ++i) {
      try {
        g.defs[i]->make(g.nodes[i]);
      } catch (const Error& e) {
        problems.push_back(e.what());
      }
    }
  }
  if (!problems.empty()) report(problems);
  return g;
}

}  // namespace engine
