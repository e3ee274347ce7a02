// The optimized RNN / LSTM / GRU passes, written once over a Backend that runs GEMMs and
// elementwise bodies where the data lives:
//   Backend::gemm(const GemmArgs&)                       the device's GEMM
//   Backend::PackedB, pack_b(args, packed),              the same for a B operand that
//     gemm_packed(args, packed)                          every step shares (R), prepared
//                                                        once per call (CPU: packed)
//   Backend::for_each(n, f)                              f(i) for i in [0, n); f ENGINE_HD
//   Backend::column_sums(rows, cols, src, ld, dst)       dst[c] = sum over r of src[r*ld + c]
//   Backend::for_each_unit(b0, b1, H, f)                 f(b, j0, j1) covering every batch
//                                                        entry b in [b0, b1)'s units
//                                                        [j0, j1) once
//   Backend::for_each_batch_slice(B, T, f)               f(b0, b1, s0, s1): the steps
//                                                        [s0, s1) of the pass (in its
//                                                        order) for batch entries [b0, b1);
//                                                        slices cover [0, B) x [0, T), each
//                                                        batch range's steps in order,
//                                                        ranges possibly in parallel
//   using Backend::Math                                  elementary functions (FastMath, StdMath)
// recurrent_cpu_loops.h instantiates it for the CPU, recurrent_cuda.h for a Grid.
//
// Forward: one GEMM projects every step's input and adds the biases (x W^T + b for all rows
// and directions); then, per direction and step, a GEMM h_{t-1} R^T into the step buffer
// and an elementwise body that adds it, applies the cell and saves its pre-activations (LSTM
// with the default activations: the gate values) and previous states in x's row order (recurrent.h:
// RecurrentSlot). GRU with linear_before_reset 0 needs r before its h gate's product: two GEMMs and
// two bodies per step.
//
// Backward walks the steps back: an elementwise body turns the gradient of h_t (and c_t)
// into the gate gradients, saved by row and copied into the step buffer, from which one
// GEMM adds R's share to the gradient of h_{t-1}. The gradients of x, W, R and the biases
// then come from GEMMs and column sums over all rows at once.
#pragma once

#include <cstdint>
#include <type_traits>

#include "core/gemm_args.h"
#include "core/hd.h"
#include "ops/recurrent/recurrent.h"
#include "ops/recurrent/recurrent_cell.h"

namespace engine {

namespace recurrent_detail {

// One step's elementwise bodies for cell C (GRU: Lbr = linear_before_reset) and activations
// Acts, copied by value into them (they run on the device). Each body takes a batch entry b
// and a range of its hidden units [j0, j1): the CPU passes all H units of an entry, CUDA
// one unit per thread. The sequence length is checked once per entry; the loop over units
// has no branch (the cell is fixed at compile time, absent inputs are zeros in kRnnConst,
// and absent outputs are checked per entry), so the CPU compiler vectorizes it.
template <CellKind C, bool Lbr, class Acts>
struct StepView {
  static constexpr bool kTwoPhase = C == CellKind::Gru && !Lbr;
  // LSTM with the default activations saves the gate values i, o, f, c~ in `gates` instead
  // of their pre-activations: backward then needs only h(c_t) anew.
  static constexpr bool kSavesValues = C == CellKind::Lstm && IsFixedActs<Acts>::value;

  RecurrentGeometry g;
  Acts acts;
  int64_t d = 0, k = 0;  // direction, and step in the direction's order
  const int64_t* seq;
  const float *rbh, *p;  // direction d's Rbh [H] and peepholes [3, H] (kRnnConst)
  bool peepholes = false;  // whether p holds given peepholes (else zeros, not read)
  float *gates, *hprev, *cprev, *aux, *h, *c, *step, *tmp, *y;
  float *dgates, *daux;
  const float* dy;
  // Forward: the distance between batch entries' rows of h_{t-1} R^T in step (G*H), or 0
  // where the GEMM added it to the gates already and step points at zeros.
  int64_t rec_ld = 0;

  ENGINE_HD int64_t GH() const { return g.G * g.H; }
  // Whether step k of this direction is inside batch entry b's sequence; t: its time (or,
  // outside, the time slot k, which no step of the sequence writes).
  ENGINE_HD bool locate(int64_t b, int64_t& t) const {
    const int64_t len = seq ? seq[b] : g.T;
    if (k >= len) {
      t = k;
      return false;
    }
    t = g.reversed(d) ? len - 1 - k : k;
    return true;
  }
  ENGINE_HD float* gate_row(float* base, int64_t t, int64_t b) const {
    return base + g.row(t, b) * g.D * GH() + d * GH();
  }
  ENGINE_HD float* unit_row(float* base, int64_t t, int64_t b) const {  // [rows, D*H]
    return base + g.row(t, b) * g.D * g.H + d * g.H;
  }
  ENGINE_HD float* running(float* base, int64_t b) const { return base + (d * g.B + b) * g.H; }

  // A time slot outside the sequence: zeros everywhere backward reads or y shows.
  ENGINE_HD void forward_outside(int64_t t, int64_t b, int64_t j0, int64_t j1) const {
    const int64_t H = g.H;
    if (y) {
      float* yr = y + g.y_offset(t, d, b);
      for (int64_t j = j0; j < j1; ++j) yr[j] = 0.0f;
    }
    if constexpr (kTwoPhase) {  // the h gate's GEMM reads r h_{t-1}
      float* tp = tmp + b * H;
      for (int64_t j = j0; j < j1; ++j) tp[j] = 0.0f;
    }
    if (!g.saves) return;
    float* a = gate_row(gates, t, b);
    float* hp = unit_row(hprev, t, b);
    for (int64_t q = 0; q < g.G; ++q)
      for (int64_t j = j0; j < j1; ++j) a[q * H + j] = 0.0f;
    for (int64_t j = j0; j < j1; ++j) hp[j] = 0.0f;
    if constexpr (C == CellKind::Lstm) {
      float* cp = unit_row(cprev, t, b);
      for (int64_t j = j0; j < j1; ++j) cp[j] = 0.0f;
    }
    if constexpr (C == CellKind::Gru) {
      float* ax = unit_row(aux, t, b);
      for (int64_t j = j0; j < j1; ++j) ax[j] = 0.0f;
    }
  }

  template <bool Save, bool Peepholes>
  ENGINE_HD void lstm_forward(float* a, const float* rec, float* hs, float* hp, int64_t t,
                              int64_t b, int64_t j0, int64_t j1) const {
    const int64_t H = g.H;
    float* cs = running(c, b);
    float* cp = Save ? unit_row(cprev, t, b) : nullptr;
    ENGINE_IVDEP for (int64_t j = j0; j < j1; ++j) {
      const float in[4] = {a[j] + rec[j], a[H + j] + rec[H + j], a[2 * H + j] + rec[2 * H + j],
                           a[3 * H + j] + rec[3 * H + j]};
      float pp[3] = {};
      if constexpr (Peepholes) pp[0] = p[j], pp[1] = p[H + j], pp[2] = p[2 * H + j];
      const float c_prev = cs[j];
      float pre[4];
      const LstmUnit<float> u = lstm_unit<float, Acts, Peepholes>(acts, in, pp, c_prev, pre);
      if constexpr (Save && kSavesValues) {
        a[j] = u.i;
        a[H + j] = u.o;
        a[2 * H + j] = u.f;
        a[3 * H + j] = u.g;
      } else if constexpr (Save) {
        for (int q = 0; q < 4; ++q) a[q * H + j] = pre[q];
      }
      if constexpr (Save) {
        cp[j] = c_prev;
        hp[j] = hs[j];
      }
      cs[j] = u.c;
      hs[j] = u.o * u.hc;
    }
  }

  // The whole step (RNN, LSTM, GRU with linear_before_reset 1), or GRU's second half. The
  // gates hold x W^T plus the biases (kRnnConst); step holds h_{t-1} R^T. Without g.saves
  // (inference) only the running states and y are written: the loops store less.
  ENGINE_HD void forward(int64_t b, int64_t j0, int64_t j1) const {
    if (g.saves)
      forward_body<true>(b, j0, j1);
    else
      forward_body<false>(b, j0, j1);
  }
  template <bool Save>
  ENGINE_HD void forward_body(int64_t b, int64_t j0, int64_t j1) const {
    const int64_t H = g.H;
    int64_t t;
    if (!locate(b, t)) {
      if constexpr (!kTwoPhase) forward_outside(t, b, j0, j1);
      return;
    }
    float* a = gate_row(gates, t, b);  // becomes the pre-activations
    const float* rec = step + b * rec_ld;
    float* hs = running(h, b);
    float* hp = Save ? unit_row(hprev, t, b) : nullptr;  // saved for backward
    if constexpr (C == CellKind::Rnn) {
      ENGINE_IVDEP for (int64_t j = j0; j < j1; ++j) {
        const float pre = a[j] + rec[j];
        if constexpr (Save) {
          a[j] = pre;
          hp[j] = hs[j];
        }
        hs[j] = acts.apply(0, pre);
      }
    } else if constexpr (C == CellKind::Lstm) {
      if (peepholes)
        lstm_forward<Save, true>(a, rec, hs, hp, t, b, j0, j1);
      else
        lstm_forward<Save, false>(a, rec, hs, hp, t, b, j0, j1);
    } else if constexpr (Lbr) {
      float* ax = Save ? unit_row(aux, t, b) : nullptr;
      ENGINE_IVDEP for (int64_t j = j0; j < j1; ++j) {
        const float lin = rec[2 * H + j] + rbh[j];
        const float z = a[j] + rec[j], r = a[H + j] + rec[H + j];
        const float pre[3] = {z, r, a[2 * H + j] + acts.apply(0, r) * lin};
        const float h_prev = hs[j];
        if constexpr (Save) {
          a[j] = pre[0];
          a[H + j] = pre[1];
          a[2 * H + j] = pre[2];
          ax[j] = lin;
          hp[j] = h_prev;
        }
        hs[j] = gru_unit(acts, pre, h_prev);
      }
    } else {  // the z and r gates are done (forward_reset); rec's h block is (r h) Rh^T
      ENGINE_IVDEP for (int64_t j = j0; j < j1; ++j) {
        const float pre[3] = {a[j], a[H + j], a[2 * H + j] + rec[2 * H + j]};
        if constexpr (Save) a[2 * H + j] = pre[2];
        hs[j] = gru_unit(acts, pre, hs[j]);
      }
    }
    if (y) {
      float* yr = y + g.y_offset(t, d, b);
      ENGINE_IVDEP for (int64_t j = j0; j < j1; ++j) yr[j] = hs[j];
    }
  }

  // GRU with linear_before_reset 0, first half: z and r, and r h_{t-1} for the h gate's GEMM.
  ENGINE_HD void forward_reset(int64_t b, int64_t j0, int64_t j1) const {
    if (g.saves)
      forward_reset_body<true>(b, j0, j1);
    else
      forward_reset_body<false>(b, j0, j1);
  }
  template <bool Save>
  ENGINE_HD void forward_reset_body(int64_t b, int64_t j0, int64_t j1) const {
    const int64_t H = g.H;
    int64_t t;
    if (!locate(b, t)) return forward_outside(t, b, j0, j1);
    float* a = gate_row(gates, t, b);
    const float* rec = step + b * rec_ld;
    const float* hs = running(h, b);
    float* hp = Save ? unit_row(hprev, t, b) : nullptr;  // saved for backward
    float* ax = Save ? unit_row(aux, t, b) : nullptr;
    float* tp = tmp + b * H;
    ENGINE_IVDEP for (int64_t j = j0; j < j1; ++j) {
      const float r = a[H + j] + rec[H + j];
      a[j] += rec[j];
      a[H + j] = r;
      const float h_prev = hs[j];
      const float rh = acts.apply(0, r) * h_prev;
      tp[j] = rh;
      if constexpr (Save) {
        ax[j] = rh;
        hp[j] = h_prev;
      }
    }
  }

  // Backward of the step: the running h (and c) buffers hold their gradients. Writes the
  // gate gradients by row (dgates; GRU 1: daux) and into `step` for the GEMM with R, and
  // leaves in h the part of dh_{t-1} that does not go through R. GRU with
  // linear_before_reset 0 stops after z and h (backward_reset finishes r).
  ENGINE_HD void backward(int64_t b, int64_t j0, int64_t j1) const {
    const int64_t H = g.H;
    float* ds = step + b * GH();
    int64_t t;
    if (!locate(b, t)) {  // no gradient flows: dh passes through unchanged
      float* da = gate_row(dgates, t, b);
      for (int64_t q = 0; q < g.G; ++q)
        for (int64_t j = j0; j < j1; ++j) da[q * H + j] = ds[q * H + j] = 0.0f;
      if constexpr (C == CellKind::Gru && Lbr) {
        float* dax = unit_row(daux, t, b);
        for (int64_t j = j0; j < j1; ++j) dax[j] = 0.0f;
      }
      return;
    }
    const float* a = gate_row(gates, t, b);
    float* da = gate_row(dgates, t, b);
    float* dhs = running(h, b);
    if (dy) {
      const float* dyr = dy + g.y_offset(t, d, b);
      ENGINE_IVDEP for (int64_t j = j0; j < j1; ++j) dhs[j] += dyr[j];
    }
    if constexpr (C == CellKind::Rnn) {
      ENGINE_IVDEP for (int64_t j = j0; j < j1; ++j) {
        da[j] = ds[j] = dhs[j] * acts.grad(0, a[j], acts.apply(0, a[j]));
        dhs[j] = 0.0f;
      }
    } else if constexpr (C == CellKind::Lstm) {
      float* dcs = running(c, b);
      const float* cp = unit_row(cprev, t, b);
      ENGINE_IVDEP for (int64_t j = j0; j < j1; ++j) {
        const float pre[4] = {a[j], a[H + j], a[2 * H + j], a[3 * H + j]};
        const float pp[3] = {p[j], p[H + j], p[2 * H + j]};
        float dpre[4];
        if constexpr (kSavesValues)  // pre holds the gate values
          dcs[j] = lstm_gates_backward(acts, pre, pre, pp, cp[j], dhs[j], dcs[j], dpre);
        else
          dcs[j] = lstm_unit_backward(acts, pre, pp, cp[j], dhs[j], dcs[j], dpre);
        for (int q = 0; q < 4; ++q) da[q * H + j] = ds[q * H + j] = dpre[q];
        dhs[j] = 0.0f;
      }
    } else {
      const float* hp = unit_row(hprev, t, b);
      const float* ax = unit_row(aux, t, b);
      float* dax = Lbr ? unit_row(daux, t, b) : nullptr;
      ENGINE_IVDEP for (int64_t j = j0; j < j1; ++j) {
        const float pre[3] = {a[j], a[H + j], a[2 * H + j]};
        float da_z, da_h;
        const float direct = gru_unit_backward(acts, pre, hp[j], dhs[j], da_z, da_h);
        da[j] = ds[j] = da_z;
        da[2 * H + j] = ds[2 * H + j] = da_h;
        if constexpr (Lbr) {
          const float r = acts.apply(0, pre[1]);
          da[H + j] = ds[H + j] = da_h * ax[j] * acts.grad(0, pre[1], r);
          ds[2 * H + j] = dax[j] = da_h * r;  // the product's gradient
          dhs[j] = direct;
        }  // else backward_reset needs dh whole
      }
    }
  }

  // GRU with linear_before_reset 0, second half: tmp holds d(r h_{t-1}) = da_h Rh.
  ENGINE_HD void backward_reset(int64_t b, int64_t j0, int64_t j1) const {
    const int64_t H = g.H;
    int64_t t;
    if (!locate(b, t)) return;
    const float* a = gate_row(gates, t, b);
    float* da = gate_row(dgates, t, b);
    float* ds = step + b * GH();
    float* dhs = running(h, b);
    const float* hp = unit_row(hprev, t, b);
    const float* tp = tmp + b * H;
    ENGINE_IVDEP for (int64_t j = j0; j < j1; ++j) {
      const float r = acts.apply(0, a[H + j]), z = acts.apply(0, a[j]);
      const float drh = tp[j];
      da[H + j] = ds[H + j] = drh * hp[j] * acts.grad(0, a[H + j], r);
      dhs[j] = dhs[j] * z + drh * r;
    }
  }
};

// Copies initial states (or zeros) into a running [D, B, H] buffer, or a running buffer out.
template <class Backend>
void copy_states(const RecurrentGeometry& g, const float* from_layout, float* running,
                 float* to_layout) {
  const int64_t n = g.D * g.B * g.H, B = g.B, H = g.H;
  const RecurrentGeometry geo = g;
  if (g.D == 1 || !g.batch_first) {  // the same order: plain copies, no index arithmetic
    if (to_layout)
      Backend::for_each(n, [=] ENGINE_HD(int64_t e) { to_layout[e] = running[e]; });
    else if (from_layout)
      Backend::for_each(n, [=] ENGINE_HD(int64_t e) { running[e] = from_layout[e]; });
    else
      Backend::for_each(n, [=] ENGINE_HD(int64_t e) { running[e] = 0.0f; });
    return;
  }
  Backend::for_each(n, [=] ENGINE_HD(int64_t e) {
    const int64_t d = e / (B * H), b = e / H % B, j = e % H;
    const int64_t other = geo.state_offset(d, b) + j;
    if (to_layout)
      to_layout[other] = running[e];
    else
      running[e] = from_layout ? from_layout[other] : 0.0f;
  });
}

// C[M, N] (ldc) = alpha op(A) op(B) + beta C.
inline GemmArgs make_gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, const float* A,
                          int64_t lda, const float* B, int64_t ldb, float beta, float* C,
                          int64_t ldc) {
  GemmArgs a = gemm_args(M, N, K, A, lda, B, ldb, C, ldc);
  a.trans_a = ta;
  a.trans_b = tb;
  a.beta = beta;
  return a;
}

// The offsets of kRnnConst's parts.
inline int64_t rbh_offset(const RecurrentGeometry& g) { return g.D * g.G * g.H; }
inline int64_t peephole_offset(const RecurrentGeometry& g) { return g.D * (g.G + 1) * g.H; }
inline int64_t zeros_offset(const RecurrentGeometry& g) { return g.D * (g.G + 4) * g.H; }

// Fills kRnnConst from b and p (recurrent.h).
template <class Backend>
void fill_constants(const RecurrentGeometry& g, const RecurrentData& data) {
  const float *bias = data.b, *p = data.p;
  float* out = data.state[kRnnConst];
  const int64_t GH = g.G * g.H, H = g.H, D = g.D;
  const bool lbr = g.cell == CellKind::Gru && g.linear_before_reset;
  Backend::for_each(D * (g.G + 4) * H + GH, [=] ENGINE_HD(int64_t n) {
    float v = 0.0f;
    if (n < D * GH) {  // Wb + Rb, except GRU 1's Rbh, which the reset gate scales
      const int64_t d = n / GH, m = n % GH;
      if (bias) v = bias[d * 2 * GH + m] + (lbr && m >= 2 * H ? 0.0f : bias[d * 2 * GH + GH + m]);
    } else if (n < D * (GH + H)) {  // Rbh
      const int64_t d = (n - D * GH) / H, j = (n - D * GH) % H;
      if (bias && lbr) v = bias[d * 2 * GH + GH + 2 * H + j];
    } else if (p && n < D * (GH + 4 * H)) {
      v = p[n - D * (GH + H)];
    }  // else zeros: peepholes absent, or the G*H zeros at the end
    out[n] = v;
  });
}

// Calls run(view) with direction dir's StepView: the cell and GRU's linear_before_reset as
// template arguments, and the activations as FixedActs when they are the cell's defaults
// without clip (the common case, compiled for exactly those), else as CellActs.
template <class M, CellKind C, bool Lbr, class Run>
void run_step_view(const RecurrentGeometry& g, const RecurrentData& data, int64_t dir, Run& run) {
  constexpr RnnActivation S = RnnActivation::Sigmoid, T = RnnActivation::Tanh;
  auto with = [&](const auto& acts) {
    StepView<C, Lbr, std::decay_t<decltype(acts)>> v;
    v.g = g;
    v.acts = acts;
    v.d = dir;
    v.seq = data.lens;
    float* const* s = data.state;
    v.rbh = s[kRnnConst] + rbh_offset(g) + dir * g.H;
    v.p = s[kRnnConst] + peephole_offset(g) + dir * 3 * g.H;
    v.peepholes = data.p != nullptr;
    v.gates = s[kRnnGates];
    v.hprev = s[kRnnHPrev];
    v.cprev = s[kRnnCPrev];
    v.aux = s[kRnnAux];
    v.h = s[kRnnH];
    v.c = s[kRnnC];
    v.step = s[kRnnStep];
    v.tmp = s[kRnnTmp];
    v.y = data.y;
    v.dgates = s[kRnnDGates];
    v.daux = s[kRnnDAux];
    v.dy = nullptr;
    run(v);
  };
  if (!default_acts(g, dir))
    with(cell_acts<float, M>(g, dir));
  else if constexpr (C == CellKind::Rnn)
    with(FixedActs<float, M, T, T, T>{});
  else
    with(FixedActs<float, M, S, T, T>{});
}

template <class M, class Run>
void with_step_view(const RecurrentGeometry& g, const RecurrentData& data, int64_t dir, Run&& run) {
  switch (g.cell) {
    case CellKind::Rnn: return run_step_view<M, CellKind::Rnn, false>(g, data, dir, run);
    case CellKind::Lstm: return run_step_view<M, CellKind::Lstm, false>(g, data, dir, run);
    case CellKind::Gru: break;
  }
  if (g.linear_before_reset) return run_step_view<M, CellKind::Gru, true>(g, data, dir, run);
  run_step_view<M, CellKind::Gru, false>(g, data, dir, run);
}

// Batch entries never meet in the recurrence (h_t of entry b reads only entry b's h_{t-1}
// and c_{t-1}, and backward likewise), so a direction runs over slices [b0, b1) of the
// batch independently: Backend::for_each_batch_slice hands them to threads (CPU), which
// then run their steps without waiting for each other, instead of splitting each step's
// small GEMM and cell update and meeting twice a step.
template <class Backend, class View>
void forward_direction(const RecurrentGeometry& g, const RecurrentData& data, View v) {
  const int64_t H = g.H, GH = g.G * H, B = g.B, dir = v.d;
  float* const* s = data.state;
  constexpr bool two_phase = View::kTwoPhase;
  const float* R = data.r + dir * GH * H;
  const float* h = s[kRnnH] + dir * B * H;
  // When every batch entry is at the same time t in step k (no sequence lengths, or the
  // forward direction: entries past their length zero their row anyway), the gate rows of
  // step k are a strided matrix, and the GEMMs add h_{t-1} R^T to them in place: the cell
  // then reads them warm from the cache and no step buffer. GRU with linear_before_reset
  // 1 scales its h block by r first, so it keeps the step buffer.
  const bool in_place = !(g.cell == CellKind::Gru && g.linear_before_reset) &&
                        (!data.lens || !g.reversed(dir));
  const int64_t ldc = in_place ? (g.row(0, 1) - g.row(0, 0)) * g.D * GH : GH;
  v.rec_ld = in_place ? 0 : GH;
  if (in_place) v.step = s[kRnnConst] + zeros_offset(g);
  // R^T packed once for all steps (GRU, two phases: the z and r blocks, and the h block).
  const GemmArgs rec = make_gemm(false, true, B, two_phase ? 2 * H : GH, H, h, H, R, H, 0.0f,
                                 nullptr, GH);
  const GemmArgs rec_h = make_gemm(false, true, B, H, H, s[kRnnTmp], H, R + 2 * H * H, H, 0.0f,
                                   nullptr, H);
  typename Backend::PackedB packed_r, packed_rh;
  Backend::pack_b(rec, packed_r);
  if (two_phase) Backend::pack_b(rec_h, packed_rh);
  Backend::for_each_batch_slice(B, g.T, [&](int64_t b0, int64_t b1, int64_t k0, int64_t k1) {
    View vs = v;
    for (int64_t k = k0; k < k1; ++k) {
      vs.k = k;
      const int64_t t = g.reversed(dir) ? g.T - 1 - k : k;
      float* out = in_place ? s[kRnnGates] + g.row(t, 0) * g.D * GH + dir * GH : s[kRnnStep];
      const float beta = in_place ? 1.0f : 0.0f;
      // out[b0:b1, GH] (+)= h[b0:b1] R^T (GRU, two phases: the z and r blocks first).
      GemmArgs a = rec;
      a.M = b1 - b0;
      a.A = h + b0 * H;
      a.beta = beta;
      a.C = out + b0 * ldc;
      a.ldc = ldc;
      Backend::gemm_packed(a, packed_r);
      if constexpr (two_phase) {
        Backend::for_each_unit(b0, b1, H, [=] ENGINE_HD(int64_t b, int64_t j0, int64_t j1) {
          vs.forward_reset(b, j0, j1);
        });
        GemmArgs ah = rec_h;
        ah.M = b1 - b0;
        ah.A = s[kRnnTmp] + b0 * H;
        ah.beta = beta;
        ah.C = out + 2 * H + b0 * ldc;
        ah.ldc = ldc;
        Backend::gemm_packed(ah, packed_rh);
      }
      Backend::for_each_unit(
          b0, b1, H, [=] ENGINE_HD(int64_t b, int64_t j0, int64_t j1) { vs.forward(b, j0, j1); });
    }
  });
}

template <class Backend, class View>
void backward_direction(const RecurrentGeometry& g, const RecurrentData& data,
                        const RecurrentGrads& gr, View v) {
  const int64_t H = g.H, GH = g.G * H, B = g.B, dir = v.d;
  float* const* s = data.state;
  constexpr bool two_phase = View::kTwoPhase;
  v.y = nullptr;
  v.dy = gr.dy;
  const float* R = data.r + dir * GH * H;
  float* dh = s[kRnnH] + dir * B * H;
  // R packed once for all steps (GRU, two phases: its h block apart).
  const GemmArgs rec = make_gemm(false, false, B, H, two_phase ? 2 * H : GH, s[kRnnStep], GH, R,
                                 H, 1.0f, dh, H);
  const GemmArgs rec_h = make_gemm(false, false, B, H, H, s[kRnnStep] + 2 * H, GH,
                                   R + 2 * H * H, H, 0.0f, s[kRnnTmp], H);
  typename Backend::PackedB packed_r, packed_rh;
  Backend::pack_b(rec, packed_r);
  if (two_phase) Backend::pack_b(rec_h, packed_rh);
  Backend::for_each_batch_slice(B, g.T, [&](int64_t b0, int64_t b1, int64_t s0, int64_t s1) {
    View vs = v;
    GemmArgs a = rec, ah = rec_h;
    a.M = ah.M = b1 - b0;
    a.A += b0 * GH;
    a.C += b0 * H;
    ah.A += b0 * GH;
    ah.C += b0 * H;
    for (int64_t k = g.T - 1 - s0; k > g.T - 1 - s1; --k) {  // steps s0..s1 of the way back
      vs.k = k;
      Backend::for_each_unit(
          b0, b1, H, [=] ENGINE_HD(int64_t b, int64_t j0, int64_t j1) { vs.backward(b, j0, j1); });
      if constexpr (two_phase) {  // d(r h_{t-1}) = da_h Rh, then r's gradient
        Backend::gemm_packed(ah, packed_rh);
        Backend::for_each_unit(b0, b1, H, [=] ENGINE_HD(int64_t b, int64_t j0, int64_t j1) {
          vs.backward_reset(b, j0, j1);
        });
      }
      // dh_{t-1} += step[B, GH'] R[GH', H] (GRU 0: the z and r blocks; the h block went
      // through r h_{t-1} above).
      Backend::gemm_packed(a, packed_r);
    }
  });
}

}  // namespace recurrent_detail

template <class Backend>
void recurrent_forward_steps(const RecurrentGeometry& g, const RecurrentData& data) {
  using namespace recurrent_detail;
  if (g.B == 0) return;
  const int64_t GH = g.G * g.H;
  float* const* s = data.state;
  fill_constants<Backend>(g, data);
  // Every step's input projection and biases: gates[rows, D*GH] = x[rows, I] W[D*GH, I]^T + b.
  GemmArgs projection = make_gemm(false, true, g.rows(), g.D * GH, g.I, data.x, g.I, data.w, g.I,
                                  0.0f, s[kRnnGates], g.D * GH);
  projection.epilogue.col_bias = s[kRnnConst];
  Backend::gemm(projection);
  copy_states<Backend>(g, data.h0, s[kRnnH], nullptr);
  if (g.cell == CellKind::Lstm) copy_states<Backend>(g, data.c0, s[kRnnC], nullptr);
  for (int64_t dir = 0; dir < g.D; ++dir)
    with_step_view<typename Backend::Math>(
        g, data, dir, [&](const auto& v) { forward_direction<Backend>(g, data, v); });
  if (data.yh) copy_states<Backend>(g, nullptr, s[kRnnH], data.yh);
  if (data.yc) copy_states<Backend>(g, nullptr, s[kRnnC], data.yc);
}

template <class Backend>
void recurrent_backward_steps(const RecurrentGeometry& g, const RecurrentData& data,
                              const RecurrentGrads& gr) {
  using namespace recurrent_detail;
  const int64_t H = g.H, GH = g.G * H, B = g.B, I = g.I, D = g.D, rows = g.rows();
  float* const* s = data.state;
  // The running buffers now carry dh and dc, from y_h's and y_c's gradients.
  copy_states<Backend>(g, gr.dyh, s[kRnnH], nullptr);
  if (g.cell == CellKind::Lstm) copy_states<Backend>(g, gr.dyc, s[kRnnC], nullptr);
  for (int64_t dir = 0; dir < D && B > 0; ++dir)
    with_step_view<typename Backend::Math>(
        g, data, dir, [&](const auto& v) { backward_direction<Backend>(g, data, gr, v); });
  if (gr.dh0) copy_states<Backend>(g, nullptr, s[kRnnH], gr.dh0);
  if (gr.dc0) copy_states<Backend>(g, nullptr, s[kRnnC], gr.dc0);
  const float* dG = s[kRnnDGates];
  // dx[rows, I] = dgates[rows, D*GH] W[D*GH, I]
  if (gr.dx) Backend::gemm(make_gemm(false, false, rows, I, D * GH, dG, D * GH, data.w, I, 0.0f, gr.dx, I));
  const bool gru = g.cell == CellKind::Gru;
  for (int64_t dir = 0; dir < D; ++dir) {
    const float* dGd = dG + dir * GH;
    const float* hprev = s[kRnnHPrev] + dir * H;
    const float* aux = s[kRnnAux] + dir * H;
    const float* daux = s[kRnnDAux] + dir * H;
    if (gr.dw)  // dW[GH, I] = dgates^T x
      Backend::gemm(make_gemm(true, false, GH, I, rows, dGd, D * GH, data.x, I, 0.0f,
                              gr.dw + dir * GH * I, I));
    if (gr.dr) {  // dR[GH, H] = dgates^T h_prev, GRU's h gate apart
      float* dR = gr.dr + dir * GH * H;
      const int64_t plain = gru ? 2 * H : GH;
      Backend::gemm(make_gemm(true, false, plain, H, rows, dGd, D * GH, hprev, D * H, 0.0f, dR, H));
      if (gru && g.linear_before_reset)  // the product h_{t-1} Rh^T: daux^T h_prev
        Backend::gemm(make_gemm(true, false, H, H, rows, daux, D * H, hprev, D * H, 0.0f,
                                dR + 2 * H * H, H));
      else if (gru)  // the product (r h_{t-1}) Rh^T: da_h^T (r h_prev)
        Backend::gemm(make_gemm(true, false, H, H, rows, dGd + 2 * H, D * GH, aux, D * H, 0.0f,
                                dR + 2 * H * H, H));
    }
    if (gr.db) {  // column sums: Wb's of dgates; Rb's the same, but GRU 1's h gate sums daux
      float* db = gr.db + dir * 2 * GH;
      const int64_t copied = gru && g.linear_before_reset ? 2 * H : GH;
      Backend::column_sums(rows, GH, dGd, D * GH, db);
      Backend::for_each(copied, [=] ENGINE_HD(int64_t n) { db[GH + n] = db[n]; });
      if (copied < GH) Backend::column_sums(rows, H, daux, D * H, db + GH + 2 * H);
    }
    if (gr.dp) {  // peepholes: dp_i, dp_f = sum of da c_{t-1}; dp_o = sum of da_o c_t
      float* dp = gr.dp + dir * 3 * H;
      const float* cprev = s[kRnnCPrev] + dir * H;
      const float* gates = s[kRnnGates] + dir * GH;
      const CellActs<float, typename Backend::Math> acts =
          cell_acts<float, typename Backend::Math>(g, dir);
      const bool values = default_acts(g, dir);  // gates holds i, o, f, c~ (kSavesValues)
      Backend::for_each(3 * H, [=] ENGINE_HD(int64_t n) {
        const int q = static_cast<int>(n / H);  // 0 i, 1 o, 2 f: the gate rows are i, o, f, c
        const int64_t j = n % H;
        float sum = 0.0f;
        for (int64_t r = 0; r < rows; ++r) {
          const float* a = gates + r * D * GH;
          const float c_prev = cprev[r * D * H + j];
          const float pre[4] = {a[j], a[H + j], a[2 * H + j], a[3 * H + j]};
          const float c = q != 1 ? c_prev
                          : values ? pre[2] * c_prev + pre[0] * pre[3]
                                   : lstm_cell_state(acts, pre, c_prev);
          sum += dGd[r * D * GH + q * H + j] * c;
        }
        dp[n] = sum;
      });
    }
  }
}

}  // namespace engine
