#include "ops/tile/tile.h"

#include "core/checked.h"
#include "ops/binary/binary.h"
#include "ops/op.h"
#include "ops/slice/slice.h"

namespace engine {

Shape tile_output_shape(const Shape& in, const std::vector<int64_t>& repeats) {
  ENGINE_CHECK(repeats.size() == in.size(), "Tile: repeats ", shape_str(repeats), " has ",
               repeats.size(), " values for input ", shape_str(in), " of rank ", in.size());
  Shape out(in.size());
  for (size_t d = 0; d < in.size(); ++d) {
    ENGINE_CHECK(repeats[d] >= 0, "Tile: repeats ", shape_str(repeats), " has a negative value");
    out[d] = checked_mul(in[d], repeats[d], "Tile: the output dim");
  }
  shape_numel(out);
  return out;
}

namespace {
// [R0, D0, R1, D1, ...] and [1, D0, 1, D1, ...].
void paired(const Shape& in, const std::vector<int64_t>& repeats, Shape& tiled, Shape& single) {
  for (size_t d = 0; d < in.size(); ++d) {
    tiled.insert(tiled.end(), {repeats[d], in[d]});
    single.insert(single.end(), {1, in[d]});
  }
}

void check_pair(const Tensor& x, const Tensor& y, const char* op, const char* xn,
                const char* yn) {
  ENGINE_CHECK(x.defined(), op, ": ", xn, " is missing");
  ENGINE_CHECK(y.defined(), op, ": ", yn, " is missing");
  check_contiguous(x, str(op, ": ", xn).c_str());
  check_contiguous(y, str(op, ": ", yn).c_str());
  ENGINE_CHECK_TYPE(y.dtype() == x.dtype(), op, ": ", yn, " is ", dtype_name(y.dtype()), " but ",
                    xn, " is ", dtype_name(x.dtype()));
}
}  // namespace

void tile_forward(const Tensor& x, const std::vector<int64_t>& repeats, Tensor& y) {
  check_pair(x, y, "Tile", "x", "y");
  const Shape out = tile_output_shape(x.shape(), repeats);
  ENGINE_CHECK(y.shape() == out, "Tile: y ", y.describe(), " does not match the output shape ",
               shape_str(out));
  StridedView v;
  Shape single;
  paired(x.shape(), repeats, v.shape, single);
  const Shape xs = contiguous_strides(x.shape());
  for (size_t d = 0; d < xs.size(); ++d) v.strides.insert(v.strides.end(), {0, xs[d]});
  strided_gather(v, x, y);
}

void tile_backward(const Tensor& dy, const std::vector<int64_t>& repeats, Tensor& dx) {
  check_pair(dy, dx, "Tile_backward", "dy", "dx");
  const Shape out = tile_output_shape(dx.shape(), repeats);
  ENGINE_CHECK(dy.shape() == out, "Tile_backward: dy ", dy.describe(),
               " does not match the output shape ", shape_str(out));
  if (dy.numel() == 0) {  // no tile: nothing flows back
    zero_fill(dx);
    return;
  }
  Shape tiled, single;
  paired(dx.shape(), repeats, tiled, single);
  const Tensor dy_tiles = dy.reshape(tiled);
  Tensor dx_one = dx.reshape(single);  // views of the same memory
  // x + (a term of y's shape), as in Expand: Add's backward reduces over the repeats.
  binary_backward(BinaryOp::Add, dy_tiles, dx_one, dy_tiles, &dx_one, nullptr);
}

}  // namespace engine
