// Gradients. A value carries one when a trainable parameter (or, on request, a float graph
// input) lies upstream of it through differentiable inputs. A value read by several
// differentiable slots gets a private buffer per slot, summed into its gradient, so each
// consumer's contribution adds instead of overwriting.
#include "graph/plan.h"

namespace engine {

void plan_gradients(const CompiledGraph& g, Plan& plan) {
  if (plan.key.grads == GradKind::None) return;
  const size_t n_values = g.value_names.size();
  std::vector<char>& needs = plan.has_grad;
  needs.assign(n_values, 0);
  for (const auto& init : g.initializers)
    if (g.trainable[init.first]) needs[init.first] = 1;
  if (plan.key.grads == GradKind::ParametersAndInputs)
    for (int id : g.input_ids)
      if (plan.values[id].dtype == DType::Float32) needs[id] = 1;
  std::vector<int> uses(n_values, 0);
  for (const PlanStep& step : plan.steps) {
    bool any = false;
    for (size_t s = 0; s < step.ins.size(); ++s) {
      const int v = step.ins[s];
      if (v >= 0 && needs[v] && step.op->differentiable_input(s)) {
        any = true;
        ++uses[v];
      }
    }
    if (any)
      for (int v : step.outs)
        if (plan.values[v].dtype == DType::Float32) needs[v] = 1;
  }
  plan.fan_in.resize(plan.steps.size());
  for (size_t pos = 0; pos < plan.steps.size(); ++pos) {
    const PlanStep& step = plan.steps[pos];
    plan.fan_in[pos].assign(step.ins.size(), 0);
    for (size_t s = 0; s < step.ins.size(); ++s) {
      const int v = step.ins[s];
      if (v >= 0 && needs[v] && uses[v] > 1 && step.op->differentiable_input(s)) {
        plan.fan_in[pos][s] = 1;
        plan.bytes += static_cast<int64_t>(shape_nbytes(plan.values[v].shape, DType::Float32));
      }
    }
  }
  for (size_t v = 0; v < n_values; ++v)
    if (needs[v])
      plan.bytes += static_cast<int64_t>(shape_nbytes(plan.values[v].shape, DType::Float32));
}

}  // namespace engine
