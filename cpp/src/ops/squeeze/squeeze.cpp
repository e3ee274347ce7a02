#include "ops/squeeze/squeeze.h"

#include "ops/reshape/reshape.h"

namespace engine {

Shape squeeze_output_shape(const Shape& in, const std::vector<int64_t>& axes) {
  const int64_t rank = static_cast<int64_t>(in.size());
  std::vector<bool> removed(rank, axes.empty());
  if (axes.empty())
    for (int64_t k = 0; k < rank; ++k) removed[k] = in[k] == 1;
  for (int64_t a : axes) {
    ENGINE_CHECK(a >= -rank && a < rank, "Squeeze: axis ", a, " out of range [", -rank, ", ",
                 rank - 1, "] for input ", shape_str(in));
    const int64_t k = a < 0 ? a + rank : a;
    ENGINE_CHECK(!removed[k], "Squeeze: axes ", shape_str(axes), " repeat axis ", k);
    ENGINE_CHECK(in[k] == 1, "Squeeze: axis ", a, " of input ", shape_str(in), " has size ",
                 in[k], ", not 1");
    removed[k] = true;
  }
  Shape out;
  for (int64_t k = 0; k < rank; ++k)
    if (!removed[k]) out.push_back(in[k]);
  return out;
}

void squeeze_forward(const Tensor& x, const std::vector<int64_t>& axes, Tensor& y) {
  ENGINE_CHECK(x.defined(), "Squeeze: x is missing");
  check_contiguous(x, "Squeeze: x");
  const Shape shape = squeeze_output_shape(x.shape(), axes);
  // allowzero: every entry of `shape` is a literal dim, zero-size ones included.
  reshape_forward(x, std::vector<int64_t>(shape.begin(), shape.end()), true, y);
}

}  // namespace engine
