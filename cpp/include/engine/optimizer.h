// Optimizers: the update rules of Keras 3 (SGD, Adagrad, RMSprop, Adam, Adamax, Nadam,
// AdamW) applied in place to float32 parameters, one call per training step.
//
// An Optimizer owns the per-parameter slots (momentum, velocity, ...). They are created
// zero-filled (Adagrad's accumulator filled with initial_accumulator_value) on the first
// apply() and keyed by position: every later apply() must pass the same parameter list in
// the same order; counts and shapes are checked.
//
// One step, as Keras 3's BaseOptimizer.apply does it, with lr the current learning rate
// and t = iterations + 1:
//   1. clip the gradients (never written back to the caller's buffers); the first active
//      option wins, in Keras's order:
//        clipnorm > 0:        g *= clipnorm / max(||g||, clipnorm), per tensor
//        global_clipnorm > 0: g *= min(1, global_clipnorm / ||all g||); a non-finite global
//                             norm turns every gradient into NaN, as in Keras
//        clipvalue > 0:       g = clamp(g, -clipvalue, clipvalue)
//   2. decoupled weight decay when weight_decay > 0 (any kind): p -= p * weight_decay * lr
//   3. the rule, elementwise (m, v, ... are the slots):
//      SGD      momentum 0: p -= lr*g
//               else        m = momentum*m - lr*g; p += m, or with nesterov
//                           p += momentum*m - lr*g
//      Adagrad  a += g^2; p -= lr*g / sqrt(a + eps)
//      RMSprop  v = rho*v + (1-rho)*g^2; centered: ag = rho*ag + (1-rho)*g,
//               d = v - ag^2 + eps, else d = v + eps; inc = lr*g / sqrt(d);
//               momentum > 0: m = momentum*m + inc; p -= m, else p -= inc
//      Adam     m += (g-m)*(1-b1); v += (g^2-v)*(1-b2); amsgrad: vh = max(vh, v), v := vh
//      AdamW    alpha = lr*sqrt(1-b2^t)/(1-b1^t); p -= alpha*m / (sqrt(v) + eps)
//               (epsilon is added to sqrt(v), not to sqrt(v_hat) as in the paper)
//      Adamax   m += (g-m)*(1-b1); u = max(b2*u, |g|); p -= lr*m / ((1-b1^t)*(u + eps))
//      Nadam    mu_t = b1*(1 - 0.5*0.96^t), mu_t1 = b1*(1 - 0.5*0.96^(t+1)),
//               P_t = prod_{k<=t} mu_k, P_t1 = P_t*mu_t1;
//               m += (g-m)*(1-b1); v += (g^2-v)*(1-b2);
//               m_hat = mu_t1*m/(1-P_t1) + (1-mu_t)*g/(1-P_t); v_hat = v/(1-b2^t);
//               p -= lr*m_hat / (sqrt(v_hat) + eps)
//   4. iterations += 1.
// Non-finite gradients are not checked here: Executor::train_step checks the loss and the
// gradients' global norm before it applies an optimizer.
//
// Executor::set_optimizer attaches one to a graph's training steps; a C++ program trains
// with it the same way the Python API does.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/export.h"
#include "engine/tensor.h"

namespace engine {

enum class OptimizerKind { SGD, Adagrad, RMSprop, Adam, Adamax, Nadam, AdamW };

// "sgd", "adam", "AdamW", ... (case-insensitive) -> kind; ValueError for unknown names.
ENGINE_API OptimizerKind optimizer_kind_from_name(const std::string& name);
ENGINE_API const char* optimizer_kind_name(OptimizerKind kind);  // "SGD", "Adam", ...

// Hyperparameters; fields a kind does not use are ignored. optimizer_default_config(kind)
// gives Keras 3's defaults for that kind. The learning rate is a float like Keras's float32
// variable; the others are double because Keras computes terms such as 1 - beta_2 from
// Python floats (in float32, 1 - 0.999f is off by 1e-5 relative).
struct OptimizerConfig {
  OptimizerKind kind = OptimizerKind::SGD;
  float learning_rate = 0.01f;
  double momentum = 0.0;   // SGD, RMSprop
  bool nesterov = false;   // SGD
  double beta_1 = 0.9;     // Adam, AdamW, Adamax, Nadam
  double beta_2 = 0.999;
  double epsilon = 1e-7;
  double rho = 0.9;        // RMSprop
  bool centered = false;   // RMSprop
  double initial_accumulator_value = 0.1;  // Adagrad
  bool amsgrad = false;    // Adam, AdamW
  double weight_decay = 0.0;  // decoupled; 0 = off (AdamW's default is 0.004)
  double clipnorm = 0.0;      // 0 or negative = off
  double clipvalue = 0.0;
  double global_clipnorm = 0.0;
};

ENGINE_API OptimizerConfig optimizer_default_config(OptimizerKind kind);

// sqrt(sum of every element squared) over all the tensors (float32, contiguous): the
// global norm global_clipnorm clips; NaN or inf when any element is not finite.
ENGINE_API double global_norm(const std::vector<Tensor>& tensors);
// Whether every element is finite: exactly when global_norm is (the squares are summed in
// double), in one vectorized pass instead of a sum in order.
ENGINE_API bool all_finite(const std::vector<Tensor>& tensors);

class ENGINE_API Optimizer {
 public:
  // Validates the hyperparameters (ValueError naming the field and value).
  explicit Optimizer(OptimizerConfig config);

  const OptimizerConfig& config() const { return config_; }
  void set_learning_rate(float lr);  // finite and >= 0
  float learning_rate() const { return config_.learning_rate; }
  int64_t iterations() const { return iterations_; }

  // One step over every (param, grad) pair: params (float32, contiguous) are updated in
  // place, grads are only read. An empty list is a no-op that does not count a step.
  void apply(const std::vector<Tensor>& params, const std::vector<Tensor>& grads);

  // Slot names of each parameter for this configuration, e.g. {"momentum", "velocity"}
  // for Adam; empty for SGD without momentum.
  std::vector<std::string> slot_names() const;
  // Parameters known (0 until the first apply or load_state).
  size_t num_params() const { return shapes_.size(); }

  // Checkpoint state: the slots of every parameter, parameter-major in slot_names()
  // order. state() returns views of the live slots (no copy); load_state copies values
  // in and sets iterations. Before the first apply, load_state creates the slots from
  // the given tensors (their shapes are then checked by the first apply).
  std::vector<Tensor> state() const;
  void load_state(int64_t iterations, const std::vector<Tensor>& slots);

 private:
  void build(const std::vector<Tensor>& params);
  void set_iterations(int64_t iterations);

  OptimizerConfig config_;
  int64_t iterations_ = 0;
  double nadam_u_product_ = 1.0;  // Nadam's running product of mu_k up to `iterations_`
  std::vector<Shape> shapes_;               // per parameter
  std::vector<std::vector<Tensor>> slots_;  // [param][slot], slot_names() order
};

}  // namespace engine
