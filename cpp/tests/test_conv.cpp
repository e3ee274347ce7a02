// Conv backward through the C++ API: dw and db accumulate into what the caller passes,
// dx is overwritten, and null or undefined gradients are skipped.
#include <cmath>
#include <limits>

#include "check.h"
#include "engine/engine.h"
#include "ops/conv/conv.h"

using engine::ConvAttrs;
using engine::Shape;
using engine::Tensor;

namespace {

Tensor ramp(const Shape& shape, float scale) {
  Tensor t = Tensor::empty(shape);
  float* p = t.data<float>();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = scale * static_cast<float>((i * 7919) % 23 - 11);
  return t;
}

bool close(const Tensor& a, const Tensor& b, float offset) {
  const float* pa = a.data<float>();
  const float* pb = b.data<float>();
  for (int64_t i = 0; i < a.numel(); ++i)
    if (!(std::fabs(pa[i] - (pb[i] + offset)) <= 1e-4f * (1.0f + std::fabs(pb[i])))) return false;
  return true;
}

struct Setup {
  Tensor x, w, dy;
  ConvAttrs attrs;
};

// A generic group-2 conv, a depthwise one with multiplier 2 and a 1x1 one.
Setup setup(int which) {
  Setup s;
  s.attrs.window.pads = {1, 0, 2, 1};
  s.attrs.window.strides = {2, 1};
  if (which == 0) {
    s.attrs.group = 2;
    s.x = ramp({3, 4, 9, 7}, 0.1f);
    s.w = ramp({6, 2, 3, 3}, 0.05f);
  } else if (which == 1) {
    s.attrs.group = 5;
    s.x = ramp({2, 5, 8, 9}, 0.1f);
    s.w = ramp({10, 1, 3, 3}, 0.05f);
  } else {
    s.attrs.window.pads.clear();
    s.attrs.window.strides.clear();
    s.x = ramp({3, 4, 5, 7}, 0.1f);
    s.w = ramp({5, 4, 1, 1}, 0.05f);
  }
  s.dy = ramp(engine::conv_forward(s.x, s.w, Tensor(), s.attrs).shape(), 0.2f);
  return s;
}

void check_accumulates(engine::KernelImpl impl) {
  engine::set_kernel_impl(impl);
  for (int which = 0; which < 3; ++which) {
    Setup s = setup(which);
    const int64_t OC = s.w.dim(0);
    Tensor dx0 = Tensor::empty(s.x.shape()), dw0 = Tensor::zeros(s.w.shape()),
           db0 = Tensor::zeros({OC});
    engine::conv_backward(s.dy, s.x, s.w, s.attrs, &dx0, &dw0, &db0);

    Tensor dx = Tensor::full(s.x.shape(), std::numeric_limits<float>::quiet_NaN());
    Tensor dw = Tensor::full(s.w.shape(), 1.5f), db = Tensor::full({OC}, -2.0f);
    engine::conv_backward(s.dy, s.x, s.w, s.attrs, &dx, &dw, &db);
    CHECK(close(dx, dx0, 0.0f));   // overwritten, NaN gone
    CHECK(close(dw, dw0, 1.5f));   // accumulated
    CHECK(close(db, db0, -2.0f));  // accumulated

    // Skipped gradients: null pointers and undefined tensors are left alone.
    Tensor dw_only = Tensor::full(s.w.shape(), 0.25f), undefined;
    engine::conv_backward(s.dy, s.x, s.w, s.attrs, nullptr, &dw_only, &undefined);
    CHECK(close(dw_only, dw0, 0.25f));
    CHECK(!undefined.defined());
    Tensor db_only = Tensor::zeros({OC});
    engine::conv_backward(s.dy, s.x, s.w, s.attrs, &undefined, nullptr, &db_only);
    CHECK(close(db_only, db0, 0.0f));

    // The allocating form starts from zeros.
    engine::ConvGrads g = engine::conv_backward(s.dy, s.x, s.w, s.attrs, false, true, true);
    CHECK(!g.dx.defined());
    CHECK(close(g.dw, dw0, 0.0f));
    CHECK(close(g.db, db0, 0.0f));
  }
  engine::set_kernel_impl(engine::KernelImpl::Optimized);
}

}  // namespace

TEST_CASE(backward_accumulates_dw_db_and_overwrites_dx_optimized) {
  check_accumulates(engine::KernelImpl::Optimized);
}

TEST_CASE(backward_accumulates_dw_db_and_overwrites_dx_reference) {
  check_accumulates(engine::KernelImpl::Reference);
}

TEST_CASE(kernel_shape_must_match_the_weight) {
  Setup s = setup(0);
  s.attrs.window.kernel_shape = {3, 3};
  CHECK(engine::conv_forward(s.x, s.w, Tensor(), s.attrs).dim(1) == 6);
  s.attrs.window.kernel_shape = {3, 2};
  CHECK_THROWS(engine::conv_forward(s.x, s.w, Tensor(), s.attrs));
}

TEST_CASE(wrong_gradient_buffers_are_rejected) {
  Setup s = setup(0);
  Tensor dw_bad = Tensor::zeros({6, 2, 3, 2}), db_bad = Tensor::zeros({5});
  Tensor dx_bad = Tensor::zeros({3, 4, 9, 8});
  CHECK_THROWS(engine::conv_backward(s.dy, s.x, s.w, s.attrs, nullptr, &dw_bad, nullptr));
  CHECK_THROWS(engine::conv_backward(s.dy, s.x, s.w, s.attrs, nullptr, nullptr, &db_bad));
  CHECK_THROWS(engine::conv_backward(s.dy, s.x, s.w, s.attrs, &dx_bad, nullptr, nullptr));
}

TEST_MAIN()
