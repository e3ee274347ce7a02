// Protobuf wire format: a bounds-checked reader over a byte range and an append-only
// writer. Only what ONNX needs: varints, fixed32/fixed64, length-delimited fields, and
// packed or unpacked repeated scalars. Groups are rejected.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace engine {
namespace onnx_wire {

enum class WireType : uint32_t { Varint = 0, Fixed64 = 1, Len = 2, Fixed32 = 5 };

const char* wire_type_name(WireType type);

// Reads fields from [begin, end). `origin` is the start of the whole buffer, so errors
// report absolute byte offsets; `where` names the message being read ("graph.node[3]").
class Reader {
 public:
  Reader(const uint8_t* origin, const uint8_t* begin, const uint8_t* end, std::string where)
      : origin_(origin), pos_(begin), end_(end), where_(std::move(where)) {}

  // Reads the next field key; false at the end of the range.
  bool next(uint32_t& field, WireType& type);

  uint64_t varint();
  uint32_t fixed32();
  uint64_t fixed64();
  std::string_view bytes();  // a length-delimited payload, viewing the buffer
  // A length-delimited payload read as a nested message.
  Reader message(std::string where);
  void skip(WireType type);

  // Typed reads that first check the key's wire type against the schema.
  int64_t int64_field(WireType type, const char* field);
  int32_t int32_field(WireType type, const char* field);
  float float_field(WireType type, const char* field);
  std::string string_field(WireType type, const char* field);
  std::string_view bytes_field(WireType type, const char* field);
  Reader message_field(WireType type, const char* field, std::string where);
  // Repeated scalars, packed (one Len payload) or not (one value per key).
  void append_int64s(WireType type, const char* field, std::vector<int64_t>& out);
  void append_floats(WireType type, const char* field, std::vector<float>& out);
  void append_doubles(WireType type, const char* field, std::vector<double>& out);

  const std::string& where() const { return where_; }
  size_t offset() const { return static_cast<size_t>(pos_ - origin_); }
  [[noreturn]] void fail(const std::string& what) const;

 private:
  void expect(WireType got, WireType want, const char* field) const;
  const uint8_t* origin_;
  const uint8_t* pos_;
  const uint8_t* end_;
  std::string where_;
};

// Builds a message as a list of pieces: bytes it owns, and references to memory the caller
// keeps alive until the bytes are written (tensor data is never copied). Nesting a message
// costs the length prefix plus a copy of the small owned pieces only.
class Writer {
 public:
  Writer() : pieces_(1) {}
  void varint(uint64_t v);
  void key(uint32_t field, WireType type);
  void int_field(uint32_t field, int64_t v);  // negative values take 10 bytes, as in protobuf
  void float_field(uint32_t field, float v);
  void bytes_field(uint32_t field, std::string_view v);  // copied
  void ref_field(uint32_t field, const void* data, size_t n);  // referenced, not copied
  void message_field(uint32_t field, const Writer& nested);
  void packed_int64s(uint32_t field, const std::vector<int64_t>& v);
  void packed_floats(uint32_t field, const std::vector<float>& v);

  uint64_t size() const { return size_; }
  std::string to_string() const;
  // Calls sink(data, n) for each piece in order.
  template <class Sink> void for_each(Sink&& sink) const {
    for (const Piece& p : pieces_) {
      if (p.ref) sink(p.ref, p.ref_size);
      else if (!p.owned.empty()) sink(p.owned.data(), p.owned.size());
    }
  }

 private:
  struct Piece {
    std::string owned;
    const char* ref = nullptr;
    size_t ref_size = 0;
  };
  void append(const void* data, size_t n);
  std::vector<Piece> pieces_;  // the last piece is always an owned one being appended to
  uint64_t size_ = 0;
};

// Size of the varint encoding of v.
size_t varint_size(uint64_t v);

}  // namespace onnx_wire
}  // namespace engine
