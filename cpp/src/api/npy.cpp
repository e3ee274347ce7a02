// NumPy's .npy format (numpy.lib.format): the magic "\x93NUMPY", a format version byte pair,
// the header's length (2 bytes little-endian in version 1.0, 4 bytes in 2.0 and 3.0), then
// the header, a Python dict literal padded with spaces and ended by '\n':
//
//   {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
//
// and then the array's bytes. Nothing is byte-swapped: files in the host's byte order are
// read, the others refused, so '<f4' is read on little-endian hosts (where '=f4' and '|f4'
// mean the same).
#include "engine/npy.h"

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>

#include "core/file_io.h"

namespace engine {
namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicSize = sizeof(kMagic) - 1;

bool little_endian_host() {
  const uint16_t one = 1;
  unsigned char first;
  std::memcpy(&first, &one, 1);
  return first == 1;
}

char native_order() { return little_endian_host() ? '<' : '>'; }

// A malformed or unsupported file: a Value-kind error naming the file and the problem.
template <class... Parts>
[[noreturn]] void bad(const std::string& path, const Parts&... problem) {
  fail(ErrorKind::Value, "npy: '", path, "': ", problem...);
}

struct Header {
  DType dtype = DType::Float32;
  Shape shape;
};

// The header dict, parsed as the small subset of Python literals numpy writes: string keys,
// and a string, a bool and a tuple of non-negative ints as values. Every one of the three
// keys must be present once, and no other key.
class HeaderParser {
 public:
  HeaderParser(const std::string& text, const std::string& path) : text_(text), path_(path) {}

  Header parse() {
    Header header;
    bool seen_descr = false, seen_order = false, seen_shape = false;
    expect('{', "the header's dict");
    while (!accept('}')) {
      const std::string key = string_literal("a key");
      expect(':', str("key '", key, "'"));
      if (key == "descr") {
        once(seen_descr, key);
        header.dtype = dtype(descr());
      } else if (key == "fortran_order") {
        once(seen_order, key);
        if (boolean())
          bad(path_, "the array is in Fortran order; save a C-order array "
                     "(np.save(path, np.ascontiguousarray(x)))");
      } else if (key == "shape") {
        once(seen_shape, key);
        header.shape = shape();
      } else {
        fail_at(str("unexpected key '", key, "'"));
      }
      // Entries are separated by commas; one may follow the last entry.
      if (!accept(',')) {
        expect('}', "the header's dict");
        break;
      }
    }
    skip_space();
    if (pos_ != text_.size()) fail_at("text after the header's dict");
    for (const auto& [seen, key] : {std::pair<bool, const char*>{seen_descr, "descr"},
                                    {seen_order, "fortran_order"},
                                    {seen_shape, "shape"}})
      if (!seen) bad(path_, "the header has no '", key, "' key");
    return header;
  }

 private:
  [[noreturn]] void fail_at(const std::string& problem) const {
    // The header as numpy wrote it, without its padding (and cut short if huge).
    std::string shown = text_.substr(0, text_.find_last_not_of(" \t\r\n") + 1);
    if (shown.size() > 200) shown = shown.substr(0, 200) + "...";
    bad(path_, "malformed header: ", problem, " at offset ", pos_, " of \"", shown, "\"");
  }

  void skip_space() {
    while (pos_ < text_.size() && std::strchr(" \t\r\n", text_[pos_]) != nullptr) ++pos_;
  }
  bool accept(char c) {
    skip_space();
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  void expect(char c, const std::string& after) {
    if (!accept(c)) fail_at(str("expected '", c, "' in ", after));
  }
  void once(bool& seen, const std::string& key) {
    if (seen) fail_at(str("key '", key, "' repeated"));
    seen = true;
  }

  // 'text' or "text", without escapes (numpy's keys and dtype strings have none).
  std::string string_literal(const char* what) {
    skip_space();
    if (pos_ >= text_.size() || (text_[pos_] != '\'' && text_[pos_] != '"'))
      fail_at(str("expected ", what, " (a string)"));
    const char quote = text_[pos_++];
    const size_t end = text_.find(quote, pos_);
    if (end == std::string::npos) fail_at("unterminated string");
    std::string value = text_.substr(pos_, end - pos_);
    if (value.find('\\') != std::string::npos) fail_at("escapes in strings are not supported");
    pos_ = end + 1;
    return value;
  }

  std::string descr() {
    skip_space();
    if (pos_ < text_.size() && text_[pos_] == '[')
      bad(path_, "structured dtypes are not supported; the engine reads float32 and int64 arrays");
    return string_literal("the dtype");
  }

  DType dtype(const std::string& descr) const {
    // The byte order character: the host's own, '=' (native) or '|' (not applicable).
    const bool native = !descr.empty() && (descr[0] == native_order() || descr[0] == '=' ||
                                           descr[0] == '|');
    const std::string code = native ? descr.substr(1) : "";
    if (code == "f4") return DType::Float32;
    if (code == "i8") return DType::Int64;
    if (descr == "|b1") return DType::Bool;
    if (!descr.empty() && (descr[0] == '<' || descr[0] == '>') && descr[0] != native_order() &&
        (descr.substr(1) == "f4" || descr.substr(1) == "i8"))
      bad(path_, "dtype '", descr, "' is ", descr[0] == '>' ? "big" : "little",
          "-endian, not this host's byte order; save it with x.astype(x.dtype.newbyteorder('='))");
    bad(path_, "dtype '", descr, "' is not supported; the engine reads float32 ('",
        native_order(), "f4'), int64 ('", native_order(), "i8') and bool ('|b1'), e.g. "
        "x.astype(np.float32)");
  }

  bool boolean() {
    skip_space();
    for (const auto& [word, value] : {std::pair<const char*, bool>{"True", true}, {"False", false}})
      if (text_.compare(pos_, std::strlen(word), word) == 0) {
        pos_ += std::strlen(word);
        return value;
      }
    fail_at("expected True or False");
  }

  int64_t dimension() {
    skip_space();
    const size_t start = pos_;
    int64_t value = 0;
    while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') {
      if (__builtin_mul_overflow(value, 10, &value) ||
          __builtin_add_overflow(value, text_[pos_] - '0', &value))
        fail_at("a dimension over 2^63 - 1");
      ++pos_;
    }
    if (pos_ == start) fail_at("expected a dimension (a non-negative integer)");
    return value;
  }

  // (), (7,), (2, 3) or (2, 3,). Python reads (7) as the int 7, not a tuple.
  Shape shape() {
    expect('(', "the shape");
    Shape dims;
    bool comma = false;  // after the last dimension
    while (!accept(')')) {
      if (!dims.empty() && !comma) fail_at("expected ',' or ')' in the shape");
      dims.push_back(dimension());
      comma = accept(',');
    }
    if (dims.size() == 1 && !comma)
      fail_at("a 1-dimensional shape without its trailing comma (n,)");
    return dims;
  }

  const std::string& text_;
  const std::string& path_;
  size_t pos_ = 0;
};

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};

// Reads exactly n bytes; a short read at the end of the file is a truncated file.
void read_exact(std::FILE* file, void* dst, size_t n, const std::string& path,
                const std::string& what) {
  errno = 0;
  if (std::fread(dst, 1, n, file) == n) return;
  if (std::ferror(file)) fail_os(errno ? errno : EIO, path, str("npy: cannot read '", path, "'"));
  bad(path, "truncated: the file ends inside ", what);
}

uint64_t little_endian_uint(const unsigned char* bytes, size_t n) {
  uint64_t value = 0;
  for (size_t k = n; k-- > 0;) value = value << 8 | bytes[k];
  return value;
}

std::string shape_literal(const Shape& shape) {
  std::string s = "(";
  for (size_t k = 0; k < shape.size(); ++k) s += (k ? ", " : "") + std::to_string(shape[k]);
  return s + (shape.size() == 1 ? ",)" : ")");
}

}  // namespace

Tensor npy_read(const std::string& path) {
  std::unique_ptr<std::FILE, FileCloser> file(std::fopen(path.c_str(), "rb"));
  if (!file) fail_os(errno, path, str("npy: cannot open '", path, "'"));
  std::error_code ec;
  const uint64_t file_size = std::filesystem::file_size(path, ec);
  if (ec) fail_os(ec.value(), path, str("npy: cannot read '", path, "'"));

  // The magic, the version and the header length.
  const char* not_npy = "not a .npy file (it does not start with \"\\x93NUMPY\")";
  unsigned char preamble[kMagicSize + 6];
  if (file_size < kMagicSize) bad(path, not_npy);
  read_exact(file.get(), preamble, kMagicSize, path, "the magic");
  if (std::memcmp(preamble, kMagic, kMagicSize) != 0) bad(path, not_npy);
  read_exact(file.get(), preamble + kMagicSize, 2, path, "the format version");
  const int major = preamble[kMagicSize], minor = preamble[kMagicSize + 1];
  if (major < 1 || major > 3 || minor != 0)
    bad(path, "format version ", major, ".", minor, " is not supported (1.0, 2.0 and 3.0 are)");
  const size_t length_size = major == 1 ? 2 : 4;
  read_exact(file.get(), preamble + kMagicSize + 2, length_size, path, "the header length");
  const uint64_t header_size = little_endian_uint(preamble + kMagicSize + 2, length_size);
  const uint64_t data_offset = kMagicSize + 2 + length_size + header_size;
  if (data_offset > file_size)
    bad(path, "the header length ", header_size, " goes past the end of the file (",
        file_size, " bytes)");

  std::string text(header_size, '\0');
  read_exact(file.get(), text.data(), text.size(), path, "the header");
  const Header header = HeaderParser(text, path).parse();

  int64_t nbytes = static_cast<int64_t>(dtype_size(header.dtype));
  for (int64_t d : header.shape)
    if (__builtin_mul_overflow(nbytes, d, &nbytes))
      bad(path, "the size of ", shape_str(header.shape), " overflows 64 bits");
  const uint64_t data_size = file_size - data_offset;
  if (data_size != static_cast<uint64_t>(nbytes))
    bad(path, data_size < static_cast<uint64_t>(nbytes) ? "truncated: " : "malformed: ",
        dtype_name(header.dtype), shape_str(header.shape), " needs ", nbytes,
        " bytes of data after the header, the file has ", data_size);

  Tensor tensor = Tensor::empty(header.shape, header.dtype);
  read_exact(file.get(), tensor.raw_data(), tensor.nbytes(), path, "the data");
  if (header.dtype == DType::Bool) {  // any non-zero byte is true: a bool holds only 0 or 1
    auto* bytes = static_cast<unsigned char*>(tensor.raw_data());
    for (int64_t k = 0; k < tensor.numel(); ++k) bytes[k] = bytes[k] != 0;
  }
  return tensor;
}

void npy_write(const std::string& path, const Tensor& tensor) {
  ENGINE_CHECK(tensor.defined(), "npy: cannot write an undefined tensor to '", path, "'");
  // Packed host bytes: a copy only for device tensors and strided views.
  const Tensor data = tensor.to(Device::cpu()).contiguous();
  const char* code = data.dtype() == DType::Float32 ? "f4" : data.dtype() == DType::Int64 ? "i8" : "b1";
  const char order = data.dtype() == DType::Bool ? '|' : native_order();
  std::string header = str("{'descr': '", order, code,
                           "', 'fortran_order': False, 'shape': ", shape_literal(data.shape()),
                           ", }");
  // The same bytes as np.save: room for the first dimension to grow in place (21 digits),
  // then spaces and a final '\n' up to the next multiple of 64 bytes (a full 64 when
  // already aligned); version 2.0 (a 4-byte length) only when version 1.0's 2-byte length
  // cannot hold the header.
  if (!data.shape().empty()) header.append(21 - std::to_string(data.shape()[0]).size(), ' ');
  const auto padding = [&](size_t prefix) { return 64 - (prefix + header.size() + 1) % 64; };
  const bool v1 = header.size() + 1 + padding(kMagicSize + 4) <= 0xFFFF;
  const size_t prefix = kMagicSize + (v1 ? 4 : 6);
  header.append(padding(prefix), ' ');
  header += '\n';

  unsigned char preamble[kMagicSize + 6];
  std::memcpy(preamble, kMagic, kMagicSize);
  preamble[kMagicSize] = v1 ? 1 : 2;
  preamble[kMagicSize + 1] = 0;
  for (size_t k = 0; k < prefix - kMagicSize - 2; ++k)
    preamble[kMagicSize + 2 + k] = static_cast<unsigned char>(header.size() >> (8 * k));
  atomic_write(path, "npy", [&](const ByteSink& sink) {
    sink(preamble, prefix);
    sink(header.data(), header.size());
    sink(data.raw_data(), data.nbytes());
  });
}

}  // namespace engine
