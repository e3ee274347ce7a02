#include "ops/sum/sum.h"

#include "ops/binary/binary.h"
#include "ops/reshape/reshape.h"

namespace engine {

Shape sum_output_shape(const std::vector<Shape>& shapes) {
  ENGINE_CHECK(!shapes.empty(), "Sum: needs at least one input");
  Shape out = shapes[0];
  for (size_t i = 1; i < shapes.size(); ++i) out = broadcast_shapes("Sum", out, shapes[i]);
  return out;
}

void sum_forward(const std::vector<Tensor>& xs, Tensor& y) {
  std::vector<Shape> shapes;
  for (size_t i = 0; i < xs.size(); ++i) {
    check_dense_float(xs[i], str("Sum: input ", i).c_str());
    shapes.push_back(xs[i].shape());
  }
  const Shape shape = sum_output_shape(shapes);
  check_dense_float(y, "Sum: y");
  ENGINE_CHECK(y.shape() == shape, "Sum: y ", y.describe(), " does not match the broadcast shape ",
               shape_str(shape));
  if (xs.size() == 1) {
    identity_forward(xs[0], y);
    return;
  }
  // Partial sums take the broadcast shape of the inputs so far; the last Add writes y.
  Tensor acc = xs[0];
  for (size_t i = 1; i < xs.size(); ++i) {
    Tensor out = i + 1 == xs.size() ? y : Tensor::empty(broadcast_shapes("Sum", acc.shape(), xs[i].shape()), DType::Float32, y.device());
    binary_forward(BinaryOp::Add, acc, xs[i], out);
    acc = out;
  }
}

void sum_backward(const Tensor& dy, const std::vector<Tensor>& xs,
                  const std::vector<Tensor*>& dxs) {
  check_dense_float(dy, "Sum_backward: dy");
  ENGINE_CHECK(dxs.size() == xs.size(), "Sum_backward: ", dxs.size(), " gradients for ",
               xs.size(), " inputs");
  std::vector<Shape> shapes;
  for (size_t i = 0; i < xs.size(); ++i) {
    check_dense_float(xs[i], str("Sum_backward: input ", i).c_str());
    shapes.push_back(xs[i].shape());
  }
  const Shape shape = sum_output_shape(shapes);
  ENGINE_CHECK(dy.shape() == shape, "Sum_backward: dy ", dy.describe(),
               " does not match the broadcast shape ", shape_str(shape));
  for (size_t i = 0; i < xs.size(); ++i) {
    if (!dxs[i] || !dxs[i]->defined()) continue;
    // x_i + (a term of y's shape): Add's backward reduces dy over x_i's broadcast axes and
    // never reads the operands' values, so dy itself stands in for the other term.
    binary_backward(BinaryOp::Add, dy, xs[i], dy, dxs[i], nullptr);
  }
}

}  // namespace engine
