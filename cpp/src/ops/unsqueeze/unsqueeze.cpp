#include "ops/unsqueeze/unsqueeze.h"

#include "ops/reshape/reshape.h"

namespace engine {

Shape unsqueeze_output_shape(const Shape& in, const std::vector<int64_t>& axes) {
  const int64_t rank = static_cast<int64_t>(in.size() + axes.size());
  std::vector<bool> inserted(rank, false);
  for (int64_t a : axes) {
    ENGINE_CHECK(a >= -rank && a < rank, "Unsqueeze: axis ", a, " out of range [", -rank, ", ",
                 rank - 1, "] for input ", shape_str(in), " and axes ", shape_str(axes));
    const int64_t k = a < 0 ? a + rank : a;
    ENGINE_CHECK(!inserted[k], "Unsqueeze: axes ", shape_str(axes), " repeat axis ", k);
    inserted[k] = true;
  }
  Shape out(rank);
  size_t next = 0;
  for (int64_t k = 0; k < rank; ++k) out[k] = inserted[k] ? 1 : in[next++];
  return out;
}

void unsqueeze_forward(const Tensor& x, const std::vector<int64_t>& axes, Tensor& y) {
  ENGINE_CHECK(x.defined(), "Unsqueeze: x is missing");
  check_contiguous(x, "Unsqueeze: x");
  const Shape shape = unsqueeze_output_shape(x.shape(), axes);
  // allowzero: every entry of `shape` is a literal dim, zero-size ones included.
  reshape_forward(x, std::vector<int64_t>(shape.begin(), shape.end()), true, y);
}

}  // namespace engine
