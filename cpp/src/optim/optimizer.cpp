#include "optim/optimizer_kernels.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <limits>

#include "engine/runtime.h"
#include "optim/optimizer_cuda.h"

namespace engine {

const KernelTable<OptimizerKernels>& optimizer_kernels() {
  static const KernelTable<OptimizerKernels> table(
      "optimizer", {optimizer_update_ref, sum_of_squares_ref, all_finite_ref},
      {optimizer_update_cpu, sum_of_squares_cpu, all_finite_cpu},
      optimizer_cuda_kernels<HostGrid>());
  return table;
}

namespace {

constexpr OptimizerKind kKinds[] = {OptimizerKind::SGD,    OptimizerKind::Adagrad,
                                    OptimizerKind::RMSprop, OptimizerKind::Adam,
                                    OptimizerKind::Adamax, OptimizerKind::Nadam,
                                    OptimizerKind::AdamW};

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Slot names at their fixed positions; null where this configuration keeps no slot.
using SlotLayout = std::array<const char*, kMaxOptimizerSlots>;

SlotLayout slot_layout(const OptimizerConfig& c) {
  switch (c.kind) {
    case OptimizerKind::SGD: return {c.momentum != 0 ? "momentum" : nullptr, nullptr, nullptr};
    case OptimizerKind::Adagrad: return {"accumulator", nullptr, nullptr};
    case OptimizerKind::RMSprop:
      return {"velocity", c.momentum > 0 ? "momentum" : nullptr,
              c.centered ? "average_gradient" : nullptr};
    case OptimizerKind::Adam:
    case OptimizerKind::AdamW:
      return {"momentum", "velocity", c.amsgrad ? "velocity_hat" : nullptr};
    case OptimizerKind::Adamax: return {"momentum", "norm", nullptr};
    case OptimizerKind::Nadam: return {"momentum", "velocity", nullptr};
  }
  return {nullptr, nullptr, nullptr};
}

// Nadam's mu_t = beta_1 * (1 - 0.5 * 0.96^t).
double nadam_mu(double beta_1, double t) { return beta_1 * (1.0 - 0.5 * std::pow(0.96, t)); }

void check_range(const char* op, const char* field, double value, double lo, double hi,
                 bool hi_open) {
  const bool ok = value >= lo && (hi_open ? value < hi : value <= hi);
  ENGINE_CHECK(ok, op, ": ", field, " must be in [", lo, ", ", hi, hi_open ? ")" : "]",
               ", got ", value);
}

void check_non_negative(const char* op, const char* field, double value) {
  ENGINE_CHECK(value >= 0 && std::isfinite(value), op, ": ", field,
               " must be a finite number >= 0, got ", value);
}

}  // namespace

OptimizerKind optimizer_kind_from_name(const std::string& name) {
  const std::string key = lower(name);
  for (OptimizerKind k : kKinds)
    if (lower(optimizer_kind_name(k)) == key) return k;
  fail(ErrorKind::Value, "unknown optimizer '", name,
       "' (expected one of sgd, adagrad, rmsprop, adam, adamax, nadam, adamw)");
}

const char* optimizer_kind_name(OptimizerKind kind) {
  switch (kind) {
    case OptimizerKind::SGD: return "SGD";
    case OptimizerKind::Adagrad: return "Adagrad";
    case OptimizerKind::RMSprop: return "RMSprop";
    case OptimizerKind::Adam: return "Adam";
    case OptimizerKind::Adamax: return "Adamax";
    case OptimizerKind::Nadam: return "Nadam";
    case OptimizerKind::AdamW: return "AdamW";
  }
  return "unknown";
}

OptimizerConfig optimizer_default_config(OptimizerKind kind) {
  OptimizerConfig c;
  c.kind = kind;
  c.learning_rate = kind == OptimizerKind::SGD ? 0.01f : 0.001f;
  if (kind == OptimizerKind::AdamW) c.weight_decay = 0.004;
  return c;
}

Optimizer::Optimizer(OptimizerConfig config) : config_(config) {
  const char* op = optimizer_kind_name(config.kind);
  ENGINE_CHECK(std::string(op) != "unknown", "optimizer: unknown kind code ",
               static_cast<int>(config.kind));
  check_non_negative(op, "learning_rate", config.learning_rate);
  check_range(op, "momentum", config.momentum, 0.0, 1.0, false);
  check_range(op, "beta_1", config.beta_1, 0.0, 1.0, true);
  check_range(op, "beta_2", config.beta_2, 0.0, 1.0, true);
  check_range(op, "rho", config.rho, 0.0, 1.0, false);
  check_non_negative(op, "epsilon", config.epsilon);
  check_non_negative(op, "initial_accumulator_value", config.initial_accumulator_value);
  check_non_negative(op, "weight_decay", config.weight_decay);
  for (auto [field, v] : {std::pair<const char*, double>{"clipnorm", config.clipnorm},
                          {"clipvalue", config.clipvalue},
                          {"global_clipnorm", config.global_clipnorm}})
    ENGINE_CHECK(!std::isnan(v), op, ": ", field, " is NaN");
  ENGINE_CHECK(!(config.clipnorm > 0 && config.global_clipnorm > 0), op,
               ": only one of clipnorm and global_clipnorm can be set, got clipnorm=",
               config.clipnorm, " and global_clipnorm=", config.global_clipnorm);
}

void Optimizer::set_learning_rate(float lr) {
  check_non_negative(optimizer_kind_name(config_.kind), "learning_rate", lr);
  config_.learning_rate = lr;
}

std::vector<std::string> Optimizer::slot_names() const {
  std::vector<std::string> names;
  for (const char* name : slot_layout(config_))
    if (name) names.emplace_back(name);
  return names;
}

void Optimizer::build(const std::vector<Tensor>& params) {
  const SlotLayout layout = slot_layout(config_);
  const float init = config_.kind == OptimizerKind::Adagrad
                         ? static_cast<float>(config_.initial_accumulator_value)
                         : 0.0f;
  shapes_.clear();
  slots_.clear();
  for (const Tensor& p : params) {
    shapes_.push_back(p.shape());
    std::vector<Tensor> slots(kMaxOptimizerSlots);
    // On the parameter's device: the update kernels read both.
    for (int k = 0; k < kMaxOptimizerSlots; ++k)
      if (layout[k])
        slots[k] = init == 0.0f ? Tensor::zeros(p.shape(), DType::Float32, p.device())
                                : Tensor::full(p.shape(), init).to(p.device());
    slots_.push_back(std::move(slots));
  }
}

double global_norm(const std::vector<Tensor>& tensors) {
  double total = 0.0;
  for (const Tensor& t : tensors) {
    check_dense_float(t, "global_norm");
    total += optimizer_kernels().get(t.device()).sum_of_squares(t.numel(), t.data<float>());
  }
  return std::sqrt(total);
}

bool all_finite(const std::vector<Tensor>& tensors) {
  for (const Tensor& t : tensors) check_dense_float(t, "all_finite");
  for (const Tensor& t : tensors)
    if (!optimizer_kernels().get(t.device()).all_finite(t.numel(), t.data<float>())) return false;
  return true;
}

void Optimizer::apply(const std::vector<Tensor>& params, const std::vector<Tensor>& grads) {
  const char* op = optimizer_kind_name(config_.kind);
  ENGINE_CHECK(params.size() == grads.size(), op, ": got ", params.size(), " parameters but ",
               grads.size(), " gradients");
  if (params.empty()) return;
  for (size_t i = 0; i < params.size(); ++i) {
    check_dense_float(params[i], str(op, ": params[", i, "]").c_str());
    check_dense_float(grads[i], str(op, ": grads[", i, "]").c_str());
    ENGINE_CHECK(grads[i].shape() == params[i].shape(), op, ": grads[", i, "] ",
                 grads[i].describe(), " does not match params[", i, "] ", params[i].describe());
    ENGINE_CHECK(grads[i].device() == params[i].device(), op, ": grads[", i, "] is on ",
                 grads[i].device().str(), " but params[", i, "] on ",
                 params[i].device().str());
  }
  if (shapes_.empty()) {
    build(params);
  } else {
    ENGINE_CHECK(params.size() == shapes_.size(), op, ": got ", params.size(),
                 " parameters, but the optimizer was built for ", shapes_.size(),
                 " (the same parameter list must be passed at every step)");
    for (size_t i = 0; i < params.size(); ++i)
      ENGINE_CHECK(params[i].shape() == shapes_[i], op, ": params[", i, "] has shape ",
                   shape_str(params[i].shape()), " but its slots were built for ",
                   shape_str(shapes_[i]));
  }
  // Slots live on their parameter's device (load_state before the first step makes them
  // where the loaded values are).
  for (size_t i = 0; i < params.size(); ++i)
    for (Tensor& slot : slots_[i])
      if (slot.defined() && slot.device() != params[i].device())
        slot = slot.to(params[i].device());

  // Step scalars, in double; t counts this step from 1.
  const OptimizerConfig& c = config_;
  const double t = static_cast<double>(iterations_ + 1);
  const double lr = c.learning_rate;
  OptimizerStep s;
  s.lr = lr;
  s.decay = c.weight_decay > 0 ? c.weight_decay * lr : 0.0;
  s.momentum = c.momentum;
  s.nesterov = c.nesterov;
  s.rho = c.rho;
  s.centered = c.centered;
  s.amsgrad = c.amsgrad;
  s.beta_1 = c.beta_1;
  s.beta_2 = c.beta_2;
  s.epsilon = c.epsilon;
  s.beta_1_power = std::pow(c.beta_1, t);
  s.beta_2_power = std::pow(c.beta_2, t);
  s.alpha = lr * std::sqrt(1.0 - s.beta_2_power) / (1.0 - s.beta_1_power);
  s.mu_t = nadam_mu(c.beta_1, t);
  s.mu_t1 = nadam_mu(c.beta_1, t + 1);
  s.u_product = nadam_u_product_ * s.mu_t;
  s.u_product_next = s.u_product * s.mu_t1;

  // Clipping options in Keras's order of precedence.
  const bool per_tensor_norm = c.clipnorm > 0;
  const bool global_norm = !per_tensor_norm && c.global_clipnorm > 0;
  s.clip_value = (!per_tensor_norm && !global_norm && c.clipvalue > 0) ? c.clipvalue : 0.0;
  double global_scale = 1.0;
  if (global_norm) {
    const double norm = engine::global_norm(grads), clip = c.global_clipnorm;
    global_scale = std::isfinite(norm) ? clip * std::min(1.0 / norm, 1.0 / clip)
                                       : std::numeric_limits<double>::quiet_NaN();
  }

  for (size_t i = 0; i < params.size(); ++i) {
    const Tensor& g = grads[i];
    const OptimizerKernels& kernels = optimizer_kernels().get(params[i].device());
    s.grad_scale = global_scale;
    if (per_tensor_norm) {
      const double norm = std::sqrt(kernels.sum_of_squares(g.numel(), g.data<float>()));
      s.grad_scale = c.clipnorm / std::max(norm, c.clipnorm);
    }
    float* slots[kMaxOptimizerSlots];
    for (int k = 0; k < kMaxOptimizerSlots; ++k)
      slots[k] = slots_[i][k].defined() ? slots_[i][k].data<float>() : nullptr;
    kernels.update(c.kind, s, params[i].numel(), params[i].data<float>(), g.data<float>(),
                   slots);
  }
  nadam_u_product_ = s.u_product;
  ++iterations_;
  parameters_changed();
}

std::vector<Tensor> Optimizer::state() const {
  std::vector<Tensor> out;
  for (const auto& slots : slots_)
    for (const Tensor& t : slots)
      if (t.defined()) out.push_back(t);
  return out;
}

void Optimizer::set_iterations(int64_t iterations) {
  iterations_ = iterations;
  nadam_u_product_ = 1.0;
  for (int64_t k = 1; k <= iterations; ++k) nadam_u_product_ *= nadam_mu(config_.beta_1, k);
}

void Optimizer::load_state(int64_t iterations, const std::vector<Tensor>& slots) {
  const char* op = optimizer_kind_name(config_.kind);
  ENGINE_CHECK(iterations >= 0, op, ": iterations must be >= 0, got ", iterations);
  const SlotLayout layout = slot_layout(config_);
  const size_t per_param = slot_names().size();
  if (per_param == 0) {
    ENGINE_CHECK(slots.empty(), op, ": this configuration keeps no slots, got ", slots.size(),
                 " tensors");
  } else if (!shapes_.empty()) {
    ENGINE_CHECK(slots.size() == shapes_.size() * per_param, op, ": expected ",
                 shapes_.size() * per_param, " slot tensors (", shapes_.size(),
                 " parameters x ", per_param, " slots), got ", slots.size());
  } else {
    ENGINE_CHECK(slots.size() % per_param == 0, op, ": expected a multiple of ", per_param,
                 " slot tensors, got ", slots.size());
  }
  for (size_t j = 0; j < slots.size(); ++j) {
    const Tensor& t = slots[j];
    ENGINE_CHECK(t.defined(), op, ": state[", j, "] is undefined");
    check_float32(t, str(op, ": state[", j, "]").c_str());
    const Shape& expected = shapes_.empty() ? slots[j - j % per_param].shape()
                                            : shapes_[j / per_param];
    ENGINE_CHECK(t.shape() == expected, op, ": state[", j, "] has shape ", shape_str(t.shape()),
                 ", expected ", shape_str(expected));
  }
  // Every check passed: now change the state.
  if (shapes_.empty() && !slots.empty()) {
    for (size_t first = 0; first < slots.size(); first += per_param) {
      shapes_.push_back(slots[first].shape());
      slots_.emplace_back(kMaxOptimizerSlots);
    }
  }
  size_t j = 0;
  for (size_t i = 0; i < slots_.size() && j < slots.size(); ++i) {
    for (int k = 0; k < kMaxOptimizerSlots; ++k) {
      if (!layout[k]) continue;
      // A new slot starts where its values are; apply moves it to its parameter's device.
      if (!slots_[i][k].defined())
        slots_[i][k] = Tensor::empty(shapes_[i], DType::Float32, slots[j].device());
      slots_[i][k].copy_from(slots[j++]);
    }
  }
  set_iterations(iterations);
}

}  // namespace engine
