#include "ops/pad/pad.h"

#include <algorithm>

#include "core/checked.h"
#include "core/kernel_table.h"
#include "ops/pad/pad_cuda.h"

namespace engine {

PadMode pad_mode(const std::string& name, const char* op) {
  if (name == "constant") return PadMode::Constant;
  if (name == "reflect") return PadMode::Reflect;
  if (name == "edge") return PadMode::Edge;
  if (name == "wrap") return PadMode::Wrap;
  fail(ErrorKind::Value, op, ": unknown mode '", name, "' (constant, reflect, edge or wrap)");
}

PadGeometry pad_geometry(const Shape& in, const std::vector<int64_t>& pads, PadMode mode,
                         const char* op) {
  const int rank = static_cast<int>(in.size());
  ENGINE_CHECK(rank <= PadGeometry::kMaxRank, op, ": x has rank ", rank, ", more than ",
               PadGeometry::kMaxRank);
  ENGINE_CHECK(pads.size() == 2 * in.size(), op, ": pads ", shape_str(pads), " must hold ",
               2 * rank, " values (before and after each dim of x ", shape_str(in), ")");
  PadGeometry g;
  g.rank = rank;
  g.mode = mode;
  for (int d = 0; d < rank; ++d) {
    const int64_t b = pads[d], a = pads[d + rank];
    g.in[d] = in[d];
    g.before[d] = b;
    g.out[d] = checked_add(checked_add(in[d], b, "Pad: the output dim"), a, "Pad: the output dim");
    ENGINE_CHECK(g.out[d] >= 0, op, ": pads ", shape_str(pads), " crop more than dim ", d,
                 " of x ", shape_str(in), " holds");
    const bool pads_dim = b > 0 || a > 0;
    if (mode != PadMode::Constant && pads_dim)
      ENGINE_CHECK(in[d] > 0, op, ": cannot pad the empty dim ", d, " of x ", shape_str(in),
                   " in mode ",
                   mode == PadMode::Reflect ? "reflect" : mode == PadMode::Edge ? "edge" : "wrap");
    if (mode == PadMode::Wrap && pads_dim)
      ENGINE_CHECK(in[d] + std::min<int64_t>(b, 0) + std::min<int64_t>(a, 0) > 0, op, ": pads ",
                   shape_str(pads), " crop all of dim ", d, " of x ", shape_str(in),
                   ", which mode wrap repeats");
    if (mode == PadMode::Reflect)
      ENGINE_CHECK(b < in[d] && a < in[d], op, ": reflect pads of dim ", d, " must be below its ",
                   "size ", in[d], ", got ", b, " and ", a);
  }
  g.out_numel = shape_numel(pad_output_shape(g));
  return g;
}

Shape pad_output_shape(const PadGeometry& g) { return Shape(g.out, g.out + g.rank); }

const KernelTable<PadKernels>& pad_kernels() {
  static const KernelTable<PadKernels> table("Pad", {pad_forward_ref, pad_backward_ref},
                                             {pad_forward_cpu, pad_backward_ref},
                                             pad_cuda_kernels<HostGrid>());
  return table;
}

void pad_forward(const Tensor& x, const PadGeometry& g, float value, Tensor& y) {
  check_dense_float(x, "Pad: x");
  check_dense_float(y, "Pad: y");
  ENGINE_CHECK(x.shape() == Shape(g.in, g.in + g.rank), "Pad: x ", x.describe(),
               " does not match the geometry");
  ENGINE_CHECK(y.shape() == pad_output_shape(g), "Pad: y ", y.describe(),
               " does not match the output shape ", shape_str(pad_output_shape(g)));
  pad_kernels().get(x.device()).forward(g, x.data<float>(), value, y.data<float>());
}

void pad_backward(const Tensor& dy, const PadGeometry& g, Tensor& dx) {
  check_dense_float(dy, "Pad_backward: dy");
  check_dense_float(dx, "Pad_backward: dx");
  ENGINE_CHECK(dx.shape() == Shape(g.in, g.in + g.rank), "Pad_backward: dx ", dx.describe(),
               " does not match the geometry");
  ENGINE_CHECK(dy.shape() == pad_output_shape(g), "Pad_backward: dy ", dy.describe(),
               " does not match the output shape ", shape_str(pad_output_shape(g)));
  pad_kernels().get(dx.device()).backward(g, dx.numel(), dy.data<float>(), dx.data<float>());
}

}  // namespace engine
