// CPU kernels. The layout is first collapsed to as few axes as possible, so that the
// common cases (same shapes, a scalar, a row, a channel [C, 1, 1]) run as long innermost
// loops where each input is either contiguous or one repeated value.
#include <algorithm>
#include <vector>

#include "engine/threads.h"
#include "ops/binary/binary_collapse.h"
#include "ops/binary/binary_math.h"

namespace engine {

namespace {

constexpr int64_t kGrain = 1 << 14;

using Collapsed = BinaryCollapsed;

// Calls f(k, k * sa, k * sb) for k in [0, n), with the 0/1 strides fixed at compile time
// so that each case is a plain vectorisable loop.
template <class F>
inline void inner_loop(int64_t n, int64_t sa, int64_t sb, F&& f) {
  if (sa && sb) {
    for (int64_t k = 0; k < n; ++k) f(k, k, k);
  } else if (sa) {
    for (int64_t k = 0; k < n; ++k) f(k, k, int64_t(0));
  } else if (sb) {
    for (int64_t k = 0; k < n; ++k) f(k, int64_t(0), k);
  } else {
    for (int64_t k = 0; k < n; ++k) f(k, int64_t(0), int64_t(0));
  }
}

// Calls run(i0, n, oa, ob) for the runs of consecutive output elements in [begin, end)
// that stay inside one innermost row, starting at output i0 and input offsets oa, ob.
template <class Run>
void for_each_run(const Collapsed& c, int64_t begin, int64_t end, Run&& run) {
  const int last = c.last();
  const int64_t inner = c.size[last];
  for (int64_t i = begin; i < end;) {
    const int64_t col = i % inner;
    int64_t row = i / inner, oa = col * c.sa[last], ob = col * c.sb[last];
    for (int d = last - 1; d >= 0; --d) {
      const int64_t idx = row % c.size[d];
      row /= c.size[d];
      oa += idx * c.sa[d];
      ob += idx * c.sb[d];
    }
    const int64_t n = std::min(inner - col, end - i);
    run(i, n, oa, ob);
    i += n;
  }
}

struct Offsets {
  int64_t y = 0, a = 0, b = 0, x = 0;
};

// Offsets of the idx-th (row-major) index combination over `axes`; sx is the strides of
// the input whose gradient is being summed.
Offsets locate(int64_t idx, const std::vector<int>& axes, const Collapsed& c,
               const std::vector<int64_t>& sx) {
  Offsets o;
  for (int j = static_cast<int>(axes.size()) - 1; j >= 0; --j) {
    const int d = axes[j];
    const int64_t i = idx % c.size[d];
    idx /= c.size[d];
    o.y += i * c.sy[d];
    o.a += i * c.sa[d];
    o.b += i * c.sb[d];
    o.x += i * sx[d];
  }
  return o;
}

// dx = sum over the axes x is broadcast along of dy * partial(a, b).
template <class Partial>
void gradient(const Collapsed& c, const std::vector<int64_t>& sx, Partial partial,
              const float* dy, const float* a, const float* b, float* dx) {
  const int last = c.last();
  const int64_t inner = c.size[last];
  const int64_t sa_in = c.sa[last], sb_in = c.sb[last];
  std::vector<int> kept, reduced;  // outer axes
  for (int d = 0; d < last; ++d) (sx[d] != 0 ? kept : reduced).push_back(d);
  const bool inner_kept = sx[last] != 0;

  if (inner_kept && reduced.empty()) {  // x is not broadcast: a plain elementwise product
    parallel_for(c.numel(), kGrain, [&](int64_t begin, int64_t end) {
      for_each_run(c, begin, end, [&](int64_t i0, int64_t n, int64_t oa, int64_t ob) {
        const float *pa = a + oa, *pb = b + ob, *pdy = dy + i0;
        float* px = dx + i0;
        inner_loop(n, sa_in, sb_in, [&](int64_t k, int64_t ia, int64_t ib) {
          px[k] = pdy[k] * partial(pa[ia], pb[ib]);
        });
      });
    });
    return;
  }

  // Threads split the elements of x (outer kept axes); each sums its own in double.
  int64_t K = 1, R = 1;
  for (int d : kept) K *= c.size[d];
  for (int d : reduced) R *= c.size[d];
  const int64_t grain = std::max<int64_t>(1, kGrain / std::max<int64_t>(1, R * inner));
  parallel_for(K, grain, [&](int64_t begin, int64_t end) {
    std::vector<double> acc(static_cast<size_t>(inner_kept ? inner : 1));
    for (int64_t k = begin; k < end; ++k) {
      const Offsets ok = locate(k, kept, c, sx);
      std::fill(acc.begin(), acc.end(), 0.0);
      for (int64_t r = 0; r < R; ++r) {
        const Offsets orr = locate(r, reduced, c, sx);
        const float* pdy = dy + ok.y + orr.y;
        const float* pa = a + ok.a + orr.a;
        const float* pb = b + ok.b + orr.b;
        if (inner_kept) {
          double* pacc = acc.data();
          inner_loop(inner, sa_in, sb_in, [&](int64_t j, int64_t ia, int64_t ib) {
            pacc[j] += double(pdy[j] * partial(pa[ia], pb[ib]));
          });
        } else {
          double sum = 0;
          inner_loop(inner, sa_in, sb_in, [&](int64_t j, int64_t ia, int64_t ib) {
            sum += double(pdy[j] * partial(pa[ia], pb[ib]));
          });
          acc[0] += sum;
        }
      }
      float* px = dx + ok.x;
      for (size_t j = 0; j < acc.size(); ++j) px[j] = static_cast<float>(acc[j]);
    }
  });
}


}  // namespace

void binary_forward_cpu(BinaryOp op, const BinaryLayout& l, const float* a, const float* b,
                        float* y) {
  if (shape_numel(l.shape) == 0) return;
  const Collapsed c = binary_collapse(l);
  const int64_t sa_in = c.sa[c.last()], sb_in = c.sb[c.last()];
  dispatch_binary(op, [&](auto tag) {
    using M = BinaryMath<decltype(tag)::value>;
    parallel_for(c.numel(), kGrain, [&](int64_t begin, int64_t end) {
      for_each_run(c, begin, end, [&](int64_t i0, int64_t n, int64_t oa, int64_t ob) {
        const float *pa = a + oa, *pb = b + ob;
        float* py = y + i0;
        inner_loop(n, sa_in, sb_in,
                   [&](int64_t k, int64_t ia, int64_t ib) { py[k] = M::f(pa[ia], pb[ib]); });
      });
    });
  });
}

void binary_backward_cpu(BinaryOp op, const BinaryLayout& l, const float* dy, const float* a,
                         const float* b, float* da, float* db) {
  if (shape_numel(l.shape) == 0) {  // nothing flows back: broadcast inputs get zeros
    if (da) std::fill(da, da + l.a_numel, 0.0f);
    if (db) std::fill(db, db + l.b_numel, 0.0f);
    return;
  }
  const Collapsed c = binary_collapse(l);
  dispatch_binary(op, [&](auto tag) {
    using M = BinaryMath<decltype(tag)::value>;
    if (da) gradient(c, c.sa, [](float va, float vb) { return M::da(va, vb); }, dy, a, b, da);
    if (db) gradient(c, c.sb, [](float va, float vb) { return M::db(va, vb); }, dy, a, b, db);
  });
}

}  // namespace engine
