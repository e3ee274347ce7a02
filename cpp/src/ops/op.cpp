#include "ops/op.h"

#include <algorithm>
#include <cstring>

namespace engine {

// ---- OpIO and NodeOp ----------------------------------------------------------------

const Tensor& OpIO::none() {
  static const Tensor undefined;
  return undefined;
}

std::vector<Tensor> OpIO::input_list() const {
  std::vector<Tensor> list;
  list.reserve(inputs.size());
  for (const Tensor* t : inputs) list.push_back(*t);
  return list;
}

void NodeOp::backward(const OpIO&, const RunContext&) const {
  fail(ErrorKind::NotImplemented, node_.label(), ": no gradient is defined for this op");
}

void NodeOp::expect_inputs(const std::vector<ValueDesc>& inputs, size_t min, size_t max) const {
  if (inputs.size() < min || inputs.size() > max) {
    if (min == max)
      fail_node("expects ", min, min == 1 ? " input" : " inputs", ", got ", inputs.size());
    fail_node("expects ", min, " to ", max, " inputs, got ", inputs.size());
  }
}

void NodeOp::expect_float(const std::vector<ValueDesc>& inputs,
                          std::initializer_list<const char*> names) const {
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!inputs[i].present || inputs[i].dtype == DType::Float32) continue;
    const std::string name = i < names.size() ? names.begin()[i] : "input " + std::to_string(i);
    fail(ErrorKind::Type, node_.label(), ": ", name, " must be float32, got ",
         dtype_name(inputs[i].dtype));
  }
}

std::vector<int64_t> NodeOp::constant_int64s(const std::vector<ValueDesc>& inputs, size_t index,
                                             const char* what) const {
  const ValueDesc& d = inputs[index];
  if (!d.constant)
    fail_node("the ", what,
              " input must be a constant (values computed at run time are not supported)");
  if (d.dtype != DType::Int64)
    fail(ErrorKind::Type, node_.label(), ": the ", what, " input must be int64, got ",
         d.constant->describe());
  if (d.shape.size() != 1)
    fail_node("the ", what, " input must be a 1-D tensor, got ", d.constant->describe());
  // Planning reads the values on the host (run_op may have been given them on a device).
  const Tensor host = d.constant->to(Device::cpu());
  const int64_t* v = host.data<int64_t>();
  return std::vector<int64_t>(v, v + d.shape[0]);
}

float NodeOp::constant_float(const std::vector<ValueDesc>& inputs, size_t index,
                            const char* what) const {
  const ValueDesc& d = inputs[index];
  if (!d.constant) fail_node(what, " must be known when the graph is planned");
  if (d.dtype != DType::Float32 || d.constant->numel() != 1)
    fail_node(what, " must be a float32 scalar, got ", d.constant->describe());
  return d.constant->to(Device::cpu()).data<float>()[0];  // planning reads it on the host
}

size_t NodeOp::add_state(const Shape& shape, DType dtype) {
  state_.push_back({dtype, shape});
  return state_.size() - 1;
}

namespace {
// " (pads [..], strides [..])": the integer attributes of a node, for size errors.
std::string integer_attributes(const Node& node) {
  std::string listed;
  for (const auto& [key, a] : node.attrs) {
    if (a.kind == Attribute::Kind::Int) listed += str(listed.empty() ? "" : ", ", key, " ", a.i);
    if (a.kind == Attribute::Kind::Ints)
      listed += str(listed.empty() ? "" : ", ", key, " ", shape_str(a.ints));
  }
  return listed.empty() ? "" : " (" + listed + ")";
}
}  // namespace

std::vector<ValueDesc> plan_node(NodeOp& op, const std::vector<ValueDesc>& in,
                                 const PlanOptions& options) {
  const Node& node = op.node();
  std::vector<ValueDesc> out;
  try {
    out = op.plan(in, options);
  } catch (const Error& e) {
    const std::string label = node.label(), msg = e.what();
    if (msg.compare(0, label.size(), label) == 0) throw;
    const std::string op_prefix = node.op_type + ": ";
    const bool named_by_op = msg.compare(0, op_prefix.size(), op_prefix) == 0;
    throw Error(e.kind(), label + ": " + (named_by_op ? msg.substr(op_prefix.size()) : msg));
  }
  // Hostile attributes (pads of 2^61) can describe outputs no memory holds: say so here,
  // naming the node and the attributes that shaped the output, before anything is allocated.
  for (size_t k = 0; k < out.size(); ++k) {
    try {
      shape_nbytes(out[k].shape, out[k].dtype);
    } catch (const Error&) {
      fail(ErrorKind::Value, node.label(), ": output ", k, " would be ", dtype_name(out[k].dtype),
           shape_str(out[k].shape), integer_attributes(node), ", more than memory can hold");
    }
  }
  return out;
}

Tensor shape_only(const ValueDesc& desc) {
  static const std::shared_ptr<Storage> nothing = Storage::wrap(nullptr, 0, nullptr);
  return Tensor::from_storage(nothing, 0, desc.shape, contiguous_strides(desc.shape), desc.dtype);
}

void zero_fill(Tensor& t) {
  if (t.defined()) allocator(t.device()).fill_bytes(t.raw_data(), 0, t.nbytes());
}

// ---- schemas --------------------------------------------------------------------------

OpSchema& OpSchema::inputs(int min, int max) {
  min_inputs = min;
  max_inputs = max;
  return *this;
}

OpSchema& OpSchema::outputs(int min, int max) {
  min_outputs = min;
  max_outputs = max;
  return *this;
}

OpSchema& OpSchema::attr(const std::string& name, Attribute default_value) {
  AttrSpec spec;
  spec.name = name;
  spec.kind = default_value.kind;
  spec.has_default = true;
  spec.default_value = std::move(default_value);
  attrs.push_back(std::move(spec));
  return *this;
}

OpSchema& OpSchema::optional(const std::string& name, Attribute::Kind kind) {
  AttrSpec spec;
  spec.name = name;
  spec.kind = kind;
  attrs.push_back(std::move(spec));
  return *this;
}

OpSchema& OpSchema::required(const std::string& name, Attribute::Kind kind) {
  optional(name, kind);
  attrs.back().required = true;
  return *this;
}

OpSchema& OpSchema::internal(const std::string& name, Attribute::Kind kind) {
  optional(name, kind);
  attrs.back().internal = true;
  return *this;
}

const AttrSpec* OpSchema::find(const std::string& name) const {
  for (const AttrSpec& a : attrs)
    if (a.name == name) return &a;
  return nullptr;
}

namespace {

// "takes 2 inputs, got 3", "needs at least one output, got 0".
std::string count_problem(const char* what, int min, int max, int got) {
  const std::string noun = str(what, max == 1 || (max < 0 && min == 1) ? "" : "s");
  if (max < 0)
    return str("needs at least ", min == 1 ? "one" : std::to_string(min), " ", noun, ", got ", got);
  if (min == max) return str("takes ", min, " ", noun, ", got ", got);
  return str("takes ", min, " to ", max, " ", what, "s, got ", got);
}

// ONNX writers store integral floats as ints now and then; a float attribute takes both.
bool kind_fits(Attribute::Kind want, Attribute::Kind got) {
  return want == got || (want == Attribute::Kind::Float && got == Attribute::Kind::Int);
}

const char* kind_phrase(Attribute::Kind kind) {
  switch (kind) {
    case Attribute::Kind::Int:
      return "an integer";
    case Attribute::Kind::Float:
      return "a float";
    case Attribute::Kind::String:
      return "a string";
    case Attribute::Kind::Ints:
      return "a list of integers";
    case Attribute::Kind::Floats:
      return "a list of floats";
    case Attribute::Kind::Tensor:
      return "a tensor";
    case Attribute::Kind::Strings:
      return "a list of strings";
  }
  return "?";
}

}  // namespace

std::vector<std::string> node_problems(const OpDef& def, const Node& node, bool* kind_problem) {
  if (kind_problem) *kind_problem = false;
  const OpSchema& s = def.schema;
  std::vector<std::string> problems;
  const int n_in = static_cast<int>(node.inputs.size());
  const int n_out = static_cast<int>(node.outputs.size());
  if (n_in < s.min_inputs || (s.max_inputs >= 0 && n_in > s.max_inputs))
    problems.push_back(count_problem("input", s.min_inputs, s.max_inputs, n_in));
  for (int i = 0; i < std::min(n_in, s.min_inputs); ++i)
    if (node.inputs[i].empty()) problems.push_back(str("input ", i, " is required but empty"));
  if (n_out < s.min_outputs || (s.max_outputs >= 0 && n_out > s.max_outputs))
    problems.push_back(count_problem("output", s.min_outputs, s.max_outputs, n_out));
  for (const auto& kv : node.attrs) {
    const AttrSpec* spec = s.find(kv.first);
    if (!spec) {
      problems.push_back(str("unknown attribute ", kv.first));
    } else if (!kind_fits(spec->kind, kv.second.kind)) {
      problems.push_back(str("attribute ", kv.first, " must be ", kind_phrase(spec->kind), ", got ",
                             attribute_kind_name(kv.second.kind)));
      if (kind_problem) *kind_problem = true;
    }
  }
  for (const AttrSpec& a : s.attrs)
    if (a.required && !node.has_attr(a.name))
      problems.push_back(str("the ", a.name, " attribute is required"));
  return problems;
}

Node checked_node(const OpDef& def, const Node& node) {
  bool kind_problem = false;
  const std::vector<std::string> problems = node_problems(def, node, &kind_problem);
  if (!problems.empty()) {
    std::string msg = node.label() + ": ";
    for (size_t i = 0; i < problems.size(); ++i) msg += (i ? "; " : "") + problems[i];
    fail(kind_problem ? ErrorKind::Type : ErrorKind::Value, msg);
  }
  Node out = node;
  for (const AttrSpec& a : def.schema.attrs) {
    auto it = out.attrs.find(a.name);
    if (it == out.attrs.end()) {
      if (a.has_default) out.attrs.emplace(a.name, a.default_value);
    } else if (it->second.kind != a.kind) {  // an int given for a float
      it->second = Attribute::of_float(static_cast<float>(it->second.i));
    }
  }
  return out;
}

// ---- the registry ------------------------------------------------------------------

const std::vector<OpDef>& op_defs() {
  static const std::vector<OpDef> defs = [] {
    std::vector<OpDef> list;
#define ENGINE_OP(op_domain, type, definer) \
  list.emplace_back();                      \
  list.back().domain = op_domain;           \
  list.back().op_type = type;               \
  definer(list.back());
#include "ops/op_list.inc"
#undef ENGINE_OP
    return list;
  }();
  return defs;
}

const OpDef* find_op(const std::string& domain, const std::string& op_type) {
  const std::string& d = domain == "ai.onnx" ? std::string() : domain;
  for (const OpDef& def : op_defs())
    if (def.domain == d && def.op_type == op_type) return &def;
  return nullptr;
}

const OpDef& get_op(const std::string& domain, const std::string& op_type) {
  const OpDef* def = find_op(domain, op_type);
  if (!def)
    fail(ErrorKind::Value, "unknown op ", domain.empty() ? "" : domain + ".", op_type,
         " (engine.supported_ops() lists the ops)");
  return *def;
}

std::vector<std::string> supported_ops() {
  std::vector<std::string> names;
  for (const OpDef& def : op_defs())
    names.push_back(def.domain.empty() ? def.op_type : def.domain + "." + def.op_type);
  return names;
}

OpSchemaInfo op_schema(const std::string& domain, const std::string& op_type) {
  const OpDef& def = get_op(domain, op_type);
  OpSchemaInfo info;
  info.domain = def.domain;
  info.op_type = def.op_type;
  info.min_inputs = def.schema.min_inputs;
  info.max_inputs = def.schema.max_inputs;
  info.min_outputs = def.schema.min_outputs;
  info.max_outputs = def.schema.max_outputs;
  info.onnx_since_opset = def.domain.empty() ? def.onnx.since_opset : 0;
  for (const AttrSpec& a : def.schema.attrs)
    if (!a.internal) info.attributes.push_back(a);
  return info;
}

}  // namespace engine
