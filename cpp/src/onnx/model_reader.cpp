// ModelProto bytes -> OnnxModel. The schema fixes the nesting (model > graph > node >
// attribute > tensor > external entry; graph > value info > type > shape > dim), so the
// parser is a set of non-recursive functions: a file cannot drive it deeper. Subgraphs are
// never descended into.
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <string_view>

#include "engine/onnx.h"
#include "onnx/onnx_common.h"
#include "onnx/wire.h"

namespace engine {

namespace onnx_proto {
const char* dtype_name(int64_t code) {
  static const char* const names[] = {
      "undefined", "float32", "uint8", "int8", "uint16", "int16", "int32", "int64",
      "string", "bool", "float16", "float64", "uint32", "uint64", "complex64", "complex128",
      "bfloat16", "float8e4m3fn", "float8e4m3fnuz", "float8e5m2", "float8e5m2fnuz", "uint4",
      "int4", "float4e2m1"};
  if (code < 0 || code >= static_cast<int64_t>(sizeof(names) / sizeof(names[0])))
    return "unknown";
  return names[code];
}

int32_t computing_type(int64_t code) {
  using namespace dtype;
  switch (code) {
    case FLOAT: case FLOAT16: case BFLOAT16: case DOUBLE: return FLOAT;
    case INT8: case UINT8: case INT16: case UINT16: case INT32: case UINT32: case INT64:
    case UINT64: return INT64;
    case BOOL: return BOOL;
    default: return UNDEFINED;
  }
}
}  // namespace onnx_proto

namespace {

namespace fs = std::filesystem;
namespace pb = onnx_proto;
using onnx_wire::Reader;
using onnx_wire::WireType;

constexpr size_t kMaxRank = 64;

[[noreturn]] void bad(const std::string& what, const std::string& msg) {
  fail(ErrorKind::Value, "onnx: ", what, ": ", msg);
}

std::string in_quotes(const std::string& s) { return "'" + s + "'"; }

// Empty and "ai.onnx" both name the default ONNX domain; the IR uses "".
std::string normalize_domain(std::string d) { return d == "ai.onnx" ? std::string() : d; }

std::pair<std::string, std::string> read_entry(Reader r) {
  std::pair<std::string, std::string> kv;
  uint32_t f;
  WireType t;
  while (r.next(f, t)) {
    if (f == pb::entry::key) kv.first = r.string_field(t, "key");
    else if (f == pb::entry::value) kv.second = r.string_field(t, "value");
    else r.skip(t);
  }
  return kv;
}

// ---- tensors ---------------------------------------------------------------------

// A TensorProto as stored; data still views the model buffer.
struct TensorFields {
  std::string name;
  std::vector<int64_t> dims;
  bool has_data_type = false;
  int32_t data_type = 0;
  bool has_raw = false;
  std::string_view raw;
  std::vector<float> float_data;
  std::vector<double> double_data;
  std::vector<int64_t> int64_data, int32_data, uint64_data;
  const char* other_field = nullptr;  // a data field of a type the engine never holds
  int32_t data_location = pb::tensor::DEFAULT;
  std::vector<std::pair<std::string, std::string>> external;
};

TensorFields read_tensor_fields(Reader r) {
  TensorFields t;
  uint32_t f;
  WireType w;
  while (r.next(f, w)) {
    switch (f) {
      case pb::tensor::dims: r.append_int64s(w, "dims", t.dims); break;
      case pb::tensor::data_type:
        t.data_type = r.int32_field(w, "data_type");
        t.has_data_type = true;
        break;
      case pb::tensor::name: t.name = r.string_field(w, "name"); break;
      case pb::tensor::raw_data:
        t.raw = r.bytes_field(w, "raw_data");
        t.has_raw = true;
        break;
      case pb::tensor::float_data: r.append_floats(w, "float_data", t.float_data); break;
      case pb::tensor::int64_data: r.append_int64s(w, "int64_data", t.int64_data); break;
      case pb::tensor::int32_data: r.append_int64s(w, "int32_data", t.int32_data); break;
      case pb::tensor::string_data: t.other_field = "string_data"; r.skip(w); break;
      case pb::tensor::double_data: r.append_doubles(w, "double_data", t.double_data); break;
      case pb::tensor::uint64_data: r.append_int64s(w, "uint64_data", t.uint64_data); break;
      case pb::tensor::segment: r.fail("segmented tensors are not supported");
      case pb::tensor::data_location: t.data_location = r.int32_field(w, "data_location"); break;
      case pb::tensor::external_data:
        t.external.push_back(read_entry(r.message_field(w, "external_data", r.where() + ".external_data")));
        break;
      default: r.skip(w);
    }
  }
  return t;
}

uint64_t parse_decimal(const std::string& s, const std::string& what, const char* key) {
  if (s.empty() || s.size() > 19) bad(what, str("external data ", key, " '", s, "' is not a valid size"));
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') bad(what, str("external data ", key, " '", s, "' is not a valid size"));
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  return v;
}

// `inner` lies inside `outer` (both canonical): outer's components are a proper prefix.
bool path_within(const fs::path& outer, const fs::path& inner) {
  auto o = outer.begin(), i = inner.begin();
  for (; o != outer.end(); ++o, ++i) {
    if (i == inner.end() || *o != *i) return false;
  }
  return i != inner.end();
}

// The canonical path of an external data file, refusing anything outside the model's folder.
fs::path confined_path(const std::string& base_dir, const std::string& location,
                       const std::string& what) {
  if (base_dir.empty())
    bad(what, "external data needs the model's folder (load the model from a file)");
  if (location.empty()) bad(what, "external data has no location");
  if (location.find('\0') != std::string::npos) bad(what, "external data location contains NUL");
  const fs::path rel(location);
  if (rel.is_absolute() || rel.has_root_path() || location[0] == '/' || location[0] == '\\')
    bad(what, str("external data location '", location, "' is absolute; it must be relative to the model's folder"));
  size_t start = 0;
  while (start <= location.size()) {
    size_t end = location.find_first_of("/\\", start);
    if (end == std::string::npos) end = location.size();
    if (location.compare(start, end - start, "..") == 0 && end - start == 2)
      bad(what, str("external data location '", location, "' leaves the model's folder"));
    start = end + 1;
  }
  std::error_code ec;
  const fs::path base = fs::canonical(fs::path(base_dir), ec);
  if (ec) bad(what, str("model folder '", base_dir, "' cannot be resolved: ", ec.message()));
  const fs::path target = fs::canonical(base / rel, ec);
  if (ec) bad(what, str("external data file '", location, "' cannot be opened: ", ec.message()));
  if (!path_within(base, target))
    bad(what, str("external data location '", location, "' resolves outside the model's folder"));
  if (!fs::is_regular_file(target, ec))
    bad(what, str("external data location '", location, "' is not a regular file"));
  return target;
}

struct ExternalRange {
  fs::path path;
  uint64_t offset = 0;
};

// Checks an external reference completely (confinement, range, size) before any
// allocation, so that a model cannot claim more memory than its data file holds.
ExternalRange locate_external(const TensorFields& t, size_t nbytes, const std::string& base_dir,
                              const std::string& what) {
  std::string location;
  uint64_t offset = 0, length = 0;
  bool has_length = false;
  for (const auto& kv : t.external) {
    if (kv.first == "location") location = kv.second;
    else if (kv.first == "offset") offset = parse_decimal(kv.second, what, "offset");
    else if (kv.first == "length") {
      length = parse_decimal(kv.second, what, "length");
      has_length = true;
    }
  }
  ExternalRange range{confined_path(base_dir, location, what), offset};
  std::error_code ec;
  const uint64_t file_size = fs::file_size(range.path, ec);
  if (ec) bad(what, str("external data file '", location, "': ", ec.message()));
  if (offset > file_size)
    bad(what, str("external data offset ", offset, " is past the end of '", location, "' (",
                  file_size, " bytes)"));
  if (!has_length) length = file_size - offset;
  if (length > file_size - offset)
    bad(what, str("external data range [", offset, ", ", offset, " + ", length,
                  ") is past the end of '", location, "' (", file_size, " bytes)"));
  if (length != nbytes)
    bad(what, str("external data length ", length, " does not match the ", nbytes,
                  " bytes its dims and data type need"));
  return range;
}

void read_range(const ExternalRange& range, void* dst, size_t nbytes, const std::string& what) {
  if (nbytes == 0) return;
  const std::string path = range.path.string();
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (!file) fail_os(errno, path, str("onnx: ", what, ": cannot open '", path, "'"));
  bool ok = false;
  errno = 0;
  if (range.offset <= static_cast<uint64_t>(std::numeric_limits<long>::max()) &&
      std::fseek(file, static_cast<long>(range.offset), SEEK_SET) == 0)
    ok = std::fread(dst, 1, nbytes, file) == nbytes;
  const int err = errno ? errno : EIO;
  std::fclose(file);
  if (!ok)
    fail_os(err, path, str("onnx: ", what, ": cannot read ", nbytes, " bytes from '", path, "'"));
}

// How a TensorProto data type stores its values: bytes per element in raw_data and external
// data, and the typed field that may hold them instead (16-bit floats keep their bit
// patterns in int32_data).
struct StoredAs {
  size_t bytes;
  const char* typed;
};

StoredAs storage_of(int32_t code) {
  switch (code) {
    case pb::dtype::FLOAT: return {4, "float_data"};
    case pb::dtype::DOUBLE: return {8, "double_data"};
    case pb::dtype::INT64: return {8, "int64_data"};
    case pb::dtype::UINT64: return {8, "uint64_data"};
    case pb::dtype::UINT32: return {4, "uint64_data"};
    case pb::dtype::INT32: return {4, "int32_data"};
    case pb::dtype::INT16: case pb::dtype::UINT16: case pb::dtype::FLOAT16:
    case pb::dtype::BFLOAT16: return {2, "int32_data"};
    default: return {1, "int32_data"};  // INT8, UINT8, BOOL
  }
}

float half_to_float(uint16_t h) {
  const uint32_t sign = (h & 0x8000u) << 16, exponent = (h >> 10) & 0x1f, mantissa = h & 0x3ff;
  float magnitude;
  if (exponent == 0)
    magnitude = std::ldexp(static_cast<float>(mantissa), -24);  // zero and subnormals
  else if (exponent == 31)
    magnitude = mantissa ? std::numeric_limits<float>::quiet_NaN() : std::numeric_limits<float>::infinity();
  else
    magnitude = std::ldexp(static_cast<float>(mantissa | 0x400), static_cast<int>(exponent) - 25);
  uint32_t bits;
  std::memcpy(&bits, &magnitude, 4);
  bits |= sign;
  float v;
  std::memcpy(&v, &bits, 4);
  return v;
}

// Element k of little-endian `raw` values of type `code`, as a double (floating point) or
// an int64 (integers and bool: `is_int`).
void decode(int32_t code, const char* raw, int64_t k, double& real, int64_t& integer) {
  const char* p = raw + k * static_cast<int64_t>(storage_of(code).bytes);
  auto load = [p](auto v) {
    std::memcpy(&v, p, sizeof(v));
    return v;
  };
  switch (code) {
    case pb::dtype::FLOAT: real = load(float{}); break;
    case pb::dtype::DOUBLE: real = load(double{}); break;
    case pb::dtype::FLOAT16: real = half_to_float(load(uint16_t{})); break;
    case pb::dtype::BFLOAT16: {
      const uint32_t bits = static_cast<uint32_t>(load(uint16_t{})) << 16;
      float v;
      std::memcpy(&v, &bits, 4);
      real = v;
      break;
    }
    case pb::dtype::INT8: integer = load(int8_t{}); break;
    case pb::dtype::UINT8: case pb::dtype::BOOL: integer = load(uint8_t{}); break;
    case pb::dtype::INT16: integer = load(int16_t{}); break;
    case pb::dtype::UINT16: integer = load(uint16_t{}); break;
    case pb::dtype::INT32: integer = load(int32_t{}); break;
    case pb::dtype::UINT32: integer = load(uint32_t{}); break;
    default: integer = load(int64_t{}); break;  // INT64, UINT64 (its bits)
  }
}

// The tensor a TensorProto describes, in the type that holds its values in the engine
// (onnx_proto::computing_type): float32 and int64 are kept, other integers widen to int64,
// float16, bfloat16 and float64 become float32 (float64 rounded). The element count
// implied by the dims must match the bytes or values present before anything is allocated.
Tensor resolve_tensor(const TensorFields& t, const std::string& what, const std::string& base_dir) {
  if (!t.has_data_type) bad(what, "tensor has no data_type");
  const int32_t holder = pb::computing_type(t.data_type);
  if (holder == pb::dtype::UNDEFINED)
    bad(what, str("data type ", t.data_type, " (", pb::dtype_name(t.data_type),
                  ") is not supported: the engine holds float32, int64 and bool (other integer "
                  "types widen to int64, float16 and float64 become float32)"));
  const DType dtype = holder == pb::dtype::FLOAT ? DType::Float32
                      : holder == pb::dtype::INT64 ? DType::Int64 : DType::Bool;
  const StoredAs storage = storage_of(t.data_type);
  if (t.dims.size() > kMaxRank) bad(what, str("tensor has ", t.dims.size(), " dims, more than ", kMaxRank));
  // The product of the non-zero dims must fit too: strides are computed from it even when
  // a zero dim makes the tensor empty.
  int64_t extent = 1;
  for (int64_t d : t.dims) {
    if (d < 0) bad(what, str("tensor has negative dim ", d));
    if (d > 1 && extent > std::numeric_limits<int64_t>::max() / 8 / d)
      bad(what, str("tensor dims ", shape_str(t.dims), " overflow"));
    if (d > 1) extent *= d;
  }
  int64_t numel = 1;
  for (int64_t d : t.dims) numel *= d;
  const size_t src_bytes = static_cast<size_t>(numel) * storage.bytes;

  // Which field holds the values: exactly one of raw_data, the typed field, external data.
  const std::pair<const char*, size_t> typed_fields[] = {
      {"float_data", t.float_data.size()}, {"double_data", t.double_data.size()},
      {"int64_data", t.int64_data.size()}, {"int32_data", t.int32_data.size()},
      {"uint64_data", t.uint64_data.size()}};
  const bool external = t.data_location == pb::tensor::EXTERNAL;
  if (t.data_location != pb::tensor::DEFAULT && !external)
    bad(what, str("unknown data_location ", t.data_location));
  const char* wrong = t.other_field;
  size_t typed_count = 0;
  bool has_typed = false;
  for (const auto& [field, count] : typed_fields) {
    if (count == 0) continue;
    if (!wrong && std::string(field) != storage.typed) wrong = field;
    typed_count = count;
    has_typed = true;
  }
  if (wrong) bad(what, str(pb::dtype_name(t.data_type), " tensor stores values in ", wrong));
  const int sources = int(t.has_raw) + int(has_typed) + int(external);
  if (sources > 1) bad(what, "tensor stores its values in more than one of raw_data, typed fields and external data");
  if (!external && !t.external.empty()) bad(what, "tensor has external_data entries but data_location is not EXTERNAL");
  if (t.has_raw && t.raw.size() != src_bytes)
    bad(what, str("raw_data holds ", t.raw.size(), " bytes but dims ", shape_str(t.dims), " of ",
                  pb::dtype_name(t.data_type), " need ", src_bytes));
  if (has_typed && typed_count != static_cast<size_t>(numel))
    bad(what, str(storage.typed, " holds ", typed_count, " values but dims ", shape_str(t.dims),
                  " need ", numel));
  if (sources == 0 && numel != 0)
    bad(what, str("tensor with dims ", shape_str(t.dims), " has no data"));

  ExternalRange range;  // checked against the file before anything is allocated
  if (external) range = locate_external(t, src_bytes, base_dir, what);
  Tensor out = Tensor::empty(t.dims, dtype);
  if (numel == 0) return out;
  auto store = [&](int64_t k, double real, int64_t integer) {
    if (dtype == DType::Float32) out.data<float>()[k] = static_cast<float>(real);
    else if (dtype == DType::Int64) out.data<int64_t>()[k] = integer;
    else out.data<bool>()[k] = integer != 0;  // any non-zero byte is true
  };
  const bool kept = t.data_type == pb::dtype::FLOAT || t.data_type == pb::dtype::INT64;
  if (t.has_raw || external) {
    std::vector<char> staged;
    const char* raw = t.raw.data();
    if (external && kept) {  // straight into the tensor: weights can be large
      read_range(range, out.raw_data(), src_bytes, what);
      return out;
    }
    if (external) {
      staged.resize(src_bytes);
      read_range(range, staged.data(), src_bytes, what);
      raw = staged.data();
    }
    if (kept) {
      std::memcpy(out.raw_data(), raw, src_bytes);
    } else {
      for (int64_t k = 0; k < numel; ++k) {
        double real = 0.0;
        int64_t integer = 0;
        decode(t.data_type, raw, k, real, integer);
        store(k, real, integer);
      }
    }
    return out;
  }
  if (!t.float_data.empty()) {
    std::memcpy(out.raw_data(), t.float_data.data(), src_bytes);
  } else if (!t.double_data.empty()) {
    for (int64_t k = 0; k < numel; ++k) store(k, t.double_data[k], 0);
  } else if (!t.int64_data.empty() || !t.uint64_data.empty()) {
    const std::vector<int64_t>& v = t.int64_data.empty() ? t.uint64_data : t.int64_data;
    std::copy(v.begin(), v.end(), out.data<int64_t>());
  } else {
    // int32_data holds each value (or 16-bit float pattern) sign-extended to a 64-bit varint.
    for (int64_t k = 0; k < numel; ++k) {
      const int64_t v = t.int32_data[k];
      if (t.data_type == pb::dtype::INT32 && (v < INT32_MIN || v > INT32_MAX))
        bad(what, str("int32_data value ", v, " overflows int32"));
      if (t.data_type == pb::dtype::FLOAT16 || t.data_type == pb::dtype::BFLOAT16) {
        const uint16_t bits = static_cast<uint16_t>(v);
        double real = 0.0;
        int64_t unused = 0;
        decode(t.data_type, reinterpret_cast<const char*>(&bits), 0, real, unused);
        store(k, real, 0);
      } else {
        store(k, 0.0, v);
      }
    }
  }
  return out;
}

// ---- value infos -----------------------------------------------------------------

// The engine dtype of a graph input or output declared `elem_type` (computing_type).
DType value_dtype(int64_t elem_type, const std::string& what) {
  // An unset element type (seen on outputs) defaults to float32.
  if (elem_type == pb::dtype::UNDEFINED) return DType::Float32;
  switch (pb::computing_type(elem_type)) {
    case pb::dtype::FLOAT: return DType::Float32;
    case pb::dtype::INT64: return DType::Int64;
    case pb::dtype::BOOL: return DType::Bool;
    default:
      bad(what, str("data type ", elem_type, " (", pb::dtype_name(elem_type),
                    ") is not supported: graph inputs and outputs hold numbers or bools"));
  }
}

Shape read_shape(Reader r, const std::string& what) {
  Shape shape;
  uint32_t f;
  WireType w;
  while (r.next(f, w)) {
    if (f != pb::shape::dim) {
      r.skip(w);
      continue;
    }
    if (shape.size() >= kMaxRank) bad(what, str("shape has more than ", kMaxRank, " dims"));
    Reader d = r.message_field(w, "dim", r.where() + ".dim");
    int64_t value = -1;  // a dim_param or an unknown dimension
    uint32_t df;
    WireType dw;
    while (d.next(df, dw)) {
      if (df == pb::dim::dim_value) {
        value = d.int64_field(dw, "dim_value");
        if (value < 0) bad(what, str("dim ", shape.size(), " has negative dim_value ", value));
      } else if (df == pb::dim::dim_param) {
        d.bytes_field(dw, "dim_param");
        value = -1;
      } else {
        d.skip(dw);
      }
    }
    shape.push_back(value);
  }
  return shape;
}

ValueInfo read_value_info(Reader r, const std::string& role) {
  ValueInfo info;
  bool has_type = false;
  Reader type_reader(nullptr, nullptr, nullptr, "");
  uint32_t f;
  WireType w;
  while (r.next(f, w)) {
    if (f == pb::value_info::name) {
      info.name = r.string_field(w, "name");
    } else if (f == pb::value_info::type) {
      type_reader = r.message_field(w, "type", r.where() + ".type");
      has_type = true;
    } else {
      r.skip(w);
    }
  }
  if (info.name.empty()) r.fail(str(role, " has no name"));
  const std::string what = role + " " + in_quotes(info.name);
  if (!has_type) return info;
  int64_t elem_type = pb::dtype::UNDEFINED;
  while (type_reader.next(f, w)) {
    if (f == pb::type_proto::tensor_type) {
      Reader tt = type_reader.message_field(w, "tensor_type", type_reader.where() + ".tensor_type");
      uint32_t tf;
      WireType tw;
      while (tt.next(tf, tw)) {
        if (tf == pb::tensor_type::elem_type) elem_type = tt.int32_field(tw, "elem_type");
        else if (tf == pb::tensor_type::shape)
          info.shape = read_shape(tt.message_field(tw, "shape", tt.where() + ".shape"), what);
        else tt.skip(tw);
      }
    } else if (f == pb::type_proto::sequence_type || f == pb::type_proto::map_type ||
               f == pb::type_proto::sparse_tensor_type || f == pb::type_proto::optional_type) {
      bad(what, "only dense tensor types are supported (not sequences, maps, optionals or sparse tensors)");
    } else {
      type_reader.skip(w);
    }
  }
  info.dtype = value_dtype(elem_type, what);
  info.onnx_type = static_cast<int32_t>(elem_type);
  return info;
}

// ---- nodes -----------------------------------------------------------------------

const char* attr_type_name(int64_t type) {
  switch (type) {
    case pb::attr::FLOAT: return "FLOAT";
    case pb::attr::INT: return "INT";
    case pb::attr::STRING: return "STRING";
    case pb::attr::TENSOR: return "TENSOR";
    case pb::attr::GRAPH: return "GRAPH";
    case pb::attr::FLOATS: return "FLOATS";
    case pb::attr::INTS: return "INTS";
    case pb::attr::STRINGS: return "STRINGS";
    case pb::attr::TENSORS: return "TENSORS";
    case pb::attr::GRAPHS: return "GRAPHS";
    case pb::attr::SPARSE_TENSOR: return "SPARSE_TENSOR";
    case pb::attr::SPARSE_TENSORS: return "SPARSE_TENSORS";
    case pb::attr::TYPE_PROTO: return "TYPE_PROTO";
    case pb::attr::TYPE_PROTOS: return "TYPE_PROTOS";
  }
  return "unknown";
}

Attribute read_attribute(Reader r, const std::string& node_label, std::string& name,
                         const std::string& base_dir) {
  int32_t type = pb::attr::UNDEFINED;
  // For models that leave `type` unset (old IR versions), the value field tells it.
  int32_t seen = pb::attr::UNDEFINED;
  Attribute a;
  bool has_t = false;
  Reader t_reader(nullptr, nullptr, nullptr, "");
  uint32_t f;
  WireType w;
  while (r.next(f, w)) {
    switch (f) {
      case pb::attr::name: name = r.string_field(w, "name"); break;
      case pb::attr::type: type = r.int32_field(w, "type"); break;
      case pb::attr::f: a.f = r.float_field(w, "f"); seen = pb::attr::FLOAT; break;
      case pb::attr::i: a.i = r.int64_field(w, "i"); seen = pb::attr::INT; break;
      case pb::attr::s: a.s = r.string_field(w, "s"); seen = pb::attr::STRING; break;
      case pb::attr::t:
        t_reader = r.message_field(w, "t", r.where() + ".t");
        has_t = true;
        seen = pb::attr::TENSOR;
        break;
      case pb::attr::floats: r.append_floats(w, "floats", a.floats); seen = pb::attr::FLOATS; break;
      case pb::attr::ints: r.append_int64s(w, "ints", a.ints); seen = pb::attr::INTS; break;
      case pb::attr::g: r.skip(w); seen = pb::attr::GRAPH; break;
      case pb::attr::graphs: r.skip(w); seen = pb::attr::GRAPHS; break;
      case pb::attr::strings:
        a.strings.push_back(r.string_field(w, "strings"));
        seen = pb::attr::STRINGS;
        break;
      case pb::attr::tensors: r.skip(w); seen = pb::attr::TENSORS; break;
      case pb::attr::sparse_tensor: r.skip(w); seen = pb::attr::SPARSE_TENSOR; break;
      case pb::attr::sparse_tensors: r.skip(w); seen = pb::attr::SPARSE_TENSORS; break;
      case pb::attr::tp: r.skip(w); seen = pb::attr::TYPE_PROTO; break;
      case pb::attr::tps: r.skip(w); seen = pb::attr::TYPE_PROTOS; break;
      case pb::attr::ref_attr_name:
        r.skip(w);
        bad(node_label, str("attribute '", name, "' refers to a function attribute, which is not supported"));
      default: r.skip(w);
    }
  }
  if (name.empty()) bad(node_label, "an attribute has no name");
  const std::string what = node_label + " attribute " + in_quotes(name);
  if (type == pb::attr::UNDEFINED) type = seen;
  switch (type) {
    case pb::attr::FLOAT: a.kind = Attribute::Kind::Float; break;
    case pb::attr::INT: a.kind = Attribute::Kind::Int; break;
    case pb::attr::STRING: a.kind = Attribute::Kind::String; break;
    case pb::attr::FLOATS: a.kind = Attribute::Kind::Floats; break;
    case pb::attr::INTS: a.kind = Attribute::Kind::Ints; break;
    case pb::attr::STRINGS: a.kind = Attribute::Kind::Strings; break;
    case pb::attr::TENSOR:
      if (!has_t) bad(what, "TENSOR attribute has no tensor");
      a.kind = Attribute::Kind::Tensor;
      a.t = resolve_tensor(read_tensor_fields(t_reader), what, base_dir);
      break;
    case pb::attr::GRAPH:
    case pb::attr::GRAPHS:
      bad(what, "subgraph attributes are not supported");
    case pb::attr::UNDEFINED:
      bad(what, "attribute has no type and no value");
    default:
      bad(what, str("attribute type ", type, " (", attr_type_name(type), ") is not supported"));
  }
  return a;
}

Node read_node(Reader r, size_t index, const std::string& base_dir) {
  Node node;
  std::vector<Reader> attrs;
  uint32_t f;
  WireType w;
  while (r.next(f, w)) {
    switch (f) {
      case pb::node::input: node.inputs.push_back(r.string_field(w, "input")); break;
      case pb::node::output: node.outputs.push_back(r.string_field(w, "output")); break;
      case pb::node::name: node.name = r.string_field(w, "name"); break;
      case pb::node::op_type: node.op_type = r.string_field(w, "op_type"); break;
      case pb::node::domain: node.domain = normalize_domain(r.string_field(w, "domain")); break;
      case pb::node::attribute:
        attrs.push_back(r.message_field(w, "attribute", str(r.where(), ".attribute[", attrs.size(), "]")));
        break;
      default: r.skip(w);
    }
  }
  std::string label = str("node ", index, " (", node.op_type.empty() ? "?" : node.op_type);
  if (!node.name.empty()) label += " " + in_quotes(node.name);
  label += ")";
  if (node.op_type.empty()) bad(label, "node has no op_type");
  for (Reader& a : attrs) {
    std::string name;
    Attribute value = read_attribute(a, label, name, base_dir);
    if (!node.attrs.emplace(name, std::move(value)).second)
      bad(label, str("attribute '", name, "' appears twice"));
  }
  return node;
}

// ---- graph and model -------------------------------------------------------------

void read_graph(Reader r, OnnxModel& model, const std::string& base_dir) {
  Graph& graph = model.graph;
  std::vector<ValueInfo> inputs;
  uint32_t f;
  WireType w;
  while (r.next(f, w)) {
    switch (f) {
      case pb::graph::node: {
        const size_t index = graph.nodes.size();
        graph.nodes.push_back(read_node(r.message_field(w, "node", str("graph.node[", index, "]")), index, base_dir));
        break;
      }
      case pb::graph::name: model.graph_name = r.string_field(w, "name"); break;
      case pb::graph::initializer: {
        const size_t index = graph.initializers.size();
        TensorFields t = read_tensor_fields(
            r.message_field(w, "initializer", str("graph.initializer[", index, "]")));
        if (t.name.empty()) bad(str("graph.initializer[", index, "]"), "initializer has no name");
        const std::string what = "initializer " + in_quotes(t.name);
        if (graph.initializers.count(t.name)) bad(what, "initializer name appears twice");
        graph.initializers.emplace(t.name, resolve_tensor(t, what, base_dir));
        break;
      }
      case pb::graph::input:
        inputs.push_back(read_value_info(
            r.message_field(w, "input", str("graph.input[", inputs.size(), "]")), "graph input"));
        break;
      case pb::graph::output:
        graph.outputs.push_back(read_value_info(
            r.message_field(w, "output", str("graph.output[", graph.outputs.size(), "]")), "graph output"));
        break;
      case pb::graph::sparse_initializer: r.fail("sparse initializers are not supported");
      default: r.skip(w);
    }
  }
  // Exporters before IR 4 list every initializer as a graph input too; those are
  // parameters, not inputs the caller feeds.
  for (ValueInfo& v : inputs) {
    if (!graph.initializers.count(v.name)) graph.inputs.push_back(std::move(v));
  }
}

}  // namespace

OnnxModel onnx_parse(const void* data, size_t size, const std::string& base_dir) {
  if (data == nullptr && size != 0) fail(ErrorKind::Value, "onnx: no data");
  const uint8_t* begin = static_cast<const uint8_t*>(data);
  Reader r(begin, begin, begin + size, "model");
  OnnxModel model;
  bool has_graph = false;
  uint32_t f;
  WireType w;
  while (r.next(f, w)) {
    switch (f) {
      case pb::model::ir_version: model.ir_version = r.int64_field(w, "ir_version"); break;
      case pb::model::producer_name: model.producer_name = r.string_field(w, "producer_name"); break;
      case pb::model::producer_version: model.producer_version = r.string_field(w, "producer_version"); break;
      case pb::model::domain: model.domain = r.string_field(w, "domain"); break;
      case pb::model::model_version: model.model_version = r.int64_field(w, "model_version"); break;
      case pb::model::doc_string: model.doc_string = r.string_field(w, "doc_string"); break;
      case pb::model::graph:
        // Protobuf would merge a repeated message field; a model with two graphs is malformed.
        if (has_graph) r.fail("model has more than one graph");
        read_graph(r.message_field(w, "graph", "graph"), model, base_dir);
        has_graph = true;
        break;
      case pb::model::opset_import: {
        Reader o = r.message_field(w, "opset_import", str("model.opset_import[", model.opset_imports.size(), "]"));
        std::pair<std::string, int64_t> entry;
        uint32_t of;
        WireType ow;
        while (o.next(of, ow)) {
          if (of == pb::opset::domain) entry.first = normalize_domain(o.string_field(ow, "domain"));
          else if (of == pb::opset::version) entry.second = o.int64_field(ow, "version");
          else o.skip(ow);
        }
        model.opset_imports.push_back(std::move(entry));
        break;
      }
      case pb::model::metadata_props: {
        auto kv = read_entry(r.message_field(w, "metadata_props", "model.metadata_props"));
        model.metadata[kv.first] = kv.second;
        break;
      }
      default: r.skip(w);
    }
  }
  if (!has_graph) fail(ErrorKind::Value, "onnx: model has no graph (not an ONNX model?)");
  return model;
}

namespace {
// A whole file, read in chunks: the buffer grows only with bytes actually present.
std::string read_file(const std::string& path) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (!file) fail_os(errno, path, str("onnx: cannot open '", path, "'"));
  std::string bytes;
  char chunk[1 << 16];
  size_t n;
  errno = 0;
  while ((n = std::fread(chunk, 1, sizeof(chunk), file)) > 0) bytes.append(chunk, n);
  const int err = std::ferror(file) != 0 ? (errno ? errno : EIO) : 0;
  std::fclose(file);
  // A directory opens on Linux; reading it fails with EISDIR.
  if (err != 0) fail_os(err, path, str("onnx: cannot read '", path, "'"));
  return bytes;
}
}  // namespace

OnnxModel onnx_read(const std::string& path) {
  const std::string bytes = read_file(path);
  std::string base = fs::path(path).parent_path().string();
  if (base.empty()) base = ".";
  return onnx_parse(bytes.data(), bytes.size(), base);
}

Tensor onnx_parse_tensor(const void* data, size_t size) {
  if (data == nullptr && size != 0) fail(ErrorKind::Value, "onnx: no data");
  const uint8_t* begin = static_cast<const uint8_t*>(data);
  return resolve_tensor(read_tensor_fields(Reader(begin, begin, begin + size, "tensor")), "tensor", "");
}

Tensor onnx_read_tensor(const std::string& path) {
  const std::string bytes = read_file(path);
  return onnx_parse_tensor(bytes.data(), bytes.size());
}

}  // namespace engine
