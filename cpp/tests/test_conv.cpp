// Conv backward through the C++ API: dw and db accumulate into what the caller passes,
// dx is overwritten, and null or undefined gradients are skipped. The Winograd kernels
// against a float64 direct convolution, on both ISAs.
#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "check.h"
#include "engine/engine.h"
#include "ops/conv/conv.h"
#include "ops/conv/conv_winograd.h"

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

// ---- Winograd ---------------------------------------------------------------------------

namespace {

engine::ConvShape conv3x3(int64_t N, int64_t C, int64_t OC, int64_t H, int64_t W,
                          std::vector<int64_t> pads, bool relu) {
  engine::ConvShape s;
  s.N = N;
  s.C = C;
  s.OC = OC;
  s.relu = relu;
  engine::Window2d& g = s.win;
  g.H = H;
  g.W = W;
  g.KH = g.KW = 3;
  g.PT = pads[0];
  g.PL = pads[1];
  g.PB = pads[2];
  g.PR = pads[3];
  g.OH = H + g.PT + g.PB - 2;
  g.OW = W + g.PL + g.PR - 2;
  return s;
}

std::vector<float> randn(int64_t n, std::mt19937& rng) {
  std::normal_distribution<float> normal;
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = normal(rng);
  return v;
}

// y (or, when `data_grad`, dx for dy = x) in float64, straight from the definition.
std::vector<double> direct_conv(const engine::ConvShape& s, const std::vector<float>& x,
                                const std::vector<float>& w, const float* b, bool data_grad) {
  const engine::Window2d& g = s.win;
  const int64_t out_size = data_grad ? s.N * s.C * g.H * g.W : s.N * s.OC * g.OH * g.OW;
  std::vector<double> y(static_cast<size_t>(out_size), 0.0);
  for (int64_t n = 0; n < s.N; ++n)
    for (int64_t o = 0; o < s.OC; ++o)
      for (int64_t i = 0; i < g.OH; ++i)
        for (int64_t j = 0; j < g.OW; ++j)
          for (int64_t c = 0; c < s.C; ++c)
            for (int64_t a = 0; a < 3; ++a)
              for (int64_t e = 0; e < 3; ++e) {
                const int64_t r = i - g.PT + a, q = j - g.PL + e;
                if (r < 0 || r >= g.H || q < 0 || q >= g.W) continue;
                const double k = w[((o * s.C + c) * 3 + a) * 3 + e];
                const int64_t in = ((n * s.C + c) * g.H + r) * g.W + q;
                const int64_t out = ((n * s.OC + o) * g.OH + i) * g.OW + j;
                if (data_grad)
                  y[in] += k * x[out];
                else
                  y[out] += k * x[in];
              }
  if (!data_grad)
    for (size_t p = 0; p < y.size(); ++p) {
      const int64_t o = static_cast<int64_t>(p) / (g.OH * g.OW) % s.OC;
      y[p] += b ? b[o] : 0.0;
      if (s.relu && y[p] < 0.0) y[p] = 0.0;
    }
  return y;
}

double relative_error(const std::vector<float>& got, const std::vector<double>& want) {
  double num = 0.0, den = 0.0;
  for (size_t i = 0; i < want.size(); ++i) {
    if (!std::isfinite(got[i])) return INFINITY;
    num += (got[i] - want[i]) * (got[i] - want[i]);
    den += want[i] * want[i];
  }
  return std::sqrt(num / den);
}

// Forward with both tile sizes, and the data gradient when it takes the Winograd route, on
// every ISA; returns whether it did.
bool check_winograd(const engine::ConvShape& s, bool bias) {
  std::mt19937 rng(static_cast<unsigned>(s.N * 131 + s.C * 17 + s.win.H * 7 + s.win.PT));
  const engine::Window2d& g = s.win;
  const std::vector<float> x = randn(s.N * s.C * g.H * g.W, rng);
  const std::vector<float> w = randn(s.OC * s.C * 9, rng);
  const std::vector<float> b = randn(s.OC, rng);
  const std::vector<float> dy = randn(s.N * s.OC * g.OH * g.OW, rng);
  const float* bp = bias ? b.data() : nullptr;
  const std::vector<double> y_want = direct_conv(s, x, w, bp, false);
  engine::ConvShape plain = s;
  plain.relu = false;
  const std::vector<double> dx_want = direct_conv(plain, dy, w, nullptr, true);
  bool ran = false;
  for (bool portable : {false, true}) {
    engine::set_portable_kernels(portable);
    for (int m : {2, 4}) {
      std::vector<float> y(y_want.size(), NAN);
      engine::conv2d_forward_winograd(s, x.data(), w.data(), bp, y.data(), m);
      const double err = relative_error(y, y_want);
      if (!(err < 1e-5)) std::printf("  m=%d portable=%d: forward error %g\n", m, portable, err);
      CHECK(err < 1e-5);
    }
    std::vector<float> dx(dx_want.size(), NAN);
    ran = engine::conv2d_backward_data_winograd(plain, dy.data(), w.data(), dx.data());
    if (ran) CHECK(relative_error(dx, dx_want) < 1e-5);
  }
  engine::set_portable_kernels(false);
  return ran;
}

}  // namespace

TEST_CASE(winograd_matches_a_float64_convolution_on_odd_sizes) {
  check_winograd(conv3x3(3, 5, 7, 7, 7, {1, 1, 1, 1}, false), true);
  check_winograd(conv3x3(2, 3, 4, 1, 1, {1, 1, 1, 1}, true), true);    // one output pixel
  check_winograd(conv3x3(1, 3, 4, 1, 1, {2, 2, 2, 2}, false), false);  // 3x3 from 1x1
  check_winograd(conv3x3(2, 4, 5, 13, 9, {0, 2, 1, 0}, true), false);
  check_winograd(conv3x3(1, 2, 3, 5, 6, {3, 0, 1, 2}, false), true);
  CHECK(check_winograd(conv3x3(3, 17, 19, 11, 13, {1, 0, 2, 1}, true), true));
  CHECK(check_winograd(conv3x3(17, 16, 16, 2, 2, {1, 1, 1, 1}, false), true));  // 2x2 tiles
  // A pad over 2 leaves the data gradient to the GEMM.
  CHECK(!check_winograd(conv3x3(2, 16, 16, 6, 7, {3, 1, 1, 1}, false), true));
}

// A realistic layer at the conv tolerance of the op tests, through the dispatch.
TEST_CASE(winograd_layer_matches_the_reference_kernel) {
  const engine::ConvShape s = conv3x3(3, 64, 64, 14, 14, {1, 1, 1, 1}, false);
  CHECK(engine::winograd_applies(s));
  std::mt19937 rng(7);
  const std::vector<float> x = randn(s.N * s.C * 14 * 14, rng), w = randn(s.OC * s.C * 9, rng);
  const std::vector<float> b = randn(s.OC, rng);
  std::vector<float> y(static_cast<size_t>(s.N * s.OC * 14 * 14), NAN), y_ref(y.size(), NAN);
  engine::conv2d_forward_cpu(s, x.data(), w.data(), b.data(), y.data());
  engine::conv2d_forward_ref(s, x.data(), w.data(), b.data(), y_ref.data());
  CHECK(relative_error(y, std::vector<double>(y_ref.begin(), y_ref.end())) < 1e-4);
}

TEST_MAIN()
