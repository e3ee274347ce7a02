// Reads the ONNX window attributes (kernel_shape, strides, pads, dilations, auto_pad,
// ceil_mode) that Conv and the pooling ops share.
#pragma once

#include "engine/graph.h"
#include "ops/window2d.h"

namespace engine {

inline Window2dAttrs window2d_attrs_from_node(const Node& node) {
  Window2dAttrs a;
  a.kernel_shape = node.attr_ints("kernel_shape");
  a.strides = node.attr_ints("strides");
  a.pads = node.attr_ints("pads");
  a.dilations = node.attr_ints("dilations");
  a.auto_pad = auto_pad_from_string(node.attr_string("auto_pad", "NOTSET"));
  a.ceil_mode = node.attr_int("ceil_mode", 0) != 0;
  return a;
}

}  // namespace engine
