// Buffers. Inference plans share memory between values whose lifetimes do not overlap: a
// value's buffer returns to the pool after its last reader ran (graph outputs never do),
// and the best-fitting free buffer serves the next value. Plans that compute gradients
// keep every value, since backward reads them.
#include "graph/plan.h"

namespace engine {

void plan_memory(const CompiledGraph& g, Plan& plan) {
  const size_t n_values = g.value_names.size();
  const bool reuse = plan.key.grads == GradKind::None;
  std::vector<size_t> last_use(n_values, 0);
  for (size_t pos = 0; pos < plan.steps.size(); ++pos)
    for (int v : plan.steps[pos].ins)
      if (v >= 0) last_use[v] = pos;
  for (int v : g.output_ids) last_use[v] = plan.steps.size();
  plan.buffer_of.assign(n_values, -1);
  plan.buffer_bytes.clear();
  std::vector<int> free_buffers;
  std::vector<char> released(n_values, 0);
  auto assign = [&](int v) {
    const size_t bytes = shape_nbytes(plan.values[v].shape, plan.values[v].dtype);
    auto best = free_buffers.end();
    for (auto it = free_buffers.begin(); it != free_buffers.end(); ++it)
      if (plan.buffer_bytes[*it] >= bytes &&
          (best == free_buffers.end() || plan.buffer_bytes[*it] < plan.buffer_bytes[*best]))
        best = it;
    if (best != free_buffers.end()) {
      plan.buffer_of[v] = *best;
      free_buffers.erase(best);
    } else {
      plan.buffer_of[v] = static_cast<int>(plan.buffer_bytes.size());
      plan.buffer_bytes.push_back(bytes);
    }
  };
  auto release = [&](int v, size_t pos) {
    if (reuse && v >= 0 && !released[v] && plan.buffer_of[v] >= 0 && last_use[v] <= pos) {
      released[v] = 1;
      free_buffers.push_back(plan.buffer_of[v]);
    }
  };
  for (size_t pos = 0; pos < plan.steps.size(); ++pos) {
    const PlanStep& step = plan.steps[pos];
    for (int v : step.outs) assign(v);
    // After this step's outputs have their buffers, so an output never aliases an input.
    for (int v : step.ins) release(v, pos);
    for (int v : step.outs) release(v, pos);
  }
  for (size_t b : plan.buffer_bytes) plan.bytes += static_cast<int64_t>(b);
}

}  // namespace engine
