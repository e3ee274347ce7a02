// The index-addressed ops, over one addressing scheme (where element k of updates, or of y
// for GatherND, lies in data):
//   ScatterElements (and Scatter, its name before opset 11): y = data, then for each k
//     y[k's coordinates with the one along `axis` replaced by indices[k]] (op)= updates[k].
//     indices int64 of data's rank, each dim no larger than data's except along `axis`;
//     updates has indices' shape.
//   ScatterND: y = data, then y[indices[t, :], ...] (op)= updates[t, ...] for each index tuple
//     t. indices [I..., q] int64 (1 <= q <= rank of data); updates [I..., D[q:]...].
//   GatherND (batch_dims b): y[b..., t..., e...] = data[b..., indices[b..., t..., :], e...].
//     indices [B..., I..., q] with B = data's first b dims, 1 <= q <= rank - b;
//     y [B..., I..., D[b+q:]...].
//   TensorScatter (a KV-cache update): y = past_cache, then along `axis` (not 0; default -2)
//     row b's update steps s go to positions write_indices[b] + s (modulo the axis' size with
//     mode circular); write_indices int64 [B], optional (zeros), >= 0, and with mode linear
//     write_indices[b] plus the update's steps at most the axis' size. update has past_cache's
//     shape but along the axis, where it is no longer.
// (op) is the reduction: none (assign; among repeated targets the last update wins, as
// onnxruntime does), add, mul, max or min. An index in [-D, 0) counts from the end; any
// other index outside [0, D) is an error naming it, raised before anything is written.
// data and updates are float32 or int64 (other types compute in them at import).
//   Backward (float32): ScatterElements/ScatterND with reduction none (and TensorScatter): ddata =
//   dy with every updated position zeroed, dupdates = dy at each update's position for the update
//   the forward left there (the last of repeated ones; on a device one of them) and 0 for the
//   others; with add: ddata = dy, dupdates = dy gathered at the updates' positions; mul,
//   max and min have none. GatherND: ddata =
//   zeros, dy added at every gathered position (repeats add up). Gradients OVERWRITTEN.
#pragma once

#include <cstdint>
#include <string>

#include "engine/ir.h"
#include "engine/tensor.h"

namespace engine {

constexpr int kScatterMaxRank = 8;

enum class ScatterReduction { None, Add, Mul, Max, Min };
ScatterReduction parse_scatter_reduction(const std::string& name, const char* op);

// Which op addresses data, and how.
struct ScatterAttrs {
  bool nd = false;         // ScatterND / GatherND; else ScatterElements
  int64_t axis = 0;        // ScatterElements
  int64_t batch_dims = 0;  // GatherND
  ScatterReduction reduction = ScatterReduction::None;
};

// Where element k of updates (of y for GatherND) lies in data. The indices are checked on
// the host before any kernel runs, so kernels see only valid ones.
struct ScatterLayout {
  bool nd = false;
  // TensorScatter: as Elements, but the axis coordinate is the update's own plus the write
  // index of its batch row (indices[k / per_batch], 0 without indices), modulo axis_dim when
  // circular.
  bool sequence = false, circular = false;
  int64_t per_batch = 1;
  int64_t count = 0;  // elements of updates (of y for GatherND)
  // Elements: k's coordinates in updates' shape (dims), the axis one from indices[k].
  // ND: the q addressed dims of data (dims) and their strides.
  int rank = 0, axis = 0;
  int64_t axis_dim = 0;  // Elements: data's dim along the axis
  int64_t dims[kScatterMaxRank] = {};
  int64_t strides[kScatterMaxRank] = {};
  // ND: element k = (index tuple t, element e of the slice it addresses); tuple t reads
  // indices[t q, t q + q); tuples of one batch address that batch's part of data.
  int q = 0;
  int64_t slice = 1, tuples_per_batch = 1, batch_stride = 0;
};

// The layout, and the shape of updates (of y for GatherND) it expects; errors name `op`.
ScatterLayout scatter_layout(const char* op, const ScatterAttrs& attrs, const Shape& data,
                             const Shape& indices, Shape* updates_shape);

void scatter_forward(const char* op, const ScatterAttrs& attrs, const Tensor& data,
                     const Tensor& indices, const Tensor& updates, Tensor& y);
// Either gradient may be null (not wanted).
void scatter_backward(const char* op, const ScatterAttrs& attrs, const Tensor& dy,
                      const Tensor& indices, Tensor* ddata, Tensor* dupdates);
// TensorScatter; write_indices may be undefined (zeros). Either gradient may be null.
void tensor_scatter_forward(const Tensor& past, const Tensor& update, const Tensor& write_indices,
                            int64_t axis, bool circular, Tensor& y);
void tensor_scatter_backward(const Tensor& dy, const Tensor& write_indices, const Shape& update,
                             int64_t axis, bool circular, Tensor* dpast, Tensor* dupdate);
ScatterLayout tensor_scatter_layout(const Shape& past, const Shape& update, int64_t axis,
                                    bool circular);
void gather_nd_forward(const Tensor& data, const Tensor& indices, int64_t batch_dims, Tensor& y);
void gather_nd_backward(const Tensor& dy, const Tensor& indices, int64_t batch_dims, Tensor& ddata);

class OnnxExportContext;
// The form of the opset a file is written at (Scatter's name, the reductions' opsets).
void scatter_to_opset(Node& node, OnnxExportContext& ctx);

template <class T>
struct ScatterTypedKernels {
  // y[target(k)] (op)= updates[k] for every k.
  void (*scatter)(const ScatterLayout& l, ScatterReduction r, const int64_t* indices,
                  const T* updates, T* y);
  // out[k] = src[target(k)] for every k.
  void (*gather)(const ScatterLayout& l, const int64_t* indices, const T* src, T* out);
};
struct ScatterKernels {
  ScatterTypedKernels<float> f32;
  ScatterTypedKernels<int64_t> i64;
  // Reduction none's backward: work holds dy and becomes ddata; dupdates (may be null) gets
  // each target's gradient at the update that claims it (scatter_claim_loop).
  void (*claim)(const ScatterLayout& l, const int64_t* indices, float* work, float* dupdates);
};
ScatterKernels scatter_ref_kernels();
ScatterKernels scatter_cpu_kernels();

}  // namespace engine
