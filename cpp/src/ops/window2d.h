// The sliding-window geometry shared by Conv and the pooling ops (ONNX semantics).
//
//   pads = [top, left, bottom, right]  (ONNX: x1_begin, x2_begin, x1_end, x2_end)
//   auto_pad SAME_UPPER / SAME_LOWER: output = ceil(input / stride), the odd pad at the
//   end / beginning; VALID: no padding; NOTSET: the explicit pads.
//   output = floor_or_ceil((in + pad_begin + pad_end - ((k - 1) * dilation + 1)) / stride) + 1,
//   where ceil_mode (pooling only) drops a last window that would start in the end padding.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace engine {

enum class AutoPad { NotSet, SameUpper, SameLower, Valid };

AutoPad auto_pad_from_string(const std::string& s);  // "NOTSET", "SAME_UPPER", ... ("" = NOTSET)
const char* auto_pad_name(AutoPad p);

// Attributes as the user or the ONNX node gave them; empty vectors mean ONNX defaults
// (strides 1, dilations 1, pads 0). The kernel size comes from the weight for Conv.
struct Window2dAttrs {
  std::vector<int64_t> kernel_shape;  // [KH, KW]
  std::vector<int64_t> strides;       // [SH, SW]
  std::vector<int64_t> pads;          // [top, left, bottom, right]
  std::vector<int64_t> dilations;     // [DH, DW]
  AutoPad auto_pad = AutoPad::NotSet;
  bool ceil_mode = false;
};

// Resolved geometry of one 2-D window op on an H x W input.
struct Window2d {
  int64_t H = 0, W = 0;    // input
  int64_t KH = 0, KW = 0;  // kernel
  int64_t SH = 1, SW = 1;  // strides
  int64_t DH = 1, DW = 1;  // dilations
  int64_t PT = 0, PL = 0, PB = 0, PR = 0;  // pads
  int64_t OH = 0, OW = 0;  // output
};

// Validates the attributes (positive kernel/strides/dilations, non-negative pads, right
// lengths, a window that fits the padded input) and resolves the output size. Errors name
// `op` and the offending values.
Window2d resolve_window2d(const char* op, int64_t H, int64_t W, int64_t KH, int64_t KW,
                          const Window2dAttrs& attrs);

}  // namespace engine
