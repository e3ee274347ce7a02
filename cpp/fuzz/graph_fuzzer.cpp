// Fuzz target for the ops behind the graph: the input bytes pick an op by name, its
// attributes (from the op's schema: pads, strides, dilations, kernel shapes, axes, ...,
// with small, huge and extreme values), its inputs (shapes, constants, omitted ones) and
// a mode; the graph is planned, run, and in training mode differentiated. Each step must
// succeed or throw a Value, Type or NotImplemented engine::Error; a crash, a sanitizer
// report or any other exception is a finding. Graphs whose planned values would exceed
// kMaxBytes are only planned, never run.
//
// Input: "<op type>\0<bytes>", e.g. "Conv\0..." ("engine.Huber\0..." for the engine
// domain); an unknown name picks an op from its hash, so any bytes are an input.
//   cmake -S . -B build/fuzz -DENGINE_FUZZ=ON -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_C_COMPILER=clang
//   build/fuzz/cpp/fuzz/graph_fuzzer -max_total_time=300 cpp/fuzz/graph_corpus
// Without clang, cpp/fuzz/replay.cpp runs the same function over the corpus and over
// pseudo-random inputs (a ctest). GRAPH_FUZZ_VERBOSE=1 prints what each input did.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <algorithm>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "engine/graph.h"
#include "engine/ops.h"

namespace {

using engine::Attribute;
using engine::DType;
using engine::Shape;
using engine::Tensor;

constexpr size_t kMaxBytes = size_t{4} << 20;

// Reads the fuzzer's bytes front to back; past the end every read is 0.
class Bytes {
 public:
  Bytes(const uint8_t* data, size_t size) : p_(data), end_(data + size) {}
  uint8_t byte() { return p_ < end_ ? *p_++ : 0; }
  // Small values most of the time, and the values that break size arithmetic.
  int64_t integer() {
    const uint8_t b = byte();
    if (b < 0x20) return b % 8 + 1;
    if (b < 0x40) return -(b % 4);
    if (b < 0x80) return int64_t{b} - 0x50;
    if (b < 0xC0) {
      const int64_t power = int64_t{1} << (2 * (b & 31) % 63);
      return (b & 0x20) ? -power : power;
    }
    if (b < 0xFF)
      return (b & 1) ? std::numeric_limits<int64_t>::max() - (b - 0xC0)
                     : std::numeric_limits<int64_t>::min() + (b - 0xC0);
    uint64_t raw = 0;
    for (int k = 0; k < 8; ++k) raw |= uint64_t{byte()} << (8 * k);
    int64_t v;
    std::memcpy(&v, &raw, sizeof(v));
    return v;
  }
  float real() {
    static const float kValues[] = {0.0f, 1.0f, -1.0f, 0.5f, 2.0f, 1e-7f, 1e38f, -1e38f,
                                    std::numeric_limits<float>::infinity(),
                                    -std::numeric_limits<float>::infinity(),
                                    std::numeric_limits<float>::quiet_NaN(), 0.01f};
    return kValues[byte() % (sizeof(kValues) / sizeof(kValues[0]))];
  }
  std::string text() {
    static const char* kValues[] = {"",     "NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID",
                                    "mean", "sum",    "none",       "Relu",       "bogus"};
    return kValues[byte() % (sizeof(kValues) / sizeof(kValues[0]))];
  }
  Shape shape() {
    const uint8_t rank = byte();
    Shape s(rank % 8 < 3 ? 4 : rank % 5);
    for (int64_t& d : s) {
      const uint8_t b = byte();
      d = b % 16 == 15 ? 0 : 1 + b % 5;
    }
    return s;
  }

 private:
  const uint8_t* p_;
  const uint8_t* end_;
};

Attribute attribute(Attribute::Kind kind, Bytes& in) {
  switch (kind) {
    case Attribute::Kind::Int: return Attribute::of_int(in.integer());
    case Attribute::Kind::Float: return Attribute::of_float(in.real());
    case Attribute::Kind::String: return Attribute::of_string(in.text());
    case Attribute::Kind::Ints: {  // often 2 or 4 values: a 2-D window's kernel, strides, pads
      const uint8_t n = in.byte();
      std::vector<int64_t> v(n % 4 == 0 ? 2 : n % 4 == 1 ? 4 : n % 7);
      for (int64_t& x : v) x = in.integer();
      return Attribute::of_ints(v);
    }
    case Attribute::Kind::Floats: {
      std::vector<float> v(in.byte() % 5);
      for (float& x : v) x = in.real();
      return Attribute::of_floats(v);
    }
    case Attribute::Kind::Tensor: {
      Tensor t = Tensor::empty(in.shape());
      for (int64_t k = 0; k < t.numel(); ++k) t.data<float>()[k] = in.real();
      return Attribute::of_tensor(t);
    }
  }
  return Attribute::of_int(0);
}

// Deterministic data: a hash of the position, a NaN now and then when asked.
Tensor float_data(const Shape& shape, uint32_t seed, bool with_nan) {
  Tensor t = Tensor::empty(shape);
  float* p = t.data<float>();
  for (int64_t k = 0; k < t.numel(); ++k) {
    const uint32_t h = (static_cast<uint32_t>(k) + seed) * 2654435761u;
    p[k] = static_cast<float>(h >> 8) / static_cast<float>(1 << 23) - 1.0f;
  }
  if (with_nan && t.numel() > 0) p[seed % t.numel()] = std::numeric_limits<float>::quiet_NaN();
  return t;
}

// The bytes of a value (8 per element, the widest dtype), capped at 2 * kMaxBytes: the
// planner has already checked real sizes; this only keeps big graphs from running.
size_t capped_bytes(const Shape& shape) {
  size_t n = 8;
  for (int64_t d : shape) n = std::min<size_t>(n * static_cast<size_t>(d), 2 * kMaxBytes);
  return n;
}

const bool kVerbose = std::getenv("GRAPH_FUZZ_VERBOSE") != nullptr;

bool allowed(const engine::Error& e) {
  return e.kind() == engine::ErrorKind::Value || e.kind() == engine::ErrorKind::Type ||
         e.kind() == engine::ErrorKind::NotImplemented;
}

void run_one(const uint8_t* data, size_t size) {
  static const std::vector<std::string> ops = engine::supported_ops();
  const void* zero = std::memchr(data, 0, size);
  const size_t name_len = zero ? static_cast<const uint8_t*>(zero) - data : 0;
  std::string name(reinterpret_cast<const char*>(data), name_len);
  size_t op_index = 0;
  while (op_index < ops.size() && ops[op_index] != name) ++op_index;
  if (op_index == ops.size()) op_index = std::hash<std::string>()(name) % ops.size();
  const std::string& full = ops[op_index];
  const size_t dot = full.find('.');
  const std::string domain = dot == std::string::npos ? "" : full.substr(0, dot);
  const std::string type = dot == std::string::npos ? full : full.substr(dot + 1);
  Bytes in(data + (zero ? name_len + 1 : 0), size - (zero ? name_len + 1 : 0));
  const engine::OpSchemaInfo schema = engine::op_schema(domain, type);

  auto graph = std::make_shared<engine::Graph>();
  engine::Node node;
  node.op_type = type;
  node.domain = domain;
  node.name = "fuzzed";
  for (const engine::AttributeSchema& a : schema.attributes) {
    const uint8_t how = in.byte() % 4;  // 0, 1: the default, 2: left out, 3: fuzzed
    if (how <= 1 && a.has_default)
      node.attrs[a.name] = a.default_value;
    else if (how != 2)
      node.attrs[a.name] = attribute(a.kind, in);
  }

  const int max_inputs = schema.max_inputs < 0 ? schema.min_inputs + 3 : schema.max_inputs;
  const int n_inputs = schema.min_inputs + in.byte() % (max_inputs - schema.min_inputs + 1);
  std::vector<Tensor> feeds;
  std::vector<Shape> feed_shapes;
  Shape first = {2, 3, 5, 4}, previous = first;
  for (int i = 0; i < n_inputs; ++i) {
    const std::string value = "in" + std::to_string(i);
    const uint8_t kind = in.byte() % 8;
    Shape shape;
    if (kind == 7 && i > 0) {  // an int64 constant: shapes, axes, bounds
      Tensor c = Tensor::empty({static_cast<int64_t>(in.byte() % 5)}, DType::Int64);
      for (int64_t k = 0; k < c.numel(); ++k) c.data<int64_t>()[k] = in.integer();
      graph->initializers[value] = c;
      node.inputs.push_back(value);
      continue;
    }
    if (kind == 1 && i >= schema.min_inputs) {
      node.inputs.push_back("");
      continue;
    }
    if (kind == 2) {  // a float constant, trainable
      graph->initializers[value] = float_data(in.shape(), i, false);
      graph->trainable.insert(value);
      node.inputs.push_back(value);
      continue;
    }
    if (kind == 0 || kind == 3) {  // shaped like the input before (targets, other operands)
      shape = previous;
    } else if (kind == 5 && first.size() >= 2) {  // a weight: [out, first[1], small, small]
      shape = first;
      shape[0] = 1 + in.byte() % 4;
      for (size_t d = 2; d < shape.size(); ++d) shape[d] = 1 + in.byte() % 3;
    } else if (kind == 6) {  // a per-channel vector
      shape = {first.size() >= 2 && in.byte() % 2 ? first[1] : previous.empty() ? 1 : previous[0]};
    } else {
      shape = in.shape();
    }
    if (i == 0) first = shape;
    previous = shape;
    engine::ValueInfo info;
    info.name = value;
    info.shape = shape;
    graph->inputs.push_back(info);
    feeds.push_back(float_data(shape, 7 * i + 1, in.byte() % 8 == 0));
    feed_shapes.push_back(shape);
    node.inputs.push_back(value);
  }
  const int max_outputs = schema.max_outputs < 0 ? schema.min_outputs + 2 : schema.max_outputs;
  const int n_outputs = schema.min_outputs + in.byte() % (max_outputs - schema.min_outputs + 1);
  for (int k = 0; k < n_outputs; ++k) {
    node.outputs.push_back("out" + std::to_string(k));
    engine::ValueInfo info;
    info.name = node.outputs.back();
    graph->outputs.push_back(info);
  }
  graph->nodes.push_back(node);
  const engine::Mode mode = in.byte() % 2 ? engine::Mode::Training : engine::Mode::Inference;

  try {
    engine::Executor executor(graph);
    size_t bytes = 0;
    for (const auto& kv : executor.infer_shapes(feed_shapes, mode))
      bytes += capped_bytes(kv.second);
    if (bytes > kMaxBytes) return;
    const std::vector<Tensor> outs = executor.run(feeds, mode);
    if (kVerbose) std::fprintf(stderr, "%s: ran\n", full.c_str());
    if (mode == engine::Mode::Training && !outs.empty() && outs[0].dtype() == DType::Float32)
      executor.gradients(feeds, node.outputs[0], Tensor::full(outs[0].shape(), 1.0f), mode);
  } catch (const engine::Error& e) {
    if (kVerbose) std::fprintf(stderr, "%s: %s\n", full.c_str(), e.what());
    if (!allowed(e)) {
      std::fprintf(stderr, "%s raised a disallowed error: %s\n", full.c_str(), e.what());
      std::abort();
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  run_one(data, size);
  return 0;
}
