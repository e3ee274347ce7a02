// The predicates, and the kernels written once over a loop policy (broadcast_loop.h):
// SerialLoop for the reference kernels, ThreadedLoop for the CPU, GridLoop for CUDA.
#pragma once

#include <type_traits>

#include "core/hd.h"
#include "ops/logic/logic.h"

namespace engine {

template <LogicOp op> struct LogicMath;
template <> struct LogicMath<LogicOp::Equal> {
  template <class T> ENGINE_HD static bool f(T a, T b) { return a == b; }
};
template <> struct LogicMath<LogicOp::Less> {
  template <class T> ENGINE_HD static bool f(T a, T b) { return a < b; }
};
template <> struct LogicMath<LogicOp::Greater> {
  template <class T> ENGINE_HD static bool f(T a, T b) { return a > b; }
};
template <> struct LogicMath<LogicOp::LessOrEqual> {
  template <class T> ENGINE_HD static bool f(T a, T b) { return a <= b; }
};
template <> struct LogicMath<LogicOp::GreaterOrEqual> {
  template <class T> ENGINE_HD static bool f(T a, T b) { return a >= b; }
};
template <> struct LogicMath<LogicOp::And> {
  template <class T> ENGINE_HD static bool f(T a, T b) { return a && b; }
};
template <> struct LogicMath<LogicOp::Or> {
  template <class T> ENGINE_HD static bool f(T a, T b) { return a || b; }
};
template <> struct LogicMath<LogicOp::Xor> {
  template <class T> ENGINE_HD static bool f(T a, T b) { return bool(a) != bool(b); }
};

template <class Fn>
void dispatch_logic(LogicOp op, Fn&& fn) {
  switch (op) {
#define ENGINE_LOGIC(Name, onnx, bool_only)                   \
  case LogicOp::Name:                                         \
    fn(std::integral_constant<LogicOp, LogicOp::Name>{});     \
    return;
#include "ops/logic/logic_ops.inc"
#undef ENGINE_LOGIC
  }
  fail(ErrorKind::Value, "unknown logic op code ", static_cast<int>(op));
}

template <class Loop, LogicOp op, class T>
void logic_compare_as(const BroadcastAxes<2>& ax, int64_t n, const T* a, const T* b, bool* y) {
  Loop::run(n, [=] ENGINE_HD(int64_t i) {
    int64_t off[2];
    ax.locate(i, off);
    y[i] = LogicMath<op>::f(a[off[0]], b[off[1]]);
  });
}

template <class Loop>
void logic_compare(LogicOp op, DType dtype, const BroadcastAxes<2>& ax, int64_t n, const void* a,
                   const void* b, bool* y) {
  dispatch_logic(op, [&](auto tag) {
    constexpr LogicOp kOp = decltype(tag)::value;
    switch (dtype) {
      case DType::Float32:
        return logic_compare_as<Loop, kOp>(ax, n, static_cast<const float*>(a),
                                           static_cast<const float*>(b), y);
      case DType::Int64:
        return logic_compare_as<Loop, kOp>(ax, n, static_cast<const int64_t*>(a),
                                           static_cast<const int64_t*>(b), y);
      case DType::Bool:
        return logic_compare_as<Loop, kOp>(ax, n, static_cast<const bool*>(a),
                                           static_cast<const bool*>(b), y);
    }
  });
}

template <class Loop>
void logic_negate(int64_t n, const bool* x, bool* y) {
  Loop::run(n, [=] ENGINE_HD(int64_t i) { y[i] = !x[i]; });
}

template <class Loop>
LogicKernels logic_kernels_for() {
  LogicKernels kernels;  // member by member: nvcc cannot resolve the templates in a braced list
  kernels.compare = &logic_compare<Loop>;
  kernels.negate = &logic_negate<Loop>;
  return kernels;
}

}  // namespace engine
