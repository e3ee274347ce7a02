// CPU kernels: positions (n, d) split across threads; each position is one fused pass
// over its classes (stride D) after finding the max: log-sum-exp, then loss or gradient.
#include <algorithm>
#include <cmath>
#include <limits>

#include "engine/threads.h"
#include "ops/losses/losses.h"

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

template <class Fn>
void for_each_position(const CrossEntropyArgs& a, const Fn& fn) {
  const int64_t grain = std::max<int64_t>(1, kGrain / std::max<int64_t>(a.c, 1));
  parallel_for(a.n * a.d, grain, [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p) {
      const int64_t n = p / a.d, d = p % a.d;
      fn(p, n, n * a.c * a.d + d);
    }
  });
}

}  // namespace

void softmax_cross_entropy_forward_cpu(const CrossEntropyArgs& a, float* loss) {
  for_each_position(a, [&](int64_t p, int64_t n, int64_t base) {
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
  for_each_position(a, [&](int64_t p, int64_t n, int64_t base) {
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

void mean_squared_error_forward_cpu(int64_t n, int64_t k, const float* pred, const float* target,
                                    float* loss) {
  const int64_t grain = std::max<int64_t>(1, kGrain / std::max<int64_t>(k, 1));
  parallel_for(n, grain, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const float* pr = pred + i * k;
      const float* tg = target + i * k;
      double s = 0.0;
      for (int64_t j = 0; j < k; ++j) {
        const float e = pr[j] - tg[j];
        s += e * e;
      }
      loss[i] = static_cast<float>(k > 0 ? s / k : 0.0);
    }
  });
}

void mean_squared_error_backward_cpu(int64_t n, int64_t k, const float* pred,
                                     const float* target, const float* dloss, float scale,
                                     float* dpred, float* dtarget) {
  parallel_for(n * k, kGrain, [&](int64_t begin, int64_t end) {
    for (int64_t e = begin; e < end; ++e) {
      const float g = 2.0f * scale * (dloss ? dloss[e / k] : 1.0f);
      const float v = (pred[e] - target[e]) * g;
      if (dpred) dpred[e] = v;
      if (dtarget) dtarget[e] = -v;
    }
  });
}

}  // namespace engine
