#include "ops/grid_sample/grid_sample.h"

#include "core/kernel_table.h"
#include "ops/common.h"
#include "ops/grid_sample/grid_sample_kernels.h"

namespace engine {

GridSampleMode grid_sample_mode(const std::string& name, const char* op) {
  if (name == "linear") return GridSampleMode::Linear;
  if (name == "nearest") return GridSampleMode::Nearest;
  if (name == "cubic") return GridSampleMode::Cubic;
  fail(ErrorKind::Value, op, ": unknown mode '", name, "' (linear, nearest or cubic)");
}

GridSamplePadding grid_sample_padding(const std::string& name, const char* op) {
  if (name == "zeros") return GridSamplePadding::Zeros;
  if (name == "border") return GridSamplePadding::Border;
  if (name == "reflection") return GridSamplePadding::Reflection;
  fail(ErrorKind::Value, op, ": unknown padding_mode '", name, "' (zeros, border or reflection)");
}

Shape grid_sample_output_shape(const Shape& x, const Shape& grid) {
  Shape y = {x.at(0), x.at(1)};
  y.insert(y.end(), grid.begin() + 1, grid.end() - 1);
  return y;
}

GridSampleGeometry grid_sample_geometry(const Shape& x, const Shape& grid, GridSampleMode mode,
                                        GridSamplePadding padding, bool align_corners,
                                        const char* op) {
  const int rank = static_cast<int>(x.size());
  ENGINE_CHECK(rank == 4 || rank == 5, op, ": X must be [N, C, H, W] or [N, C, D, H, W], got ",
               shape_str(x));
  const int dims = rank - 2;
  ENGINE_CHECK(grid.size() == x.size() && grid.back() == dims && grid[0] == x[0], op, ": grid ",
               shape_str(grid), " must be [N, ", dims == 2 ? "Ho, Wo, 2" : "Do, Ho, Wo, 3",
               "] with the N of X ", shape_str(x));
  ENGINE_CHECK(mode != GridSampleMode::Cubic || dims == 2, op,
               ": cubic mode samples 2 spatial dims, X has ", dims);
  GridSampleGeometry g;
  g.dims = dims;
  g.mode = mode;
  g.padding = padding;
  g.align_corners = align_corners;
  g.batch = x[0];
  g.channels = x[1];
  g.in_points = 1;
  g.out_points = 1;
  for (int d = 0; d < dims; ++d) {
    g.in[d] = x[2 + d];
    g.in_points *= x[2 + d];
    g.out_points *= grid[1 + d];
  }
  ENGINE_CHECK(g.in_points > 0 || g.batch * g.channels * g.out_points == 0, op,
               ": cannot sample the empty X ", shape_str(x));
  return g;
}

const KernelTable<GridSampleKernels>& grid_sample_kernels() {
  static const KernelTable<GridSampleKernels> table("GridSample", grid_sample_ref_kernels(),
                                                    grid_sample_cpu_kernels(),
                                                    grid_sample_grid_kernels<HostGrid>());
  return table;
}

namespace {
void check_geometry(const Tensor& x, const Tensor& grid, const GridSampleGeometry& g,
                    const char* op) {
  check_dense_float(x, (std::string(op) + ": X").c_str());
  check_dense_float(grid, (std::string(op) + ": grid").c_str());
  ENGINE_CHECK(x.ndim() == g.dims + 2 && x.shape()[0] == g.batch && x.shape()[1] == g.channels &&
                   x.numel() == g.batch * g.channels * g.in_points,
               op, ": X ", x.describe(), " does not match the geometry");
  ENGINE_CHECK(grid.numel() == g.batch * g.out_points * g.dims, op, ": grid ", grid.describe(),
               " does not match the geometry");
}
}  // namespace

void grid_sample_forward(const Tensor& x, const Tensor& grid, const GridSampleGeometry& g,
                         Tensor& y) {
  check_geometry(x, grid, g, "GridSample");
  check_shape(y, grid_sample_output_shape(x.shape(), grid.shape()), "GridSample: Y");
  if (y.numel() == 0) return;
  grid_sample_kernels()
      .get(x.device())
      .forward(g, x.data<float>(), grid.data<float>(), y.data<float>());
}

void grid_sample_backward(const Tensor& x, const Tensor& grid, const Tensor& dy,
                          const GridSampleGeometry& g, Tensor* dx, Tensor* dgrid) {
  const char* op = "GridSample_backward";
  check_geometry(x, grid, g, op);
  check_shape(dy, grid_sample_output_shape(x.shape(), grid.shape()), "GridSample_backward: dy");
  if (dx) check_shape(*dx, x.shape(), "GridSample_backward: dX");
  if (dgrid) check_shape(*dgrid, grid.shape(), "GridSample_backward: dgrid");
  if ((!dx || dx->numel() == 0) && (!dgrid || dgrid->numel() == 0)) return;
  grid_sample_kernels()
      .get(x.device())
      .backward(g, x.data<float>(), grid.data<float>(), dy.data<float>(),
                dx && dx->numel() ? dx->data<float>() : nullptr,
                dgrid && dgrid->numel() ? dgrid->data<float>() : nullptr);
}

}  // namespace engine
