// Reference kernels: explicit log-probabilities per position, everything in double.
#include <cmath>
#include <vector>

#include "ops/losses/losses.h"

namespace engine {

namespace {

// log_softmax over the classes of position (n, d) and the target distribution there;
// false when the position is ignored.
bool position_terms(const CrossEntropyArgs& a, int64_t n, int64_t d, std::vector<double>& logp,
                    std::vector<double>& t) {
  const int64_t base = n * a.c * a.d + d;
  if (a.labels) {
    const int64_t label = a.labels[n * a.d + d];
    if (label == a.ignore_index) return false;
    for (int64_t c = 0; c < a.c; ++c) t[c] = c == label ? 1.0 : 0.0;
  } else {
    for (int64_t c = 0; c < a.c; ++c) t[c] = a.probs[base + c * a.d];
  }
  double m = -INFINITY;
  for (int64_t c = 0; c < a.c; ++c) m = std::fmax(m, double(a.logits[base + c * a.d]));
  double s = 0.0;
  for (int64_t c = 0; c < a.c; ++c) s += std::exp(double(a.logits[base + c * a.d]) - m);
  for (int64_t c = 0; c < a.c; ++c) logp[c] = (double(a.logits[base + c * a.d]) - m) - std::log(s);
  return true;
}

}  // namespace

void softmax_cross_entropy_forward_ref(const CrossEntropyArgs& a, float* loss) {
  std::vector<double> logp(a.c), t(a.c);
  for (int64_t n = 0; n < a.n; ++n) {
    for (int64_t d = 0; d < a.d; ++d) {
      double l = 0.0;
      if (position_terms(a, n, d, logp, t)) {
        for (int64_t c = 0; c < a.c; ++c)
          if (t[c] != 0.0) l -= t[c] * logp[c];  // 0 * log(0) counts as 0
        if (a.weight) l *= a.weight[n];
      }
      loss[n * a.d + d] = static_cast<float>(l);
    }
  }
}

void softmax_cross_entropy_backward_ref(const CrossEntropyArgs& a, const float* dloss,
                                        float scale, float* dlogits) {
  std::vector<double> logp(a.c), t(a.c);
  for (int64_t n = 0; n < a.n; ++n) {
    for (int64_t d = 0; d < a.d; ++d) {
      const int64_t base = n * a.c * a.d + d;
      if (!position_terms(a, n, d, logp, t)) {
        for (int64_t c = 0; c < a.c; ++c) dlogits[base + c * a.d] = 0.0f;
        continue;
      }
      double g = scale;
      if (dloss) g *= dloss[n * a.d + d];
      if (a.weight) g *= a.weight[n];
      double tsum = 0.0;
      for (int64_t c = 0; c < a.c; ++c) tsum += t[c];
      for (int64_t c = 0; c < a.c; ++c)
        dlogits[base + c * a.d] = static_cast<float>((std::exp(logp[c]) * tsum - t[c]) * g);
    }
  }
}

void mean_squared_error_forward_ref(int64_t n, int64_t k, const float* pred, const float* target,
                                    float* loss) {
  for (int64_t i = 0; i < n; ++i) {
    double s = 0.0;
    for (int64_t j = 0; j < k; ++j) {
      const double e = double(pred[i * k + j]) - double(target[i * k + j]);
      s += e * e;
    }
    loss[i] = static_cast<float>(k > 0 ? s / k : 0.0);
  }
}

void mean_squared_error_backward_ref(int64_t n, int64_t k, const float* pred,
                                     const float* target, const float* dloss, float scale,
                                     float* dpred, float* dtarget) {
  for (int64_t i = 0; i < n; ++i) {
    const double g = double(scale) * (dloss ? double(dloss[i]) : 1.0);
    for (int64_t j = 0; j < k; ++j) {
      const double v = 2.0 * (double(pred[i * k + j]) - double(target[i * k + j])) * g;
      if (dpred) dpred[i * k + j] = static_cast<float>(v);
      if (dtarget) dtarget[i * k + j] = static_cast<float>(-v);
    }
  }
}

}  // namespace engine
