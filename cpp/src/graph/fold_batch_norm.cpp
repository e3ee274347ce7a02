// Inference only: a BatchNormalization reading nothing but a Conv's output becomes part of
// that Conv (weights and bias rescaled per channel at run time from the live parameters),
// and a Relu reading nothing but the BatchNormalization's output joins the epilogue.
#include "graph/plan.h"
#include "ops/activation/activation.h"

namespace engine {

std::vector<BatchNormFold> find_batch_norm_folds(const CompiledGraph& g,
                                                 const std::vector<PlanStep>& steps) {
  std::vector<int> readers(g.value_names.size(), 0);
  std::vector<size_t> reader_pos(g.value_names.size(), 0);
  for (size_t pos = 0; pos < steps.size(); ++pos)
    for (int v : steps[pos].ins)
      if (v >= 0) {
        ++readers[v];
        reader_pos[v] = pos;
      }
  for (int v : g.output_ids) readers[v] += 2;  // a graph output must stay a value of its own
  auto sole_reader = [&](int v, const char* op_type) -> long {
    if (readers[v] != 1) return -1;
    const Node& n = g.nodes[steps[reader_pos[v]].node];
    if (n.op_type != op_type || !n.domain.empty()) return -1;
    return static_cast<long>(reader_pos[v]);
  };
  std::vector<BatchNormFold> folds;
  for (size_t pos = 0; pos < steps.size(); ++pos) {
    const Node& conv = g.nodes[steps[pos].node];
    if (conv.op_type != "Conv" || !conv.domain.empty() || has_fused_relu(conv) ||
        steps[pos].outs.size() != 1)
      continue;
    const long bn = sole_reader(steps[pos].outs[0], "BatchNormalization");
    if (bn < 0 || steps[bn].ins.at(0) != steps[pos].outs[0] || steps[bn].outs.size() != 1) continue;
    // training_mode=1 normalises with the batch statistics, which no weight can hold.
    if (g.nodes[steps[bn].node].attr_int("training_mode", 0) != 0) continue;
    folds.push_back({pos, static_cast<size_t>(bn), sole_reader(steps[bn].outs[0], "Relu")});
  }
  return folds;
}

}  // namespace engine
