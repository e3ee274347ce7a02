// The CUDA kernels of the losses over a Grid (core/grid.h): DeviceGrid in the CUDA plugin
// (losses_cuda.cu), HostGrid for their emulation in the kernel table.
//
// Whatever reduces along a row (the classes of one position, the values of one sample, the
// per-position losses summed into a reduction) runs as the softmax kernels do
// (softmax_cuda.h, row_groups): a group of threads of one block per row, each thread
// striding over the row, then a tree reduction within the group. Elementwise gradients are
// one thread per value. The label check is one block whose threads stride over the labels
// and reduce their counts and first bad index.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>

#include "core/grid.h"
#include "ops/losses/losses.h"
#include "ops/losses/losses_math.h"
#include "ops/softmax/softmax_cuda.h"

namespace engine {
namespace losses_cuda {

using row_groups::RowGroups;

// Softmax cross-entropy forward: l_p = w_n * (log(s) - (x_label - m)) or
// w_n * sum_c t_c (log(s) - (x_c - m)); 0 where the label is ignored.
struct CrossEntropyForwardBody {
  struct Shared {
    float red[row_groups::kThreads];
  };
  struct Local {
    float m, log_s;
  };
  RowGroups g;  // rows = positions (n, d), len = classes at stride D
  CrossEntropyArgs a;
  float* loss;

  template <class Each>
  ENGINE_HD void run_block(int64_t block, int, Shared& sh, Each&& each) const {
    row_groups::for_each_pass(g, block, [&](int64_t first) {
      row_groups::max_and_sum_exp<Local>(each, g, first, sh.red, a.logits);
      each([&](int t, Local& l) { l.log_s = std::log(sh.red[g.leader(t)]); });
      if (a.probs)  // the same for the whole block
        row_groups::reduce_row<Local>(each, g, first, sh.red, 0.0f, row_groups::SumOp{},
                                      [&](Local& l, int64_t i, int64_t) {
                                        const float tk = a.probs[i];  // 0 log 0 = 0
                                        return tk != 0.0f ? tk * (l.log_s - (a.logits[i] - l.m)) : 0.0f;
                                      });
      each([&](int t, Local& l) {
        const int64_t r = g.row(first, t);
        if (r >= g.rows || g.lane(t) != 0) return;
        const int64_t n = r / a.d;
        float v;
        if (a.labels) {
          const int64_t label = a.labels[r];
          if (label == a.ignore_index) {
            loss[r] = 0.0f;
            return;
          }
          // -log_softmax = log(s) - (x - m): (x - m) first keeps it exact for huge logits.
          v = l.log_s - (a.logits[g.start(r) + label * g.inner] - l.m);
        } else {
          v = sh.red[t];
        }
        loss[r] = a.weight ? v * a.weight[n] : v;
      });
    });
  }
};

// dlogits_c = (softmax_c * sum(t) - t_c) * g_p, g_p = scale * dloss_p * w_n (0 if ignored).
struct CrossEntropyBackwardBody {
  struct Shared {
    float red[row_groups::kThreads];
  };
  struct Local {
    float m, log_s, tsum;
  };
  RowGroups g;
  CrossEntropyArgs a;
  const float* dloss;
  float scale;
  float* dlogits;

  template <class Each>
  ENGINE_HD void run_block(int64_t block, int, Shared& sh, Each&& each) const {
    row_groups::for_each_pass(g, block, [&](int64_t first) {
      row_groups::max_and_sum_exp<Local>(each, g, first, sh.red, a.logits);
      each([&](int t, Local& l) {
        l.log_s = std::log(sh.red[g.leader(t)]);
        l.tsum = 1.0f;
      });
      if (a.probs) {  // the same for the whole block
        row_groups::reduce_row<Local>(each, g, first, sh.red, 0.0f, row_groups::SumOp{},
                                      [&](Local&, int64_t i, int64_t) { return a.probs[i]; });
        each([&](int t, Local& l) { l.tsum = sh.red[g.leader(t)]; });
      }
      each([&](int t, Local& l) {
        const int64_t r = g.row(first, t);
        if (r >= g.rows) return;
        const int64_t n = r / a.d, base = g.start(r);
        const int64_t label = a.labels ? a.labels[r] : -1;
        float gp = scale * (dloss ? dloss[r] : 1.0f) * (a.weight ? a.weight[n] : 1.0f);
        if (a.labels && label == a.ignore_index) gp = 0.0f;
        const float pscale = l.tsum * gp;  // softmax(x) * sum(t) * g
        for (int64_t k = g.lane(t); k < g.len; k += g.group) {
          const int64_t i = base + k * g.inner;
          const float soft = std::exp((a.logits[i] - l.m) - l.log_s);
          const float target = a.probs ? a.probs[i] : (k == label ? 1.0f : 0.0f);
          dlogits[i] = soft * pscale - target * gp;
        }
      });
    });
  }
};

// loss[n] = mean over the sample's k values of l(p, t).
template <class Math>
struct PointwiseForwardBody {
  struct Shared {
    float red[row_groups::kThreads];
  };
  struct Local {};
  RowGroups g;  // rows = samples, len = k
  PointwiseLossArgs a;
  float* loss;

  template <class Each>
  ENGINE_HD void run_block(int64_t block, int, Shared& sh, Each&& each) const {
    row_groups::for_each_pass(g, block, [&](int64_t first) {
      row_groups::reduce_row<Local>(each, g, first, sh.red, 0.0f, row_groups::SumOp{},
                                    [&](Local&, int64_t i, int64_t) {
                                      return Math::value(a.pred[i], a.target[i], a.delta);
                                    });
      each([&](int t, Local&) {
        const int64_t r = g.row(first, t);
        if (r < g.rows && g.lane(t) == 0) loss[r] = sh.red[t] / static_cast<float>(g.len);
      });
    });
  }
};

// Categorical cross-entropy at each position: s = sum_c p_c, u = p / s, q = clip(u).
// Forward: loss = -sum_c t_c log q_c. Backward (either output may be null), with
// g = scale * dloss[position / per_sample]:
//   dpred_j = (g_j + sum_{c unclipped} t_c) / s * g, g_j = -t_j / u_j (0 where clipped);
//   dtarget_j = -log q_j * g.
template <bool kBackward>
struct CategoricalBody {
  struct Shared {
    float red[row_groups::kThreads];
  };
  struct Local {
    float inv;  // 1 / s
  };
  RowGroups g;  // rows = positions (m, d), len = classes at stride D
  CategoricalArgs a;
  float* loss;  // forward
  const float* dloss;
  int64_t per_sample;
  float scale;
  float *dpred, *dtarget;

  template <class Each>
  ENGINE_HD void run_block(int64_t block, int, Shared& sh, Each&& each) const {
    row_groups::for_each_pass(g, block, [&](int64_t first) {
      row_groups::reduce_row<Local>(each, g, first, sh.red, 0.0f, row_groups::SumOp{},
                                    [&](Local&, int64_t i, int64_t) { return a.pred[i]; });
      each([&](int t, Local& l) { l.inv = 1.0f / sh.red[g.leader(t)]; });
      // Forward: sum_c t_c log q_c; backward: sum of t_c over the unclipped classes.
      row_groups::reduce_row<Local>(each, g, first, sh.red, 0.0f, row_groups::SumOp{},
                                    [&](Local& l, int64_t i, int64_t) {
                                      const float u = a.pred[i] * l.inv;
                                      if (!kBackward) return a.target[i] * std::log(clip_probability(u));
                                      return probability_clipped(u) ? 0.0f : a.target[i];
                                    });
      each([&](int t, Local& l) {
        const int64_t r = g.row(first, t);
        if (r >= g.rows) return;
        if (!kBackward) {
          if (g.lane(t) == 0) loss[r] = -sh.red[t];
          return;
        }
        const float shift = sh.red[g.leader(t)];
        const float gr = scale * (dloss ? dloss[r / per_sample] : 1.0f);
        const int64_t base = g.start(r);
        for (int64_t k = g.lane(t); k < g.len; k += g.group) {
          const int64_t i = base + k * g.inner;
          const float u = a.pred[i] * l.inv;
          if (dpred) {
            const float gu = probability_clipped(u) ? 0.0f : -a.target[i] / u;
            dpred[i] = (gu + shift) * l.inv * gr;
          }
          if (dtarget) dtarget[i] = -std::log(clip_probability(u)) * gr;
        }
      });
    });
  }
};

// out[r] = (sum of the r-th run of `len` values) / divisor.
struct SumRowsBody {
  struct Shared {
    float red[row_groups::kThreads];
  };
  struct Local {};
  RowGroups g;
  const float* x;
  double divisor;
  float* out;

  template <class Each>
  ENGINE_HD void run_block(int64_t block, int, Shared& sh, Each&& each) const {
    row_groups::for_each_pass(g, block, [&](int64_t first) {
      row_groups::reduce_row<Local>(each, g, first, sh.red, 0.0f, row_groups::SumOp{},
                                    [&](Local&, int64_t i, int64_t) { return x[i]; });
      each([&](int t, Local&) {
        const int64_t r = g.row(first, t);
        if (r < g.rows && g.lane(t) == 0) out[r] = static_cast<float>(sh.red[t] / divisor);
      });
    });
  }
};

// One block: out = {labels not ignored, first bad index or -1, that label}.
struct CheckLabelsBody {
  static constexpr int kThreads = 256;
  struct Shared {
    int64_t count[kThreads];
    int64_t bad[kThreads];  // the first bad index a thread saw, n when none
  };
  struct Local {};
  int64_t n;
  const int64_t* labels;
  int64_t classes, ignore_index;
  int64_t* out;

  template <class Each>
  ENGINE_HD void run_block(int64_t, int threads, Shared& sh, Each&& each) const {
    each([&](int t, Local&) {
      int64_t count = 0, bad = n;
      for (int64_t i = t; i < n; i += threads) {  // increasing: the first bad one is kept
        const int64_t label = labels[i];
        if (label == ignore_index) continue;
        ++count;
        if ((label < 0 || label >= classes) && bad == n) bad = i;
      }
      sh.count[t] = count;
      sh.bad[t] = bad;
    });
    tree_fold<Local>(each, threads, [&](int a, int b) {
      sh.count[a] += sh.count[b];
      if (sh.bad[b] < sh.bad[a]) sh.bad[a] = sh.bad[b];
    });
    each([&](int t, Local&) {
      if (t != 0) return;
      const bool found = sh.bad[0] < n;
      out[0] = sh.count[0];
      out[1] = found ? sh.bad[0] : -1;
      out[2] = found ? labels[sh.bad[0]] : 0;
    });
  }
};

template <class Grid, class Math>
void pointwise_forward_on(const PointwiseLossArgs& a, float* loss) {
  Grid::launch_blocks(row_groups::plan(a.n, a.k).dims(),
                      PointwiseForwardBody<Math>{row_groups::plan(a.n, a.k), a, loss});
}

template <class Grid, class Math>
void pointwise_backward_on(const PointwiseLossArgs& a, const float* dloss, float scale,
                           float* dpred, float* dtarget) {
  const int64_t k = a.k;
  const float delta = a.delta;
  const float *p = a.pred, *t = a.target;
  for_each_index<Grid>(a.n * a.k, [=] ENGINE_HD(int64_t e) {
    const float g = scale * (dloss ? dloss[e / k] : 1.0f);
    if (dpred) dpred[e] = Math::dpred(p[e], t[e], delta) * g;
    if (dtarget) dtarget[e] = Math::dtarget(p[e], t[e], delta) * g;
  });
}

}  // namespace losses_cuda

template <class Grid>
void softmax_cross_entropy_forward_grid(const CrossEntropyArgs& a, float* loss) {
  const auto g = row_groups::plan(a.n * a.d, a.c, a.d);
  if (g.rows == 0) return;
  Grid::launch_blocks(g.dims(), losses_cuda::CrossEntropyForwardBody{g, a, loss});
}

template <class Grid>
void softmax_cross_entropy_backward_grid(const CrossEntropyArgs& a, const float* dloss,
                                         float scale, float* dlogits) {
  const auto g = row_groups::plan(a.n * a.d, a.c, a.d);
  if (g.rows == 0) return;
  Grid::launch_blocks(g.dims(),
                      losses_cuda::CrossEntropyBackwardBody{g, a, dloss, scale, dlogits});
}

template <class Grid>
void pointwise_loss_forward_grid(const PointwiseLossArgs& a, float* loss) {
  if (a.n == 0) return;
  if (a.k == 0) {  // means of nothing
    for_each_index<Grid>(a.n, [=] ENGINE_HD(int64_t i) { loss[i] = 0.0f; });
    return;
  }
  dispatch_pointwise_loss(a.kind, [&](auto math) {
    losses_cuda::pointwise_forward_on<Grid, decltype(math)>(a, loss);
  });
}

template <class Grid>
void pointwise_loss_backward_grid(const PointwiseLossArgs& a, const float* dloss, float scale,
                                  float* dpred, float* dtarget) {
  dispatch_pointwise_loss(a.kind, [&](auto math) {
    losses_cuda::pointwise_backward_on<Grid, decltype(math)>(a, dloss, scale, dpred, dtarget);
  });
}

template <class Grid>
void categorical_cross_entropy_forward_grid(const CategoricalArgs& a, float* loss) {
  const auto g = row_groups::plan(a.m * a.d, a.c, a.d);
  if (g.rows == 0) return;
  Grid::launch_blocks(g.dims(), losses_cuda::CategoricalBody<false>{
                                    g, a, loss, nullptr, 1, 0.0f, nullptr, nullptr});
}

template <class Grid>
void categorical_cross_entropy_backward_grid(const CategoricalArgs& a, const float* dloss,
                                             int64_t per_sample, float scale, float* dpred,
                                             float* dtarget) {
  const auto g = row_groups::plan(a.m * a.d, a.c, a.d);
  if (g.rows == 0 || (!dpred && !dtarget)) return;
  Grid::launch_blocks(g.dims(), losses_cuda::CategoricalBody<true>{
                                    g, a, nullptr, dloss, per_sample, scale, dpred, dtarget});
}

template <class Grid>
void check_labels_grid(int64_t n, const int64_t* labels, int64_t classes, int64_t ignore_index,
                       int64_t* out) {
  using Body = losses_cuda::CheckLabelsBody;
  Grid::launch_blocks(GridDims{1, Body::kThreads}, Body{n, labels, classes, ignore_index, out});
}

template <class Grid>
void sum_rows_grid(int64_t rows, int64_t len, const float* x, double divisor, float* out) {
  if (rows <= 0) return;
  Grid::launch_blocks(row_groups::plan(rows, len).dims(),
                      losses_cuda::SumRowsBody{row_groups::plan(rows, len), x, divisor, out});
}

template <class Grid>
LossKernels losses_cuda_kernels() {
  return {softmax_cross_entropy_forward_grid<Grid>,
          softmax_cross_entropy_backward_grid<Grid>,
          pointwise_loss_forward_grid<Grid>,
          pointwise_loss_backward_grid<Grid>,
          categorical_cross_entropy_forward_grid<Grid>,
          categorical_cross_entropy_backward_grid<Grid>,
          check_labels_grid<Grid>,
          sum_rows_grid<Grid>};
}

}  // namespace engine
