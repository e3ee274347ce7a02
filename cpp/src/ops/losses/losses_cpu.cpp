// CPU kernels. Cross-entropies: positions (n, d) split across threads, each position one
// fused pass over its classes (stride D). Pointwise losses: samples (forward) or elements
// (backward) split across threads, the formula from losses_math.h instantiated in float.
#include <algorithm>
#include <cmath>
#include <limits>

#include "engine/threads.h"
#include "ops/losses/losses.h"
#include "ops/losses/losses_math.h"

namespace engine {

namespace {

constexpr int64_t kGrain = 1 << 14;  // elements per task

// Max and log(sum exp(x - max)) over the C classes at stride `stride`.
struct LogSumExp {
  float m;
  float log_s;
};

LogSumExp log_sum_exp(const float* x, int64_t c, int64_t stride) {
  float m = -std::numeric_limits<float>::infinity();
  for (int64_t k = 0; k < c; ++k) m = x[k * stride] > m ? x[k * stride] : m;
  double s = 0.0;
  for (int64_t k = 0; k < c; ++k) s += std::exp(x[k * stride] - m);
  return {m, static_cast<float>(std::log(s))};
}

// fn(position, outer index, offset of the position's first class) over data [n, c, d].
template <class Fn>
void for_each_position(int64_t n, int64_t c, int64_t d, const Fn& fn) {
  const int64_t grain = std::max<int64_t>(1, kGrain / std::max<int64_t>(c, 1));
  parallel_for(n * d, grain, [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p) {
      const int64_t i = p / d, j = p % d;
      fn(p, i, i * c * d + j);
    }
  });
}

}  // namespace

void softmax_cross_entropy_forward_cpu(const CrossEntropyArgs& a, float* loss) {
  for_each_position(a.n, a.c, a.d, [&](int64_t p, int64_t n, int64_t base) {
    const float* x = a.logits + base;
    const int64_t label = a.labels ? a.labels[p] : 0;
    if (a.labels && label == a.ignore_index) {
      loss[p] = 0.0f;
      return;
    }
    const LogSumExp z = log_sum_exp(x, a.c, a.d);
    // -log_softmax = log(s) - (x - m): (x - m) first keeps it exact for huge logits.
    double l;
    if (a.labels) {
      l = z.log_s - (x[label * a.d] - z.m);
    } else {
      l = 0.0;
      for (int64_t k = 0; k < a.c; ++k) {
        const float t = a.probs[base + k * a.d];
        if (t != 0.0f) l += double(t) * (z.log_s - (x[k * a.d] - z.m));  // 0 log 0 = 0
      }
    }
    loss[p] = static_cast<float>(a.weight ? l * a.weight[n] : l);
  });
}

void softmax_cross_entropy_backward_cpu(const CrossEntropyArgs& a, const float* dloss,
                                        float scale, float* dlogits) {
  for_each_position(a.n, a.c, a.d, [&](int64_t p, int64_t n, int64_t base) {
    const float* x = a.logits + base;
    float* dx = dlogits + base;
    const int64_t label = a.labels ? a.labels[p] : -1;
    float g = scale * (dloss ? dloss[p] : 1.0f) * (a.weight ? a.weight[n] : 1.0f);
    if (a.labels && label == a.ignore_index) g = 0.0f;
    const float* t = a.probs ? a.probs + base : nullptr;
    float tsum = 1.0f;
    if (t) {
      double acc = 0.0;
      for (int64_t k = 0; k < a.c; ++k) acc += t[k * a.d];
      tsum = static_cast<float>(acc);
    }
    const LogSumExp z = log_sum_exp(x, a.c, a.d);
    const float pscale = tsum * g;  // softmax(x) * sum(t) * g
    for (int64_t k = 0; k < a.c; ++k) {
      const float soft = std::exp((x[k * a.d] - z.m) - z.log_s);
      const float target = t ? t[k * a.d] : (k == label ? 1.0f : 0.0f);
      dx[k * a.d] = soft * pscale - target * g;
    }
  });
}

// The kernels copy the arguments into locals first: a store through a float* could
// otherwise alias a.delta or the captured pointers, forcing reloads that block vectorising.
void pointwise_loss_forward_cpu(const PointwiseLossArgs& a, float* loss) {
  dispatch_pointwise_loss(a.kind, [&](auto math) {
    const int64_t grain = std::max<int64_t>(1, kGrain / std::max<int64_t>(a.k, 1));
    parallel_for(a.n, grain, [&](int64_t begin, int64_t end) {
      const int64_t k = a.k;
      const float delta = a.delta;
      for (int64_t i = begin; i < end; ++i) {
        const float* p = a.pred + i * k;
        const float* t = a.target + i * k;
        double s = 0.0;
        for (int64_t j = 0; j < k; ++j) s += math.value(p[j], t[j], delta);
        loss[i] = static_cast<float>(k > 0 ? s / k : 0.0);
      }
    });
  });
}

void pointwise_loss_backward_cpu(const PointwiseLossArgs& a, const float* dloss, float scale,
                                 float* dpred, float* dtarget) {
  dispatch_pointwise_loss(a.kind, [&](auto math) {
    parallel_for(a.n * a.k, kGrain, [&](int64_t begin, int64_t end) {
      const int64_t k = a.k;
      const float delta = a.delta;
      const float* p = a.pred;
      const float* t = a.target;
      float* dp = dpred;
      float* dt = dtarget;
      for (int64_t lo = begin; lo < end;) {  // one sample's run of elements at a time
        const int64_t i = lo / k, hi = std::min(end, (i + 1) * k);
        const float g = scale * (dloss ? dloss[i] : 1.0f);
        if (dp)
          for (int64_t e = lo; e < hi; ++e) dp[e] = math.dpred(p[e], t[e], delta) * g;
        if (dt)
          for (int64_t e = lo; e < hi; ++e) dt[e] = math.dtarget(p[e], t[e], delta) * g;
        lo = hi;
      }
    });
  });
}

// Categorical cross-entropy: per position, s = sum_c p_c, then q_c = clip(p_c / s) in a
// second pass over the classes.
void categorical_cross_entropy_forward_cpu(const CategoricalArgs& a, float* loss) {
  for_each_position(a.m, a.c, a.d, [&](int64_t pos, int64_t, int64_t base) {
    const float* p = a.pred + base;
    const float* t = a.target + base;
    double s = 0.0;
    for (int64_t k = 0; k < a.c; ++k) s += p[k * a.d];
    const float inv = static_cast<float>(1.0 / s);
    double l = 0.0;
    for (int64_t k = 0; k < a.c; ++k)
      l -= t[k * a.d] * std::log(clip_probability(p[k * a.d] * inv));
    loss[pos] = static_cast<float>(l);
  });
}

// With u = p / s and g_c = dl/du_c = -t_c / u_c where u_c is not clipped (else 0):
//   dl/dp_j = (g_j - sum_c g_c u_c) / s = (g_j + sum_{c unclipped} t_c) / s.
void categorical_cross_entropy_backward_cpu(const CategoricalArgs& a, const float* dloss,
                                            int64_t per_sample, float scale, float* dpred,
                                            float* dtarget) {
  for_each_position(a.m, a.c, a.d, [&](int64_t pos, int64_t, int64_t base) {
    const float* p = a.pred + base;
    const float* t = a.target + base;
    const float g = scale * (dloss ? dloss[pos / per_sample] : 1.0f);
    double s = 0.0;
    for (int64_t k = 0; k < a.c; ++k) s += p[k * a.d];
    const float inv = static_cast<float>(1.0 / s);
    if (dpred) {
      double t_unclipped = 0.0;
      for (int64_t k = 0; k < a.c; ++k)
        if (!probability_clipped(p[k * a.d] * inv)) t_unclipped += t[k * a.d];
      const float shift = static_cast<float>(t_unclipped);
      for (int64_t k = 0; k < a.c; ++k) {
        const float u = p[k * a.d] * inv;
        const float gu = probability_clipped(u) ? 0.0f : -t[k * a.d] / u;
        dpred[base + k * a.d] = (gu + shift) * inv * g;
      }
    }
    if (dtarget)
      for (int64_t k = 0; k < a.c; ++k)
        dtarget[base + k * a.d] = -std::log(clip_probability(p[k * a.d] * inv)) * g;
  });
}

}  // namespace engine
