#include "ops/window2d.h"

#include "core/checked.h"
#include "engine/status.h"
#include "engine/tensor.h"

namespace engine {

AutoPad auto_pad_from_string(const std::string& s, const std::string& op) {
  if (s.empty() || s == "NOTSET") return AutoPad::NotSet;
  if (s == "SAME_UPPER") return AutoPad::SameUpper;
  if (s == "SAME_LOWER") return AutoPad::SameLower;
  if (s == "VALID") return AutoPad::Valid;
  fail(ErrorKind::Value, op, ": unknown auto_pad '", s,
       "' (expected NOTSET, SAME_UPPER, SAME_LOWER or VALID)");
}

const char* auto_pad_name(AutoPad p) {
  switch (p) {
    case AutoPad::NotSet: return "NOTSET";
    case AutoPad::SameUpper: return "SAME_UPPER";
    case AutoPad::SameLower: return "SAME_LOWER";
    case AutoPad::Valid: return "VALID";
  }
  return "?";
}

std::vector<int64_t> window2d_pair(const char* op, const char* name, const std::vector<int64_t>& v,
                                   int64_t fallback) {
  if (v.empty()) return {fallback, fallback};
  ENGINE_CHECK(v.size() == 2, op, ": ", name, " must have 2 values for a 2-D input, got ",
               shape_str(v));
  return v;
}

namespace {

// Output size along one axis, possibly adjusting pads for SAME auto_pad. Every sum and
// product is checked: hostile attributes give an error naming them, never a wrapped size.
int64_t resolve_axis(const char* op, const char* axis, int64_t in, int64_t k, int64_t s,
                     int64_t d, AutoPad auto_pad, bool ceil_mode, int64_t& pad_begin,
                     int64_t& pad_end) {
  const int64_t span = checked_add(checked_mul(k - 1, d, op, ": the ", axis, " window (kernel ", k,
                                               ", dilation ", d, ")"),
                                   1, op, ": the ", axis, " window span");
  if (auto_pad == AutoPad::SameUpper || auto_pad == AutoPad::SameLower) {
    const int64_t out = ceil_div(in, s);
    const int64_t reach = checked_add(checked_mul(out - 1, s, op, ": the ", axis, " reach of ", out,
                                                  " windows (stride ", s, ")"),
                                      span, op, ": the ", axis, " reach (span ", span, ")");
    const int64_t total = std::max<int64_t>(0, reach - in);
    const int64_t small = total / 2, large = total - small;
    pad_begin = auto_pad == AutoPad::SameUpper ? small : large;
    pad_end = total - pad_begin;
    return out;
  }
  if (auto_pad == AutoPad::Valid) pad_begin = pad_end = 0;
  const int64_t padded = checked_add(checked_add(in, pad_begin, op, ": the padded ", axis, " (", in,
                                                 " + pads ", pad_begin, ")"),
                                     pad_end, op, ": the padded ", axis, " (", in, " + pads ",
                                     pad_begin, " + ", pad_end, ")");
  ENGINE_CHECK(padded >= span, op, ": the ", axis, " window (kernel ", k, ", dilation ", d,
               " spans ", span, ") is larger than the padded input (", in, " + pads ", pad_begin,
               "+", pad_end, " = ", padded, ")");
  int64_t out = (ceil_mode ? ceil_div(padded - span, s) : (padded - span) / s) + 1;
  // A window may not start inside the end padding (ONNX Runtime and PyTorch agree).
  if (ceil_mode && (out - 1) * s >= in + pad_begin) --out;
  return out;
}

}  // namespace

Window2d window2d_geometry(const char* op, int64_t KH, int64_t KW, const Window2dAttrs& a) {
  ENGINE_CHECK(KH > 0 && KW > 0, op, ": kernel size must be positive, got [", KH, ", ", KW, "]");
  const auto strides = window2d_pair(op, "strides", a.strides, 1);
  const auto dilations = window2d_pair(op, "dilations", a.dilations, 1);
  ENGINE_CHECK(strides[0] > 0 && strides[1] > 0, op, ": strides must be positive, got ",
               shape_str(strides));
  ENGINE_CHECK(dilations[0] > 0 && dilations[1] > 0, op, ": dilations must be positive, got ",
               shape_str(dilations));
  std::vector<int64_t> pads = a.pads.empty() ? std::vector<int64_t>{0, 0, 0, 0} : a.pads;
  ENGINE_CHECK(pads.size() == 4, op, ": pads must have 4 values [top, left, bottom, right], got ",
               shape_str(a.pads));
  for (int64_t p : pads)
    ENGINE_CHECK(p >= 0, op, ": pads must be non-negative, got ", shape_str(pads));
  ENGINE_CHECK(a.auto_pad == AutoPad::NotSet || a.pads.empty() ||
                   (pads[0] == 0 && pads[1] == 0 && pads[2] == 0 && pads[3] == 0),
               op, ": explicit pads ", shape_str(a.pads), " conflict with auto_pad ",
               auto_pad_name(a.auto_pad));
  Window2d g;
  g.KH = KH;
  g.KW = KW;
  g.SH = strides[0];
  g.SW = strides[1];
  g.DH = dilations[0];
  g.DW = dilations[1];
  g.PT = pads[0];
  g.PL = pads[1];
  g.PB = pads[2];
  g.PR = pads[3];
  return g;
}

Window2d resolve_window2d(const char* op, int64_t H, int64_t W, int64_t KH, int64_t KW,
                          const Window2dAttrs& a) {
  Window2d g = window2d_geometry(op, KH, KW, a);
  ENGINE_CHECK(H > 0 && W > 0, op, ": input spatial size must be positive, got [", H, ", ", W,
               "]");
  g.H = H;
  g.W = W;
  g.OH = resolve_axis(op, "height", H, KH, g.SH, g.DH, a.auto_pad, a.ceil_mode, g.PT, g.PB);
  g.OW = resolve_axis(op, "width", W, KW, g.SW, g.DW, a.auto_pad, a.ceil_mode, g.PL, g.PR);
  return g;
}

std::string window2d_str(const Window2d& g) {
  return str("kernel [", g.KH, ", ", g.KW, "], strides [", g.SH, ", ", g.SW, "], pads [", g.PT, ", ",
             g.PL, ", ", g.PB, ", ", g.PR, "], dilations [", g.DH, ", ", g.DW, "]");
}

void check_pool_pads(const char* op, const Window2d& g) {
  ENGINE_CHECK(g.PT < g.KH && g.PB < g.KH && g.PL < g.KW && g.PR < g.KW, op, ": pads [", g.PT,
               ", ", g.PL, ", ", g.PB, ", ", g.PR, "] must each be smaller than the kernel [", g.KH,
               ", ", g.KW, "], or a window could hold padding alone");
}

}  // namespace engine
