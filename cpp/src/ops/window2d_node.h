// The ONNX window attributes (kernel_shape, strides, pads, dilations, auto_pad, ceil_mode)
// that Conv and the pooling ops share: their schema and how a node's values are read.
#pragma once

#include "engine/ir.h"
#include "ops/op.h"
#include "ops/window2d.h"

namespace engine {

// kernel_shape is required for pooling and optional for Conv (the weight has it);
// ceil_mode is pooling's.
inline void add_window2d_attrs(OpSchema& schema, bool pooling) {
  if (pooling)
    schema.required("kernel_shape", Attribute::Kind::Ints);
  else
    schema.optional("kernel_shape", Attribute::Kind::Ints);
  schema.optional("strides", Attribute::Kind::Ints)
      .optional("pads", Attribute::Kind::Ints)
      .optional("dilations", Attribute::Kind::Ints)
      .attr("auto_pad", Attribute::of_string("NOTSET"));
  if (pooling) schema.attr("ceil_mode", Attribute::of_int(0));
}

inline Window2dAttrs window2d_attrs_from_node(const Node& node) {
  Window2dAttrs a;
  a.kernel_shape = node.attr_ints("kernel_shape");
  a.strides = node.attr_ints("strides");
  a.pads = node.attr_ints("pads");
  a.dilations = node.attr_ints("dilations");
  a.auto_pad = auto_pad_from_string(node.attr_string("auto_pad"), node.label());
  a.ceil_mode = node.attr_int("ceil_mode", 0) != 0;
  return a;
}

}  // namespace engine
