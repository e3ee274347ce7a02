// The buffers of one call: the memory plan's buffers with a view per value, gradient and
// fan-in buffers, every op's per-call state, and each step's OpIO pointing into them.
#include "graph/plan.h"

namespace engine {

std::unique_ptr<RunState> make_run_state(const CompiledGraph& g, const Plan& plan) {
  auto s = std::make_unique<RunState>();
  const size_t n_values = g.value_names.size();
  for (size_t bytes : plan.buffer_bytes) s->buffers.push_back(Storage::allocate(bytes, g.device));
  s->values.resize(n_values);
  for (size_t v = 0; v < n_values; ++v) {
    const int b = plan.buffer_of[v];
    if (b < 0) continue;
    const ValueDesc& d = plan.values[v];
    s->values[v] =
        Tensor::from_storage(s->buffers[b], 0, d.shape, contiguous_strides(d.shape), d.dtype);
  }
  for (const auto& init : g.initializers) s->values[init.first] = init.second;
  s->grads.resize(n_values);
  // The trainable parameters' gradients are views into one zeroed arena, so that data
  // parallelism sums them across processes in one call (the padding between them, which
  // keeps each 64-byte aligned, stays zero).
  constexpr int64_t kAlign = 16;
  auto aligned = [](int64_t n) { return (n + kAlign - 1) / kAlign * kAlign; };
  int64_t arena_floats = 0;
  for (size_t v = 0; v < plan.has_grad.size(); ++v)
    if (plan.has_grad[v] && g.trainable[v]) arena_floats += aligned(shape_numel(plan.values[v].shape));
  if (arena_floats > 0) {
    s->grad_arena = Tensor::zeros({arena_floats + kAlign}, DType::Float32, g.device);
    s->grad_arena_used = arena_floats;
  }
  int64_t offset = 0;
  for (size_t v = 0; v < plan.has_grad.size(); ++v) {
    if (!plan.has_grad[v]) continue;
    const Shape& shape = plan.values[v].shape;
    if (g.trainable[v]) {
      s->grads[v] = Tensor::from_storage(s->grad_arena.storage(), offset * 4, shape,
                                         contiguous_strides(shape), DType::Float32);
      offset += aligned(shape_numel(plan.values[v].shape));
    } else {
      s->grads[v] = Tensor::empty(shape, DType::Float32, g.device);
    }
  }
  s->grad_written.assign(n_values, 0);
  s->states.resize(plan.steps.size());
  s->fan_in.resize(plan.steps.size());
  s->io.resize(plan.steps.size());
  for (size_t pos = 0; pos < plan.steps.size(); ++pos) {
    const PlanStep& step = plan.steps[pos];
    // Zeroed: what an op keeps between calls in its state starts from a known value.
    for (const TensorDesc& d : step.op->state())
      s->states[pos].push_back(Tensor::zeros(d.shape, d.dtype, g.device));
    s->fan_in[pos].resize(step.ins.size());
    for (size_t k = 0; k < step.ins.size(); ++k)
      if (!plan.fan_in.empty() && plan.fan_in[pos][k])
        s->fan_in[pos][k] = Tensor::empty(plan.values[step.ins[k]].shape, DType::Float32, g.device);
  }
  // Pointers last: the vectors above no longer move.
  for (size_t pos = 0; pos < plan.steps.size(); ++pos) {
    const PlanStep& step = plan.steps[pos];
    OpIO& io = s->io[pos];
    for (int v : step.ins) io.inputs.push_back(v >= 0 ? &s->values[v] : &OpIO::none());
    for (int v : step.outs) io.outputs.push_back(&s->values[v]);
    for (Tensor& t : s->states[pos]) io.states.push_back(&t);
    io.douts.resize(step.outs.size(), &OpIO::none());
    io.dins.resize(step.ins.size(), &s->unwanted);
  }
  return s;
}

}  // namespace engine
