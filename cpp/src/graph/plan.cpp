// build_plan: the passes of plan.h, in order.
#include "graph/plan.h"

namespace engine {

std::vector<PlanStep> plan_steps(const CompiledGraph& g, bool fold_batch_norms, int64_t* folded) {
  std::vector<PlanStep> steps(g.order.size());
  for (size_t pos = 0; pos < g.order.size(); ++pos) {
    steps[pos].node = g.order[pos];
    steps[pos].ins = g.node_inputs[g.order[pos]];
    steps[pos].outs = g.node_outputs[g.order[pos]];
  }
  if (!fold_batch_norms) return steps;
  const std::vector<BatchNormFold> folds = find_batch_norm_folds(g, steps);
  if (folded) *folded = static_cast<int64_t>(folds.size());
  if (folds.empty()) return steps;
  std::vector<char> gone(steps.size(), 0);
  for (const BatchNormFold& f : folds) {
    PlanStep& conv = steps[f.conv];
    const PlanStep& bn = steps[f.batch_norm];
    conv.ins.resize(3, -1);  // X, W, and B or nothing
    conv.ins.insert(conv.ins.end(), bn.ins.begin() + 1, bn.ins.end());
    conv.outs = f.relu >= 0 ? steps[f.relu].outs : bn.outs;
    conv.batch_norm = static_cast<long>(bn.node);
    conv.relu = f.relu >= 0;
    gone[f.batch_norm] = 1;
    if (f.relu >= 0) gone[f.relu] = 1;
  }
  std::vector<PlanStep> kept;
  for (size_t pos = 0; pos < steps.size(); ++pos)
    if (!gone[pos]) kept.push_back(std::move(steps[pos]));
  return kept;
}

std::unique_ptr<Plan> build_plan(const CompiledGraph& g, const PlanKey& key) {
  auto plan = std::make_unique<Plan>();
  plan->key = key;
  // The fold recomputes the folded weights on the host each call: CPU plans only.
  const bool fold =
      key.mode == Mode::Inference && key.grads == GradKind::None && g.device.is_cpu();
  plan->steps = plan_steps(g, fold, &plan->folded_batch_norms);
  plan->values = plan_shapes(g, plan->steps, key);
  plan_memory(g, *plan);
  plan_gradients(g, *plan);
  for (const PlanStep& step : plan->steps)
    for (const TensorDesc& d : step.op->state())
      plan->bytes += static_cast<int64_t>(shape_nbytes(d.shape, d.dtype));
  return plan;
}

}  // namespace engine
