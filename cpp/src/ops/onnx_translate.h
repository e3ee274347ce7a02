// What an op's older-opset translations (its <op>_onnx.cpp) may ask of the ONNX importer
// and writer. They implement these (onnx/import.cpp, onnx/model_writer.cpp); the ops never
// see the file itself.
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>

#include "engine/ir.h"
#include "engine/tensor.h"

namespace engine {

// The batch size inside int64 values the importer folded from shapes (Shape of a
// batch-major tensor): only known when the graph runs.
constexpr int64_t kSymbolicBatch = std::numeric_limits<int64_t>::min();
// A value computed from the batch size (the batch times the number of heads, the batch plus
// one) or from another input size: only known when the graph runs, and only a Reshape
// target's one inferred dim (-1) may hold it.
// Clear of kSymbolicBatch + 1 (-INT64_MAX), which exporters write as the open end of a
// reversed Slice.
constexpr int64_t kSymbolicDerived = kSymbolicBatch + 1000003;
inline bool is_symbolic(int64_t v) { return v == kSymbolicBatch || v == kSymbolicDerived; }

class OnnxImportContext {
 public:
  virtual ~OnnxImportContext() = default;
  virtual int64_t opset() const = 0;
  // The value of `name` when the importer knows it (an initializer or a folded
  // computation), else nullptr.
  virtual const Tensor* constant(const std::string& name) const = 0;
  // The rank of a value; an error naming it when the importer cannot tell.
  virtual int rank(const std::string& name) const = 0;
  // A new constant initializer; returns its (unique) name.
  virtual std::string add_constant(const Tensor& value, const std::string& base) = 0;
  // add_constant of a 1-D int64 tensor: the shapes, axes and bounds older forms held as
  // attributes.
  std::string add_int64s(const std::vector<int64_t>& values, const std::string& base) {
    Tensor t = Tensor::empty({static_cast<int64_t>(values.size())}, DType::Int64);
    std::copy(values.begin(), values.end(), t.data<int64_t>());
    return add_constant(t, base);
  }
  // A new weight initializer (a model parameter); returns its (unique) name.
  virtual std::string add_weight(const Tensor& value, const std::string& base) = 0;
  // True when `name` is a weight (a float initializer of the file, or one added above).
  virtual bool is_weight(const std::string& name) const = 0;
  // True when a node or a graph output reads `name`.
  virtual bool is_read(const std::string& name) const = 0;
  // A weight the optimizer must leave alone (BatchNormalization's running statistics).
  virtual void freeze_weight(const std::string& name) = 0;
  // An error naming the node being translated.
  [[noreturn]] virtual void fail(const std::string& message) const = 0;
};

// What an op's translation into an older opset's form may ask of the ONNX writer.
class OnnxExportContext {
 public:
  virtual ~OnnxExportContext() = default;
  virtual int64_t opset() const = 0;  // of the default domain, being written
  // The value of an initializer of the graph, else nullptr.
  virtual const Tensor* constant(const std::string& name) const = 0;
  // Writes `node` before the one being translated: an op older opsets lack, written as the
  // ops it is made of (their values named after the node's own).
  virtual void emit_before(Node node) = 0;
  // An error naming the node being written.
  [[noreturn]] virtual void fail(const std::string& message) const = 0;
};

}  // namespace engine
