#include "onnx/fold.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>

#include "ops/binary/binary.h"
#include "ops/cast/cast.h"
#include "ops/onnx_translate.h"

namespace engine {

namespace {

using Kind = Attribute::Kind;

// TensorProto.DataType codes Cast may name.
enum : int64_t {
  FLOAT = 1,
  UINT8 = 2,
  INT8 = 3,
  UINT16 = 4,
  INT16 = 5,
  INT32 = 6,
  INT64 = 7,
  BOOL = 9,
  FLOAT16 = 10,
  DOUBLE = 11,
  UINT32 = 12,
  UINT64 = 13,
  BFLOAT16 = 16
};

bool is_float_type(int64_t to) {
  return to == FLOAT || to == FLOAT16 || to == DOUBLE || to == BFLOAT16;
}

bool is_int_type(int64_t to) {
  return to == UINT8 || to == INT8 || to == UINT16 || to == INT16 || to == INT32 || to == INT64 ||
         to == UINT32 || to == UINT64 || to == BOOL;
}

// A float converted to `to`: truncated toward zero and wrapped to the type's width, as a
// C cast (and numpy's astype) does.
int64_t to_integer(double v, int64_t to) {
  if (to == BOOL) return v != 0.0;
  const int64_t t = static_cast<int64_t>(v);
  switch (to) {
    case UINT8:
      return static_cast<uint8_t>(t);
    case INT8:
      return static_cast<int8_t>(t);
    case UINT16:
      return static_cast<uint16_t>(t);
    case INT16:
      return static_cast<int16_t>(t);
    case INT32:
      return static_cast<int32_t>(t);
    case UINT32:
      return static_cast<uint32_t>(t);
    default:
      return t;
  }
}

}  // namespace

const std::vector<FoldAttr>* fold_op_attrs(const std::string& op_type) {
  static const std::map<std::string, std::vector<FoldAttr>> ops = {
      {"Constant",
       {{"value", Kind::Tensor},
        {"value_float", Kind::Float},
        {"value_floats", Kind::Floats},
        {"value_int", Kind::Int},
        {"value_ints", Kind::Ints}}},
      {"ConstantOfShape", {{"value", Kind::Tensor}}},
      {"Shape", {{"start", Kind::Int}, {"end", Kind::Int}}},
      {"Cast", {{"to", Kind::Int}, {"saturate", Kind::Int}}},
      {"CastLike", {{"saturate", Kind::Int}}},
      // Not folded but written out as the ops it is made of (import.cpp).
      {"Einsum", {{"equation", Kind::String}}},
      {"Hardmax", {{"axis", Kind::Int}}},
      {"GlobalMaxPool", {}},
      {"IsNaN", {}},
      {"IsInf", {{"detect_negative", Kind::Int}, {"detect_positive", Kind::Int}}},
      {"LpNormalization", {{"axis", Kind::Int}, {"p", Kind::Int}}},
      {"LpPool",
       {{"auto_pad", Kind::String},
        {"ceil_mode", Kind::Int},
        {"dilations", Kind::Ints},
        {"kernel_shape", Kind::Ints},
        {"p", Kind::Int},
        {"pads", Kind::Ints},
        {"strides", Kind::Ints}}},
      {"RMSNormalization", {{"axis", Kind::Int}, {"epsilon", Kind::Float}, {"stash_type", Kind::Int}}},
      {"NegativeLogLikelihoodLoss", {{"reduction", Kind::String}, {"ignore_index", Kind::Int}}},
      {"SoftmaxCrossEntropyLoss", {{"reduction", Kind::String}, {"ignore_index", Kind::Int}}},
      {"Mean", {}},
      // consumed_inputs (opsets < 6) was an in-place hint with no meaning here.
      {"PRelu", {{"consumed_inputs", Kind::Ints}}},
      {"EyeLike", {{"dtype", Kind::Int}, {"k", Kind::Int}}},
      {"DepthToSpace", {{"blocksize", Kind::Int}, {"mode", Kind::String}}},
      {"SpaceToDepth", {{"blocksize", Kind::Int}, {"mode", Kind::String}}},
      {"MeanVarianceNormalization", {{"axes", Kind::Ints}}},
      {"InstanceNormalization", {{"epsilon", Kind::Float}, {"consumed_inputs", Kind::Ints}}},
      {"GroupNormalization",
       {{"num_groups", Kind::Int}, {"epsilon", Kind::Float}, {"stash_type", Kind::Int}}},
      {"CenterCropPad", {{"axes", Kind::Ints}}},
      {"Attention",
       {{"is_causal", Kind::Int}, {"kv_num_heads", Kind::Int}, {"q_num_heads", Kind::Int},
        {"left_window_size", Kind::Int}, {"right_window_size", Kind::Int},
        {"qk_matmul_output_mode", Kind::Int}, {"scale", Kind::Float}, {"softcap", Kind::Float},
        {"softmax_precision", Kind::Int}}},
      {"RotaryEmbedding",
       {{"interleaved", Kind::Int}, {"num_heads", Kind::Int}, {"rotary_embedding_dim", Kind::Int}}},
      {"AffineGrid", {{"align_corners", Kind::Int}}},
      {"LinearAttention",
       {{"chunk_size", Kind::Int}, {"kv_num_heads", Kind::Int}, {"q_num_heads", Kind::Int},
        {"scale", Kind::Float}, {"update_rule", Kind::String}}},
      {"Range", {}},
  };
  auto it = ops.find(op_type);
  return it == ops.end() ? nullptr : &it->second;
}

std::vector<int64_t> int64_values(const Tensor& t) {
  ENGINE_CHECK(t.dtype() == DType::Int64 && t.ndim() <= 1, "expected a 1-D int64 tensor, got ",
               t.describe());
  const int64_t* v = t.data<int64_t>();
  return std::vector<int64_t>(v, v + t.numel());
}

Tensor int64_tensor(const Shape& shape, const std::vector<int64_t>& values) {
  Tensor t = Tensor::empty(shape, DType::Int64);
  std::copy(values.begin(), values.end(), t.data<int64_t>());
  return t;
}

Tensor fold_constant(const Node& node) {
  const auto& a = node.attrs;
  if (a.count("value")) return a.at("value").t.clone();
  if (a.count("value_float")) return Tensor::full({}, a.at("value_float").f);
  if (a.count("value_floats")) {
    const std::vector<float>& v = a.at("value_floats").floats;
    Tensor t = Tensor::empty({static_cast<int64_t>(v.size())});
    std::copy(v.begin(), v.end(), t.data<float>());
    return t;
  }
  if (a.count("value_int")) return int64_tensor({}, {a.at("value_int").i});
  if (a.count("value_ints")) {
    const std::vector<int64_t>& v = a.at("value_ints").ints;
    return int64_tensor({static_cast<int64_t>(v.size())}, v);
  }
  fail(ErrorKind::Value, "Constant has no value attribute the engine reads");
}

Tensor fold_constant_of_shape(const Node& node, const Tensor& shape) {
  const std::vector<int64_t> dims = int64_values(shape);
  for (int64_t d : dims) ENGINE_CHECK(d >= 0, "the shape ", shape_str(dims), " has a negative dim");
  if (!node.has_attr("value")) return Tensor::zeros(dims);
  const Tensor& fill = node.attrs.at("value").t;
  ENGINE_CHECK(fill.numel() == 1, "the value must hold one element, got ", fill.describe());
  Tensor out = Tensor::empty(dims, fill.dtype());
  const size_t esize = dtype_size(fill.dtype());
  char* dst = static_cast<char*>(out.raw_data());
  for (int64_t i = 0; i < out.numel(); ++i) std::memcpy(dst + i * esize, fill.raw_data(), esize);
  return out;
}

bool cast_keeps(const Node& node, DType dtype) {
  const int64_t to = node.attr_int("to", 0);
  if (dtype == DType::Bool) return to == BOOL;
  // The engine holds every integer type in int64 and every float type in float32.
  return dtype == DType::Float32 ? is_float_type(to) : is_int_type(to) && to != BOOL;
}

Tensor fold_cast(const Node& node, const Tensor& x) {
  const int64_t to = node.attr_int("to", 0);
  ENGINE_CHECK(is_float_type(to) || is_int_type(to), "Cast to data type ", to, " is not supported");
  const Tensor in = x.contiguous();
  const int64_t n = in.numel();
  if (in.dtype() == DType::Bool || to == BOOL) {
    // To or from bool: the conversion of the Cast op (ops/cast), into the engine's dtype.
    if (in.dtype() == DType::Int64)
      for (int64_t i = 0; i < n; ++i)
        ENGINE_CHECK(!is_symbolic(in.data<int64_t>()[i]),
                     "casts the batch size, which is only known at run time");
    Tensor out = Tensor::empty(in.shape(), is_float_type(to) ? DType::Float32
                                           : to == BOOL      ? DType::Bool
                                                             : DType::Int64);
    cast_forward(in, out);
    return out;
  }
  if (is_float_type(to)) {
    Tensor out = Tensor::empty(in.shape());
    float* dst = out.data<float>();
    if (in.dtype() == DType::Float32) {
      std::copy(in.data<float>(), in.data<float>() + n, dst);
    } else {
      const int64_t* src = in.data<int64_t>();
      for (int64_t i = 0; i < n; ++i) {
        ENGINE_CHECK(!is_symbolic(src[i]),
                     "casts the batch size, which is only known at run time");
        dst[i] = static_cast<float>(src[i]);
      }
    }
    return out;
  }
  Tensor out = Tensor::empty(in.shape(), DType::Int64);
  int64_t* dst = out.data<int64_t>();
  if (in.dtype() == DType::Int64) {
    const int64_t* src = in.data<int64_t>();
    for (int64_t i = 0; i < n; ++i) {
      ENGINE_CHECK(to == INT64 || !is_symbolic(src[i]),
                   "casts the batch size, which is only known at run time");
      dst[i] = to == INT64 ? src[i] : to_integer(static_cast<double>(src[i]), to);
    }
  } else {
    const float* src = in.data<float>();
    for (int64_t i = 0; i < n; ++i) dst[i] = to_integer(src[i], to);
  }
  return out;
}

namespace {

// x op y where one operand holds the symbolic batch size: the batch itself when the operation
// leaves it unchanged, else a value derived from it.
int64_t symbolic_result(BinaryOp op, int64_t x, int64_t y) {
  const bool keeps = (x == kSymbolicBatch && !is_symbolic(y) &&
                      ((op == BinaryOp::Mul || op == BinaryOp::Div) ? y == 1
                                                                    : y == 0)) ||
                     (y == kSymbolicBatch && !is_symbolic(x) &&
                      (op == BinaryOp::Mul ? x == 1 : op == BinaryOp::Add && x == 0));
  return keeps ? kSymbolicBatch : kSymbolicDerived;
}

int64_t int64_binary(BinaryOp op, const std::string& op_type, int64_t x, int64_t y) {
  if (is_symbolic(x) || is_symbolic(y)) return symbolic_result(op, x, y);
  switch (op) {
    case BinaryOp::Add:
      return x + y;
    case BinaryOp::Sub:
      return x - y;
    case BinaryOp::Mul:
      return x * y;
    case BinaryOp::Div:
      ENGINE_CHECK(y != 0, "integer division by zero");
      return x / y;  // C++ truncates toward zero, as ONNX's integer Div
    default:
      fail(ErrorKind::NotImplemented, op_type, " of int64 values is not folded");
  }
}

// out[o] = f(a[ia], b[ib]) over the numpy broadcast of a and b (both of type T).
template <class T, class F>
Tensor broadcast_fold(const char* op_type, const Tensor& a, const Tensor& b, F f) {
  const BinaryLayout l = binary_layout(op_type, a.shape(), b.shape());
  const Tensor ca = a.contiguous(), cb = b.contiguous();
  Tensor out = Tensor::empty(l.shape, a.dtype());
  const T *pa = ca.data<T>(), *pb = cb.data<T>();
  T* py = out.data<T>();
  std::vector<int64_t> index(l.shape.size(), 0);
  for (int64_t o = 0; o < out.numel(); ++o) {
    int64_t ia = 0, ib = 0;
    for (size_t d = 0; d < index.size(); ++d) {
      ia += index[d] * l.a_strides[d];
      ib += index[d] * l.b_strides[d];
    }
    py[o] = f(pa[ia], pb[ib]);
    for (size_t d = index.size(); d-- > 0;) {
      if (++index[d] < l.shape[d]) break;
      index[d] = 0;
    }
  }
  return out;
}

}  // namespace

Tensor fold_int64_binary(const std::string& op_type, const Tensor& a, const Tensor& b) {
  const BinaryOp op = binary_op_from_name(op_type);
  return broadcast_fold<int64_t>(op_type.c_str(), a, b, [&](int64_t x, int64_t y) {
    return int64_binary(op, op_type, x, y);
  });
}

Tensor fold_symbolic_equal(const Tensor& a, const Tensor& b) {
  ENGINE_CHECK(a.dtype() == DType::Int64 && b.dtype() == DType::Int64,
               "compares the batch size with a non-integer value");
  const Tensor eq = broadcast_fold<int64_t>("Equal", a, b, [](int64_t x, int64_t y) -> int64_t {
    if (!is_symbolic(x) && !is_symbolic(y)) return x == y;
    const int64_t other = is_symbolic(x) ? y : x;
    ENGINE_CHECK((x == kSymbolicBatch || y == kSymbolicBatch) && !is_symbolic(other) && other < 0,
                 "compares the batch size, which is only known at run time, with ", other);
    return 0;
  });
  Tensor out = Tensor::empty(eq.shape(), DType::Bool);
  std::transform(eq.data<int64_t>(), eq.data<int64_t>() + eq.numel(), out.data<bool>(),
                 [](int64_t v) { return v != 0; });
  return out;
}

Tensor fold_range(const Tensor& start, const Tensor& limit, const Tensor& delta) {
  for (const Tensor* t : {&start, &limit, &delta})
    ENGINE_CHECK(t->numel() == 1 && t->dtype() == start.dtype(),
                 "start, limit and delta must be scalars of one type, got ", start.describe(), ", ",
                 limit.describe(), " and ", delta.describe());
  if (start.dtype() == DType::Int64) {
    const int64_t a = *start.data<int64_t>(), b = *limit.data<int64_t>(),
                  d = *delta.data<int64_t>();
    ENGINE_CHECK(!is_symbolic(a) && !is_symbolic(b) && !is_symbolic(d),
                 "the range depends on the batch size, which is only known at run time");
    ENGINE_CHECK(d != 0, "delta must not be 0");
    // ONNX: max(ceil((limit - start) / delta), 0) elements.
    const int64_t n = std::max<int64_t>((b - a + d + (d > 0 ? -1 : 1)) / d, 0);
    std::vector<int64_t> v(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) v[static_cast<size_t>(i)] = a + i * d;
    return int64_tensor({n}, v);
  }
  ENGINE_CHECK(start.dtype() == DType::Float32, "Range of ", dtype_name(start.dtype()),
               " values is not supported");
  const float a = *start.data<float>(), b = *limit.data<float>(), d = *delta.data<float>();
  ENGINE_CHECK(d != 0.0f, "delta must not be 0");
  const int64_t n = std::max<int64_t>(static_cast<int64_t>(std::ceil((b - a) / d)), 0);
  Tensor out = Tensor::empty({n});
  for (int64_t i = 0; i < n; ++i) out.data<float>()[i] = a + static_cast<float>(i) * d;
  return out;
}

Tensor fold_scatter_nd(const Node& node, const Tensor& data, const Tensor& indices,
                       const Tensor& updates) {
  const std::string reduction = node.attr_string("reduction", "none");
  ENGINE_CHECK(reduction == "none", "reduction '", reduction, "' is not supported");
  ENGINE_CHECK(indices.dtype() == DType::Int64 && indices.ndim() >= 1,
               "indices must be int64 of rank >= 1, got ", indices.describe());
  ENGINE_CHECK(updates.dtype() == data.dtype(), "updates ", updates.describe(),
               " differ in type from data ", data.describe());
  const int64_t k = indices.dim(indices.ndim() - 1);
  ENGINE_CHECK(k <= data.ndim(), "indices address ", k, " dims of data of rank ", data.ndim());
  // updates: indices.shape[:-1] + data.shape[k:]
  Shape expect(indices.shape().begin(), indices.shape().end() - 1);
  expect.insert(expect.end(), data.shape().begin() + k, data.shape().end());
  ENGINE_CHECK(updates.shape() == expect, "updates must have shape ", shape_str(expect), ", got ",
               updates.describe());
  Tensor out = data.contiguous().clone();
  const Tensor idx = indices.contiguous(), upd = updates.contiguous();
  int64_t slice = 1;  // elements per addressed slice
  for (int d = static_cast<int>(k); d < data.ndim(); ++d) slice *= data.dim(d);
  const size_t bytes = static_cast<size_t>(slice) * dtype_size(data.dtype());
  const int64_t count = idx.numel() / std::max<int64_t>(k, 1);
  for (int64_t i = 0; i < (k == 0 ? 1 : count); ++i) {
    int64_t offset = 0;
    for (int64_t j = 0; j < k; ++j) {
      int64_t v = idx.data<int64_t>()[i * k + j];
      const int64_t dim = data.dim(static_cast<int>(j));
      ENGINE_CHECK(!is_symbolic(v) && v >= -dim && v < dim, "index ", v,
                   " is out of range for dim ", j, " of size ", dim);
      offset = offset * dim + (v < 0 ? v + dim : v);
    }
    for (int64_t j = k; j < data.ndim(); ++j) offset *= data.dim(static_cast<int>(j));
    std::memcpy(static_cast<char*>(out.raw_data()) + offset * dtype_size(data.dtype()),
                static_cast<const char*>(upd.raw_data()) + i * bytes, bytes);
  }
  return out;
}

}  // namespace engine
