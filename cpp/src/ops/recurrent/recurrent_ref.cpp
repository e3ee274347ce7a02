// Reference kernels: each batch entry's sequence on its own, one value at a time, in double.
// Backward recomputes the forward pass (keeping every step) and backpropagates through
// time; it reads nothing the optimized forward saved.
#include <vector>

#include "ops/recurrent/recurrent.h"
#include "ops/recurrent/recurrent_cell.h"

namespace engine {

namespace {

using Vec = std::vector<double>;
using Acts = CellActs<double, StdMath>;

// One step of one batch entry in one direction, as the forward pass saw it.
struct Step {
  int64_t t = 0;
  Vec h_prev, c_prev;
  Vec pre;  // [G*H] pre-activations (LSTM: with peepholes; GRU h: with the reset gate)
  Vec aux;  // GRU: r * h_prev (linear_before_reset 0) or h_prev Rh^T + Rbh (1)
  Vec x;    // [I]
};

struct Sequence {
  const RecurrentGeometry& g;
  const RecurrentData& d;
  int64_t dir, b;
  Acts acts;

  Sequence(const RecurrentGeometry& g_, const RecurrentData& d_, int64_t dir_, int64_t b_)
      : g(g_), d(d_), dir(dir_), b(b_), acts(cell_acts<double, StdMath>(g_, dir_)) {}

  int64_t GH() const { return g.G * g.H; }
  int64_t length() const { return d.lens ? d.lens[b] : g.T; }
  double w(int64_t n, int64_t i) const { return d.w[(dir * GH() + n) * g.I + i]; }
  double r(int64_t n, int64_t j) const { return d.r[(dir * GH() + n) * g.H + j]; }
  double wb(int64_t n) const { return d.b ? d.b[dir * 2 * GH() + n] : 0.0; }
  double rb(int64_t n) const { return d.b ? d.b[dir * 2 * GH() + GH() + n] : 0.0; }
  double peephole(int64_t k, int64_t j) const { return d.p ? d.p[(dir * 3 + k) * g.H + j] : 0.0; }
  // sum_j R[n][j] v[j] for the gate rows [n0, n0 + H)
  Vec recurrent(int64_t n0, const Vec& v) const {
    Vec out(static_cast<size_t>(g.H), 0.0);
    for (int64_t n = 0; n < g.H; ++n)
      for (int64_t j = 0; j < g.H; ++j) out[n] += r(n0 + n, j) * v[j];
    return out;
  }

  Vec initial(const float* s) const {
    Vec v(static_cast<size_t>(g.H), 0.0);
    if (s)
      for (int64_t j = 0; j < g.H; ++j) v[j] = s[g.state_offset(dir, b) + j];
    return v;
  }

  // Runs the sequence; returns every step, and the final states in h, c.
  std::vector<Step> run(Vec& h, Vec& c) const {
    const int64_t H = g.H, len = length();
    h = initial(d.h0);
    c = initial(d.c0);
    std::vector<Step> steps;
    for (int64_t k = 0; k < len; ++k) {
      Step s;
      s.t = g.reversed(dir) ? len - 1 - k : k;
      s.h_prev = h;
      s.c_prev = c;
      s.x.assign(d.x + g.row(s.t, b) * g.I, d.x + (g.row(s.t, b) + 1) * g.I);
      Vec a(static_cast<size_t>(GH()));  // x W^T + Wb + (h R^T + Rb, except GRU's h gate)
      for (int64_t n = 0; n < GH(); ++n) {
        a[n] = wb(n);
        for (int64_t i = 0; i < g.I; ++i) a[n] += w(n, i) * s.x[i];
      }
      const int64_t recurrent_rows = g.cell == CellKind::Gru ? 2 * H : GH();
      for (int64_t n = 0; n < recurrent_rows; ++n) {
        a[n] += rb(n);
        for (int64_t j = 0; j < H; ++j) a[n] += r(n, j) * h[j];
      }
      s.pre = a;
      if (g.cell == CellKind::Rnn) {
        for (int64_t j = 0; j < H; ++j) h[j] = acts.apply(0, a[j]);
      } else if (g.cell == CellKind::Lstm) {
        for (int64_t j = 0; j < H; ++j) {
          const double aj[4] = {a[j], a[H + j], a[2 * H + j], a[3 * H + j]};
          const double p[3] = {peephole(0, j), peephole(1, j), peephole(2, j)};
          double pre[4];
          const LstmUnit<double> u = lstm_unit(acts, aj, p, c[j], pre);
          for (int q = 0; q < 4; ++q) s.pre[q * H + j] = pre[q];
          c[j] = u.c;
          h[j] = u.o * u.hc;
        }
      } else {
        Vec rgate(static_cast<size_t>(H));
        for (int64_t j = 0; j < H; ++j) rgate[j] = acts.apply(0, a[H + j]);
        if (g.linear_before_reset) {
          s.aux = recurrent(2 * H, h);
          for (int64_t j = 0; j < H; ++j) {
            s.aux[j] += rb(2 * H + j);
            s.pre[2 * H + j] += rgate[j] * s.aux[j];
          }
        } else {
          s.aux.resize(static_cast<size_t>(H));
          for (int64_t j = 0; j < H; ++j) s.aux[j] = rgate[j] * h[j];
          const Vec rh = recurrent(2 * H, s.aux);
          for (int64_t j = 0; j < H; ++j) s.pre[2 * H + j] += rh[j] + rb(2 * H + j);
        }
        for (int64_t j = 0; j < H; ++j) {
          const double pre[3] = {s.pre[j], s.pre[H + j], s.pre[2 * H + j]};
          h[j] = gru_unit(acts, pre, h[j]);
        }
      }
      steps.push_back(std::move(s));
    }
    return steps;
  }
};

// Double accumulators for the gradients of the inputs.
struct Grads {
  Vec dx, dw, dr, db, dp;
  explicit Grads(const RecurrentGeometry& g)
      : dx(static_cast<size_t>(g.rows() * g.I)), dw(static_cast<size_t>(g.D * g.G * g.H * g.I)),
        dr(static_cast<size_t>(g.D * g.G * g.H * g.H)), db(static_cast<size_t>(g.D * 2 * g.G * g.H)),
        dp(static_cast<size_t>(g.D * 3 * g.H)) {}
};

void store(const Vec& v, float* out) {
  if (!out) return;
  for (size_t i = 0; i < v.size(); ++i) out[i] = static_cast<float>(v[i]);
}

// Backpropagates one sequence: adds its share to `acc`, and writes its initial states'
// gradients.
void backward_sequence(const Sequence& s, const RecurrentGrads& gr, Grads& acc) {
  const RecurrentGeometry& g = s.g;
  const int64_t H = g.H, GH = s.GH(), dir = s.dir, b = s.b;
  Vec h, c;
  const std::vector<Step> steps = s.run(h, c);
  Vec dh(static_cast<size_t>(H), 0.0), dc(static_cast<size_t>(H), 0.0);
  for (int64_t j = 0; j < H; ++j) {
    if (gr.dyh) dh[j] = gr.dyh[g.state_offset(dir, b) + j];
    if (gr.dyc) dc[j] = gr.dyc[g.state_offset(dir, b) + j];
  }
  double* dw = acc.dw.data() + dir * GH * g.I;
  double* dr = acc.dr.data() + dir * GH * H;
  double* dwb = acc.db.data() + dir * 2 * GH;
  double* drb = dwb + GH;
  for (auto it = steps.rbegin(); it != steps.rend(); ++it) {
    const Step& st = *it;
    if (gr.dy)
      for (int64_t j = 0; j < H; ++j) dh[j] += gr.dy[g.y_offset(st.t, dir, b) + j];
    Vec da(static_cast<size_t>(GH), 0.0);    // gradients of the pre-activations
    Vec drec(static_cast<size_t>(GH), 0.0);  // of the recurrent products h R^T + Rb
    Vec dh_prev(static_cast<size_t>(H), 0.0);
    if (g.cell == CellKind::Rnn) {
      for (int64_t j = 0; j < H; ++j) {
        const double y = s.acts.apply(0, st.pre[j]);
        da[j] = dh[j] * s.acts.grad(0, st.pre[j], y);
      }
      drec = da;
    } else if (g.cell == CellKind::Lstm) {
      for (int64_t j = 0; j < H; ++j) {
        const double pre[4] = {st.pre[j], st.pre[H + j], st.pre[2 * H + j], st.pre[3 * H + j]};
        const double p[3] = {s.peephole(0, j), s.peephole(1, j), s.peephole(2, j)};
        double daj[4];
        const double dc_prev = lstm_unit_backward(s.acts, pre, p, st.c_prev[j], dh[j], dc[j], daj);
        for (int q = 0; q < 4; ++q) da[q * H + j] = daj[q];
        const double c_new = lstm_cell_state(s.acts, pre, st.c_prev[j]);
        acc.dp[(dir * 3 + 0) * H + j] += daj[0] * st.c_prev[j];
        acc.dp[(dir * 3 + 1) * H + j] += daj[1] * c_new;
        acc.dp[(dir * 3 + 2) * H + j] += daj[2] * st.c_prev[j];
        dc[j] = dc_prev;
      }
      drec = da;
    } else {
      Vec dr_gate(static_cast<size_t>(H));
      for (int64_t j = 0; j < H; ++j) {
        const double pre[3] = {st.pre[j], st.pre[H + j], st.pre[2 * H + j]};
        dh_prev[j] = gru_unit_backward(s.acts, pre, st.h_prev[j], dh[j], da[j], da[2 * H + j]);
      }
      if (g.linear_before_reset) {
        for (int64_t j = 0; j < H; ++j) {
          const double rg = s.acts.apply(0, st.pre[H + j]);
          drec[2 * H + j] = da[2 * H + j] * rg;
          dr_gate[j] = da[2 * H + j] * st.aux[j];
        }
      } else {
        for (int64_t j = 0; j < H; ++j) {  // d(r h_prev) = da_h Rh
          double drh = 0.0;
          for (int64_t n = 0; n < H; ++n) drh += da[2 * H + n] * s.r(2 * H + n, j);
          const double rg = s.acts.apply(0, st.pre[H + j]);
          dr_gate[j] = drh * st.h_prev[j];
          dh_prev[j] += drh * rg;
        }
        for (int64_t n = 0; n < H; ++n) {
          drec[2 * H + n] = da[2 * H + n];
          for (int64_t j = 0; j < H; ++j) dr[(2 * H + n) * H + j] += da[2 * H + n] * st.aux[j];
        }
      }
      for (int64_t j = 0; j < H; ++j) {
        const double rg = s.acts.apply(0, st.pre[H + j]);
        da[H + j] = dr_gate[j] * s.acts.grad(0, st.pre[H + j], rg);
        drec[j] = da[j];
        drec[H + j] = da[H + j];
      }
    }
    // The input side: x W^T + Wb.
    const int64_t row = g.row(st.t, b);
    for (int64_t n = 0; n < GH; ++n) {
      dwb[n] += da[n];
      for (int64_t i = 0; i < g.I; ++i) {
        dw[n * g.I + i] += da[n] * st.x[i];
        acc.dx[row * g.I + i] += da[n] * s.w(n, i);
      }
    }
    // The recurrent side: h_prev R^T + Rb (GRU's h gate with linear_before_reset 0 was done
    // above: its product reads r h_prev).
    const bool gru_h_done = g.cell == CellKind::Gru && !g.linear_before_reset;
    for (int64_t n = 0; n < GH; ++n) {
      drb[n] += drec[n];
      if (gru_h_done && n >= 2 * H) continue;
      for (int64_t j = 0; j < H; ++j) {
        dr[n * H + j] += drec[n] * st.h_prev[j];
        dh_prev[j] += drec[n] * s.r(n, j);
      }
    }
    dh = dh_prev;
  }
  for (int64_t j = 0; j < H; ++j) {
    if (gr.dh0) gr.dh0[g.state_offset(dir, b) + j] = static_cast<float>(dh[j]);
    if (gr.dc0) gr.dc0[g.state_offset(dir, b) + j] = static_cast<float>(dc[j]);
  }
}

}  // namespace

void recurrent_forward_ref(const RecurrentGeometry& g, const RecurrentData& d) {
  if (d.y)
    for (int64_t k = 0; k < g.T * g.D * g.B * g.H; ++k) d.y[k] = 0.0f;  // steps past the lengths
  for (int64_t dir = 0; dir < g.D; ++dir)
    for (int64_t b = 0; b < g.B; ++b) {
      const Sequence s(g, d, dir, b);
      Vec h, c;
      const std::vector<Step> steps = s.run(h, c);
      // Each step's output is the h the next step started from (or the final h).
      for (size_t k = 0; k < steps.size() && d.y; ++k) {
        const Vec& out = k + 1 < steps.size() ? steps[k + 1].h_prev : h;
        for (int64_t j = 0; j < g.H; ++j)
          d.y[g.y_offset(steps[k].t, dir, b) + j] = static_cast<float>(out[j]);
      }
      for (int64_t j = 0; j < g.H; ++j) {
        if (d.yh) d.yh[g.state_offset(dir, b) + j] = static_cast<float>(h[j]);
        if (d.yc) d.yc[g.state_offset(dir, b) + j] = static_cast<float>(c[j]);
      }
    }
}

void recurrent_backward_ref(const RecurrentGeometry& g, const RecurrentData& d,
                            const RecurrentGrads& gr) {
  Grads acc(g);
  for (int64_t dir = 0; dir < g.D; ++dir)
    for (int64_t b = 0; b < g.B; ++b) backward_sequence(Sequence(g, d, dir, b), gr, acc);
  store(acc.dx, gr.dx);
  store(acc.dw, gr.dw);
  store(acc.dr, gr.dr);
  store(acc.db, gr.db);
  store(acc.dp, gr.dp);
}

}  // namespace engine
