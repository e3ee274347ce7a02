#include "ops/recurrent/recurrent.h"

#include <cmath>

#include "ops/common.h"
#include "ops/recurrent/recurrent_cuda.h"

namespace engine {

const KernelTable<RecurrentKernels>& recurrent_kernels() {
  static const KernelTable<RecurrentKernels> table(
      "recurrent", {recurrent_forward_ref, recurrent_backward_ref},
      {recurrent_forward_cpu, recurrent_backward_cpu}, recurrent_cuda_kernels<HostGrid>());
  return table;
}

namespace {

const char* cell_name(CellKind cell) {
  return cell == CellKind::Rnn ? "RNN" : cell == CellKind::Lstm ? "LSTM" : "GRU";
}

// The activations of each direction, from the attribute (or the cell's defaults).
void resolve_activations(const RecurrentAttrs& attrs, int64_t D, RecurrentGeometry& g) {
  const char* op = cell_name(attrs.cell);
  const int n = recurrent_activation_count(attrs.cell);
  static const RnnActivation defaults[3] = {RnnActivation::Sigmoid, RnnActivation::Tanh,
                                            RnnActivation::Tanh};
  std::vector<std::string> names = attrs.activations;
  ENGINE_CHECK(names.empty() || static_cast<int64_t>(names.size()) == n * D, op, ": activations ",
               "must list ", n, " per direction (", n * D, " for this direction), got ",
               names.size());
  for (int64_t d = 0; d < D; ++d)
    for (int k = 0; k < 3; ++k) {
      if (names.empty() || k >= n) {
        // RNN's only activation defaults to Tanh; the others as listed.
        g.act[d][k] = attrs.cell == CellKind::Rnn ? RnnActivation::Tanh : defaults[k];
        continue;
      }
      const std::string& name = names[static_cast<size_t>(d * n + k)];
      if (name == "Sigmoid") {
        g.act[d][k] = RnnActivation::Sigmoid;
      } else if (name == "Tanh") {
        g.act[d][k] = RnnActivation::Tanh;
      } else if (name == "Relu") {
        g.act[d][k] = RnnActivation::Relu;
      } else {
        fail(ErrorKind::Value, op, ": activation '", name,
             "' is not supported (Sigmoid, Tanh and Relu are)");
      }
    }
}

void check_optional(const Tensor& t, const Shape& shape, const char* op, const char* name) {
  if (t.defined()) check_shape(t, shape, str(op, ": ", name));
}

}  // namespace

RecurrentGeometry recurrent_geometry(const RecurrentAttrs& attrs, const Tensor& x,
                                     const Tensor& w, const Tensor& r, const Tensor& b,
                                     const Tensor& lens, const Tensor& h0, const Tensor& c0,
                                     const Tensor& p) {
  const char* op = cell_name(attrs.cell);
  ENGINE_CHECK(attrs.layout == 0 || attrs.layout == 1, op, ": layout must be 0 or 1, got ",
               attrs.layout);
  ENGINE_CHECK(!attrs.input_forget, op, ": input_forget 1 is not supported");
  ENGINE_CHECK(attrs.clip < 0.0f || (std::isfinite(attrs.clip) && attrs.clip > 0.0f), op,
               ": clip must be positive, got ", attrs.clip);
  check_dense_float(x, str(op, ": x").c_str());
  check_dense_float(w, str(op, ": w").c_str());
  check_dense_float(r, str(op, ": r").c_str());
  check_ndim(x, 3, str(op, ": x").c_str());
  check_ndim(w, 3, str(op, ": w").c_str());
  RecurrentGeometry g;
  g.cell = attrs.cell;
  g.G = attrs.cell == CellKind::Rnn ? 1 : attrs.cell == CellKind::Lstm ? 4 : 3;
  g.batch_first = attrs.layout == 1;
  g.T = g.batch_first ? x.dim(1) : x.dim(0);
  g.B = g.batch_first ? x.dim(0) : x.dim(1);
  g.I = x.dim(2);
  g.D = attrs.direction == RnnDirection::Bidirectional ? 2 : 1;
  g.reverse = attrs.direction == RnnDirection::Reverse;
  g.linear_before_reset = attrs.linear_before_reset;
  g.saves = attrs.saves;
  g.clip = attrs.clip < 0.0f ? 0.0f : attrs.clip;
  ENGINE_CHECK(g.T >= 1 && g.I >= 1, op, ": x ", x.describe(),
               " needs at least one step and one input feature");
  ENGINE_CHECK(w.dim(0) == g.D && w.dim(1) % g.G == 0 && w.dim(1) >= g.G && w.dim(2) == g.I, op,
               ": w ", w.describe(), " must be [", g.D, ", ", g.G, " * hidden_size, ", g.I,
               "] for x ", x.describe(), " and ", g.D, " direction(s)");
  g.H = w.dim(1) / g.G;
  ENGINE_CHECK(attrs.hidden_size < 0 || attrs.hidden_size == g.H, op, ": hidden_size ",
               attrs.hidden_size, " does not match w ", w.describe(), " (hidden size ", g.H, ")");
  check_shape(r, {g.D, g.G * g.H, g.H}, str(op, ": r"));
  check_optional(b, {g.D, 2 * g.G * g.H}, op, "b");
  if (lens.defined()) {
    ENGINE_CHECK_TYPE(lens.dtype() == DType::Int64, op, ": sequence_lens must be int64, got ",
                      lens.describe());
    ENGINE_CHECK(lens.shape() == Shape({g.B}) && lens.is_contiguous(), op, ": sequence_lens ",
                 lens.describe(), " must be [", g.B, "], one length per batch entry");
  }
  const Shape states = recurrent_state_shape(g);
  check_optional(h0, states, op, "initial_h");
  check_optional(c0, states, op, "initial_c");
  check_optional(p, {g.D, 3 * g.H}, op, "p");
  resolve_activations(attrs, g.D, g);
  return g;
}

Shape recurrent_y_shape(const RecurrentGeometry& g) {
  return g.batch_first ? Shape{g.B, g.T, g.D, g.H} : Shape{g.T, g.D, g.B, g.H};
}

Shape recurrent_state_shape(const RecurrentGeometry& g) {
  return g.batch_first ? Shape{g.B, g.D, g.H} : Shape{g.D, g.B, g.H};
}

std::vector<Shape> recurrent_state_shapes(const RecurrentGeometry& g) {
  const int64_t rows = g.rows(), H = g.H, D = g.D, GH = g.G * g.H;
  const bool lstm = g.cell == CellKind::Lstm, gru = g.cell == CellKind::Gru;
  const int64_t saved = g.saves ? rows : 0;
  std::vector<Shape> s(kRnnSlots);
  s[kRnnGates] = {rows, D * GH};
  s[kRnnHPrev] = {saved, D * H};
  s[kRnnCPrev] = {lstm ? saved : 0, D * H};
  s[kRnnAux] = {gru ? saved : 0, D * H};
  s[kRnnH] = {D, g.B, H};
  s[kRnnC] = {lstm ? D : 0, g.B, H};
  s[kRnnStep] = {g.B, GH};
  s[kRnnTmp] = {gru ? g.B : 0, H};
  s[kRnnDGates] = {saved, D * GH};
  s[kRnnDAux] = {gru && g.linear_before_reset ? saved : 0, D * H};
  s[kRnnConst] = {D * (g.G + 4) * H + GH};
  return s;
}

namespace {

RecurrentGeometry checked_geometry(const RecurrentAttrs& attrs, const RecurrentInputs& in,
                                   const std::vector<Tensor*>& state) {
  const RecurrentGeometry g =
      recurrent_geometry(attrs, in.x, in.w, in.r, in.b, in.lens, in.h0, in.c0, in.p);
  const char* op = cell_name(attrs.cell);
  if (in.lens.defined()) {  // read on the host: out-of-range lengths would index past x
    const Tensor host = in.lens.to(Device::cpu());
    for (int64_t i = 0; i < g.B; ++i) {
      const int64_t v = host.data<int64_t>()[i];
      ENGINE_CHECK(v >= 0 && v <= g.T, op, ": sequence_lens[", i, "] = ", v,
                   " is outside [0, ", g.T, "]");
    }
  }
  const std::vector<Shape> shapes = recurrent_state_shapes(g);
  ENGINE_CHECK(state.size() == shapes.size(), op, ": expects ", shapes.size(),
               " state buffers, got ", state.size());
  for (size_t k = 0; k < shapes.size(); ++k) check_shape(*state[k], shapes[k], str(op, ": state ", k));
  return g;
}

const float* data_or_null(const Tensor& t) { return t.defined() ? t.data<float>() : nullptr; }
float* data_or_null(Tensor* t) { return t && t->defined() ? t->data<float>() : nullptr; }

RecurrentData kernel_data(const RecurrentInputs& in, std::vector<float*>& state) {
  RecurrentData d{};
  d.x = in.x.data<float>();
  d.w = in.w.data<float>();
  d.r = in.r.data<float>();
  d.b = data_or_null(in.b);
  d.lens = in.lens.defined() ? in.lens.data<int64_t>() : nullptr;
  d.h0 = data_or_null(in.h0);
  d.c0 = data_or_null(in.c0);
  d.p = data_or_null(in.p);
  d.state = state.data();
  return d;
}

std::vector<float*> state_data(const std::vector<Tensor*>& state) {
  std::vector<float*> out;
  for (Tensor* t : state) out.push_back(t->data<float>());
  return out;
}

}  // namespace

void recurrent_forward(const RecurrentAttrs& attrs, const RecurrentInputs& in, Tensor* y,
                       Tensor* yh, Tensor* yc, const std::vector<Tensor*>& state) {
  const RecurrentGeometry g = checked_geometry(attrs, in, state);
  const std::string op = cell_name(attrs.cell);
  if (y && y->defined()) check_shape(*y, recurrent_y_shape(g), op + ": y");
  if (yh && yh->defined()) check_shape(*yh, recurrent_state_shape(g), op + ": y_h");
  if (yc && yc->defined()) check_shape(*yc, recurrent_state_shape(g), op + ": y_c");
  std::vector<float*> s = state_data(state);
  RecurrentData d = kernel_data(in, s);
  d.y = data_or_null(y);
  d.yh = data_or_null(yh);
  d.yc = g.cell == CellKind::Lstm ? data_or_null(yc) : nullptr;
  recurrent_kernels().get(in.x.device()).forward(g, d);
}

void recurrent_backward(const RecurrentAttrs& attrs, const RecurrentInputs& in, const Tensor& dy,
                        const Tensor& dyh, const Tensor& dyc, const RecurrentInputGrads& grads,
                        const std::vector<Tensor*>& state) {
  const RecurrentGeometry g = checked_geometry(attrs, in, state);
  const std::string op = cell_name(attrs.cell) + std::string("_backward");
  ENGINE_CHECK(g.saves, op, ": the forward pass ran without saving its states (planned for ",
               "inference)");
  const Shape states = recurrent_state_shape(g);
  if (dy.defined()) check_shape(dy, recurrent_y_shape(g), op + ": dy");
  if (dyh.defined()) check_shape(dyh, states, op + ": dy_h");
  if (dyc.defined()) check_shape(dyc, states, op + ": dy_c");
  const std::pair<Tensor*, const Tensor*> pairs[] = {
      {grads.dx, &in.x}, {grads.dw, &in.w}, {grads.dr, &in.r}, {grads.db, &in.b},
      {grads.dh0, &in.h0}, {grads.dc0, &in.c0}, {grads.dp, &in.p}};
  for (const auto& [grad, input] : pairs)
    if (grad && grad->defined()) check_shape(*grad, input->shape(), op + ": gradient");
  std::vector<float*> s = state_data(state);
  const RecurrentData d = kernel_data(in, s);
  RecurrentGrads gr{};
  gr.dy = data_or_null(dy);
  gr.dyh = data_or_null(dyh);
  gr.dyc = data_or_null(dyc);
  gr.dx = data_or_null(grads.dx);
  gr.dw = data_or_null(grads.dw);
  gr.dr = data_or_null(grads.dr);
  // Gradients of absent inputs are not computed (the kernels read nothing for them).
  gr.db = in.b.defined() ? data_or_null(grads.db) : nullptr;
  gr.dh0 = in.h0.defined() ? data_or_null(grads.dh0) : nullptr;
  gr.dc0 = in.c0.defined() ? data_or_null(grads.dc0) : nullptr;
  gr.dp = in.p.defined() ? data_or_null(grads.dp) : nullptr;
  recurrent_kernels().get(in.x.device()).backward(g, d, gr);
}

}  // namespace engine
