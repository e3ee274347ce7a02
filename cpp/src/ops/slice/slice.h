// ONNX Slice (opset 10+ form: starts, ends and the optional axes and steps are constant
// int64 inputs; the attributes of opsets 1-9 become those inputs, slice_onnx.cpp).
//   x [D...] (rank r) -> y: along each listed axis (in [-r, r-1], no repeats; all of
//   [0, len(starts)) when axes are omitted) the elements start, start + step, ... before
//   end. Negative starts and ends count from the end of the axis; then, as ONNX specifies,
//   a positive step clamps start and end to [0, D], a negative one start to [0, D - 1] and
//   end to [-1, D - 1]. Steps are non-zero; starts, ends, axes and steps have one length.
//   Any dtype; backward: dx = zeros with dy scattered into the picked elements (OVERWRITTEN).
//
// The strided copy below is the kernel of Slice, Expand and Tile: each reads its input
// through a strided view (steps, zero strides for broadcast, repeated axes for tiles).
#pragma once

#include <cstdint>
#include <vector>

#include "engine/ir.h"
#include "engine/tensor.h"

namespace engine {

class OnnxImportContext;
class OnnxExportContext;
// Opsets < 10 gave starts, ends and axes as attributes, read and written (slice_onnx.cpp).
void translate_slice_onnx(Node& node, OnnxImportContext& ctx);
void slice_to_opset(Node& node, OnnxExportContext& ctx);

struct SliceParams {
  std::vector<int64_t> starts, ends, axes, steps;  // axes, steps: empty when omitted
};

// A view of a strided tensor as a dense one: dense element j, at multi-index i over
// `shape`, is the strided tensor's element offset + sum_d i_d * strides[d] (strides in
// elements, negative to walk backwards, 0 to repeat an element).
struct StridedView {
  Shape shape;
  Shape strides;
  int64_t offset = 0;
};

// Checks the parameters against x's shape (errors name "Slice").
StridedView slice_view(const Shape& in, const SliceParams& p);
Shape slice_output_shape(const Shape& in, const SliceParams& p);

void slice_forward(const Tensor& x, const SliceParams& p, Tensor& y);
void slice_backward(const Tensor& dy, const SliceParams& p, Tensor& dx);

// dense = the view of `strided`: both contiguous, of one dtype, `dense` of the view's shape.
void strided_gather(const StridedView& v, const Tensor& strided, Tensor& dense);

// Kernels over elements of `elem_size` bytes (1, 2, 4 or 8). scatter writes the view's
// elements from `dense` and leaves the others; the view must not repeat an element.
struct StridedKernels {
  void (*gather)(const StridedView& v, size_t elem_size, const void* strided, void* dense);
  void (*scatter)(const StridedView& v, size_t elem_size, const void* dense, void* strided);
};
void strided_gather_cpu(const StridedView& v, size_t elem_size, const void* strided, void* dense);
void strided_scatter_cpu(const StridedView& v, size_t elem_size, const void* dense, void* strided);
void strided_gather_ref(const StridedView& v, size_t elem_size, const void* strided, void* dense);
void strided_scatter_ref(const StridedView& v, size_t elem_size, const void* dense, void* strided);

// The same view with size-1 axes dropped and neighbours that walk memory as one merged:
// what the CPU and CUDA kernels loop over (inline: the CUDA plugin sees only the headers).
inline StridedView simplify_view(const StridedView& v) {
  StridedView s;
  s.offset = v.offset;
  for (size_t d = 0; d < v.shape.size(); ++d) {
    if (v.shape[d] == 1) continue;
    if (v.shape[d] == 0) return StridedView{{0}, {0}, v.offset};
    // The previous axis steps over exactly this one: one axis of both sizes.
    if (!s.shape.empty() && s.strides.back() == v.strides[d] * v.shape[d]) {
      s.shape.back() *= v.shape[d];
      s.strides.back() = v.strides[d];
    } else {
      s.shape.push_back(v.shape[d]);
      s.strides.push_back(v.strides[d]);
    }
  }
  return s;
}

}  // namespace engine
