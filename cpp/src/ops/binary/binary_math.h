// The binary formulas and their partial derivatives, written once as templates over the
// scalar type: the CPU and CUDA kernels instantiate them in float, the reference kernels in
// double.
// Also turns a run-time BinaryOp into a compile-time one: fn(std::integral_constant<...>).
#pragma once

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
