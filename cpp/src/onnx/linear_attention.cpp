// LinearAttention as the engine ops it is made of: its recurrence unrolled over the
// sequence, whose length must be known at import (the graph grows by a dozen nodes per step:
// meant for decoding and short prefills).
#include <cmath>

#include "onnx/expansion.h"

namespace engine {

// LinearAttention(query [B, T, Hq dk], key [B, T, Hkv dk], value [B, T, Hkv dv],
// past_state? [B, Hkv, dk, dv], decay? [B, T, Hkv or Hkv dk], beta? [B, T, Hkv or 1]) ->
// (output [B, T, Hq dv], present_state?), step by step as the ONNX definition runs it:
//   gated:  S = exp(g_t) S                  delta: v_t = beta_t (v_t - S^T k_t)
//   S = S + k_t v_t^T,  o_t = scale q_t^T S (each group of Q heads reads its K/V head's S).
// Without past_state the state starts at 0: the first step is its update alone.
void emit_linear_attention(const Node& node, OnnxExpansionContext& ctx) {
  if (node.inputs.size() < 3 || node.inputs.size() > 6)
    ctx.fail("takes 3 to 6 inputs (query, key, value, past_state, decay, beta)");
  if (node.outputs.empty() || node.outputs.size() > 2) ctx.fail("has 1 or 2 outputs");
  auto input = [&](size_t k) { return k < node.inputs.size() ? node.inputs[k] : std::string(); };
  const std::string past = input(3), decay = input(4), beta = input(5);
  const std::string rule = node.attr_string("update_rule", "gated_delta");
  if (rule != "linear" && rule != "gated" && rule != "delta" && rule != "gated_delta")
    ctx.fail("update_rule must be linear, gated, delta or gated_delta, got '" + rule + "'");
  const bool gated = rule == "gated" || rule == "gated_delta";
  const bool delta = rule == "delta" || rule == "gated_delta";
  if (gated == decay.empty())
    ctx.fail(str("update_rule '", rule, "' ", gated ? "needs" : "takes no", " decay input"));
  if (delta == beta.empty())
    ctx.fail(str("update_rule '", rule, "' ", delta ? "needs" : "takes no", " beta input"));
  const int64_t q_heads = node.attr_int("q_num_heads", 0);
  const int64_t kv_heads = node.attr_int("kv_num_heads", 0);
  if (q_heads <= 0 || kv_heads <= 0 || q_heads % kv_heads)
    ctx.fail(str("q_num_heads (", q_heads, ") must be a positive multiple of kv_num_heads (",
                 kv_heads, ")"));
  const std::string& base = node.outputs[0];
  auto part = [&](const char* op, std::vector<std::string> inputs, const char* what,
                  std::map<std::string, Attribute> attrs = {}, const std::string& out = "") {
    return ctx.expand_part(node, op, std::move(inputs), what, out, std::move(attrs));
  };
  auto ints = [&](const std::vector<int64_t>& v, const char* what) {
    return ctx.add_int64s(v, base + "/" + what);
  };
  auto dims_of = [&](const std::string& x, const char* what) {
    if (ctx.dtype(x) != DType::Float32 || ctx.rank(x) != 3)
      ctx.fail(str(what, " must be float [B, T, heads * size]"));
    const std::vector<int64_t> d = ctx.symbolic_shape(x);
    if (is_symbolic(d[1]) || is_symbolic(d[2]))
      ctx.fail(
          str("the sequence length and the hidden size of ", what, " must be known at import"));
    return d;
  };
  const std::vector<int64_t> qd = dims_of(node.inputs[0], "query"),
                             kd = dims_of(node.inputs[1], "key"),
                             vd = dims_of(node.inputs[2], "value");
  const int64_t steps = qd[1];
  if (kd[1] != steps || vd[1] != steps || steps < 1)
    ctx.fail("query, key and value must have the same sequence length, at least 1");
  if (qd[2] % q_heads || kd[2] % kv_heads || vd[2] % kv_heads ||
      qd[2] / q_heads != kd[2] / kv_heads)
    ctx.fail(str("the hidden sizes (", qd[2], ", ", kd[2], ", ", vd[2],
                 ") must split into heads of one key size"));
  const int64_t dk = kd[2] / kv_heads, dv = vd[2] / kv_heads, group = q_heads / kv_heads;
  // [B, T, H size] -> [B, H, T, size]
  auto heads = [&](const std::string& x, int64_t h, int64_t size, const char* what) {
    const std::string split = part("Reshape", {x, ints({0, steps, h, size}, what)}, what);
    return part("Transpose", {split}, what, {{"perm", Attribute::of_ints({0, 2, 1, 3})}});
  };
  const std::string q = heads(node.inputs[0], q_heads, dk, "q_heads");
  const std::string k = heads(node.inputs[1], kv_heads, dk, "k_heads");
  const std::string v = heads(node.inputs[2], kv_heads, dv, "v_heads");
  std::string rate, gate;  // [B, Hkv or 1, T, 1]; exp(decay) [B, Hkv, T, 1 or dk]
  if (delta) {
    const std::vector<int64_t> bd = dims_of(beta, "beta");
    if (bd[1] != steps || (bd[2] != kv_heads && bd[2] != 1))
      ctx.fail(str("beta must be [B, ", steps, ", ", kv_heads, " or 1]"));
    rate = heads(beta, bd[2], 1, "beta_heads");
  }
  if (gated) {
    const std::vector<int64_t> gd = dims_of(decay, "decay");
    if (gd[1] != steps || (gd[2] != kv_heads && gd[2] != kv_heads * dk))
      ctx.fail(str("decay must be [B, ", steps, ", ", kv_heads, " or ", kv_heads * dk, "]"));
    gate = part("Exp", {heads(decay, kv_heads, gd[2] / kv_heads, "decay_heads")}, "gate");
  }
  std::string state;
  if (!past.empty()) {
    const std::vector<int64_t> pd = ctx.symbolic_shape(past);
    if (pd.size() != 4 || pd[1] != kv_heads || pd[2] != dk || pd[3] != dv)
      ctx.fail(
          str("past_state must be [B, ", kv_heads, ", ", dk, ", ", dv, "], got ", shape_str(pd)));
    state = past;
  }
  const float scale = node.attr_float("scale", 0.0f) != 0.0f
                          ? node.attr_float("scale", 0.0f)
                          : static_cast<float>(1.0 / std::sqrt(static_cast<double>(dk)));
  const std::string scale_value = ctx.add_constant(Tensor::full({}, scale), base + "/scale");
  const Attribute swap = Attribute::of_ints({0, 1, 3, 2});
  std::vector<std::string> outputs;
  for (int64_t t = 0; t < steps; ++t) {
    auto at = [&](const std::string& x, const char* what) {  // x[:, :, t:t+1]
      return part("Slice", {x, ints({t}, "t"), ints({t + 1}, "t_end"), ints({2}, "time_axis")},
                  what);
    };
    const std::string k_row = at(k, "k_t");  // [B, Hkv, 1, dk]
    std::string v_row = at(v, "v_t");        // [B, Hkv, 1, dv]
    if (!state.empty() && gated)
      state = part(
          "Mul", {state, part("Transpose", {at(gate, "gate_t")}, "gate_column", {{"perm", swap}})},
          "decayed_state");
    if (delta) {
      if (!state.empty())
        v_row = part("Sub", {v_row, part("MatMul", {k_row, state}, "retrieved")}, "v_error");
      v_row = part("Mul", {at(rate, "beta_t"), v_row}, "v_rated");
    }
    const std::string update =
        part("MatMul", {part("Transpose", {k_row}, "k_column", {{"perm", swap}}), v_row}, "update");
    state = state.empty() ? update : part("Add", {state, update}, "state");
    std::string q_t = at(q, "q_t");  // [B, Hq, 1, dk] -> [B, Hkv, group, dk]
    if (group > 1)
      q_t = part("Reshape", {q_t, ints({0, kv_heads, group, dk}, "q_grouped")}, "q_grouped");
    std::string o = part("Mul", {part("MatMul", {q_t, state}, "read"), scale_value}, "o_t");
    if (group > 1) o = part("Reshape", {o, ints({0, q_heads, 1, dv}, "o_heads")}, "o_heads");
    outputs.push_back(o);  // [B, Hq, 1, dv]
  }
  const std::string all =
      outputs.size() == 1 ? outputs[0]
                          : part("Concat", outputs, "outputs", {{"axis", Attribute::of_int(2)}});
  const std::string y =
      part("Transpose", {all}, "y_transposed", {{"perm", Attribute::of_ints({0, 2, 1, 3})}});
  part("Reshape", {y, ints({0, steps, q_heads * dv}, "y_shape")}, "y", {}, node.outputs[0]);
  if (node.outputs.size() > 1 && !node.outputs[1].empty()) ctx.alias(node.outputs[1], state);
}

}  // namespace engine
