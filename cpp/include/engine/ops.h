// Every op as a function on tensors: the same op definitions the executor plans and runs,
// one node at a time. This is what engine.ops calls from Python, and what a C++ program
// uses to run an op without building a graph.
//
// An op is named as in a graph: an ONNX op type ("Conv", "Softmax") in the default domain,
// or a training op in the "engine" domain ("SoftmaxCrossEntropy"). Attributes are ONNX
// attributes; ones not given take the op's defaults, unknown ones are errors.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "engine/export.h"
#include "engine/ir.h"
#include "engine/tensor.h"

namespace engine {

// What an op sees of an input before it runs: dtype and shape, and the value itself when
// it is known (an initializer, or every input of a single op call).
struct ValueDesc {
  DType dtype = DType::Float32;
  Shape shape;
  const Tensor* constant = nullptr;
  bool present = true;  // false for an omitted optional input ("" in a node)
};

struct OpCall {
  std::string op_type;
  std::string domain;  // "" (ONNX) or "engine"
  std::map<std::string, Attribute> attrs;
  Mode mode = Mode::Inference;
  int num_outputs = -1;  // -1: the op's fewest outputs
  uint64_t step = 0;     // training-step counter (seeds per-step randomness such as dropout)
};

// What one forward call produced: the outputs, and the per-call buffers the op keeps for
// its backward pass (saved statistics, masks), in the order the op's header documents.
struct OpResult {
  std::vector<Tensor> outputs;
  std::vector<Tensor> state;
};

// Runs the op forward on `inputs` (an undefined tensor for an omitted optional input).
// In training mode the op's side effects are committed (BatchNormalization updates its
// running statistics in place).
ENGINE_API OpResult run_op(const OpCall& call, const std::vector<Tensor>& inputs);

// Gradients of the op's inputs for the output gradients `douts` (an undefined tensor: no
// gradient flows into that output). `outputs` and `state` are those of the forward call;
// when both are empty the forward pass runs again to compute them (if backward reads them).
// `need[i]` asks for input i's gradient (empty: every differentiable input); the others are
// undefined.
ENGINE_API std::vector<Tensor> run_op_backward(const OpCall& call,
                                               const std::vector<Tensor>& inputs,
                                               const std::vector<Tensor>& outputs,
                                               const std::vector<Tensor>& state,
                                               const std::vector<Tensor>& douts,
                                               const std::vector<bool>& need = {});

// The outputs' dtypes and shapes for inputs described by `inputs`, without running.
ENGINE_API std::vector<ValueDesc> infer_op(const OpCall& call,
                                           const std::vector<ValueDesc>& inputs);

// Every op a graph may hold: "Relu", "engine.SoftmaxCrossEntropy", ...
ENGINE_API std::vector<std::string> supported_ops();

// An op's attributes: name, kind, and default (absent when the op has none).
struct AttributeSchema {
  std::string name;
  Attribute::Kind kind = Attribute::Kind::Int;
  bool required = false;
  bool has_default = false;
  Attribute default_value;
};

struct OpSchemaInfo {
  std::string domain, op_type;
  int min_inputs = 0, max_inputs = 0;  // max -1: any number
  int min_outputs = 0, max_outputs = 0;
  std::vector<AttributeSchema> attributes;
  int64_t onnx_since_opset = 0;  // the oldest opset whose form the ONNX importer reads
};

// The schema of an op (a ValueError naming the op when the engine has none).
ENGINE_API OpSchemaInfo op_schema(const std::string& domain, const std::string& op_type);

}  // namespace engine
