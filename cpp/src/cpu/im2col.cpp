#include "cpu/im2col.h"

#include <cstring>

#include "engine/threads.h"

namespace engine {

namespace {

// Channels per parallel chunk: enough copying per chunk (~32K floats) to pay for a thread.
int64_t channel_grain(const Window2d& g) {
  const int64_t per_channel = g.taps() * g.out_size();
  return std::max<int64_t>(1, (int64_t{1} << 15) / std::max<int64_t>(per_channel, 1));
}

// Walks every (channel, kh, kw, oh) row of col (rows `ld` apart), calling fn(col offset of
// the row, x offset of the input row it reads or -1 when that row is padding, valid span
// along the row). One walk serves both directions, so the index arithmetic exists once.
template <class Fn>
void for_each_col_row(const Window2d& g, int64_t ld, int64_t c_begin, int64_t c_end, Fn&& fn) {
  for (int64_t c = c_begin; c < c_end; ++c) {
    for (int64_t kh = 0; kh < g.KH; ++kh) {
      const TapSpan rows = tap_span(g.OH, g.H, g.SH, g.PT, kh, g.DH);
      for (int64_t kw = 0; kw < g.KW; ++kw) {
        const TapSpan cols = tap_span(g.OW, g.W, g.SW, g.PL, kw, g.DW);
        const int64_t row0 = ((c * g.KH + kh) * g.KW + kw) * ld;
        for (int64_t oh = 0; oh < g.OH; ++oh) {
          // Only rows inside the span have an input row (outside it, the product with a
          // huge stride would overflow).
          const bool inside = oh >= rows.lo && oh < rows.hi;
          fn(row0 + oh * g.OW, inside ? (c * g.H + rows.in0 + (oh - rows.lo) * g.SH) * g.W : -1,
             cols);
        }
      }
    }
  }
}

// The same walk for a 3-D window, over every (channel, kd, kh, kw, od, oh) row. Kept apart
// from the 2-D walk, which stays as plain as it was: folding the depth loops into it (one kd,
// one od) measured slower for 2-D convolutions.
template <class Fn>
void for_each_col_row_3d(const Window2d& g, int64_t ld, int64_t c_begin, int64_t c_end, Fn&& fn) {
  for (int64_t c = c_begin; c < c_end; ++c) {
    for (int64_t kd = 0; kd < g.KD; ++kd) {
      const TapSpan slices = tap_span(g.OD, g.D, g.SD, g.PF, kd, g.DD);
      for (int64_t kh = 0; kh < g.KH; ++kh) {
        const TapSpan rows = tap_span(g.OH, g.H, g.SH, g.PT, kh, g.DH);
        for (int64_t kw = 0; kw < g.KW; ++kw) {
          const TapSpan cols = tap_span(g.OW, g.W, g.SW, g.PL, kw, g.DW);
          const int64_t row0 = (((c * g.KD + kd) * g.KH + kh) * g.KW + kw) * ld;
          for (int64_t od = 0; od < g.OD; ++od) {
            // Only slices and rows inside the spans have an input row (outside them, the
            // product with a huge stride would overflow).
            const bool slice_inside = od >= slices.lo && od < slices.hi;
            const int64_t id = slice_inside ? slices.in0 + (od - slices.lo) * g.SD : 0;
            for (int64_t oh = 0; oh < g.OH; ++oh) {
              const bool inside = slice_inside && oh >= rows.lo && oh < rows.hi;
              fn(row0 + (od * g.OH + oh) * g.OW,
                 inside ? ((c * g.D + id) * g.H + rows.in0 + (oh - rows.lo) * g.SH) * g.W : -1,
                 cols);
            }
          }
        }
      }
    }
  }
}

// The walk for g's rank.
template <class Fn>
void for_each_row(const Window2d& g, int64_t ld, int64_t c_begin, int64_t c_end, Fn&& fn) {
  if (g.planar())
    for_each_col_row(g, ld, c_begin, c_end, fn);
  else
    for_each_col_row_3d(g, ld, c_begin, c_end, fn);
}

}  // namespace

void im2col(const Window2d& g, int64_t C, const float* x, float* col, int64_t ld) {
  parallel_for(C, channel_grain(g), [&](int64_t c0, int64_t c1) {
    for_each_row(g, ld, c0, c1, [&](int64_t col_off, int64_t x_off, const TapSpan& s) {
      float* dst = col + col_off;
      if (x_off < 0) {
        std::memset(dst, 0, sizeof(float) * g.OW);
        return;
      }
      const float* src = x + x_off + s.in0;
      std::fill(dst, dst + s.lo, 0.0f);
      if (g.SW == 1) {
        std::memcpy(dst + s.lo, src, sizeof(float) * (s.hi - s.lo));
      } else {
        for (int64_t ow = s.lo; ow < s.hi; ++ow) dst[ow] = src[(ow - s.lo) * g.SW];
      }
      std::fill(dst + s.hi, dst + g.OW, 0.0f);
    });
  });
}

void col2im(const Window2d& g, int64_t C, const float* col, float* x, int64_t ld) {
  // Channels own disjoint planes of x, so chunks never write the same element.
  parallel_for(C, channel_grain(g), [&](int64_t c0, int64_t c1) {
    for_each_row(g, ld, c0, c1, [&](int64_t col_off, int64_t x_off, const TapSpan& s) {
      if (x_off < 0) return;
      const float* src = col + col_off;
      float* dst = x + x_off + s.in0;
      for (int64_t ow = s.lo; ow < s.hi; ++ow) dst[(ow - s.lo) * g.SW] += src[ow];
    });
  });
}

}  // namespace engine
