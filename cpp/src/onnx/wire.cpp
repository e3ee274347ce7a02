#include "onnx/wire.h"

#include <cstring>

#include "engine/status.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#error "the ONNX codec copies little-endian tensor bytes as they are"
#endif

namespace engine {
namespace onnx_wire {

const char* wire_type_name(WireType type) {
  switch (type) {
    case WireType::Varint: return "varint";
    case WireType::Fixed64: return "fixed64";
    case WireType::Len: return "length-delimited";
    case WireType::Fixed32: return "fixed32";
  }
  return "?";
}

void Reader::fail(const std::string& what) const {
  engine::fail(ErrorKind::Value, "onnx: ", where_, ": ", what, " (at byte ", offset(), ")");
}

bool Reader::next(uint32_t& field, WireType& type) {
  if (pos_ >= end_) return false;
  const uint64_t key = varint();
  const uint32_t wire = static_cast<uint32_t>(key & 7);
  const uint64_t number = key >> 3;
  if (number == 0 || number > 0x1FFFFFFF) fail(str("invalid field number ", number));
  if (wire == 3 || wire == 4) fail(str("field ", number, " is a group, which is not supported"));
  if (wire != 0 && wire != 1 && wire != 2 && wire != 5)
    fail(str("field ", number, " has invalid wire type ", wire));
  field = static_cast<uint32_t>(number);
  type = static_cast<WireType>(wire);
  return true;
}

uint64_t Reader::varint() {
  uint64_t v = 0;
  for (int i = 0; i < 10; ++i) {
    if (pos_ >= end_) fail("truncated varint");
    const uint8_t b = *pos_++;
    // The tenth byte holds only bit 63: anything more overflows 64 bits.
    if (i == 9 && b > 1) fail("varint overflows 64 bits");
    v |= static_cast<uint64_t>(b & 0x7F) << (7 * i);
    if (!(b & 0x80)) return v;
  }
  fail("varint longer than 10 bytes");
}

uint32_t Reader::fixed32() {
  if (end_ - pos_ < 4) fail("truncated fixed32");
  uint32_t v;
  std::memcpy(&v, pos_, 4);
  pos_ += 4;
  return v;
}

uint64_t Reader::fixed64() {
  if (end_ - pos_ < 8) fail("truncated fixed64");
  uint64_t v;
  std::memcpy(&v, pos_, 8);
  pos_ += 8;
  return v;
}

std::string_view Reader::bytes() {
  const uint64_t n = varint();
  const uint64_t left = static_cast<uint64_t>(end_ - pos_);
  if (n > left) fail(str("length ", n, " exceeds the ", left, " bytes left"));
  std::string_view v(reinterpret_cast<const char*>(pos_), static_cast<size_t>(n));
  pos_ += n;
  return v;
}

Reader Reader::message(std::string where) {
  std::string_view payload = bytes();
  const uint8_t* begin = reinterpret_cast<const uint8_t*>(payload.data());
  return Reader(origin_, begin, begin + payload.size(), std::move(where));
}

void Reader::skip(WireType type) {
  switch (type) {
    case WireType::Varint: varint(); return;
    case WireType::Fixed64: fixed64(); return;
    case WireType::Len: bytes(); return;
    case WireType::Fixed32: fixed32(); return;
  }
}

void Reader::expect(WireType got, WireType want, const char* field) const {
  if (got != want)
    fail(str("field '", field, "' has wire type ", wire_type_name(got), ", expected ",
             wire_type_name(want)));
}

int64_t Reader::int64_field(WireType type, const char* field) {
  expect(type, WireType::Varint, field);
  return static_cast<int64_t>(varint());
}

int32_t Reader::int32_field(WireType type, const char* field) {
  const int64_t v = int64_field(type, field);
  if (v < INT32_MIN || v > INT32_MAX) fail(str("field '", field, "' value ", v, " overflows int32"));
  return static_cast<int32_t>(v);
}

float Reader::float_field(WireType type, const char* field) {
  expect(type, WireType::Fixed32, field);
  const uint32_t bits = fixed32();
  float v;
  std::memcpy(&v, &bits, 4);
  return v;
}

std::string_view Reader::bytes_field(WireType type, const char* field) {
  expect(type, WireType::Len, field);
  return bytes();
}

std::string Reader::string_field(WireType type, const char* field) {
  return std::string(bytes_field(type, field));
}

Reader Reader::message_field(WireType type, const char* field, std::string where) {
  expect(type, WireType::Len, field);
  return message(std::move(where));
}

void Reader::append_int64s(WireType type, const char* field, std::vector<int64_t>& out) {
  if (type == WireType::Varint) {
    out.push_back(static_cast<int64_t>(varint()));
    return;
  }
  expect(type, WireType::Len, field);
  // Every varint takes at least one byte, so the payload bounds the count.
  Reader packed = message(where_);
  while (packed.pos_ < packed.end_) out.push_back(static_cast<int64_t>(packed.varint()));
}

void Reader::append_floats(WireType type, const char* field, std::vector<float>& out) {
  if (type == WireType::Fixed32) {
    out.push_back(float_field(type, field));
    return;
  }
  expect(type, WireType::Len, field);
  std::string_view payload = bytes();
  if (payload.size() % 4 != 0)
    fail(str("packed field '", field, "' holds ", payload.size(), " bytes, not a multiple of 4"));
  const size_t n = payload.size() / 4;
  if (n == 0) return;
  const size_t old = out.size();
  out.resize(old + n);
  std::memcpy(out.data() + old, payload.data(), payload.size());
}

void Reader::append_doubles(WireType type, const char* field, std::vector<double>& out) {
  if (type == WireType::Fixed64) {
    const uint64_t bits = fixed64();
    double v;
    std::memcpy(&v, &bits, 8);
    out.push_back(v);
    return;
  }
  expect(type, WireType::Len, field);
  std::string_view payload = bytes();
  if (payload.size() % 8 != 0)
    fail(str("packed field '", field, "' holds ", payload.size(), " bytes, not a multiple of 8"));
  const size_t n = payload.size() / 8, old = out.size();
  out.resize(old + n);
  if (n) std::memcpy(out.data() + old, payload.data(), payload.size());
}

// ---- writer ----------------------------------------------------------------------

size_t varint_size(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

void Writer::append(const void* data, size_t n) {
  pieces_.back().owned.append(static_cast<const char*>(data), n);
  size_ += n;
}

void Writer::varint(uint64_t v) {
  uint8_t buf[10];
  size_t n = 0;
  while (v >= 0x80) {
    buf[n++] = static_cast<uint8_t>(v | 0x80);
    v >>= 7;
  }
  buf[n++] = static_cast<uint8_t>(v);
  append(buf, n);
}

void Writer::key(uint32_t field, WireType type) {
  varint((static_cast<uint64_t>(field) << 3) | static_cast<uint32_t>(type));
}

void Writer::int_field(uint32_t field, int64_t v) {
  key(field, WireType::Varint);
  varint(static_cast<uint64_t>(v));
}

void Writer::float_field(uint32_t field, float v) {
  key(field, WireType::Fixed32);
  append(&v, 4);
}

void Writer::bytes_field(uint32_t field, std::string_view v) {
  key(field, WireType::Len);
  varint(v.size());
  append(v.data(), v.size());
}

void Writer::ref_field(uint32_t field, const void* data, size_t n) {
  key(field, WireType::Len);
  varint(n);
  if (n == 0) return;
  Piece p;
  p.ref = static_cast<const char*>(data);
  p.ref_size = n;
  pieces_.push_back(std::move(p));
  pieces_.emplace_back();
  size_ += n;
}

void Writer::message_field(uint32_t field, const Writer& nested) {
  key(field, WireType::Len);
  varint(nested.size_);
  for (const Piece& p : nested.pieces_) {
    if (p.ref) {
      pieces_.push_back(p);
      pieces_.emplace_back();
      size_ += p.ref_size;
    } else {
      append(p.owned.data(), p.owned.size());
    }
  }
}

void Writer::packed_int64s(uint32_t field, const std::vector<int64_t>& v) {
  if (v.empty()) return;
  size_t n = 0;
  for (int64_t x : v) n += varint_size(static_cast<uint64_t>(x));
  key(field, WireType::Len);
  varint(n);
  for (int64_t x : v) varint(static_cast<uint64_t>(x));
}

void Writer::packed_floats(uint32_t field, const std::vector<float>& v) {
  if (v.empty()) return;
  key(field, WireType::Len);
  varint(v.size() * 4);
  append(v.data(), v.size() * 4);
}

std::string Writer::to_string() const {
  std::string out;
  out.reserve(static_cast<size_t>(size_));
  for_each([&](const char* data, size_t n) { out.append(data, n); });
  return out;
}

}  // namespace onnx_wire
}  // namespace engine
