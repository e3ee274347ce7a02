// The scatter/gather kernels, written once over loop policies (broadcast_loop.h). The
// scatter runs its updates in order on the host (repeated targets: the last update wins, sums
// add in order) and one per thread on a device, where the reductions are atomic.
#pragma once

#include <cstring>
#include <type_traits>

#include "core/grid.h"
#include "ops/broadcast_loop.h"
#include "ops/scatter/scatter.h"

namespace engine {

// The offset in data of element k of updates (of y for GatherND).
ENGINE_HD inline int64_t scatter_target(const ScatterLayout& l, const int64_t* indices, int64_t k) {
  if (!l.nd) {
    int64_t rest = k, offset = 0;
    for (int d = l.rank - 1; d >= 0; --d) {
      int64_t coord = rest % l.dims[d];
      rest /= l.dims[d];
      if (d == l.axis && l.sequence) {
        coord += indices ? indices[k / l.per_batch] : 0;
        if (l.circular) coord %= l.axis_dim;
      } else if (d == l.axis) {
        coord = indices[k] < 0 ? indices[k] + l.axis_dim : indices[k];
      }
      offset += coord * l.strides[d];
    }
    return offset;
  }
  const int64_t t = k / l.slice;
  int64_t offset = (t / l.tuples_per_batch) * l.batch_stride + k % l.slice;
  for (int j = 0; j < l.q; ++j) {
    const int64_t v = indices[t * l.q + j];
    offset += (v < 0 ? v + l.dims[j] : v) * l.strides[j];
  }
  return offset;
}

template <class T>
ENGINE_HD inline T scatter_reduce(T current, T value, ScatterReduction r) {
  switch (r) {
    case ScatterReduction::Add:
      return current + value;
    case ScatterReduction::Mul:
      return current * value;
    case ScatterReduction::Max:
      return value > current ? value : current;
    case ScatterReduction::Min:
      return value < current ? value : current;
    default:
      return value;
  }
}

// *target (op)= value; atomic on a device (threads of repeated targets meet there), by a
// compare-and-swap loop on the value's bits. The host emulation runs one thread at a time.
template <class T>
ENGINE_HD inline void scatter_combine(T* target, T value, ScatterReduction r) {
#if defined(__CUDA_ARCH__)
  if (r == ScatterReduction::None) {
    *target = value;
    return;
  }
  using Word = std::conditional_t<sizeof(T) == 4, unsigned int, unsigned long long>;
  Word* word = reinterpret_cast<Word*>(target);
  Word old = *word, assumed;
  do {
    assumed = old;
    T current, next;
    memcpy(&current, &assumed, sizeof(T));
    next = scatter_reduce(current, value, r);
    Word bits;
    memcpy(&bits, &next, sizeof(T));
    old = atomicCAS(word, assumed, bits);
  } while (assumed != old);
#else
  *target = scatter_reduce(*target, value, r);
#endif
}

template <class Loop, class T>
void scatter_loop(const ScatterLayout& l, ScatterReduction r, const int64_t* indices,
                  const T* updates, T* y) {
  Loop::run(l.count, [=] ENGINE_HD(int64_t k) {
    scatter_combine(y + scatter_target(l, indices, k), updates[k], r);
  });
}

template <class Loop, class T>
void scatter_gather_loop(const ScatterLayout& l, const int64_t* indices, const T* src, T* out) {
  Loop::run(l.count, [=] ENGINE_HD(int64_t k) { out[k] = src[scatter_target(l, indices, k)]; });
}

// The backward of reduction none: each target's gradient goes to the update the forward
// left there and is taken out of work (dy, which becomes ddata). Updates are visited last
// first, so on the host the last of repeated updates claims it; on a device, as in the
// forward, one of them does.
template <class Loop>
void scatter_claim_loop(const ScatterLayout& l, const int64_t* indices, float* work,
                        float* dupdates) {
  Loop::run(l.count, [=] ENGINE_HD(int64_t i) {
    const int64_t k = l.count - 1 - i;
    float* target = work + scatter_target(l, indices, k);
#if defined(__CUDA_ARCH__)
    const float claimed = atomicExch(target, 0.0f);
#else
    const float claimed = *target;
    *target = 0.0f;
#endif
    if (dupdates) dupdates[k] = claimed;
  });
}

// ScatterLoop runs the writes to targets (which may repeat), Loop the gathers.
template <class Loop, class ScatterLoop>
ScatterKernels scatter_kernels_for() {
  ScatterKernels kernels;  // member by member: nvcc cannot resolve the templates in a braced list
  kernels.f32.scatter = &scatter_loop<ScatterLoop, float>;
  kernels.f32.gather = &scatter_gather_loop<Loop, float>;
  kernels.i64.scatter = &scatter_loop<ScatterLoop, int64_t>;
  kernels.i64.gather = &scatter_gather_loop<Loop, int64_t>;
  kernels.claim = &scatter_claim_loop<ScatterLoop>;
  return kernels;
}

}  // namespace engine
