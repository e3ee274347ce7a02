// Reference kernels: the defining scatter-add, one term at a time, in double. Kept apart
// from Conv's reference on purpose: the optimized kernels are Conv's, so this oracle must
// not be.
#include <vector>

#include "ops/conv/conv_ref_backward.h"
#include "ops/conv_transpose/conv_transpose.h"

namespace engine {

namespace {

// Calls fn(x index, w index, y index) for every term x * w that lands in y. A 2-D window
// has depth 1.
template <class Fn>
void for_each_term(const ConvShape& s, Fn&& fn) {
  const Window2d& g = s.win;
  const int64_t C = s.OC, OC = s.C, Cg = C / s.G, OCg = OC / s.G;  // x and y channels
  for (int64_t n = 0; n < s.N; ++n)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t d = 0; d < g.OD; ++d)
        for (int64_t i = 0; i < g.OH; ++i)
          for (int64_t j = 0; j < g.OW; ++j)
            for (int64_t o = 0; o < OCg; ++o)
              for (int64_t kd = 0; kd < g.KD; ++kd)
                for (int64_t kh = 0; kh < g.KH; ++kh)
                  for (int64_t kw = 0; kw < g.KW; ++kw) {
                    const int64_t yd = d * g.SD - g.PF + kd * g.DD;
                    const int64_t yh = i * g.SH - g.PT + kh * g.DH;
                    const int64_t yw = j * g.SW - g.PL + kw * g.DW;
                    if (yd < 0 || yd >= g.D || yh < 0 || yh >= g.H || yw < 0 || yw >= g.W) continue;
                    const int64_t oc = c / Cg * OCg + o;
                    fn((((n * C + c) * g.OD + d) * g.OH + i) * g.OW + j,
                       (((c * OCg + o) * g.KD + kd) * g.KH + kh) * g.KW + kw,
                       (((n * OC + oc) * g.D + yd) * g.H + yh) * g.W + yw);
                  }
}

}  // namespace

void conv_transpose2d_forward_ref(const ConvShape& s, const float* x, const float* w,
                                  const float* b, float* y) {
  const int64_t P = s.win.in_size();
  std::vector<double> acc(static_cast<size_t>(s.N * s.C * P), 0.0);
  for_each_term(s, [&](int64_t xi, int64_t wi, int64_t yi) { acc[yi] += double(x[xi]) * w[wi]; });
  for (int64_t n = 0; n < s.N; ++n)
    for (int64_t o = 0; o < s.C; ++o)
      for (int64_t p = 0; p < P; ++p) {
        const int64_t i = (n * s.C + o) * P + p;
        y[i] = static_cast<float>(acc[i] + (b ? double(b[o]) : 0.0));
      }
}

void conv_transpose2d_backward_ref(const ConvShape& s, const float* dy, const float* x,
                                   const float* w, float* dx, float* dw, float* db) {
  // The roles of ConvShape are swapped (C is the output channels, OH x OW the input plane).
  backward_of_terms([&](auto&& fn) { for_each_term(s, fn); }, s.N * s.OC * s.win.out_size(),
                    s.OC * (s.C / s.G) * s.win.taps(), s.N, s.C, s.win.in_size(), dy, x, w, dx, dw,
                    db);
}

}  // namespace engine
