// The broadcast layout reduced to as few axes as possible, shared by the CPU and the CUDA
// kernels: size-1 axes dropped and neighbouring axes merged where both inputs step
// through them alike, so [N, C, H, W] op [C, 1, 1] becomes [N, C, H*W] with b strides
// [0, 1, 0]. The innermost stride of each input is then 1 or 0 (contiguous or broadcast),
// and the axes an input is broadcast along are exactly those where its stride is 0.
#pragma once

#include <vector>

#include "ops/binary/binary.h"

namespace engine {

struct BinaryCollapsed {
  std::vector<int64_t> size, sa, sb, sy;  // sy: the output's own (contiguous) strides
  int last() const { return static_cast<int>(size.size()) - 1; }
  int64_t numel() const { return sy[0] * size[0]; }
};

inline BinaryCollapsed binary_collapse(const BinaryLayout& l) {
  BinaryCollapsed c;
  for (size_t d = 0; d < l.shape.size(); ++d) {
    const int64_t n = l.shape[d], sa = l.a_strides[d], sb = l.b_strides[d];
    if (n == 1) continue;
    if (!c.size.empty() && c.sa.back() == sa * n && c.sb.back() == sb * n) {
      c.size.back() *= n;
      c.sa.back() = sa;
      c.sb.back() = sb;
      continue;
    }
    c.size.push_back(n);
    c.sa.push_back(sa);
    c.sb.push_back(sb);
  }
  if (c.size.empty()) c.size = {1}, c.sa = {0}, c.sb = {0};
  c.sy = contiguous_strides(c.size);
  return c;
}

}  // namespace engine
