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

std::vector<int64_t> window_values(const char* op, const char* name, const std::vector<int64_t>& v,
                                   size_t rank, int64_t fallback) {
  if (v.empty()) return std::vector<int64_t>(rank, fallback);
  ENGINE_CHECK(v.size() == rank, op, ": ", name, " must have ", rank, " values for a ", rank,
               "-D input, got ", shape_str(v));
  return v;
}

std::vector<int64_t> window2d_pair(const char* op, const char* name, const std::vector<int64_t>& v,
                                   int64_t fallback) {
  return window_values(op, name, v, 2, fallback);
}

int window_rank(const std::string& what, const Tensor& x) {
  ENGINE_CHECK(x.ndim() == 4 || x.ndim() == 5, what,
               " must be 4-D [N, C, H, W] or 5-D [N, C, D, H, W], got ", x.describe());
  return static_cast<int>(x.ndim()) - 2;
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

Window2d window_geometry(const char* op, const std::vector<int64_t>& kernel,
                         const Window2dAttrs& a) {
  const size_t n = kernel.size();
  ENGINE_CHECK(n == 2 || n == 3, op, ": the kernel must have 2 or 3 spatial dims, got ",
               shape_str(kernel));
  for (int64_t k : kernel)
    ENGINE_CHECK(k > 0, op, ": kernel size must be positive, got ", shape_str(kernel));
  const auto strides = window_values(op, "strides", a.strides, n, 1);
  const auto dilations = window_values(op, "dilations", a.dilations, n, 1);
  for (size_t i = 0; i < n; ++i) {
    ENGINE_CHECK(strides[i] > 0, op, ": strides must be positive, got ", shape_str(strides));
    ENGINE_CHECK(dilations[i] > 0, op, ": dilations must be positive, got ", shape_str(dilations));
  }
  std::vector<int64_t> pads = a.pads.empty() ? std::vector<int64_t>(2 * n, 0) : a.pads;
  ENGINE_CHECK(pads.size() == 2 * n, op, ": pads must have ", 2 * n, " values ",
               n == 2 ? "[top, left, bottom, right]" : "[front, top, left, back, bottom, right]",
               ", got ", shape_str(a.pads));
  bool all_zero = true;
  for (int64_t p : pads) {
    ENGINE_CHECK(p >= 0, op, ": pads must be non-negative, got ", shape_str(pads));
    all_zero = all_zero && p == 0;
  }
  ENGINE_CHECK(a.auto_pad == AutoPad::NotSet || all_zero, op, ": explicit pads ", shape_str(a.pads),
               " conflict with auto_pad ", auto_pad_name(a.auto_pad));
  Window2d g;
  g.rank = static_cast<int>(n);
  const size_t h = n - 2;  // index of the height axis
  if (n == 3) {
    g.KD = kernel[0];
    g.SD = strides[0];
    g.DD = dilations[0];
    g.PF = pads[0];
    g.PK = pads[3];
  }
  g.KH = kernel[h];
  g.KW = kernel[h + 1];
  g.SH = strides[h];
  g.SW = strides[h + 1];
  g.DH = dilations[h];
  g.DW = dilations[h + 1];
  g.PT = pads[h];
  g.PL = pads[h + 1];
  g.PB = pads[n + h];
  g.PR = pads[n + h + 1];
  return g;
}

Window2d window2d_geometry(const char* op, int64_t KH, int64_t KW, const Window2dAttrs& a) {
  return window_geometry(op, {KH, KW}, a);
}

Window2d resolve_window(const char* op, const std::vector<int64_t>& in,
                        const std::vector<int64_t>& kernel, const Window2dAttrs& a) {
  Window2d g = window_geometry(op, kernel, a);
  ENGINE_CHECK(in.size() == kernel.size(), op, ": the input has ", in.size(),
               " spatial dims but the kernel ", shape_str(kernel), " has ", kernel.size());
  for (int64_t d : in)
    ENGINE_CHECK(d > 0, op, ": input spatial size must be positive, got ", shape_str(in));
  const size_t h = in.size() - 2;
  if (g.rank == 3) {
    g.D = in[0];
    g.OD = resolve_axis(op, "depth", g.D, g.KD, g.SD, g.DD, a.auto_pad, a.ceil_mode, g.PF, g.PK);
  }
  g.H = in[h];
  g.W = in[h + 1];
  g.OH = resolve_axis(op, "height", g.H, g.KH, g.SH, g.DH, a.auto_pad, a.ceil_mode, g.PT, g.PB);
  g.OW = resolve_axis(op, "width", g.W, g.KW, g.SW, g.DW, a.auto_pad, a.ceil_mode, g.PL, g.PR);
  return g;
}

Window2d resolve_window2d(const char* op, int64_t H, int64_t W, int64_t KH, int64_t KW,
                          const Window2dAttrs& a) {
  return resolve_window(op, {H, W}, {KH, KW}, a);
}

std::vector<int64_t> window_in_dims(const Window2d& g) {
  if (g.rank == 3) return {g.D, g.H, g.W};
  return {g.H, g.W};
}

std::vector<int64_t> window_out_dims(const Window2d& g) {
  if (g.rank == 3) return {g.OD, g.OH, g.OW};
  return {g.OH, g.OW};
}

std::string window2d_str(const Window2d& g) {
  if (g.rank == 3)
    return str("kernel [", g.KD, ", ", g.KH, ", ", g.KW, "], strides [", g.SD, ", ", g.SH, ", ",
               g.SW, "], pads [", g.PF, ", ", g.PT, ", ", g.PL, ", ", g.PK, ", ", g.PB, ", ", g.PR,
               "], dilations [", g.DD, ", ", g.DH, ", ", g.DW, "]");
  return str("kernel [", g.KH, ", ", g.KW, "], strides [", g.SH, ", ", g.SW, "], pads [", g.PT, ", ",
             g.PL, ", ", g.PB, ", ", g.PR, "], dilations [", g.DH, ", ", g.DW, "]");
}

void check_pool_pads(const char* op, const Window2d& g) {
  const bool deep = g.rank == 3;
  const Shape pads =
      deep ? Shape{g.PF, g.PT, g.PL, g.PK, g.PB, g.PR} : Shape{g.PT, g.PL, g.PB, g.PR};
  const Shape kernel = deep ? Shape{g.KD, g.KH, g.KW} : Shape{g.KH, g.KW};
  ENGINE_CHECK(
      g.PT < g.KH && g.PB < g.KH && g.PL < g.KW && g.PR < g.KW && g.PF < g.KD && g.PK < g.KD, op,
      ": pads ", shape_str(pads), " must each be smaller than the kernel ", shape_str(kernel),
      ", or a window could hold padding alone");
}

}  // namespace engine
