// Reference kernels: the defining sums, one output (or one weight) at a time, in double.
#include <vector>

#include "ops/conv/conv.h"
#include "ops/conv/conv_ref_backward.h"

namespace engine {

namespace {

// Calls fn(x index, w index, y index) for every term x * w that contributes to y. A 2-D
// window has depth 1.
template <class Fn>
void for_each_term(const ConvShape& s, Fn&& fn) {
  const Window2d& g = s.win;
  const int64_t Cg = s.C / s.G, OCg = s.OC / s.G;
  for (int64_t n = 0; n < s.N; ++n)
    for (int64_t o = 0; o < s.OC; ++o)
      for (int64_t d = 0; d < g.OD; ++d)
        for (int64_t i = 0; i < g.OH; ++i)
          for (int64_t j = 0; j < g.OW; ++j)
            for (int64_t c = 0; c < Cg; ++c)
              for (int64_t kd = 0; kd < g.KD; ++kd)
                for (int64_t kh = 0; kh < g.KH; ++kh)
                  for (int64_t kw = 0; kw < g.KW; ++kw) {
                    const int64_t id = d * g.SD - g.PF + kd * g.DD;
                    const int64_t ih = i * g.SH - g.PT + kh * g.DH;
                    const int64_t iw = j * g.SW - g.PL + kw * g.DW;
                    if (id < 0 || id >= g.D || ih < 0 || ih >= g.H || iw < 0 || iw >= g.W) continue;
                    const int64_t ic = o / OCg * Cg + c;
                    fn((((n * s.C + ic) * g.D + id) * g.H + ih) * g.W + iw,
                       (((o * Cg + c) * g.KD + kd) * g.KH + kh) * g.KW + kw,
                       (((n * s.OC + o) * g.OD + d) * g.OH + i) * g.OW + j);
                  }
}

}  // namespace

void conv2d_forward_ref(const ConvShape& s, const float* x, const float* w, const float* b,
                        float* y) {
  const int64_t P = s.win.out_size();
  std::vector<double> acc(static_cast<size_t>(s.N * s.OC * P), 0.0);
  for (int64_t n = 0; n < s.N; ++n)
    for (int64_t o = 0; o < s.OC; ++o)
      for (int64_t p = 0; p < P; ++p) acc[(n * s.OC + o) * P + p] = b ? double(b[o]) : 0.0;
  for_each_term(s, [&](int64_t xi, int64_t wi, int64_t yi) { acc[yi] += double(x[xi]) * w[wi]; });
  for (size_t i = 0; i < acc.size(); ++i)
    y[i] = static_cast<float>(s.relu && acc[i] < 0.0 ? 0.0 : acc[i]);
}

void conv2d_backward_ref(const ConvShape& s, const float* dy, const float* x, const float* w,
                         float* dx, float* dw, float* db) {
  backward_of_terms([&](auto&& fn) { for_each_term(s, fn); }, s.N * s.C * s.win.in_size(),
                    s.OC * (s.C / s.G) * s.win.taps(), s.N, s.OC, s.win.out_size(), dy, x, w, dx,
                    dw, db);
}

}  // namespace engine
