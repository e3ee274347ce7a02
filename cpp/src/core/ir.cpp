#include "engine/ir.h"

namespace engine {

Attribute Attribute::of_int(int64_t v) {
  Attribute a;
  a.kind = Kind::Int;
  a.i = v;
  return a;
}
Attribute Attribute::of_float(float v) {
  Attribute a;
  a.kind = Kind::Float;
  a.f = v;
  return a;
}
Attribute Attribute::of_string(std::string v) {
  Attribute a;
  a.kind = Kind::String;
  a.s = std::move(v);
  return a;
}
Attribute Attribute::of_ints(std::vector<int64_t> v) {
  Attribute a;
  a.kind = Kind::Ints;
  a.ints = std::move(v);
  return a;
}
Attribute Attribute::of_floats(std::vector<float> v) {
  Attribute a;
  a.kind = Kind::Floats;
  a.floats = std::move(v);
  return a;
}
Attribute Attribute::of_tensor(engine::Tensor v) {
  Attribute a;
  a.kind = Kind::Tensor;
  a.t = std::move(v);
  return a;
}
Attribute Attribute::of_strings(std::vector<std::string> v) {
  Attribute a;
  a.kind = Kind::Strings;
  a.strings = std::move(v);
  return a;
}

const char* attribute_kind_name(Attribute::Kind k) {
  switch (k) {
    case Attribute::Kind::Int: return "int";
    case Attribute::Kind::Float: return "float";
    case Attribute::Kind::String: return "string";
    case Attribute::Kind::Ints: return "ints";
    case Attribute::Kind::Floats: return "floats";
    case Attribute::Kind::Tensor: return "tensor";
    case Attribute::Kind::Strings: return "strings";
  }
  return "?";
}

namespace {
const Attribute* find_attr(const Node& n, const std::string& key, Attribute::Kind kind) {
  auto it = n.attrs.find(key);
  if (it == n.attrs.end()) return nullptr;
  ENGINE_CHECK(it->second.kind == kind, n.label(), ": attribute '", key, "' must be ",
               attribute_kind_name(kind), ", got ", attribute_kind_name(it->second.kind));
  return &it->second;
}

const Attribute& required_attr(const Node& n, const std::string& key, Attribute::Kind kind) {
  const Attribute* a = find_attr(n, key, kind);
  ENGINE_CHECK(a != nullptr, n.label(), ": attribute '", key, "' is required");
  return *a;
}
}  // namespace

int64_t Node::attr_int(const std::string& key) const {
  return required_attr(*this, key, Attribute::Kind::Int).i;
}

float Node::attr_float(const std::string& key) const {
  const auto it = attrs.find(key);
  if (it != attrs.end() && it->second.kind == Attribute::Kind::Int)
    return static_cast<float>(it->second.i);
  return required_attr(*this, key, Attribute::Kind::Float).f;
}

std::string Node::attr_string(const std::string& key) const {
  return required_attr(*this, key, Attribute::Kind::String).s;
}

int64_t Node::attr_int(const std::string& key, int64_t fallback) const {
  const Attribute* a = find_attr(*this, key, Attribute::Kind::Int);
  return a ? a->i : fallback;
}

float Node::attr_float(const std::string& key, float fallback) const {
  auto it = attrs.find(key);
  // ONNX writers sometimes store integral floats as ints; accept both.
  if (it != attrs.end() && it->second.kind == Attribute::Kind::Int)
    return static_cast<float>(it->second.i);
  const Attribute* a = find_attr(*this, key, Attribute::Kind::Float);
  return a ? a->f : fallback;
}

std::string Node::attr_string(const std::string& key, const std::string& fallback) const {
  const Attribute* a = find_attr(*this, key, Attribute::Kind::String);
  return a ? a->s : fallback;
}

std::vector<int64_t> Node::attr_ints(const std::string& key, std::vector<int64_t> fallback) const {
  const Attribute* a = find_attr(*this, key, Attribute::Kind::Ints);
  return a ? a->ints : fallback;
}

std::vector<std::string> Node::attr_strings(const std::string& key,
                                            std::vector<std::string> fallback) const {
  const Attribute* a = find_attr(*this, key, Attribute::Kind::Strings);
  return a ? a->strings : fallback;
}

std::string Node::label() const {
  std::string op = domain.empty() ? op_type : domain + "." + op_type;
  return name.empty() ? op : op + " '" + name + "'";
}

}  // namespace engine
