// ONNX Split (opset 18 form): x [D...] (rank r >= 1) cut along `axis` (in [-r, r-1],
// default 0) into the node's n outputs, in order. Their sizes along the axis:
//   - the `split` input (constant int64, n sizes >= 0 summing to the axis' length);
//   - else the num_outputs attribute (which must be n): parts of ceil(A / n), the last one
//     what remains (smaller, possibly empty; an error when nothing would remain for it);
//   - else n equal parts (A divisible by n), as opsets 2-17 split without sizes.
// The split attribute of opsets < 13 becomes the input (split_onnx.cpp). Any dtype.
// Backward: dx = the output gradients joined along the axis, zeros for those that receive
// no gradient; OVERWRITTEN.
//
// The copies are Concat's kernels run the other way round (ops/concat).
#pragma once

#include <cstdint>
#include <vector>

#include "engine/ir.h"
#include "engine/tensor.h"

namespace engine {

class OnnxImportContext;
class OnnxExportContext;
// Opsets < 13 gave the sizes as the split attribute, read and written (split_onnx.cpp).
void translate_split_onnx(Node& node, OnnxImportContext& ctx);
void split_to_opset(Node& node, OnnxExportContext& ctx);

// The size of each of `outputs` parts; `split` empty when not given, num_outputs 0 when not
// given. Errors name "Split".
std::vector<int64_t> split_sizes(const Shape& in, int64_t axis, const std::vector<int64_t>& split,
                                 int64_t num_outputs, size_t outputs);
std::vector<Shape> split_output_shapes(const Shape& in, int64_t axis,
                                       const std::vector<int64_t>& sizes);

// ys[i] has split_output_shapes(...)[i].
void split_forward(const Tensor& x, int64_t axis, const std::vector<int64_t>& sizes,
                   std::vector<Tensor>& ys);
// dys[i] undefined: no gradient reached output i (zeros).
void split_backward(const std::vector<Tensor>& dys, int64_t axis,
                    const std::vector<int64_t>& sizes, Tensor& dx);

}  // namespace engine
