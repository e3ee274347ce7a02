// ONNX Concat: inputs x_i [D0, ..., A_i, ..., Dr-1] joined along `axis` (negative counts from
// the end) into y [D0, ..., sum A_i, ..., Dr-1]; all other dims equal, rank >= 1, same dtype
// (float32 or int64: shape arithmetic concatenates int64 tensors).
// Backward splits dy along `axis` into the input gradients (overwritten).
//
// Kernels see every tensor as [outer, A_i * inner]: y's row o is the rows o of the inputs
// side by side.
#pragma once

#include <vector>

#include "engine/ir.h"
#include "engine/tensor.h"

namespace engine {

class OnnxImportContext;
// Opsets < 4: the axis was optional, 1 by default (concat_onnx.cpp).
void translate_concat_onnx(Node& node, OnnxImportContext& ctx);

Shape concat_output_shape(const std::vector<Shape>& shapes, int64_t axis);

void concat_forward(const std::vector<Tensor>& xs, int64_t axis, Tensor& y);
// `shapes` are the forward inputs' shapes; dxs[i] is undefined (not needed) or has shapes[i].
void concat_backward(const Tensor& dy, const std::vector<Shape>& shapes, int64_t axis,
                     std::vector<Tensor>& dxs);

// One part of a concatenation: its data (null: skip it) and its row length in bytes.
struct ConcatPart {
  char* data;
  int64_t row_bytes;
};
// to_parts: copy the big tensor's rows into the parts (backward); else the parts into it.
struct ConcatKernels {
  void (*copy)(int64_t outer, const std::vector<ConcatPart>& parts, char* whole, bool to_parts);
};
template <class Kernels>
class KernelTable;
// The table, also run by Split (its forward copies the whole into the parts).
const KernelTable<ConcatKernels>& concat_kernels();
void concat_copy_cpu(int64_t outer, const std::vector<ConcatPart>& parts, char* whole,
                     bool to_parts);
void concat_copy_ref(int64_t outer, const std::vector<ConcatPart>& parts, char* whole,
                     bool to_parts);

}  // namespace engine
