// Executor: a validated graph, a small cache of immutable plans (one per input shapes,
// mode and gradient kind), and per plan a pool of RunStates so that concurrent calls never
// share buffers. Forward and backward walk the plan's steps over a RunState.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <list>
#include <mutex>
#include <shared_mutex>

#include "engine/communicator.h"
#include "engine/optimizer.h"
#include "engine/runtime.h"
#include "engine/threads.h"
#include "graph/plan.h"
#include "ops/binary/binary.h"

namespace engine {

namespace {

constexpr size_t kMaxCachedPlans = 4;

// acc += part, on their device (same shapes, so the Add is elementwise and may write
// into its input).
void add_into(Tensor& acc, const Tensor& part) { binary_forward(BinaryOp::Add, acc, part, acc); }

// The executor's parameters held for one call: shared by calls that only read them,
// exclusively by calls that change them (training steps, BatchNormalization statistics).
class ParamsLock {
 public:
  ParamsLock(std::shared_mutex& mutex, bool exclusive) : mutex_(mutex), exclusive_(exclusive) {
    if (exclusive_)
      mutex_.lock();
    else
      mutex_.lock_shared();
  }
  ~ParamsLock() {
    if (exclusive_)
      mutex_.unlock();
    else
      mutex_.unlock_shared();
  }
  ParamsLock(const ParamsLock&) = delete;
  ParamsLock& operator=(const ParamsLock&) = delete;

 private:
  std::shared_mutex& mutex_;
  bool exclusive_;
};

// A plan and the RunStates of calls on it. States return to the front of the pool, so one
// caller at a time keeps reusing the same buffers.
struct PlanEntry {
  std::unique_ptr<const Plan> plan;
  std::mutex mutex;
  std::vector<std::unique_ptr<RunState>> pool;
};

}  // namespace

struct Executor::Impl {
  std::shared_ptr<Graph> graph;
  CompiledGraph g;
  // Shared by calls that only read the parameters, exclusive for those that change them.
  std::shared_ptr<ParameterLock> params;
  std::mutex plans_mutex;                       // guards plans and stats
  std::list<std::shared_ptr<PlanEntry>> plans;  // most recently used first
  ExecutorStats stats;
  std::atomic<uint64_t> step{0};
  // Counts inference-mode calls: a Dropout fixed in training mode (Monte Carlo dropout)
  // draws a fresh mask on each, as training steps do with `step`.
  std::atomic<uint64_t> inference_calls{0};
  std::shared_ptr<Optimizer> optimizer;
  // The parameters the optimizer updates, in its order: value ids and the tensors the plans
  // read (the graph's initializers as they were when the executor was built).
  std::vector<int> optimized_ids;
  std::vector<Tensor> optimized_params;
  std::shared_ptr<Communicator> communicator;  // data parallelism: null or a group of one
  // A node commits after inference calls too (OpDef::commits_at_inference).
  bool commits_at_inference = false;
  // The latest call's plan and buffers, for value() and gradient().
  mutable std::mutex last_mutex;
  std::shared_ptr<PlanEntry> last_entry;
  const RunState* last_state = nullptr;

  // Borrows a RunState of `entry` for one call.
  class Lease {
   public:
    Lease(Impl& impl, std::shared_ptr<PlanEntry> entry) : impl_(impl), entry_(std::move(entry)) {
      {
        std::lock_guard<std::mutex> lock(entry_->mutex);
        if (!entry_->pool.empty()) {
          state_ = std::move(entry_->pool.back());
          entry_->pool.pop_back();
        }
      }
      if (!state_) {
        state_ = make_run_state(impl_.g, *entry_->plan);
        std::lock_guard<std::mutex> lock(impl_.plans_mutex);
        impl_.stats.buffer_allocations += static_cast<int64_t>(
            state_->buffers.size() + std::count_if(state_->grads.begin(), state_->grads.end(),
                                                   [](const Tensor& t) { return t.defined(); }));
      }
    }
    ~Lease() {
      const RunState* kept = state_.get();
      {
        std::lock_guard<std::mutex> lock(entry_->mutex);
        entry_->pool.push_back(std::move(state_));
      }
      std::lock_guard<std::mutex> lock(impl_.last_mutex);
      impl_.last_entry = entry_;
      impl_.last_state = kept;
    }
    const Plan& plan() const { return *entry_->plan; }
    RunState& state() { return *state_; }

   private:
    Impl& impl_;
    std::shared_ptr<PlanEntry> entry_;
    std::unique_ptr<RunState> state_;
  };

  std::shared_ptr<PlanEntry> get_plan(const std::vector<Tensor>& inputs, Mode mode, GradKind grads);
  // Each training-mode call is a step of its own: Dropout draws fresh masks (the counters
  // make the sequence replay from the same seed). Inference calls count separately, so
  // predictions never shift the masks of the training steps.
  RunContext context(Mode mode) {
    return RunContext{mode, mode == Mode::Training ? ++step : ++inference_calls};
  }
  std::vector<Tensor> checked_inputs(const std::vector<Tensor>& inputs) const;
  void forward(const Plan& p, RunState& s, const std::vector<Tensor>& inputs,
               const RunContext& ctx) const;
  void backward(const Plan& p, RunState& s, int seed_id, const Tensor& seed,
                const RunContext& ctx) const;
  // Whether a call in `mode` commits: it changes parameters (an exclusive lock).
  bool commits(Mode mode) const { return mode == Mode::Training || commits_at_inference; }
  void commit(const Plan& p, RunState& s) const {
    for (size_t pos = 0; pos < p.steps.size(); ++pos) p.steps[pos].op->commit(s.io[pos]);
    parameters_changed();
  }
  int value_id(const std::string& name, const char* what) const {
    auto it = g.value_ids.find(name);
    ENGINE_CHECK(it != g.value_ids.end(), what, ": no value named '", name, "'");
    return it->second;
  }
};

namespace {
void check_input_shape(const ValueInfo& info, const Shape& shape) {
  bool ok = shape.size() == info.shape.size();
  for (size_t d = 0; ok && d < info.shape.size(); ++d)
    ok = info.shape[d] < 0 || info.shape[d] == shape[d];
  ENGINE_CHECK(ok, "input '", info.name, "' expects shape ", shape_str(info.shape),
               " (-1: any size), got ", shape_str(shape));
  shape_nbytes(shape, info.dtype);  // a size memory can hold
}
}  // namespace

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
    check_input_shape(info, t.shape());
    // Host batches are copied to the model's device once per call; data already on another
    // device is the caller's mistake.
    ENGINE_CHECK(t.device() == g.device || t.device().is_cpu(), "input '", info.name,
                 "' is on ", t.device().str(), " but the model is on ", g.device.str());
    out.push_back(t.contiguous().to(g.device));
  }
  return out;
}

std::shared_ptr<PlanEntry> Executor::Impl::get_plan(const std::vector<Tensor>& inputs, Mode mode,
                                                    GradKind grads) {
  PlanKey key{mode, grads, {}};
  for (const Tensor& t : inputs) key.input_shapes.push_back(t.shape());
  std::lock_guard<std::mutex> lock(plans_mutex);
  for (auto it = plans.begin(); it != plans.end(); ++it) {
    if (!((*it)->plan->key == key)) continue;
    if (it != plans.begin()) plans.splice(plans.begin(), plans, it);
    return plans.front();
  }
  auto entry = std::make_shared<PlanEntry>();
  entry->plan = build_plan(g, key);
  plans.push_front(entry);
  if (plans.size() > kMaxCachedPlans) plans.pop_back();  // in-flight calls keep theirs
  ++stats.plans;
  stats.planned_bytes = entry->plan->bytes;
  stats.folded_batch_norms = entry->plan->folded_batch_norms;
  return entry;
}

void Executor::Impl::forward(const Plan& p, RunState& s, const std::vector<Tensor>& inputs,
                             const RunContext& ctx) const {
  for (size_t i = 0; i < inputs.size(); ++i) s.values[g.input_ids[i]] = inputs[i];
  for (size_t pos = 0; pos < p.steps.size(); ++pos) p.steps[pos].op->forward(s.io[pos], ctx);
}

void Executor::Impl::backward(const Plan& p, RunState& s, int seed_id, const Tensor& seed,
                              const RunContext& ctx) const {
  std::fill(s.grad_written.begin(), s.grad_written.end(), 0);
  ENGINE_CHECK(s.grads[seed_id].defined(), "'", g.value_names[seed_id],
               "' does not depend on anything trainable");
  ENGINE_CHECK(seed.shape() == s.grads[seed_id].shape(), "gradient seed ", seed.describe(),
               " does not match '", g.value_names[seed_id], "' ",
               shape_str(s.grads[seed_id].shape()));
  s.grads[seed_id].copy_from(seed);
  s.grad_written[seed_id] = 1;
  for (size_t pos = p.steps.size(); pos-- > 0;) {
    const PlanStep& step = p.steps[pos];
    OpIO& io = s.io[pos];
    bool flows = false;
    for (size_t k = 0; k < step.outs.size(); ++k) {
      const int v = step.outs[k];
      const bool has = s.grad_written[v] != 0;
      flows = flows || has;
      io.douts[k] = has ? &s.grads[v] : &OpIO::none();
    }
    if (!flows) continue;
    bool wanted = false;
    for (size_t k = 0; k < step.ins.size(); ++k) {
      const int v = step.ins[k];
      Tensor* target = &s.unwanted;
      if (v >= 0 && s.grads[v].defined() && step.op->differentiable_input(k))
        target = s.fan_in[pos][k].defined() ? &s.fan_in[pos][k] : &s.grads[v];
      wanted = wanted || target->defined();
      io.dins[k] = target;
    }
    if (!wanted) continue;
    step.op->backward(io, ctx);
    for (size_t k = 0; k < step.ins.size(); ++k) {
      if (!io.dins[k]->defined()) continue;
      const int v = step.ins[k];
      if (s.fan_in[pos][k].defined()) {
        if (s.grad_written[v])
          add_into(s.grads[v], s.fan_in[pos][k]);
        else
          s.grads[v].copy_from(s.fan_in[pos][k]);
      }
      s.grad_written[v] = 1;
    }
  }
  // Parameters nothing reached get an exact zero gradient, not stale values.
  for (size_t v = 0; v < s.grads.size(); ++v)
    if (s.grads[v].defined() && !s.grad_written[v]) zero_fill(s.grads[v]);
}

Executor::Executor(std::shared_ptr<Graph> graph, std::shared_ptr<ParameterLock> lock)
    : impl_(std::make_unique<Impl>()) {
  ENGINE_CHECK(graph != nullptr, "executor: null graph");
  impl_->graph = std::move(graph);
  impl_->params = lock ? std::move(lock) : std::make_shared<ParameterLock>();
  impl_->g = compile_graph(*impl_->graph);
  impl_->stats.fused_activations = impl_->g.fused_activations;
  const FusedPatterns& fused = impl_->g.fused_patterns;
  impl_->stats.fused_gelus = fused.gelus;
  impl_->stats.fused_layer_norms = fused.layer_norms;
  impl_->stats.fused_swishes = fused.swishes;
  impl_->stats.fused_hard_swishes = fused.hard_swishes;
  for (const OpDef* def : impl_->g.defs)
    impl_->commits_at_inference = impl_->commits_at_inference || def->commits_at_inference;
}

Executor::~Executor() = default;

std::vector<Tensor> Executor::run(const std::vector<Tensor>& inputs, Mode mode) {
  Impl& m = *impl_;
  const std::vector<Tensor> in = m.checked_inputs(inputs);
  allocator(m.g.device).make_current();
  // A committing run changes parameters (BatchNormalization statistics, stored states).
  ParamsLock lock(m.params->mutex, m.commits(mode));
  Impl::Lease lease(m, m.get_plan(in, mode, GradKind::None));
  RunState& s = lease.state();
  m.forward(lease.plan(), s, in, m.context(mode));
  if (m.commits(mode)) m.commit(lease.plan(), s);
  std::vector<Tensor> out;
  for (int id : m.g.output_ids) out.push_back(s.values[id].clone());
  return out;
}

namespace {
// Sums the gradient arena and this rank's weighted loss over the ranks and divides both by
// the total weight: every rank ends with the gradients and loss of the global batch.
float allreduce_gradients(Communicator& comm, RunState& s, float loss, float samples) {
  const int64_t n = s.grad_arena_used;
  Tensor* host = &s.grad_arena;
  if (!s.grad_arena.defined()) {
    s.grad_arena = Tensor::zeros({16});
  } else if (!s.grad_arena.device().is_cpu()) {
    s.grad_arena_host = s.grad_arena.to(Device::cpu());
    host = &s.grad_arena_host;
  }
  float* data = host->data<float>();
  data[n] = samples == 0.0f ? 0.0f : loss * samples;  // NaN from any rank reaches all
  data[n + 1] = samples;
  comm.allreduce_sum(data, n + 2);
  const float total = data[n + 1];
  ENGINE_CHECK(total > 0.0f, "train_step: no rank of the data-parallel group had samples");
  const float scale = 1.0f / total;
  parallel_for(n, 1 << 16, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) data[i] *= scale;
  });
  if (host != &s.grad_arena) s.grad_arena.copy_from(*host);
  return data[n] / total;
}
}  // namespace

float Executor::train_step(const std::vector<Tensor>& inputs, const std::string& loss_output,
                           const std::vector<std::string>& fetch, std::vector<Tensor>* fetched,
                           float samples) {
  Impl& m = *impl_;
  const int loss_id = m.value_id(loss_output, "train_step");
  std::vector<int> fetch_ids;
  for (const std::string& name : fetch) fetch_ids.push_back(m.value_id(name, "train_step"));
  const std::vector<Tensor> in = m.checked_inputs(inputs);
  allocator(m.g.device).make_current();
  ParamsLock lock(m.params->mutex, true);
  Impl::Lease lease(m, m.get_plan(in, Mode::Training, GradKind::Parameters));
  RunState& s = lease.state();
  Communicator* group = m.communicator && m.communicator->size() > 1 ? m.communicator.get() : nullptr;
  if (group)
    ENGINE_CHECK(std::isfinite(samples) && samples >= 0.0f,
                 "train_step: samples must be a finite count >= 0, got ", samples);
  const RunContext ctx{Mode::Training, ++m.step, group, samples > 0.0f};
  m.forward(lease.plan(), s, in, ctx);
  const Tensor& loss = s.values[loss_id];
  ENGINE_CHECK(loss.numel() == 1 && loss.dtype() == DType::Float32, "train_step: loss '",
               loss_output, "' must be a float32 scalar, got ", loss.describe());
  float value = loss.to(Device::cpu()).data<float>()[0];
  if (fetched) {
    fetched->clear();
    for (int id : fetch_ids) fetched->push_back(s.values[id].clone());
  }
  if (!s.ones.defined() || s.ones.shape() != loss.shape())
    s.ones = Tensor::full(loss.shape(), 1.0f).to(m.g.device);
  if (group) {
    // Seeding with the rank's sample count weights its gradients for the global mean.
    if (!s.seed.defined() || s.seed.shape() != loss.shape() || s.seed_value != samples) {
      s.seed = Tensor::full(loss.shape(), samples).to(m.g.device);
      s.seed_value = samples;
    }
  }
  m.backward(lease.plan(), s, loss_id, group ? s.seed : s.ones, ctx);
  // Every rank joins the all-reduce, a NaN loss too, so that none waits for another.
  if (group) value = allreduce_gradients(*group, s, value, samples);
  if (!std::isfinite(value)) return value;
  if (m.optimizer) {
    // A finite loss can still come with NaN gradients (a NaN weight behind a Relu, an
    // overflowing update): check before anything changes, so NaN is never written in.
    std::vector<Tensor> grads;
    for (int id : m.optimized_ids) grads.push_back(s.grads[id]);
    if (!all_finite(grads))
      fail(ErrorKind::FloatingPoint, "train_step: the gradients' global norm is ",
           global_norm(grads), " though the loss is ", value, "; the update was not applied");
    m.commit(lease.plan(), s);
    m.optimizer->apply(m.optimized_params, grads);
  } else {
    m.commit(lease.plan(), s);
  }
  return value;
}

void Executor::set_optimizer(std::shared_ptr<Optimizer> optimizer,
                             std::vector<std::string> parameters) {
  Impl& m = *impl_;
  std::vector<int> ids;
  std::vector<Tensor> params;
  for (const std::string& name : parameters) {
    auto it = m.g.value_ids.find(name);
    ENGINE_CHECK(it != m.g.value_ids.end() && m.g.trainable[it->second], "set_optimizer: '", name,
                 "' is not a trainable initializer");
    ids.push_back(it->second);
    for (const auto& init : m.g.initializers)
      if (init.first == it->second) params.push_back(init.second);
  }
  ParamsLock lock(m.params->mutex, true);
  m.optimizer = std::move(optimizer);
  m.optimized_ids = std::move(ids);
  m.optimized_params = std::move(params);
}

void Executor::set_communicator(std::shared_ptr<Communicator> communicator) {
  Impl& m = *impl_;
  ParamsLock lock(m.params->mutex, true);
  m.communicator = std::move(communicator);
}

Tensor Executor::gradient(const std::string& initializer) const {
  const Impl& m = *impl_;
  auto it = m.g.value_ids.find(initializer);
  ENGINE_CHECK(it != m.g.value_ids.end() && m.g.trainable[it->second],
               "no trainable parameter named '", initializer, "'");
  std::lock_guard<std::mutex> lock(m.last_mutex);
  ENGINE_CHECK(m.last_entry && m.last_entry->plan->key.grads != GradKind::None, "gradient('",
               initializer, "'): run train_step first");
  return m.last_state->grads[it->second].clone();
}

std::map<std::string, Tensor> Executor::gradients(const std::vector<Tensor>& inputs,
                                                  const std::string& output, const Tensor& seed,
                                                  Mode mode, Tensor* output_value) {
  Impl& m = *impl_;
  const int out_id = m.value_id(output, "gradients");
  check_float32(seed, "gradients: seed");
  const std::vector<Tensor> in = m.checked_inputs(inputs);
  allocator(m.g.device).make_current();
  ParamsLock lock(m.params->mutex, m.commits(mode));
  Impl::Lease lease(m, m.get_plan(in, mode, GradKind::ParametersAndInputs));
  RunState& s = lease.state();
  const RunContext ctx = m.context(mode);
  m.forward(lease.plan(), s, in, ctx);
  if (output_value) *output_value = s.values[out_id].clone();
  m.backward(lease.plan(), s, out_id, seed.contiguous().to(m.g.device), ctx);
  if (m.commits(mode)) m.commit(lease.plan(), s);
  std::map<std::string, Tensor> out;
  for (size_t v = 0; v < s.grads.size(); ++v) {
    const std::string& name = m.g.value_names[v];
    const bool is_input = std::find(m.g.input_ids.begin(), m.g.input_ids.end(),
                                    static_cast<int>(v)) != m.g.input_ids.end();
    if (s.grads[v].defined() && (is_input || m.g.trainable[v]))
      out[name] = s.grads[v].clone();
  }
  return out;
}

Tensor Executor::value(const std::string& name) const {
  const Impl& m = *impl_;
  const int id = m.value_id(name, "value");
  std::lock_guard<std::mutex> lock(m.last_mutex);
  ENGINE_CHECK(m.last_state != nullptr, "value('", name, "'): nothing has run yet");
  const Tensor& t = m.last_state->values[id];
  ENGINE_CHECK(t.defined(), "value('", name, "') is not available");
  return t.clone();
}

std::map<std::string, Shape> Executor::infer_shapes(const std::vector<Shape>& input_shapes,
                                                    Mode mode) const {
  const Impl& m = *impl_;
  ENGINE_CHECK(input_shapes.size() == m.graph->inputs.size(), "infer_shapes: the model takes ",
               m.graph->inputs.size(), " input(s), got ", input_shapes.size(), " shapes");
  for (size_t i = 0; i < input_shapes.size(); ++i)
    check_input_shape(m.graph->inputs[i], input_shapes[i]);
  const PlanKey key{mode, GradKind::None, input_shapes};
  std::vector<PlanStep> steps = plan_steps(m.g, /*fold_batch_norms=*/false);
  const std::vector<ValueDesc> values = plan_shapes(m.g, steps, key);
  std::map<std::string, Shape> shapes;
  for (size_t v = 0; v < values.size(); ++v) shapes[m.g.value_names[v]] = values[v].shape;
  return shapes;
}

void Executor::set_step(uint64_t step) { impl_->step = step; }

ExecutorStats Executor::stats() const {
  std::lock_guard<std::mutex> lock(impl_->plans_mutex);
  return impl_->stats;
}

const Graph& Executor::graph() const { return *impl_->graph; }

}  // namespace engine
