// Shape-only ops: ONNX Reshape, Flatten and Identity. The data never changes order, so the
// kernels are copies (or no work at all when the output may be a view of the input); no
// separate reference kernel is kept for a memcpy.
//   Reshape: `spec` entries > 0 are dims; 0 copies the input dim at the same index (unless
//     allowzero, where 0 is a zero-size dim); one -1 is inferred from the element count.
//   Flatten: [d0 * ... * d(axis-1), d(axis) * ... * d(r-1)], axis in [-r, r] (default 1).
//   Backward of all three: dx = dy with x's shape.
// Any dtype (float32 or int64); inputs must be C-contiguous.
#pragma once

#include <vector>

#include "engine/ir.h"
#include "engine/tensor.h"

namespace engine {

class OnnxImportContext;
// Opsets < 5 gave the target shape as an attribute; a target that copies the symbolic
// batch dim keeps it with 0 or infers it with -1 (reshape_onnx.cpp).
void translate_reshape_onnx(Node& node, OnnxImportContext& ctx);
// Opsets < 13 gave Squeeze/Unsqueeze axes as an attribute (reshape_onnx.cpp).
void translate_axes_onnx(Node& node, OnnxImportContext& ctx);

Shape reshape_output_shape(const Shape& in, const std::vector<int64_t>& spec, bool allowzero);
Shape flatten_output_shape(const Shape& in, int64_t axis);

// y's shape must be reshape_output_shape(...); the data is copied unless y is x's memory.
void reshape_forward(const Tensor& x, const std::vector<int64_t>& spec, bool allowzero,
                     Tensor& y);
void flatten_forward(const Tensor& x, int64_t axis, Tensor& y);
void identity_forward(const Tensor& x, Tensor& y);
// dx has the forward input's shape; the data is copied unless dx is dy's memory.
void reshape_backward(const Tensor& dy, Tensor& dx);

}  // namespace engine
