// The sliding-window geometry shared by Conv and the pooling ops (ONNX semantics), over 2
// or 3 spatial axes.
//
//   pads = [top, left, bottom, right]  (ONNX: x1_begin, x2_begin, x1_end, x2_end); for 3-D
//   [front, top, left, back, bottom, right]
//   auto_pad SAME_UPPER / SAME_LOWER: output = ceil(input / stride), the odd pad at the
//   end / beginning; VALID: no padding; NOTSET: the explicit pads.
//   output = floor_or_ceil((in + pad_begin + pad_end - ((k - 1) * dilation + 1)) / stride) + 1,
//   where ceil_mode (pooling only) drops a last window that would start in the end padding.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/window2d.h"
#include "engine/tensor.h"

namespace engine {

enum class AutoPad { NotSet, SameUpper, SameLower, Valid };

// "NOTSET", "SAME_UPPER", ... ("" = NOTSET); errors name `op`.
AutoPad auto_pad_from_string(const std::string& s, const std::string& op);
const char* auto_pad_name(AutoPad p);

// Attributes as the user or the ONNX node gave them; empty vectors mean ONNX defaults
// (strides 1, dilations 1, pads 0). The kernel size comes from the weight for Conv.
// Each vector holds one value per spatial axis (pads two), depth first for 3-D.
struct Window2dAttrs {
  std::vector<int64_t> kernel_shape;  // [KH, KW] or [KD, KH, KW]
  std::vector<int64_t> strides;       // [SH, SW] or [SD, SH, SW]
  std::vector<int64_t> pads;          // [top, left, bottom, right] (3-D: see above)
  std::vector<int64_t> dilations;     // [DH, DW] or [DD, DH, DW]
  AutoPad auto_pad = AutoPad::NotSet;
  bool ceil_mode = false;
};

// `v` when it holds 2 values, {fallback, fallback} when empty; an error naming `op` and
// `name` otherwise.
std::vector<int64_t> window2d_pair(const char* op, const char* name, const std::vector<int64_t>& v,
                                   int64_t fallback);
// The same for `rank` spatial axes (2 or 3).
std::vector<int64_t> window_values(const char* op, const char* name, const std::vector<int64_t>& v,
                                   size_t rank, int64_t fallback);

// The spatial rank (2 or 3) of x [N, C, spatial...]; an error naming `what` otherwise.
int window_rank(const std::string& what, const Tensor& x);

// The window itself, checked (positive kernel/strides/dilations, 4 non-negative pads that
// do not contradict auto_pad): KH..PR set; the sizes H, W, OH, OW are left to the caller.
Window2d window2d_geometry(const char* op, int64_t KH, int64_t KW, const Window2dAttrs& attrs);
// For 2 or 3 spatial axes: kernel = [KH, KW] or [KD, KH, KW]; sets rank.
Window2d window_geometry(const char* op, const std::vector<int64_t>& kernel,
                         const Window2dAttrs& attrs);

// Validates the attributes (positive kernel/strides/dilations, non-negative pads, right
// lengths, a window that fits the padded input) and resolves the output size. Errors name
// `op` and the offending values.
Window2d resolve_window2d(const char* op, int64_t H, int64_t W, int64_t KH, int64_t KW,
                          const Window2dAttrs& attrs);
// For 2 or 3 spatial axes: in = the input's spatial sizes, kernel as many.
Window2d resolve_window(const char* op, const std::vector<int64_t>& in,
                        const std::vector<int64_t>& kernel, const Window2dAttrs& attrs);

// The spatial sizes of the input and output, depth first for 3-D.
std::vector<int64_t> window_in_dims(const Window2d& g);
std::vector<int64_t> window_out_dims(const Window2d& g);

// "kernel [3, 3], strides [1, 1], pads [1, 1, 1, 1], dilations [1, 1]", for errors.
std::string window2d_str(const Window2d& g);

// Pooling's extra rule for explicit pads (as in ONNX Runtime): each pad smaller than the
// kernel along its axis. SAME auto_pad computes its own pads and is not held to it.
void check_pool_pads(const char* op, const Window2d& g);

}  // namespace engine
