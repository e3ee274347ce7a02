// Turns a run-time Activation into a compile-time one: fn(std::integral_constant<...>).
#pragma once

#include <type_traits>

#include "ops/activation/activation.h"

namespace engine {

template <class Fn>
void dispatch_activation(Activation op, Fn&& fn) {
  switch (op) {
#define ENGINE_ACTIVATION(Name, onnx)                                         \
  case Activation::Name:                                                      \
    fn(std::integral_constant<Activation, Activation::Name>{});               \
    return;
#include "ops/activation/activation_ops.inc"
#undef ENGINE_ACTIVATION
  }
  fail(ErrorKind::Value, "unknown activation code ", static_cast<int>(op));
}

}  // namespace engine
