// Reference kernels: every tap of every window visited with explicit bounds checks, sums
// in double. The window loops are written once; the reduction is a template parameter.
#include <algorithm>
#include <limits>
#include <vector>

#include "ops/pool/pool.h"

namespace engine {

namespace {

// Calls tap(h * W + w) for every tap of window (oh, ow) inside the input, in scan order,
// and returns how many taps count for an average.
template <class Tap>
int64_t visit_window(const Window2d& g, bool include_pad, int64_t oh, int64_t ow, Tap&& tap) {
  int64_t counted = 0;
  for (int64_t kh = 0; kh < g.KH; ++kh) {
    for (int64_t kw = 0; kw < g.KW; ++kw) {
      const int64_t h = oh * g.SH - g.PT + kh * g.DH;
      const int64_t w = ow * g.SW - g.PL + kw * g.DW;
      const bool inside = h >= 0 && h < g.H && w >= 0 && w < g.W;
      const bool in_padded = h >= -g.PT && h < g.H + g.PB && w >= -g.PL && w < g.W + g.PR;
      if (inside) tap(h * g.W + w);
      if (include_pad ? in_padded : inside) ++counted;
    }
  }
  return counted;
}

struct MaxRef {
  static double forward(const Window2d& g, bool, int64_t oh, int64_t ow, const float* x) {
    double best = -std::numeric_limits<double>::infinity();
    bool any = false;
    visit_window(g, false, oh, ow, [&](int64_t i) {
      if (!any || replaces_max<double>(x[i], best)) best = x[i], any = true;
    });
    return any ? best : std::numeric_limits<float>::lowest();
  }
  static void backward(const Window2d& g, bool, int64_t oh, int64_t ow, const float* x,
                       double dy, double* dx) {
    double best = -std::numeric_limits<double>::infinity();
    int64_t arg = -1;
    visit_window(g, false, oh, ow, [&](int64_t i) {
      if (arg < 0 || replaces_max<double>(x[i], best)) best = x[i], arg = i;
    });
    if (arg >= 0) dx[arg] += dy;
  }
};

struct AverageRef {
  static double forward(const Window2d& g, bool include_pad, int64_t oh, int64_t ow,
                        const float* x) {
    double sum = 0;
    const int64_t count = visit_window(g, include_pad, oh, ow, [&](int64_t i) { sum += x[i]; });
    return count > 0 ? sum / double(count) : 0.0;
  }
  static void backward(const Window2d& g, bool include_pad, int64_t oh, int64_t ow,
                       const float*, double dy, double* dx) {
    const int64_t count = visit_window(g, include_pad, oh, ow, [](int64_t) {});
    if (count == 0) return;
    visit_window(g, include_pad, oh, ow, [&](int64_t i) { dx[i] += dy / double(count); });
  }
};

template <class R>
void forward_planes(const Window2d& g, bool include_pad, int64_t planes, const float* x,
                    float* y) {
  for (int64_t p = 0; p < planes; ++p) {
    const float* xp = x + p * g.H * g.W;
    float* yp = y + p * g.OH * g.OW;
    for (int64_t oh = 0; oh < g.OH; ++oh)
      for (int64_t ow = 0; ow < g.OW; ++ow)
        yp[oh * g.OW + ow] = static_cast<float>(R::forward(g, include_pad, oh, ow, xp));
  }
}

template <class R>
void backward_planes(const Window2d& g, bool include_pad, int64_t planes, const float* x,
                     const float* dy, float* dx) {
  std::vector<double> acc(static_cast<size_t>(g.H * g.W));
  for (int64_t p = 0; p < planes; ++p) {
    const float* xp = x + p * g.H * g.W;
    const float* dyp = dy + p * g.OH * g.OW;
    std::fill(acc.begin(), acc.end(), 0.0);
    for (int64_t oh = 0; oh < g.OH; ++oh)
      for (int64_t ow = 0; ow < g.OW; ++ow)
        R::backward(g, include_pad, oh, ow, xp, dyp[oh * g.OW + ow], acc.data());
    float* dxp = dx + p * g.H * g.W;
    for (int64_t i = 0; i < g.H * g.W; ++i) dxp[i] = static_cast<float>(acc[i]);
  }
}

}  // namespace

void pool2d_forward_ref(PoolKind kind, const Window2d& g, bool count_include_pad,
                        int64_t planes, const float* x, float* y) {
  if (kind == PoolKind::Max)
    forward_planes<MaxRef>(g, count_include_pad, planes, x, y);
  else
    forward_planes<AverageRef>(g, count_include_pad, planes, x, y);
}

void pool2d_backward_ref(PoolKind kind, const Window2d& g, bool count_include_pad,
                         int64_t planes, const float* x, const float* dy, float* dx) {
  if (kind == PoolKind::Max)
    backward_planes<MaxRef>(g, count_include_pad, planes, x, dy, dx);
  else
    backward_planes<AverageRef>(g, count_include_pad, planes, x, dy, dx);
}

}  // namespace engine
