// Inference and training both profit from running a Relu inside the epilogue of the Conv
// or Gemm that feeds it: one pass over the activations instead of two. The pair is fused
// when the Relu is the only reader of the producer's output and that output is not a graph
// output; the producer then writes the Relu's output and carries the internal attribute
// kFusedActivation (never exported: the executor works on its own copy of the nodes).
#include "graph/plan.h"
#include "ops/activation/activation.h"

namespace engine {

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

}  // namespace engine
