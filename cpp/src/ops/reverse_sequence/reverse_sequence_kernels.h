// The ReverseSequence kernel, written once over a loop policy (broadcast_loop.h): SerialLoop
// for the reference, ThreadedLoop for the CPU, GridLoop for CUDA.
#pragma once

#include "ops/broadcast_loop.h"
#include "ops/reverse_sequence/reverse_sequence.h"

namespace engine {

template <class Loop, class T>
void reverse_sequence_loop(const ReverseSequenceLayout& l, const int64_t* lens, const T* x, T* y) {
  Loop::run(l.steps * l.batch * l.inner, [=] ENGINE_HD(int64_t e) {
    const int64_t i = e % l.inner, rest = e / l.inner;
    const int64_t b = l.batch_major ? rest / l.steps : rest % l.batch;
    const int64_t t = l.batch_major ? rest % l.steps : rest / l.batch;
    const int64_t from = t < lens[b] ? lens[b] - 1 - t : t;
    y[e] = x[(l.batch_major ? b * l.steps + from : from * l.batch + b) * l.inner + i];
  });
}

template <class Loop>
ReverseSequenceKernels reverse_sequence_kernels_for() {
  ReverseSequenceKernels kernels;  // member by member: nvcc cannot resolve the templates
  kernels.f32 = &reverse_sequence_loop<Loop, float>;
  kernels.i64 = &reverse_sequence_loop<Loop, int64_t>;
  return kernels;
}

}  // namespace engine
