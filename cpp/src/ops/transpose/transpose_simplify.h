// The permutation simplified, shared by the CPU and the CUDA kernels: size-1 axes dropped
// and input axes that stay neighbours merged, so [N, C, H, W] -> [N, H, W, C] becomes
// [N, C, H*W] with perm [0, 2, 1], a batch of 2-D transposes.
#pragma once

#include <algorithm>
#include <vector>

#include "engine/tensor.h"

namespace engine {

struct TransposeSimplified {
  Shape in;                   // merged input dims
  std::vector<int64_t> perm;  // over the merged dims
};

inline TransposeSimplified transpose_simplify(const Shape& in,
                                              const std::vector<int64_t>& perm) {
  const int r = static_cast<int>(in.size());
  // Output order of the input axes that are not 1, renumbered 0..m-1.
  std::vector<int64_t> renum(r, -1);
  int64_t m = 0;
  for (int a = 0; a < r; ++a)
    if (in[a] != 1) renum[a] = m++;
  std::vector<int64_t> order;  // renumbered input axes, in output order
  Shape dims(m);
  for (int a = 0; a < r; ++a)
    if (renum[a] >= 0) dims[renum[a]] = in[a];
  for (int k = 0; k < r; ++k)
    if (renum[perm[k]] >= 0) order.push_back(renum[perm[k]]);
  // Runs a, a+1, ... in output order become one axis.
  std::vector<int64_t> heads;  // input axis starting each run, in output order
  std::vector<int64_t> run_dim;
  for (size_t k = 0; k < order.size(); ++k) {
    if (k > 0 && order[k] == order[k - 1] + 1) {
      run_dim.back() *= dims[order[k]];
    } else {
      heads.push_back(order[k]);
      run_dim.push_back(dims[order[k]]);
    }
  }
  // Merged input axes are the runs sorted by their head.
  std::vector<int64_t> by_head(heads.size());
  for (size_t g = 0; g < heads.size(); ++g) by_head[g] = static_cast<int64_t>(g);
  std::sort(by_head.begin(), by_head.end(),
            [&](int64_t a, int64_t b) { return heads[a] < heads[b]; });
  TransposeSimplified s;
  s.in.resize(heads.size());
  s.perm.resize(heads.size());
  std::vector<int64_t> pos(heads.size());  // run g -> merged input axis
  for (size_t i = 0; i < by_head.size(); ++i) {
    pos[by_head[i]] = static_cast<int64_t>(i);
    s.in[i] = run_dim[by_head[i]];
  }
  for (size_t g = 0; g < heads.size(); ++g) s.perm[g] = pos[g];
  return s;
}

// The output dims, and along each output axis x's and y's strides (contiguous x and y).
struct TransposeStrides {
  Shape out, xs, ys;
};

inline TransposeStrides transpose_strides(const TransposeSimplified& s) {
  const size_t r = s.in.size();
  TransposeStrides t{Shape(r), Shape(r), Shape(r)};
  int64_t in_stride = 1;
  Shape in_strides(r);
  for (size_t a = r; a-- > 0;) {
    in_strides[a] = in_stride;
    in_stride *= s.in[a];
  }
  for (size_t k = 0; k < r; ++k) {
    t.out[k] = s.in[s.perm[k]];
    t.xs[k] = in_strides[s.perm[k]];
  }
  int64_t out_stride = 1;
  for (size_t k = r; k-- > 0;) {
    t.ys[k] = out_stride;
    out_stride *= t.out[k];
  }
  return t;
}

}  // namespace engine
