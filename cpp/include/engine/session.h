// Sessions: what a C++ program uses to run, and to train, an ONNX model without Python.
//
//   engine::InferenceSession s = engine::InferenceSession::from_file("model.onnx");
//   std::vector<engine::Tensor> y = s.run({x});
//
//   engine::TrainingOptions o;                        // sparse categorical cross-entropy
//   o.optimizer = engine::optimizer_default_config(engine::OptimizerKind::Adam);
//   engine::TrainingSession t = engine::TrainingSession::from_file("mlp.onnx", o);
//   float loss = t.train_step({x}, labels);
//   t.export_onnx("trained.onnx");
//
// Errors are engine::Error (engine/status.h) with a message naming the problem: a missing
// or malformed file, inputs of the wrong count, dtype or shape, a target that does not fit
// the loss.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/device.h"
#include "engine/export.h"
#include "engine/optimizer.h"
#include "engine/tensor.h"

namespace engine {

struct SessionOptions {
  Device device = Device::cpu();
  int threads = 0;         // > 0: engine::set_num_threads(threads) when the session is made
  int64_t batch_size = 0;  // > 0: plan for this batch size when the session is made, so the
                           // first run of that size does no planning or allocation
};

// A graph input or output: -1 in the shape marks a dimension of any size (the batch).
struct TensorInfo {
  std::string name;
  DType dtype = DType::Float32;
  Shape shape;
};

// A tensor viewing caller-owned, C-contiguous host memory (no copy; the caller keeps it
// alive while the tensor is used).
ENGINE_API Tensor host_view(void* data, const Shape& shape, DType dtype = DType::Float32);

class ENGINE_API InferenceSession {
 public:
  static InferenceSession from_file(const std::string& onnx_path,
                                    const SessionOptions& options = {});
  static InferenceSession from_buffer(const void* data, size_t size,
                                      const SessionOptions& options = {});
  InferenceSession(InferenceSession&&) noexcept;
  InferenceSession& operator=(InferenceSession&&) noexcept;
  ~InferenceSession();

  const std::vector<TensorInfo>& inputs() const;
  const std::vector<TensorInfo>& outputs() const;

  // One output tensor per graph output (host memory). Thread-safe: many threads may run
  // one session at once, each call with its own buffers.
  std::vector<Tensor> run(const std::vector<Tensor>& inputs) const;
  // The same, writing each output into outputs[k] (caller-owned, e.g. host_view), whose
  // shape and dtype must be the output's (an error naming the output otherwise).
  void run_into(const std::vector<Tensor>& inputs, const std::vector<Tensor>& outputs) const;

 private:
  struct Impl;
  explicit InferenceSession(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

struct TrainingOptions {
  // "sparse_categorical_crossentropy" (int64 class labels), "categorical_crossentropy"
  // (one-hot float targets), "binary_crossentropy", "mse", "mae" or "huber". The cross-
  // entropies read the model's output as logits when from_logits, else as probabilities.
  std::string loss = "sparse_categorical_crossentropy";
  bool from_logits = true;
  OptimizerConfig optimizer = optimizer_default_config(OptimizerKind::Adam);
  // The learning rate of each step, from the optimizer's step count (0, 1, ...); empty:
  // optimizer.learning_rate throughout.
  std::function<double(int64_t)> schedule;
  // The initializers to train; empty: every weight the ONNX import marks trainable.
  std::vector<std::string> trainable;
  SessionOptions session;
};

// Training of an imported model: one C++ call per step (forward, loss, backward, update).
// Not thread-safe: one thread at a time may call any method of one TrainingSession.
class ENGINE_API TrainingSession {
 public:
  static TrainingSession from_file(const std::string& onnx_path, const TrainingOptions& options);
  static TrainingSession from_buffer(const void* data, size_t size,
                                     const TrainingOptions& options);
  TrainingSession(TrainingSession&&) noexcept;
  TrainingSession& operator=(TrainingSession&&) noexcept;
  ~TrainingSession();

  const std::vector<TensorInfo>& inputs() const;
  const std::vector<TensorInfo>& outputs() const;

  // One step on a batch; returns the batch's mean loss. A non-finite loss or gradient
  // raises (FloatingPoint kind) without changing the weights.
  float train_step(const std::vector<Tensor>& inputs, const Tensor& targets);
  // The mean loss on a batch, weights unchanged (inference mode).
  float evaluate(const std::vector<Tensor>& inputs, const Tensor& targets) const;
  // Inference outputs with the current weights.
  std::vector<Tensor> run(const std::vector<Tensor>& inputs) const;

  int64_t steps() const;  // optimizer updates so far
  void set_learning_rate(double learning_rate);

  // The inference graph with the current weights, as an ONNX file (atomic write).
  void export_onnx(const std::string& path) const;
  // The optimizer's state (step count and slots) to a file and back (atomic write; a
  // file that does not fit this session's parameters is an error, the state unchanged).
  void save_optimizer_state(const std::string& path) const;
  void load_optimizer_state(const std::string& path);

 private:
  struct Impl;
  explicit TrainingSession(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace engine
