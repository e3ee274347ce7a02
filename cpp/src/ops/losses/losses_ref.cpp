// Reference kernels: explicit log-probabilities or normalised probabilities per position,
// the pointwise formulas of losses_math.h in double, everything accumulated in double.
#include <cmath>
#include <vector>

#include "ops/losses/losses.h"
#include "ops/losses/losses_math.h"

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

void pointwise_loss_forward_ref(const PointwiseLossArgs& a, float* loss) {
  dispatch_pointwise_loss(a.kind, [&](auto math) {
    for (int64_t i = 0; i < a.n; ++i) {
      double s = 0.0;
      for (int64_t j = 0; j < a.k; ++j)
        s += math.value(double(a.pred[i * a.k + j]), double(a.target[i * a.k + j]),
                        double(a.delta));
      loss[i] = static_cast<float>(a.k > 0 ? s / a.k : 0.0);
    }
  });
}

void pointwise_loss_backward_ref(const PointwiseLossArgs& a, const float* dloss, float scale,
                                 float* dpred, float* dtarget) {
  dispatch_pointwise_loss(a.kind, [&](auto math) {
    for (int64_t i = 0; i < a.n; ++i) {
      const double g = double(scale) * (dloss ? double(dloss[i]) : 1.0);
      for (int64_t j = 0; j < a.k; ++j) {
        const int64_t e = i * a.k + j;
        const double p = a.pred[e], t = a.target[e], delta = a.delta;
        if (dpred) dpred[e] = static_cast<float>(math.dpred(p, t, delta) * g);
        if (dtarget) dtarget[e] = static_cast<float>(math.dtarget(p, t, delta) * g);
      }
    }
  });
}

namespace {
// q = clip(p / sum(p)) over the classes of position (m, d), and whether each was clipped.
void normalised_probabilities(const CategoricalArgs& a, int64_t m, int64_t d, double& sum,
                              std::vector<double>& q, std::vector<char>& clipped) {
  const int64_t base = m * a.c * a.d + d;
  sum = 0.0;
  for (int64_t c = 0; c < a.c; ++c) sum += a.pred[base + c * a.d];
  for (int64_t c = 0; c < a.c; ++c) {
    const double u = a.pred[base + c * a.d] / sum;
    clipped[c] = probability_clipped(u);
    q[c] = clip_probability(u);
  }
}
}  // namespace

void categorical_cross_entropy_forward_ref(const CategoricalArgs& a, float* loss) {
  std::vector<double> q(a.c);
  std::vector<char> clipped(a.c);
  double sum;
  for (int64_t m = 0; m < a.m; ++m) {
    for (int64_t d = 0; d < a.d; ++d) {
      normalised_probabilities(a, m, d, sum, q, clipped);
      double l = 0.0;
      for (int64_t c = 0; c < a.c; ++c) l -= a.target[m * a.c * a.d + d + c * a.d] * std::log(q[c]);
      loss[m * a.d + d] = static_cast<float>(l);
    }
  }
}

void categorical_cross_entropy_backward_ref(const CategoricalArgs& a, const float* dloss,
                                            int64_t per_sample, float scale, float* dpred,
                                            float* dtarget) {
  std::vector<double> q(a.c), dq(a.c);
  std::vector<char> clipped(a.c);
  double sum;
  for (int64_t m = 0; m < a.m; ++m) {
    for (int64_t d = 0; d < a.d; ++d) {
      const int64_t pos = m * a.d + d, base = m * a.c * a.d + d;
      const double g = double(scale) * (dloss ? double(dloss[pos / per_sample]) : 1.0);
      normalised_probabilities(a, m, d, sum, q, clipped);
      // Chain rule through u = p / sum(p): dl/dp_j = sum_c dl/du_c * (delta_cj - u_c) / sum.
      double dot = 0.0;  // sum_c dl/du_c * u_c
      for (int64_t c = 0; c < a.c; ++c) {
        dq[c] = clipped[c] ? 0.0 : -a.target[base + c * a.d] / q[c];
        dot += dq[c] * (a.pred[base + c * a.d] / sum);
      }
      for (int64_t c = 0; c < a.c; ++c) {
        if (dpred) dpred[base + c * a.d] = static_cast<float>((dq[c] - dot) / sum * g);
        if (dtarget) dtarget[base + c * a.d] = static_cast<float>(-std::log(q[c]) * g);
      }
    }
  }
}

void check_labels_ref(int64_t n, const int64_t* labels, int64_t classes, int64_t ignore_index,
                      int64_t* out) {
  out[0] = 0;
  out[1] = -1;
  out[2] = 0;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t label = labels[i];
    if (label == ignore_index) continue;
    ++out[0];
    if ((label < 0 || label >= classes) && out[1] < 0) {
      out[1] = i;
      out[2] = label;
    }
  }
}

void sum_rows_ref(int64_t rows, int64_t len, const float* x, double divisor, float* out) {
  for (int64_t r = 0; r < rows; ++r) {  // serial, in double: the same total on any thread count
    double s = 0.0;
    for (int64_t j = 0; j < len; ++j) s += x[r * len + j];
    out[r] = static_cast<float>(s / divisor);
  }
}

}  // namespace engine
