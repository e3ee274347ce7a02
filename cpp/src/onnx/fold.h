// The ops that exist only at import time: exporters use them to compute shapes and
// constants (Constant, ConstantOfShape, Shape, Cast, Mod, Range, ScatterND of known values,
// and integer arithmetic on shape values). The importer evaluates them on values it knows and never emits them.
// Errors are plain messages (ErrorKind::Value); the importer prefixes the node.
#pragma once

#include <string>
#include <vector>

#include "engine/ir.h"
#include "engine/tensor.h"

namespace engine {

struct FoldAttr {
  const char* name;
  Attribute::Kind kind;
};

// The attributes an import-time op accepts, or nullptr when `op_type` is not one.
const std::vector<FoldAttr>* fold_op_attrs(const std::string& op_type);

Tensor fold_constant(const Node& node);
Tensor fold_constant_of_shape(const Node& node, const Tensor& shape);
// Cast to the `to` attribute's type; float types give float32, bool bool, integer types int64.
Tensor fold_cast(const Node& node, const Tensor& x);
// True when Cast's `to` is a type whose values the engine holds as `dtype`.
bool cast_keeps(const Node& node, DType dtype);
// Add, Sub, Mul or Div of int64 tensors with numpy broadcasting; Div truncates toward zero.
// An operand that holds the symbolic batch size gives kSymbolicDerived, unless the operation
// leaves it as it is (times 1, plus 0).
Tensor fold_int64_binary(const std::string& op_type, const Tensor& a, const Tensor& b);
// Equal of int64 tensors where an operand holds the symbolic batch size: the batch (never
// negative) differs from every negative value; any other comparison with it is an error.
Tensor fold_symbolic_equal(const Tensor& a, const Tensor& b);
// Range (opset 11) of int64 or float32 scalars.
Tensor fold_range(const Tensor& start, const Tensor& limit, const Tensor& delta);
// ScatterND without reduction on known values (which may hold the symbolic batch size):
// data with the slices that indices address replaced by updates. Any other ScatterND is the
// run-time op (ops/scatter).
Tensor fold_scatter_nd(const Node& node, const Tensor& data, const Tensor& indices,
                       const Tensor& updates);

// The values of a 1-D (or scalar) int64 tensor.
std::vector<int64_t> int64_values(const Tensor& t);
Tensor int64_tensor(const Shape& shape, const std::vector<int64_t>& values);

}  // namespace engine
