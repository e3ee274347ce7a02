// FastMath (cpu/fast_math.h) against libm in double: ulp error over dense and random sweeps
// of each function's range, and the special values (inf, -inf, NaN, the overflow and
// underflow edges, denormals).
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>

#include "check.h"
#include "cpu/fast_math.h"

using engine::FastMath;

namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

// The largest error in ulps of the float nearest the exact value, over `count` points of
// [lo, hi] (evenly spaced, then random); results the float range cannot hold as a normal
// number are compared exactly after rounding.
template <class Fast, class Exact>
double max_ulps(Fast fast, Exact exact, float lo, float hi, int count = 400000) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> uniform(lo, hi);
  double worst = 0;
  for (int i = 0; i < count; ++i) {
    const float x = i < count / 2 ? lo + (hi - lo) * (float(i) / float(count / 2)) : uniform(rng);
    const double want = exact(double(x));
    const float got = fast(x);
    const float rounded = static_cast<float>(want);
    if (!std::isnormal(rounded)) {
      if (!(got == rounded || std::fabs(double(got) - want) <= 2e-45)) worst = 1e9;
      continue;
    }
    const double ulp = double(std::nextafter(std::fabs(rounded), kInf)) - std::fabs(rounded);
    const double err = std::fabs(double(got) - want) / ulp;
    if (!(err <= worst)) worst = err;  // NaN counts as worst
  }
  return worst;
}

bool same(float a, float b) { return (std::isnan(a) && std::isnan(b)) || a == b; }

}  // namespace

TEST_CASE(exp_is_within_one_ulp) {
  auto exact = [](double x) { return std::exp(x); };
  CHECK(max_ulps(FastMath::exp, exact, -87.0f, 88.7f) <= 1.0);
  CHECK(max_ulps(FastMath::exp, exact, -1.0f, 1.0f) <= 1.0);
}

TEST_CASE(expm1_is_within_one_and_a_half_ulps) {
  auto exact = [](double x) { return std::expm1(x); };
  CHECK(max_ulps(FastMath::expm1, exact, -20.0f, 20.0f) <= 1.5);
  CHECK(max_ulps(FastMath::expm1, exact, -1e-3f, 1e-3f) <= 1.5);
}

TEST_CASE(tanh_is_within_one_and_a_half_ulps) {
  auto exact = [](double x) { return std::tanh(x); };
  CHECK(max_ulps(FastMath::tanh, exact, -12.0f, 12.0f) <= 1.5);
  CHECK(max_ulps(FastMath::tanh, exact, -0.7f, 0.7f) <= 1.5);
  CHECK(max_ulps(FastMath::tanh, exact, -1e-4f, 1e-4f) <= 1.5);
}

TEST_CASE(erf_is_within_one_and_a_half_ulps) {
  auto exact = [](double x) { return std::erf(x); };
  CHECK(max_ulps(FastMath::erf, exact, -6.0f, 6.0f) <= 1.5);
  CHECK(max_ulps(FastMath::erf, exact, 0.8f, 1.0f) <= 1.5);  // where the two forms meet
  CHECK(max_ulps(FastMath::erf, exact, 3.8f, 4.0f) <= 1.5);
  CHECK(max_ulps(FastMath::erf, exact, -1e-3f, 1e-3f) <= 1.5);
  CHECK(max_ulps(FastMath::erf, exact, -1e-30f, 1e-30f) <= 1.5);
}

TEST_CASE(log1p_is_within_three_and_a_half_ulps) {
  auto exact = [](double x) { return std::log1p(x); };
  CHECK(max_ulps(FastMath::log1p, exact, 0.0f, 1.0f) <= 3.5);
  CHECK(max_ulps(FastMath::log1p, exact, -0.999f, 1e6f) <= 3.5);
  CHECK(max_ulps(FastMath::log1p, exact, -1e-4f, 1e-4f) <= 3.5);
}

TEST_CASE(sigmoid_normal_is_within_three_ulps_over_normal_results) {
  auto exact = [](double x) { return 1.0 / (1.0 + std::exp(-x)); };
  CHECK(max_ulps(FastMath::sigmoid_normal, exact, -87.0f, 20.0f) <= 3.0);
  CHECK(max_ulps(FastMath::sigmoid_normal, exact, -1e-4f, 1e-4f) <= 3.0);
  CHECK(FastMath::sigmoid_normal(kInf) == 1.0f);
  CHECK(FastMath::sigmoid_normal(-kInf) >= 0.0f && FastMath::sigmoid_normal(-kInf) < 1e-38f);
  CHECK(std::isnan(FastMath::sigmoid_normal(std::numeric_limits<float>::quiet_NaN())));
}

TEST_CASE(tanh_rational_is_within_seven_ulps) {
  auto exact = [](double x) { return std::tanh(x); };
  CHECK(max_ulps(FastMath::tanh_rational, exact, -12.0f, 12.0f) <= 7.0);
  CHECK(max_ulps(FastMath::tanh_rational, exact, -0.7f, 0.7f) <= 7.0);
  CHECK(max_ulps(FastMath::tanh_rational, exact, -1e-4f, 1e-4f) <= 7.0);
  CHECK(max_ulps(FastMath::tanh_rational, exact, -1e-30f, 1e-30f) <= 7.0);
  CHECK(FastMath::tanh_rational(kInf) <= 1.0f && FastMath::tanh_rational(kInf) > 0.9999995f);
  CHECK(FastMath::tanh_rational(-kInf) == -FastMath::tanh_rational(kInf));
  CHECK(std::isnan(FastMath::tanh_rational(std::numeric_limits<float>::quiet_NaN())));
}

TEST_CASE(special_values_map_as_libm) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (float x : {kInf, -kInf, nan, 0.0f, 89.0f, -89.0f, 88.72f, -104.0f, -200.0f, 1e-40f,
                  -1e-40f, 1e30f, -1e30f}) {
    CHECK(same(FastMath::exp(x), std::exp(x)) ||
          std::fabs(FastMath::exp(x) - std::exp(x)) <= 1e-6f * std::exp(x));
    CHECK(same(FastMath::expm1(x), std::expm1(x)) ||
          std::fabs(FastMath::expm1(x) - std::expm1(x)) <= 1e-6f * std::fabs(std::expm1(x)));
    CHECK(same(FastMath::tanh(x), std::tanh(x)));
    CHECK(same(FastMath::erf(x), std::erf(x)) ||
          std::fabs(FastMath::erf(x) - std::erf(x)) <= 1e-6f * std::fabs(std::erf(x)) + 2e-45f);
  }
  for (float u : {kInf, -kInf, nan, -1.0f, -2.0f, 0.0f, 1e-40f, 1e30f})
    CHECK(same(FastMath::log1p(u), std::log1p(u)) ||
          std::fabs(FastMath::log1p(u) - std::log1p(u)) <= 1e-6f * std::fabs(std::log1p(u)));
}

int main() { return check::run_all(); }
