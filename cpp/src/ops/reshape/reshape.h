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

#include "engine/tensor.h"

namespace engine {

Shape reshape_output_shape(const Shape& in, const std::vector<int64_t>& spec, bool allowzero);
Shape flatten_output_shape(const Shape& in, int64_t axis);

// y's shape must be reshape_output_shape(...); the data is copied unless y is x's memory.
void reshape_forward(const Tensor& x, const std::vector<int64_t>& spec, bool allowzero,
                     Tensor& y);
void flatten_forward(const Tensor& x, int64_t axis, Tensor& y);
void identity_forward(const Tensor& x, Tensor& y);
// dx has the forward input's shape; the data is copied unless dx is dy's memory.
void reshape_backward(const Tensor& dy, Tensor& dx);

// The allocating versions return views sharing x's (or dy's) memory: no copy.
Tensor reshape_forward(const Tensor& x, const std::vector<int64_t>& spec, bool allowzero);
Tensor flatten_forward(const Tensor& x, int64_t axis);
Tensor reshape_backward(const Tensor& dy, const Shape& x_shape);

}  // namespace engine
