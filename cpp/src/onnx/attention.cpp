// Attention and RotaryEmbedding as the engine ops they are made of (MatMul, Softmax, Where,
// Reshape, Transpose, Slice, Gather, ...), so that a graph exported with them runs and trains
// through those ops. Each follows the ONNX operator's definition step for step, in float32.
#include <cmath>
#include <limits>
#include <map>

#include "onnx/expansion.h"
#include "onnx/fold.h"

namespace engine {

namespace {

constexpr float kMinusInf = -std::numeric_limits<float>::infinity();

// The parts an expansion builds, named after the node's first output.
class Parts {
 public:
  Parts(const Node& node, OnnxExpansionContext& ctx) : node_(node), ctx_(ctx) {}

  std::string op(const char* type, std::vector<std::string> inputs, const char* what,
                 std::map<std::string, Attribute> attrs = {}, const std::string& output = "") {
    return ctx_.expand_part(node_, type, std::move(inputs), what, output, std::move(attrs));
  }
  std::string scalar(float v, const char* what) {  // one constant per value
    auto it = scalars_.find(v);
    if (it == scalars_.end())
      it = scalars_.emplace(v, ctx_.add_constant(Tensor::full({}, v), base() + "/" + what)).first;
    return it->second;
  }
  std::string ints(const std::vector<int64_t>& v, const char* what) {
    return ctx_.add_int64s(v, base() + "/" + what);
  }
  std::string constant(const Tensor& t, const char* what) {
    return ctx_.add_constant(t, base() + "/" + what);
  }
  // A Reshape target for `dims`: dim 0 (the batch) copied from the input, the others as they
  // are, and one that is only known at run time left open (-1).
  std::string reshape(const std::string& x, std::vector<int64_t> dims, const char* what,
                      const std::string& output = "") {
    dims[0] = 0;
    int open = 0;
    for (int64_t& d : dims)
      if (is_symbolic(d)) {
        d = -1;
        ++open;
      }
    if (open > 1) ctx_.fail("more than one dim besides the batch is only known at run time");
    return op("Reshape", {x, ints(dims, what)}, what, {}, output);
  }
  std::string transpose(const std::string& x, std::vector<int64_t> perm, const char* what) {
    return op("Transpose", {x}, what, {{"perm", Attribute::of_ints(std::move(perm))}});
  }
  // x[..., from:to] along `axis`.
  std::string slice(const std::string& x, int64_t axis, int64_t from, int64_t to,
                    const char* what) {
    return op("Slice", {x, ints({from}, "starts"), ints({to}, "ends"), ints({axis}, "axes")}, what);
  }
  std::string base() const { return node_.outputs.at(0); }

 private:
  const Node& node_;
  OnnxExpansionContext& ctx_;
  std::map<float, std::string> scalars_;
};

std::string input(const Node& node, size_t k) {
  return k < node.inputs.size() ? node.inputs[k] : std::string();
}

int64_t known(OnnxExpansionContext& ctx, int64_t dim, const char* what) {
  if (is_symbolic(dim)) ctx.fail(str(what, " must be known at import (it depends on the batch)"));
  return dim;
}

}  // namespace

// Attention(Q, K, V, attn_mask?, past_key?, past_value?, nonpad_kv_seqlen?) ->
// (Y, present_key?, present_value?, qk_matmul_output?), as the ONNX definition computes it:
//   Q and K scaled by sqrt(scale) each, scores = Q K^T, softcap * tanh(scores / softcap),
//   plus the bias (the float mask, or 0 / -inf from a bool mask, the causal frontier and the
//   padding of nonpad_kv_seqlen), Softmax, times V. A query row that the bias masks fully
//   gives zeros (the definition's guard), in Y and in the softmax output. Grouped-query heads
//   multiply each group of Q heads with its K/V head as one MatMul ([B, Hkv, n * Sq, D]),
//   never copying K or V. softmax_precision is float32 whatever it asks for: the engine
//   computes float16 and bfloat16 in float32.
void emit_attention(const Node& node, OnnxExpansionContext& ctx) {
  if (ctx.opset() < 23) ctx.fail(str("Attention is an operator from opset 23"));
  const size_t max_inputs = ctx.opset() >= 24 ? 7 : 6;
  if (ctx.opset() < 25 && (node.has_attr("left_window_size") || node.has_attr("right_window_size")))
    ctx.fail("left_window_size and right_window_size are attributes from opset 25");
  if (node.inputs.size() < 3 || node.inputs.size() > max_inputs)
    ctx.fail(str("takes 3 to ", max_inputs, " inputs (Q, K, V, attn_mask, past_key, past_value",
                 max_inputs == 7 ? ", nonpad_kv_seqlen)" : ")"));
  if (node.outputs.empty() || node.outputs.size() > 4) ctx.fail("has 1 to 4 outputs");
  for (size_t k = 0; k < 3; ++k)
    if (node.inputs[k].empty()) ctx.fail("Q, K and V are required");
  const std::string mask = input(node, 3), past_key = input(node, 4), past_value = input(node, 5),
                    nonpad = input(node, 6);
  if (past_key.empty() != past_value.empty())
    ctx.fail("past_key and past_value come together, or neither");
  const auto output = [&](size_t k) { return k < node.outputs.size() ? node.outputs[k] : ""; };
  if (!nonpad.empty() && !past_key.empty())
    ctx.fail("nonpad_kv_seqlen does not go with past_key and past_value");
  const int rank = ctx.rank(node.inputs[0]);
  for (size_t k = 1; k < 3; ++k)
    if (ctx.rank(node.inputs[k]) != rank) ctx.fail("Q, K and V must have the same rank");
  if (rank != 3 && rank != 4) ctx.fail(str("Q, K and V must be 3-D or 4-D, got rank ", rank));
  for (size_t k = 0; k < 3; ++k)
    if (ctx.dtype(node.inputs[k]) != DType::Float32) ctx.fail("Q, K and V must be float");
  const bool causal = node.attr_int("is_causal", 0) != 0;
  const float softcap = node.attr_float("softcap", 0.0f);
  const int64_t mode = node.attr_int("qk_matmul_output_mode", 0);
  if (mode < 0 || mode > 3) ctx.fail(str("qk_matmul_output_mode must be 0 to 3, got ", mode));
  const int64_t q_heads_attr = node.attr_int("q_num_heads", 0);
  const int64_t kv_heads_attr = node.attr_int("kv_num_heads", 0);
  Parts parts(node, ctx);

  // Q, K, V as [B, heads, sequence, head size].
  auto to_heads = [&](const std::string& x, int64_t heads, const char* what) {
    const std::vector<int64_t> dims = ctx.symbolic_shape(x);
    const int64_t hidden = known(ctx, dims[2], "the hidden size");
    if (heads <= 0 || hidden % heads)
      ctx.fail(str("3-D inputs need q_num_heads and kv_num_heads dividing their hidden sizes (",
                   what, " has ", hidden, ", heads ", heads, ")"));
    const std::string split = parts.reshape(x, {0, dims[1], heads, hidden / heads}, what);
    return parts.transpose(split, {0, 2, 1, 3}, what);
  };
  std::string q = node.inputs[0], k = node.inputs[1], v = node.inputs[2];
  if (rank == 3) {
    q = to_heads(q, q_heads_attr, "q_heads");
    k = to_heads(k, kv_heads_attr, "k_heads");
    v = to_heads(v, kv_heads_attr, "v_heads");
  }
  const std::vector<int64_t> qs = ctx.symbolic_shape(q), ks = ctx.symbolic_shape(k),
                             vs = ctx.symbolic_shape(v);
  const int64_t q_heads = known(ctx, qs[1], "the number of Q heads");
  const int64_t kv_heads = known(ctx, ks[1], "the number of K heads");
  const int64_t head_size = known(ctx, qs[3], "the head size");
  const int64_t v_head_size = known(ctx, vs[3], "the head size of V");
  const int64_t q_length = qs[2];
  if (rank == 4 &&
      ((q_heads_attr && q_heads_attr != q_heads) || (kv_heads_attr && kv_heads_attr != kv_heads)))
    ctx.fail(str("q_num_heads ", q_heads_attr, " and kv_num_heads ", kv_heads_attr,
                 " disagree with the heads of 4-D Q and K (", q_heads, ", ", kv_heads, ")"));
  if (ks[3] != head_size) ctx.fail(str("Q and K differ in head size: ", head_size, ", ", ks[3]));
  if (vs[1] != kv_heads) ctx.fail(str("K and V differ in heads: ", kv_heads, ", ", vs[1]));
  if (vs[2] != ks[2]) ctx.fail(str("K and V differ in sequence length: ", ks[2], ", ", vs[2]));
  if (kv_heads <= 0 || q_heads % kv_heads)
    ctx.fail(
        str("the Q heads (", q_heads, ") must be a multiple of the K/V heads (", kv_heads, ")"));
  const int64_t group = q_heads / kv_heads;

  // The cache: present = past followed by the new keys and values.
  int64_t past_length = 0;
  if (!past_key.empty()) {
    const std::vector<int64_t> pk = ctx.symbolic_shape(past_key);
    const std::vector<int64_t> pv = ctx.symbolic_shape(past_value);
    if (pk.size() != 4 || pv.size() != 4 || pk[1] != kv_heads || pv[1] != kv_heads ||
        pk[3] != head_size || pv[3] != v_head_size || pk[2] != pv[2])
      ctx.fail(str("past_key ", shape_str(pk), " and past_value ", shape_str(pv),
                   " must be [batch, ", kv_heads, ", past length, ", head_size, " and ",
                   v_head_size, "]"));
    past_length = known(ctx, pk[2], "the past length");
    const Attribute axis = Attribute::of_int(2);
    k = parts.op("Concat", {past_key, k}, "present_key", {{"axis", axis}}, output(1));
    v = parts.op("Concat", {past_value, v}, "present_value", {{"axis", axis}}, output(2));
  } else {
    if (!output(1).empty()) ctx.alias(output(1), k);
    if (!output(2).empty()) ctx.alias(output(2), v);
  }
  const int64_t total = is_symbolic(ks[2]) ? ks[2] : ks[2] + past_length;

  // The bias: 0 where a query attends a key, -inf where it may not, plus a float mask.
  std::string bias;
  auto add_bias = [&](const std::string& term) {
    bias = bias.empty() ? term : parts.op("Add", {bias, term}, "bias");
  };
  auto as_bias = [&](const std::string& allowed) {
    return parts.op("Where", {allowed, parts.scalar(0.0f, "zero"), parts.scalar(kMinusInf, "ninf")},
                    "allowed_bias");
  };
  if (!mask.empty()) {
    if (ctx.is_weight(mask)) ctx.freeze_weight(mask);
    const DType type = ctx.dtype(mask);
    if (type != DType::Bool && type != DType::Float32)
      ctx.fail(str("attn_mask must be bool or float, got ", dtype_name(type)));
    std::string m = type == DType::Bool ? as_bias(mask) : mask;
    const std::vector<int64_t> ms = ctx.symbolic_shape(mask);
    if (ms.empty()) ctx.fail("attn_mask must have at least 1 dim");
    const int64_t length = known(ctx, ms.back(), "the last dim of attn_mask");
    if (length > known(ctx, total, "the total sequence length"))
      ctx.fail(str("attn_mask covers ", length, " keys, more than the ", total, " there are"));
    if (length < total) {  // the keys it leaves out are masked
      std::vector<int64_t> pads(2 * ms.size(), 0);
      pads.back() = total - length;
      m = parts.op("Pad", {m, parts.ints(pads, "mask_pads"), parts.scalar(kMinusInf, "ninf")},
                   "padded_mask");
    }
    add_bias(m);
  }
  // Query i attends key j when j <= i + offset (is_causal) and within the window around
  // i + offset: offset is the past length, or nonpad_kv_seqlen - q_length in each batch.
  std::string allowed;
  auto allow = [&](const std::string& term) {
    allowed = allowed.empty() ? term : parts.op("And", {allowed, term}, "allowed");
  };
  std::string lengths;
  if (!nonpad.empty()) {
    if (ctx.dtype(nonpad) != DType::Int64) ctx.fail("nonpad_kv_seqlen must be an integer");
    if (ctx.rank(nonpad) != 1) ctx.fail("nonpad_kv_seqlen must be 1-D ([batch])");
    lengths = parts.reshape(nonpad, {0, 1, 1, 1}, "lengths");
  }
  // In terms of shift = j - i + Sq (known at import) and reach = offset + Sq (known, or
  // nonpad_kv_seqlen at run time): causal is shift <= reach; the left window
  // i + offset - j <= left is shift + left >= reach; the right one
  // j - i - offset <= right is shift - right <= reach.
  const int64_t left = node.attr_int("left_window_size", -1);
  const int64_t right = node.attr_int("right_window_size", -1);
  if (left < -1 || right < -1)
    ctx.fail(
        str("left_window_size and right_window_size must be -1 or more, got ", left, ", ", right));
  if (causal || left >= 0 || right >= 0) {
    const int64_t rows = known(ctx, q_length, "the Q sequence length with is_causal or a window");
    const int64_t cols = known(ctx, total, "the total sequence length with is_causal or a window");
    auto shifted = [&](int64_t by, const char* what) {
      Tensor t = Tensor::empty({rows, cols}, DType::Int64);
      for (int64_t i = 0; i < rows; ++i)
        for (int64_t j = 0; j < cols; ++j) t.data<int64_t>()[i * cols + j] = j - i + rows + by;
      return parts.constant(t, what);
    };
    const std::string reach =
        lengths.empty() ? parts.constant(int64_tensor({}, {past_length + rows}), "reach") : lengths;
    if (causal) allow(parts.op("LessOrEqual", {shifted(0, "shift"), reach}, "causal"));
    if (left >= 0)
      allow(parts.op("GreaterOrEqual", {shifted(left, "shift_left"), reach}, "left_window"));
    if (right >= 0)
      allow(parts.op("LessOrEqual", {shifted(-right, "shift_right"), reach}, "right_window"));
  }
  if (!nonpad.empty()) {
    const int64_t cols = known(ctx, total, "the total sequence length with nonpad_kv_seqlen");
    std::vector<int64_t> ids(cols);
    for (int64_t j = 0; j < cols; ++j) ids[j] = j;
    allow(parts.op("Less", {parts.constant(int64_tensor({cols}, ids), "key_ids"), lengths},
                   "not_padding"));
  }
  if (!allowed.empty()) add_bias(as_bias(allowed));

  // Rows the bias masks fully are zeroed after the softmax, which sees them as 0 (so that
  // neither its output nor its gradient is NaN there). Known masks that leave no row empty
  // need no guard.
  std::string empty_rows, safe_bias = bias;
  if (!bias.empty()) {
    const std::string best = parts.op("ReduceMax", {bias, parts.ints({-1}, "last_axis")}, "row_max",
                                      {{"keepdims", Attribute::of_int(1)}});
    empty_rows = parts.op("Equal", {best, parts.scalar(kMinusInf, "ninf")}, "empty_rows");
    if (const Tensor* known_rows = ctx.constant(empty_rows)) {
      const bool* r = known_rows->data<bool>();
      bool any = false;
      for (int64_t e = 0; e < known_rows->numel(); ++e) any = any || r[e];
      if (!any) empty_rows.clear();
    }
    if (!empty_rows.empty())
      safe_bias = parts.op("Where", {empty_rows, parts.scalar(0.0f, "zero"), bias}, "safe_bias");
  }

  // scores = (Q sqrt(scale)) (K sqrt(scale))^T, [B, Hq, Sq, T].
  const double scale =
      node.has_attr("scale") ? node.attr_float("scale") : 1.0 / std::sqrt(double(head_size));
  const std::string root = parts.scalar(static_cast<float>(std::sqrt(scale)), "sqrt_scale");
  std::string q_scaled = parts.op("Mul", {q, root}, "q_scaled");
  const std::string k_scaled =
      parts.op("Mul", {parts.transpose(k, {0, 1, 3, 2}, "k_transposed"), root}, "k_scaled");
  // Each K/V head with the `group` Q heads that share it: [B, Hkv, group * Sq, D].
  auto grouped = [&](const std::string& x, int64_t size, const char* what) {
    if (group == 1) return x;
    const int64_t rows = is_symbolic(q_length) ? q_length : group * q_length;
    return parts.reshape(x, {0, kv_heads, rows, size}, what);
  };
  auto ungrouped = [&](const std::string& x, int64_t size, const char* what,
                       const std::string& out = "") {
    if (group == 1 && out.empty()) return x;
    return parts.reshape(x, {0, q_heads, q_length, size}, what, out);
  };
  q_scaled = grouped(q_scaled, head_size, "q_grouped");
  const std::string scores =
      ungrouped(parts.op("MatMul", {q_scaled, k_scaled}, "qk"), total, "scores");
  std::string capped = scores;
  if (softcap > 0.0f) {
    const std::string cap = parts.scalar(softcap, "softcap");
    const std::string ratio = parts.op("Div", {scores, cap}, "qk_over_cap");
    capped = parts.op("Mul", {parts.op("Tanh", {ratio}, "qk_tanh"), cap}, "qk_capped");
  }
  const std::string logits = bias.empty() ? capped : parts.op("Add", {capped, safe_bias}, "logits");
  std::string probs = parts.op("Softmax", {logits}, "probs", {{"axis", Attribute::of_int(-1)}});
  if (!empty_rows.empty())
    probs = parts.op("Where", {empty_rows, parts.scalar(0.0f, "zero"), probs}, "guarded_probs");
  if (!output(3).empty()) {
    switch (mode) {
      case 0:
        ctx.alias(output(3), scores);
        break;
      case 1:
        ctx.alias(output(3), capped);
        break;
      case 2:
        ctx.alias(output(3), bias.empty() ? capped : parts.op("Add", {capped, bias}, "qk_bias"));
        break;
      default:
        ctx.alias(output(3), probs);
    }
  }
  const bool direct = rank == 4 && group == 1;  // the MatMul gives Y as it is
  const std::string attended = parts.op("MatMul", {grouped(probs, total, "probs_grouped"), v},
                                        "attended", {}, direct ? output(0) : "");
  if (direct) return;
  if (rank == 4) {
    ungrouped(attended, v_head_size, "y", output(0));
    return;
  }
  const std::string y =
      parts.transpose(ungrouped(attended, v_head_size, "y_heads"), {0, 2, 1, 3}, "y_transposed");
  parts.reshape(y, {0, q_length, q_heads * v_head_size}, "y", output(0));
}

// RotaryEmbedding(X, cos_cache, sin_cache, position_ids?): over the first
// rotary_embedding_dim values of each head (all by default), pairs (x1, x2) become
// (cos x1 - sin x2, sin x1 + cos x2), where x1 and x2 are the two halves of those values or,
// interleaved, the even and odd ones. X is [B, H, S, D], or [B, S, H * D] with num_heads;
// the caches are [B, S, rotary_dim / 2], or [positions, rotary_dim / 2] read at
// position_ids [B, S].
void emit_rotary_embedding(const Node& node, OnnxExpansionContext& ctx) {
  if (ctx.opset() < 23) ctx.fail(str("RotaryEmbedding is an operator from opset 23"));
  if (node.inputs.size() < 3 || node.inputs.size() > 4)
    ctx.fail("takes 3 or 4 inputs (input, cos_cache, sin_cache, position_ids)");
  if (node.outputs.size() != 1) ctx.fail("has one output");
  for (size_t k = 0; k < 3; ++k)
    if (node.inputs[k].empty()) ctx.fail("input, cos_cache and sin_cache are required");
  const std::string& x = node.inputs[0];
  const std::string positions = input(node, 3);
  const int rank = ctx.rank(x);
  if (rank != 3 && rank != 4) ctx.fail(str("the input must be 3-D or 4-D, got rank ", rank));
  for (size_t k = 0; k < 3; ++k)
    if (ctx.dtype(node.inputs[k]) != DType::Float32)
      ctx.fail("the input and the caches must be float");
  Parts parts(node, ctx);
  const std::vector<int64_t> dims = ctx.symbolic_shape(x);
  // The heads as [B, H, S, D] (4-D) or [B, S, H, D] (3-D): the caches' [B, S, half] gain a
  // unit dim for the heads.
  std::string heads = x;
  int64_t head_size = 0, head_axis = 1;
  if (rank == 3) {
    const int64_t num_heads = node.attr_int("num_heads", 0);
    const int64_t hidden = known(ctx, dims[2], "the hidden size");
    if (num_heads <= 0 || hidden % num_heads)
      ctx.fail(
          str("3-D input needs num_heads dividing its hidden size ", hidden, ", got ", num_heads));
    head_size = hidden / num_heads;
    heads = parts.reshape(x, {0, dims[1], num_heads, head_size}, "heads");
    head_axis = 2;
  } else {
    head_size = known(ctx, dims[3], "the head size");
  }
  int64_t rotary = node.attr_int("rotary_embedding_dim", 0);
  if (rotary == 0) rotary = head_size;
  if (rotary < 0 || rotary > head_size || rotary % 2)
    ctx.fail(str("rotary_embedding_dim must be even and at most the head size ", head_size,
                 ", got ", rotary));
  const int64_t half = rotary / 2;
  std::string cos = node.inputs[1], sin = node.inputs[2];
  for (const std::string& cache : {cos, sin}) {
    if (ctx.is_weight(cache)) ctx.freeze_weight(cache);
    const std::vector<int64_t> cs = ctx.symbolic_shape(cache);
    const size_t want = positions.empty() ? 3 : 2;
    if (cs.size() != want || cs.back() != half)
      ctx.fail(str("the caches must be ", positions.empty() ? "[batch, sequence" : "[positions",
                   ", ", half, "] (rotary_embedding_dim / 2), got ", shape_str(cs)));
  }
  if (!positions.empty()) {
    if (ctx.dtype(positions) != DType::Int64) ctx.fail("position_ids must be an integer");
    cos = parts.op("Gather", {cos, positions}, "cos", {{"axis", Attribute::of_int(0)}});
    sin = parts.op("Gather", {sin, positions}, "sin", {{"axis", Attribute::of_int(0)}});
  }
  const bool interleaved = node.attr_int("interleaved", 0) != 0;
  const std::string unit = parts.ints(
      interleaved ? std::vector<int64_t>{head_axis, -1} : std::vector<int64_t>{head_axis},
      "cache_axes");
  cos = parts.op("Unsqueeze", {cos, unit}, "cos_per_head");
  sin = parts.op("Unsqueeze", {sin, unit}, "sin_per_head");

  const std::string rotated =
      rotary < head_size ? parts.slice(heads, 3, 0, rotary, "rotated_part") : heads;
  // x1, x2 and the axis that holds them together: the last of [.., rotary], or of
  // [.., half, 2] interleaved.
  std::string pairs = rotated;
  int64_t axis = 3;
  if (interleaved) {
    pairs = parts.op("Reshape", {rotated, parts.ints({0, 0, 0, half, 2}, "pair_shape")}, "pairs");
    axis = 4;
  }
  const int64_t step = interleaved ? 1 : half;
  const std::string x1 = parts.slice(pairs, axis, 0, step, "x1");
  const std::string x2 = parts.slice(pairs, axis, step, 2 * step, "x2");
  const std::string real = parts.op(
      "Sub", {parts.op("Mul", {cos, x1}, "cos_x1"), parts.op("Mul", {sin, x2}, "sin_x2")}, "real");
  const std::string imag = parts.op(
      "Add", {parts.op("Mul", {sin, x1}, "sin_x1"), parts.op("Mul", {cos, x2}, "cos_x2")}, "imag");
  const bool whole = rotary == head_size;
  const std::string& y = node.outputs[0];
  const std::string last = rank == 4 && whole && !interleaved ? y : "";
  std::string out =
      parts.op("Concat", {real, imag}, "rotated", {{"axis", Attribute::of_int(axis)}}, last);
  if (interleaved)
    out = parts.op("Reshape", {out, parts.ints({0, 0, 0, rotary}, "rotated_shape")}, "rotated_back",
                   {}, rank == 4 && whole ? y : "");
  if (!whole)
    out = parts.op("Concat", {out, parts.slice(heads, 3, rotary, head_size, "kept_part")}, "joined",
                   {{"axis", Attribute::of_int(3)}}, rank == 4 ? y : "");
  if (rank == 3) parts.reshape(out, dims, "y", y);
}

}  // namespace engine
