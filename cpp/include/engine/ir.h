// The graph IR: what an ONNX GraphProto holds. Inputs and outputs (a symbolic dimension
// written as -1), nodes named by ONNX op type with ONNX attributes, and initializers
// (parameters and constants). Training-only ops live in the "engine" domain.
//
// Plain data: ops read their attributes from a Node, the executor plans a Graph, the ONNX
// codec reads and writes one.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "engine/export.h"
#include "engine/tensor.h"

namespace engine {

struct ENGINE_API Attribute {
  enum class Kind { Int, Float, String, Ints, Floats, Tensor, Strings };
  Kind kind = Kind::Int;
  int64_t i = 0;
  float f = 0.0f;
  std::string s;
  std::vector<int64_t> ints;
  std::vector<float> floats;
  engine::Tensor t;
  std::vector<std::string> strings;

  static Attribute of_int(int64_t v);
  static Attribute of_float(float v);
  static Attribute of_string(std::string v);
  static Attribute of_ints(std::vector<int64_t> v);
  static Attribute of_floats(std::vector<float> v);
  static Attribute of_tensor(engine::Tensor v);
  static Attribute of_strings(std::vector<std::string> v);
};

ENGINE_API const char* attribute_kind_name(Attribute::Kind kind);  // "int", "floats", ...

struct ENGINE_API Node {
  std::string name;
  std::string op_type;
  std::string domain;  // "" for ONNX, "engine" for training-only ops
  std::vector<std::string> inputs;   // "" marks an omitted optional input
  std::vector<std::string> outputs;
  std::map<std::string, Attribute> attrs;

  // Typed attribute access; a wrong kind is an error naming the node. Without a fallback
  // a missing attribute is an error too (ops read attributes after their schema filled in
  // the defaults, see ops/op.h).
  int64_t attr_int(const std::string& key) const;
  int64_t attr_int(const std::string& key, int64_t fallback) const;
  float attr_float(const std::string& key) const;
  float attr_float(const std::string& key, float fallback) const;
  std::string attr_string(const std::string& key) const;
  std::string attr_string(const std::string& key, const std::string& fallback) const;
  std::vector<int64_t> attr_ints(const std::string& key, std::vector<int64_t> fallback = {}) const;
  std::vector<std::string> attr_strings(const std::string& key,
                                        std::vector<std::string> fallback = {}) const;
  bool has_attr(const std::string& key) const { return attrs.count(key) != 0; }
  std::string label() const;  // "Conv 'conv1'" for messages
};

struct ValueInfo {
  std::string name;
  DType dtype = DType::Float32;
  Shape shape;  // -1 marks a dimension fixed only when the graph is planned (the batch)
  // The element type an ONNX file declares (TensorProto.DataType; 0: none). The engine holds
  // int8-int32 and unsigned values in int64 and float16, bfloat16 and float64 in float32
  // (`dtype`); callers convert at the graph's edges.
  int32_t onnx_type = 0;
};

struct Graph {
  std::vector<ValueInfo> inputs;
  std::vector<ValueInfo> outputs;
  std::vector<Node> nodes;
  std::map<std::string, Tensor> initializers;  // parameters and constants
  std::set<std::string> trainable;             // initializers that receive gradients
};

enum class Mode { Inference, Training };

}  // namespace engine
