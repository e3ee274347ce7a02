// The binary formulas and their partial derivatives, written once as templates over the
// scalar type: the CPU and CUDA kernels instantiate them in float, the reference kernels in
// double.
// Also turns a run-time BinaryOp into a compile-time one: fn(std::integral_constant<...>).
#pragma once

#include <cmath>
#include <type_traits>

#include "core/hd.h"
#include "ops/binary/binary.h"

namespace engine {

template <BinaryOp op> struct BinaryMath;

template <> struct BinaryMath<BinaryOp::Add> {
  template <class T> ENGINE_HD static T f(T a, T b) { return a + b; }
  template <class T> ENGINE_HD static T da(T, T) { return T(1); }
  template <class T> ENGINE_HD static T db(T, T) { return T(1); }
};
template <> struct BinaryMath<BinaryOp::Sub> {
  template <class T> ENGINE_HD static T f(T a, T b) { return a - b; }
  template <class T> ENGINE_HD static T da(T, T) { return T(1); }
  template <class T> ENGINE_HD static T db(T, T) { return T(-1); }
};
template <> struct BinaryMath<BinaryOp::Mul> {
  template <class T> ENGINE_HD static T f(T a, T b) { return a * b; }
  template <class T> ENGINE_HD static T da(T, T b) { return b; }
  template <class T> ENGINE_HD static T db(T a, T) { return a; }
};
template <> struct BinaryMath<BinaryOp::Div> {
  template <class T> ENGINE_HD static T f(T a, T b) { return a / b; }
  template <class T> ENGINE_HD static T da(T, T b) { return T(1) / b; }
  template <class T> ENGINE_HD static T db(T a, T b) { return -(a / b) / b; }
};

template <> struct BinaryMath<BinaryOp::Pow> {
  template <class T> ENGINE_HD static T f(T a, T b) { return std::pow(a, b); }
  // b a^(b-1), 0 where b = 0 (so 0^0 gives 0, not 0 * inf).
  template <class T> ENGINE_HD static T da(T a, T b) {
    return b == T(0) ? T(0) : b * std::pow(a, b - T(1));
  }
  // log(a) a^b: NaN for a < 0 (the real power has no derivative in b there), and 0 at a = 0
  // for b >= 0 (a^b is constant 0 or 1 from the right).
  template <class T> ENGINE_HD static T db(T a, T b) {
    return a == T(0) && b >= T(0) ? T(0) : std::log(a) * std::pow(a, b);
  }
};
// Max and Min: NaN wins (as numpy and onnxruntime); the gradient goes wholly to the
// winning input, and to a at a tie.
template <> struct BinaryMath<BinaryOp::Max> {
  template <class T> ENGINE_HD static bool a_wins(T a, T b) { return a >= b || a != a; }
  template <class T> ENGINE_HD static T f(T a, T b) { return a > b || a != a ? a : b; }
  template <class T> ENGINE_HD static T da(T a, T b) { return a_wins(a, b) ? T(1) : T(0); }
  template <class T> ENGINE_HD static T db(T a, T b) { return a_wins(a, b) ? T(0) : T(1); }
};
template <> struct BinaryMath<BinaryOp::Min> {
  template <class T> ENGINE_HD static bool a_wins(T a, T b) { return a <= b || a != a; }
  template <class T> ENGINE_HD static T f(T a, T b) { return a < b || a != a ? a : b; }
  template <class T> ENGINE_HD static T da(T a, T b) { return a_wins(a, b) ? T(1) : T(0); }
  template <class T> ENGINE_HD static T db(T a, T b) { return a_wins(a, b) ? T(0) : T(1); }
};

template <class Fn>
void dispatch_binary(BinaryOp op, Fn&& fn) {
  switch (op) {
#define ENGINE_BINARY(Name, onnx)                              \
  case BinaryOp::Name:                                         \
    fn(std::integral_constant<BinaryOp, BinaryOp::Name>{});    \
    return;
#include "ops/binary/binary_ops.inc"
#undef ENGINE_BINARY
  }
  fail(ErrorKind::Value, "unknown binary op code ", static_cast<int>(op));
}

}  // namespace engine
