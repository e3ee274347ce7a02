// Shape inference: each step's op is compiled for the node and planned with the shapes
// (and, for initializers, the values) of its inputs, in topological order.
#include "graph/plan.h"
#include "ops/conv/conv.h"

namespace engine {

std::vector<ValueDesc> plan_shapes(const CompiledGraph& g, std::vector<PlanStep>& steps,
                                   const PlanKey& key) {
  std::vector<ValueDesc> values(g.value_names.size());
  for (size_t i = 0; i < g.input_ids.size(); ++i)
    values[g.input_ids[i]] = {g.input_dtypes[i], key.input_shapes[i]};
  for (const auto& init : g.initializers)
    values[init.first] = {init.second.dtype(), init.second.shape(), &init.second};
  const PlanOptions options{key.mode, key.grads != GradKind::None, g.device};
  for (PlanStep& step : steps) {
    const Node& node = g.nodes[step.node];
    step.op = step.batch_norm >= 0
                  ? make_conv_batch_norm_node(node, g.nodes[step.batch_norm], step.relu)
                  : g.defs[step.node]->make(node);
    std::vector<ValueDesc> in;
    for (int v : step.ins)
      in.push_back(v >= 0 ? values[v] : ValueDesc{DType::Float32, {}, nullptr, false});
    const std::vector<ValueDesc> out = plan_node(*step.op, in, options);
    ENGINE_CHECK(out.size() == step.outs.size(), node.label(), ": produces ", out.size(),
                 " outputs, the graph names ", step.outs.size());
    for (size_t k = 0; k < out.size(); ++k) values[step.outs[k]] = {out[k].dtype, out[k].shape};
  }
  return values;
}

}  // namespace engine
