// The reduction formulas, written once as templates over the accumulator type (double in
// the reference and CPU kernels, float in the CUDA ones), and the loops over one output's
// elements that the CPU and CUDA kernels share.
//   A reduction folds its elements into an accumulator (init, step), joins the accumulators
//   of consecutive chunks in order (merge), and turns the result into y (finish); grad is
//   dy/dx for the element x of an output y over n elements (Max and Min route instead;
//   Prod's, kGradFromAcc, reads the output's accumulator rather than y).
// Also turns a run-time ReduceOp into a compile-time one: fn(std::integral_constant<...>).
#pragma once

#include <cmath>
#include <limits>
#include <type_traits>

#include "core/hd.h"
#include "ops/reduce/reduce.h"

namespace engine {

template <class T>
struct ReduceAcc {
  T a, b;  // the running value; LogSumExp: the running max a and the sum b of e^(x - a)
};

// Sums of f(x): Sum, Mean, SumSquare, L2.
struct ReduceSumOf {
  static constexpr bool kArg = false;
  static constexpr bool kGradFromAcc = false;
  template <class T> ENGINE_HD static ReduceAcc<T> init() { return {T(0), T(0)}; }
  template <class T> ENGINE_HD static void merge(ReduceAcc<T>& s, const ReduceAcc<T>& t) {
    s.a += t.a;
  }
};

// Max (or Min): NaN wins, as in numpy and onnxruntime.
template <bool max>
struct ReduceExtreme {
  static constexpr bool kArg = true;
  static constexpr bool kGradFromAcc = false;
  template <class T> ENGINE_HD static bool beats(T x, T best) {
    return (max ? x > best : x < best) || x != x;
  }
  template <class T> ENGINE_HD static ReduceAcc<T> init() {
    const T inf = std::numeric_limits<T>::infinity();
    return {max ? -inf : inf, T(0)};
  }
  template <class T> ENGINE_HD static void step(ReduceAcc<T>& s, T x) {
    if (s.a == s.a && beats(x, s.a)) s.a = x;
  }
  template <class T> ENGINE_HD static void merge(ReduceAcc<T>& s, const ReduceAcc<T>& t) {
    step(s, t.a);
  }
  template <class T> ENGINE_HD static T finish(const ReduceAcc<T>& s, int64_t) { return s.a; }
  template <class T> ENGINE_HD static T grad(T, T, int64_t) { return T(0); }
};

template <ReduceOp op> struct ReduceMath;

template <> struct ReduceMath<ReduceOp::Sum> : ReduceSumOf {
  template <class T> ENGINE_HD static void step(ReduceAcc<T>& s, T x) { s.a += x; }
  template <class T> ENGINE_HD static T finish(const ReduceAcc<T>& s, int64_t) { return s.a; }
  template <class T> ENGINE_HD static T grad(T, T, int64_t) { return T(1); }
};
template <> struct ReduceMath<ReduceOp::Mean> : ReduceSumOf {
  template <class T> ENGINE_HD static void step(ReduceAcc<T>& s, T x) { s.a += x; }
  template <class T> ENGINE_HD static T finish(const ReduceAcc<T>& s, int64_t n) {
    return s.a / T(n);
  }
  template <class T> ENGINE_HD static T grad(T, T, int64_t n) { return T(1) / T(n); }
};
template <> struct ReduceMath<ReduceOp::SumSquare> : ReduceSumOf {
  template <class T> ENGINE_HD static void step(ReduceAcc<T>& s, T x) { s.a += x * x; }
  template <class T> ENGINE_HD static T finish(const ReduceAcc<T>& s, int64_t) { return s.a; }
  template <class T> ENGINE_HD static T grad(T x, T, int64_t) { return T(2) * x; }
};
template <> struct ReduceMath<ReduceOp::L2> : ReduceSumOf {
  template <class T> ENGINE_HD static void step(ReduceAcc<T>& s, T x) { s.a += x * x; }
  template <class T> ENGINE_HD static T finish(const ReduceAcc<T>& s, int64_t) {
    return std::sqrt(s.a);
  }
  // 0 at y = 0 (every x 0): the subgradient PyTorch's norm takes there.
  template <class T> ENGINE_HD static T grad(T x, T y, int64_t) {
    return y == T(0) ? T(0) : x / y;
  }
};
template <> struct ReduceMath<ReduceOp::L1> : ReduceSumOf {
  template <class T> ENGINE_HD static void step(ReduceAcc<T>& s, T x) { s.a += x < T(0) ? -x : x; }
  template <class T> ENGINE_HD static T finish(const ReduceAcc<T>& s, int64_t) { return s.a; }
  // The subgradient 0 at x = 0, as Abs takes it.
  template <class T> ENGINE_HD static T grad(T x, T, int64_t) {
    return x > T(0) ? T(1) : (x < T(0) ? T(-1) : T(0));
  }
};
template <> struct ReduceMath<ReduceOp::LogSum> : ReduceSumOf {
  template <class T> ENGINE_HD static void step(ReduceAcc<T>& s, T x) { s.a += x; }
  template <class T> ENGINE_HD static T finish(const ReduceAcc<T>& s, int64_t) {
    return std::log(s.a);
  }
  template <class T> ENGINE_HD static T grad(T, T y, int64_t) { return std::exp(-y); }  // 1/sum
};
template <> struct ReduceMath<ReduceOp::Max> : ReduceExtreme<true> {};
template <> struct ReduceMath<ReduceOp::Min> : ReduceExtreme<false> {};
template <> struct ReduceMath<ReduceOp::LogSumExp> {
  // One pass: the sum is rescaled whenever the max grows, so no e^x overflows. x equal to
  // the max adds exactly 1 (which also keeps -inf and +inf maxima out of inf - inf).
  static constexpr bool kArg = false;
  static constexpr bool kGradFromAcc = false;
  template <class T> ENGINE_HD static ReduceAcc<T> init() {
    return {-std::numeric_limits<T>::infinity(), T(0)};
  }
  template <class T> ENGINE_HD static void add(ReduceAcc<T>& s, T m, T count) {
    if (m > s.a) {
      s.b = s.b * std::exp(s.a - m) + count;
      s.a = m;
    } else {
      s.b += m == s.a ? count : count * std::exp(m - s.a);
    }
  }
  template <class T> ENGINE_HD static void step(ReduceAcc<T>& s, T x) { add(s, x, T(1)); }
  template <class T> ENGINE_HD static void merge(ReduceAcc<T>& s, const ReduceAcc<T>& t) {
    if (t.b != T(0)) add(s, t.a, t.b);
  }
  template <class T> ENGINE_HD static T finish(const ReduceAcc<T>& s, int64_t) {
    return s.b == T(0) ? s.a : s.a + std::log(s.b);
  }
  template <class T> ENGINE_HD static T grad(T x, T y, int64_t) { return std::exp(x - y); }
};

template <> struct ReduceMath<ReduceOp::Prod> {
  // The product of the non-zero elements and the count of zeros, so that the gradient (the
  // product of the others) exists where one element is 0.
  static constexpr bool kArg = false;
  static constexpr bool kGradFromAcc = true;
  template <class T> ENGINE_HD static ReduceAcc<T> init() { return {T(1), T(0)}; }
  template <class T> ENGINE_HD static void step(ReduceAcc<T>& s, T x) {
    if (x == T(0))
      s.b += T(1);
    else
      s.a *= x;
  }
  template <class T> ENGINE_HD static void merge(ReduceAcc<T>& s, const ReduceAcc<T>& t) {
    s.a *= t.a;
    s.b += t.b;
  }
  // With a zero: 0, or NaN when the others hold an inf or NaN (0 * inf), as numpy.
  template <class T> ENGINE_HD static T finish(const ReduceAcc<T>& s, int64_t) {
    return s.b > T(0) ? s.a - s.a : s.a;
  }
  template <class T> ENGINE_HD static T grad(T, T, int64_t) { return T(0); }  // unused
  template <class T> ENGINE_HD static T grad_acc(T x, const ReduceAcc<T>& s) {
    if (s.b == T(0)) return s.a / x;
    return s.b == T(1) && x == T(0) ? s.a : T(0);
  }
};

template <class Fn>
void dispatch_reduce(ReduceOp op, Fn&& fn) {
  switch (op) {
#define ENGINE_REDUCE(Name, onnx, since)                         \
  case ReduceOp::Name:                                           \
    fn(std::integral_constant<ReduceOp, ReduceOp::Name>{});      \
    return;
#include "ops/reduce/reduce_ops.inc"
#undef ENGINE_REDUCE
  }
  fail(ErrorKind::Value, "unknown reduction code ", static_cast<int>(op));
}

// ---- the loops over one output's elements, shared by the CPU and CUDA kernels ----------

// f(offset in x relative to the output's first element) for r in [begin, end), stepping
// through the reduced axes like an odometer (no division per element).
template <class F>
ENGINE_HD void reduce_walk(const ReduceAxes& ax, int64_t begin, int64_t end, F&& f) {
  if (begin >= end) return;
  int64_t idx[kReduceMaxAxes] = {};
  int64_t off = 0, rest = begin;
  for (int d = ax.rank - 1; d >= 0; --d) {
    idx[d] = rest % ax.size[d];
    rest /= ax.size[d];
    off += idx[d] * ax.stride[d];
  }
  for (int64_t r = begin; r < end; ++r) {
    f(off);
    for (int d = ax.rank - 1; d >= 0; --d) {
      off += ax.stride[d];
      if (++idx[d] < ax.size[d]) break;
      off -= ax.stride[d] * ax.size[d];
      idx[d] = 0;
    }
  }
}

// The accumulator of output k over its elements [begin, end).
template <ReduceOp op, class T>
ENGINE_HD ReduceAcc<T> reduce_partial(const ReduceLayout& l, const float* x, int64_t k,
                                      int64_t begin, int64_t end) {
  using M = ReduceMath<op>;
  ReduceAcc<T> s = M::template init<T>();
  const float* xk = x + l.kept.offset(k);
  reduce_walk(l.reduced, begin, end, [&](int64_t off) { M::step(s, T(xk[off])); });
  return s;
}

// dx of output k's elements [begin, end): dy times dy/dx (the reductions that do not route).
template <ReduceOp op, class T>
ENGINE_HD void reduce_gradient_chunk(const ReduceLayout& l, const float* x, const float* y,
                                     const float* dy, float* dx, int64_t k, int64_t begin,
                                     int64_t end) {
  const int64_t base = l.kept.offset(k);
  const T yk = T(y[k]), g = T(dy[k]);
  const int64_t n = l.count;
  reduce_walk(l.reduced, begin, end, [&](int64_t off) {
    dx[base + off] = static_cast<float>(g * ReduceMath<op>::grad(T(x[base + off]), yk, n));
  });
}

// Prod: dx of output k's elements [begin, end) from the output's accumulator s.
template <ReduceOp op, class T>
ENGINE_HD void reduce_gradient_chunk_acc(const ReduceLayout& l, const float* x,
                                         const ReduceAcc<T>& s, const float* dy, float* dx,
                                         int64_t k, int64_t begin, int64_t end) {
  const int64_t base = l.kept.offset(k);
  const T g = T(dy[k]);
  reduce_walk(l.reduced, begin, end, [&](int64_t off) {
    dx[base + off] = static_cast<float>(g * ReduceMath<op>::grad_acc(T(x[base + off]), s));
  });
}

// Max, Min: the first element of output k in [begin, end) equal to its result y[k] (NaN
// matching NaN), or -1 when there is none.
ENGINE_HD inline int64_t reduce_find_chunk(const ReduceLayout& l, const float* x,
                                           const float* y, int64_t k, int64_t begin,
                                           int64_t end) {
  const float* xk = x + l.kept.offset(k);
  const float yk = y[k];
  int64_t found = -1, r = begin;
  reduce_walk(l.reduced, begin, end, [&](int64_t off) {
    const float v = xk[off];
    if (found < 0 && (v == yk || (v != v && yk != yk))) found = r;
    ++r;
  });
  return found;
}

// Max, Min: dx of output k's elements [begin, end): dy[k] at element `winner`, 0 elsewhere.
ENGINE_HD inline void reduce_route_chunk(const ReduceLayout& l, const float* dy, float* dx,
                                         int64_t k, int64_t begin, int64_t end,
                                         int64_t winner) {
  float* dxk = dx + l.kept.offset(k);
  const float g = dy[k];
  int64_t r = begin;
  reduce_walk(l.reduced, begin, end, [&](int64_t off) {
    dxk[off] = r == winner ? g : 0.0f;
    ++r;
  });
}

// Outputs split into chunks of their elements, so that a few long reductions still give
// every thread work: `chunks` per output (the same for every output) of `chunk` elements.
struct ReduceSplit {
  int64_t chunks = 1, chunk = 0;
};
// At least `grain` elements a chunk, chunks only while there are fewer than `items` outputs.
inline ReduceSplit reduce_split(const ReduceLayout& l, int64_t grain, int64_t items) {
  ReduceSplit s;
  if (l.outputs < items && l.count > grain) {
    const int64_t by_grain = (l.count + grain - 1) / grain;
    const int64_t by_items = (items + l.outputs - 1) / l.outputs;
    s.chunks = by_grain < by_items ? by_grain : by_items;
  }
  s.chunk = (l.count + s.chunks - 1) / s.chunks;
  if (s.chunk > 0) s.chunks = (l.count + s.chunk - 1) / s.chunk;
  if (s.chunks < 1) s.chunks = 1;
  return s;
}

}  // namespace engine
