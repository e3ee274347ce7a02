// OnnxModel -> ModelProto bytes. Fields are written in field-number order and maps in key
// order, so the same model always gives the same bytes. Tensor data is referenced, not
// copied, until it reaches the file.
#include <filesystem>
#include <set>
#include <utility>

#include "core/file_io.h"
#include "engine/onnx.h"
#include "onnx/onnx_common.h"
#include "onnx/wire.h"
#include "ops/onnx_translate.h"
#include "ops/op.h"

namespace engine {
namespace {

namespace fs = std::filesystem;
namespace pb = onnx_proto;
using onnx_wire::Writer;

// Protobuf cannot parse messages of 2 GB or more.
constexpr uint64_t kProtoLimit = (uint64_t(1) << 31) - 1;
constexpr int64_t kAutoExternalThreshold = 1024;
constexpr uint64_t kExternalAlign = 64;

// Tensors the model refers to, kept alive (and packed) until the bytes are written, and
// the layout of the external data file.
struct TensorStore {
  int64_t threshold = -1;  // bytes from which a tensor goes external; -1: never
  std::string location;    // data file name written into the model
  std::vector<Tensor> keep;
  std::vector<std::pair<uint64_t, Tensor>> external;  // (offset, tensor)
  uint64_t external_size = 0;
};

Writer tensor_proto(const std::string& name, const Tensor& tensor, TensorStore& store,
                    bool allow_external) {
  if (!tensor.defined()) fail(ErrorKind::Value, "onnx: tensor '", name, "' is undefined");
  const Tensor t = tensor.contiguous();
  store.keep.push_back(t);
  Writer w;
  w.packed_int64s(pb::tensor::dims, t.shape());
  w.int_field(pb::tensor::data_type, static_cast<int32_t>(t.dtype()));
  if (!name.empty()) w.bytes_field(pb::tensor::name, name);
  const uint64_t nbytes = t.nbytes();
  if (allow_external && store.threshold >= 0 && nbytes > 0 &&
      nbytes >= static_cast<uint64_t>(store.threshold)) {
    const uint64_t offset = (store.external_size + kExternalAlign - 1) / kExternalAlign * kExternalAlign;
    store.external.emplace_back(offset, t);
    store.external_size = offset + nbytes;
    const std::pair<const char*, std::string> entries[] = {
        {"location", store.location}, {"offset", std::to_string(offset)},
        {"length", std::to_string(nbytes)}};
    for (const auto& kv : entries) {
      Writer e;
      e.bytes_field(pb::entry::key, kv.first);
      e.bytes_field(pb::entry::value, kv.second);
      w.message_field(pb::tensor::external_data, e);
    }
    w.int_field(pb::tensor::data_location, pb::tensor::EXTERNAL);
  } else {
    w.ref_field(pb::tensor::raw_data, t.raw_data(), nbytes);
  }
  return w;
}

Writer attribute_proto(const std::string& name, const Attribute& a, TensorStore& store) {
  Writer w;
  w.bytes_field(pb::attr::name, name);
  int32_t type = pb::attr::UNDEFINED;
  switch (a.kind) {
    case Attribute::Kind::Float: w.float_field(pb::attr::f, a.f); type = pb::attr::FLOAT; break;
    case Attribute::Kind::Int: w.int_field(pb::attr::i, a.i); type = pb::attr::INT; break;
    case Attribute::Kind::String: w.bytes_field(pb::attr::s, a.s); type = pb::attr::STRING; break;
    case Attribute::Kind::Tensor:
      w.message_field(pb::attr::t, tensor_proto("", a.t, store, false));
      type = pb::attr::TENSOR;
      break;
    case Attribute::Kind::Floats: w.packed_floats(pb::attr::floats, a.floats); type = pb::attr::FLOATS; break;
    case Attribute::Kind::Ints: w.packed_int64s(pb::attr::ints, a.ints); type = pb::attr::INTS; break;
    case Attribute::Kind::Strings:
      for (const std::string& v : a.strings) w.bytes_field(pb::attr::strings, v);
      type = pb::attr::STRINGS;
      break;
  }
  w.int_field(pb::attr::type, type);
  return w;
}

Writer node_proto(const Node& node, size_t index, TensorStore& store) {
  if (node.op_type.empty()) fail(ErrorKind::Value, "onnx: node ", index, " has no op_type");
  Writer w;
  for (const std::string& v : node.inputs) w.bytes_field(pb::node::input, v);
  for (const std::string& v : node.outputs) w.bytes_field(pb::node::output, v);
  if (!node.name.empty()) w.bytes_field(pb::node::name, node.name);
  w.bytes_field(pb::node::op_type, node.op_type);
  for (const auto& kv : node.attrs) w.message_field(pb::node::attribute, attribute_proto(kv.first, kv.second, store));
  if (!node.domain.empty()) w.bytes_field(pb::node::domain, node.domain);
  return w;
}

Writer value_info_proto(const ValueInfo& v, bool write_empty_shape) {
  if (v.dtype != DType::Float32 && v.dtype != DType::Int64 && v.dtype != DType::Bool)
    fail(ErrorKind::Type, "onnx: value '", v.name, "' has an unsupported dtype");
  Writer tensor_type;
  tensor_type.int_field(pb::tensor_type::elem_type, static_cast<int32_t>(v.dtype));
  if (!v.shape.empty() || write_empty_shape) {
    Writer shape;
    for (int64_t d : v.shape) {
      Writer dim;  // an unknown dimension is a Dimension with neither value nor param
      if (d >= 0) dim.int_field(pb::dim::dim_value, d);
      shape.message_field(pb::shape::dim, dim);
    }
    tensor_type.message_field(pb::tensor_type::shape, shape);
  }
  Writer type;
  type.message_field(pb::type_proto::tensor_type, tensor_type);
  Writer w;
  w.bytes_field(pb::value_info::name, v.name);
  w.message_field(pb::value_info::type, type);
  return w;
}

class ExportContext : public OnnxExportContext {
 public:
  ExportContext(const Graph& g, int64_t opset) : g_(g), opset_(opset) {}
  int64_t opset() const override { return opset_; }
  const Tensor* constant(const std::string& name) const override {
    const auto it = g_.initializers.find(name);
    return it == g_.initializers.end() ? nullptr : &it->second;
  }
  [[noreturn]] void fail(const std::string& message) const override {
    engine::fail(ErrorKind::Value, "onnx: writing ", label_, " at opset ", opset_, ": ", message);
  }
  void emit_before(Node node) override { before_.push_back(std::move(node)); }
  std::vector<Node> take_before() { return std::exchange(before_, {}); }
  std::string label_;

 private:
  const Graph& g_;
  int64_t opset_;
  std::vector<Node> before_;
};

// The graph's nodes in the forms of the default-domain `opset` (the ops whose ONNX form
// changed rewrite theirs), and the initializers only the engine's forms read (the axes
// that became attributes), which are then left out.
std::vector<Node> nodes_at_opset(const Graph& g, int64_t opset, std::set<std::string>& unread) {
  ExportContext ctx(g, opset);
  std::vector<Node> nodes;
  std::set<std::string> read_before, read_after;
  for (Node node : g.nodes) {
    for (const std::string& v : node.inputs) read_before.insert(v);
    const OpDef* def = node.domain.empty() ? find_op("", node.op_type) : nullptr;
    if (def && def->onnx.to_opset) {
      ctx.label_ = node.label();
      def->onnx.to_opset(node, ctx);
    }
    for (Node& part : ctx.take_before()) {
      for (const std::string& v : part.inputs) read_after.insert(v);
      nodes.push_back(std::move(part));
    }
    for (const std::string& v : node.inputs) read_after.insert(v);
    nodes.push_back(std::move(node));
  }
  for (const ValueInfo& v : g.outputs) read_after.insert(v.name);
  for (const std::string& v : read_before)
    if (!read_after.count(v) && g.initializers.count(v)) unread.insert(v);
  return nodes;
}

int64_t default_opset(const OnnxModel& m) {
  for (const auto& o : m.opset_imports)
    if (o.first.empty() || o.first == "ai.onnx") return o.second;
  return kOnnxDefaultOpset;
}

Writer model_proto(const OnnxModel& m, TensorStore& store) {
  const Graph& g = m.graph;
  Writer graph;
  std::set<std::string> unread;
  const std::vector<Node> nodes = nodes_at_opset(g, default_opset(m), unread);
  for (size_t i = 0; i < nodes.size(); ++i) graph.message_field(pb::graph::node, node_proto(nodes[i], i, store));
  graph.bytes_field(pb::graph::name, m.graph_name.empty() ? std::string("engine") : m.graph_name);
  for (const auto& kv : g.initializers)
    if (!unread.count(kv.first))
      graph.message_field(pb::graph::initializer, tensor_proto(kv.first, kv.second, store, true));
  for (const ValueInfo& v : g.inputs) graph.message_field(pb::graph::input, value_info_proto(v, true));
  for (const ValueInfo& v : g.outputs) graph.message_field(pb::graph::output, value_info_proto(v, false));

  // Opsets: as given (first entry per domain wins), the default domain at opset 17 when
  // missing, and version 1 for any other domain a node uses.
  std::vector<std::pair<std::string, int64_t>> opsets;
  std::set<std::string> listed;
  for (const auto& o : m.opset_imports) {
    const std::string d = o.first == "ai.onnx" ? std::string() : o.first;
    if (listed.insert(d).second) opsets.emplace_back(d, o.second);
  }
  if (listed.insert("").second) opsets.emplace_back("", kOnnxDefaultOpset);
  std::set<std::string> used;
  for (const Node& n : g.nodes) {
    if (!listed.count(n.domain)) used.insert(n.domain);
  }
  for (const std::string& d : used) opsets.emplace_back(d, 1);

  Writer w;
  w.int_field(pb::model::ir_version, m.ir_version > 0 ? m.ir_version : kOnnxDefaultIrVersion);
  if (!m.producer_name.empty()) w.bytes_field(pb::model::producer_name, m.producer_name);
  if (!m.producer_version.empty()) w.bytes_field(pb::model::producer_version, m.producer_version);
  if (!m.domain.empty()) w.bytes_field(pb::model::domain, m.domain);
  if (m.model_version != 0) w.int_field(pb::model::model_version, m.model_version);
  if (!m.doc_string.empty()) w.bytes_field(pb::model::doc_string, m.doc_string);
  w.message_field(pb::model::graph, graph);
  for (const auto& o : opsets) {
    Writer op;
    if (!o.first.empty()) op.bytes_field(pb::opset::domain, o.first);
    op.int_field(pb::opset::version, o.second);
    w.message_field(pb::model::opset_import, op);
  }
  for (const auto& kv : m.metadata) {
    Writer e;
    e.bytes_field(pb::entry::key, kv.first);
    e.bytes_field(pb::entry::value, kv.second);
    w.message_field(pb::model::metadata_props, e);
  }
  return w;
}

}  // namespace

std::string onnx_serialize(const OnnxModel& model) {
  TensorStore store;
  const Writer w = model_proto(model, store);
  if (w.size() > kProtoLimit)
    fail(ErrorKind::Value, "onnx: the model needs ", w.size(),
         " bytes, over protobuf's 2 GB limit; write it to a file with external data");
  return w.to_string();
}

void onnx_write(const OnnxModel& model, const std::string& path, const OnnxWriteOptions& options) {
  const fs::path model_path(path);
  std::string location = options.external_file;
  if (location.empty()) location = model_path.filename().string() + ".data";
  if (location.find_first_of("/\\") != std::string::npos || location == "." || location == "..")
    fail(ErrorKind::Value, "onnx: external data file name '", location,
         "' must be a plain file name in the model's folder");

  TensorStore store;
  store.threshold = options.external_threshold_bytes;
  store.location = location;
  Writer w = model_proto(model, store);
  if (w.size() > kProtoLimit && store.threshold < 0) {
    store = TensorStore();
    store.threshold = kAutoExternalThreshold;
    store.location = location;
    w = model_proto(model, store);
  }
  if (w.size() > kProtoLimit)
    fail(ErrorKind::Value, "onnx: the model needs ", w.size(),
         " bytes even with external data, over protobuf's 2 GB limit");

  if (!store.external.empty()) {
    const std::string data_path = (model_path.parent_path() / location).string();
    atomic_write(data_path, "onnx", [&](const ByteSink& sink) {
      static const char zeros[kExternalAlign] = {};
      uint64_t at = 0;
      for (const auto& entry : store.external) {
        sink(zeros, static_cast<size_t>(entry.first - at));
        sink(entry.second.raw_data(), entry.second.nbytes());
        at = entry.first + entry.second.nbytes();
      }
    });
  }
  atomic_write(path, "onnx", [&](const ByteSink& sink) { w.for_each(sink); });
}

}  // namespace engine
