// Reference kernels: one output element at a time, its input offsets recomputed from the
// full index, math and gradient sums in double.
#include <vector>

#include "ops/binary/binary_math.h"

namespace engine {

namespace {

// Calls fn(i, offset in a, offset in b) for every output element i.
template <class Fn>
void for_each_element(const BinaryLayout& l, Fn&& fn) {
  const int rank = static_cast<int>(l.shape.size());
  const int64_t n = shape_numel(l.shape);
  for (int64_t i = 0; i < n; ++i) {
    int64_t rest = i, oa = 0, ob = 0;
    for (int d = rank - 1; d >= 0; --d) {
      const int64_t idx = rest % l.shape[d];
      rest /= l.shape[d];
      oa += idx * l.a_strides[d];
      ob += idx * l.b_strides[d];
    }
    fn(i, oa, ob);
  }
}


void store(const std::vector<double>& acc, float* out) {
  for (size_t i = 0; i < acc.size(); ++i) out[i] = static_cast<float>(acc[i]);
}

}  // namespace

void binary_forward_ref(BinaryOp op, const BinaryLayout& l, const float* a, const float* b,
                        float* y) {
  dispatch_binary(op, [&](auto tag) {
    using M = BinaryMath<decltype(tag)::value>;
    for_each_element(l, [&](int64_t i, int64_t oa, int64_t ob) {
      y[i] = static_cast<float>(M::f(double(a[oa]), double(b[ob])));
    });
  });
}

void binary_backward_ref(BinaryOp op, const BinaryLayout& l, const float* dy, const float* a,
                         const float* b, float* da, float* db) {
  std::vector<double> acc_a(da ? l.a_numel : 0);
  std::vector<double> acc_b(db ? l.b_numel : 0);
  dispatch_binary(op, [&](auto tag) {
    using M = BinaryMath<decltype(tag)::value>;
    for_each_element(l, [&](int64_t i, int64_t oa, int64_t ob) {
      const double va = a[oa], vb = b[ob], g = dy[i];
      if (da) acc_a[oa] += g * M::da(va, vb);
      if (db) acc_b[ob] += g * M::db(va, vb);
    });
  });
  if (da) store(acc_a, da);
  if (db) store(acc_b, db);
}

}  // namespace engine
