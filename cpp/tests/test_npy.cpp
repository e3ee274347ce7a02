// engine::npy_read / npy_write against files numpy wrote (npy_cases.inc, made by
// make_npy_cases.py): the reader gives numpy's values, the writer numpy's exact bytes, and
// every malformed or unsupported file is an error naming the file and the problem.
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

#include <unistd.h>

#include "check.h"
#include "engine/npy.h"
#include "engine/tensor.h"

using engine::DType;
using engine::Error;
using engine::ErrorKind;
using engine::Shape;
using engine::Tensor;
namespace fs = std::filesystem;

namespace {

struct NumpyFile {
  const char* name;
  bool default_version;  // np.save's own choice of version, so npy_write must match it
  std::string bytes;
  DType dtype;
  Shape shape;
  std::vector<float> floats;
  std::vector<int64_t> ints;
};

struct NumpyReject {
  const char* name;
  std::string bytes;
  const char* message;  // a part of the expected error message
};

#include "npy_cases.inc"

const fs::path& scratch() {
  static const fs::path dir = [] {
    fs::path d = fs::temp_directory_path() / ("engine_test_npy_" + std::to_string(getpid()));
    fs::create_directories(d);
    return d;
  }();
  return dir;
}

std::string put(const std::string& name, const std::string& bytes) {
  const std::string path = (scratch() / name).string();
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

std::string contents(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

Tensor tensor_of(const NumpyFile& c) {
  Tensor t = Tensor::empty(c.shape, c.dtype);
  for (int64_t k = 0; k < t.numel(); ++k) {
    if (c.dtype == DType::Float32) t.data<float>()[k] = c.floats[k];
    else t.data<int64_t>()[k] = c.ints[k];
  }
  return t;
}

bool same(const Tensor& a, const Tensor& b) {
  if (a.dtype() != b.dtype() || a.shape() != b.shape()) return false;
  const Tensor pa = a.contiguous(), pb = b.contiguous();
  for (int64_t k = 0; k < a.numel(); ++k) {
    if (a.dtype() == DType::Float32 ? pa.data<float>()[k] != pb.data<float>()[k]
                                    : pa.data<int64_t>()[k] != pb.data<int64_t>()[k])
      return false;
  }
  return true;
}

// The error `fn` throws (a failed CHECK and nothing when it throws none).
template <class Fn>
std::optional<Error> error_of(Fn&& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e;
  }
  return std::nullopt;
}

// npy_read(bytes in a file) fails with a Value-kind error naming the file and `message`.
void check_rejected(const std::string& name, const std::string& bytes, const std::string& message) {
  const std::string path = put(name + ".npy", bytes);
  const std::optional<Error> e = error_of([&] { engine::npy_read(path); });
  CHECK(e.has_value());
  if (!e) return;
  const std::string what = e->what();
  const bool ok = e->kind() == ErrorKind::Value && what.find(path) != std::string::npos &&
                  what.find(message) != std::string::npos;
  if (!ok) std::printf("  %s: expected a Value error with \"%s\", got: %s\n", name.c_str(),
                       message.c_str(), what.c_str());
  CHECK(ok);
}

// `bytes` with its header (version 1.0) replaced by `header` (which gets its '\n').
std::string with_header(const std::string& bytes, std::string header) {
  header += '\n';
  const size_t old_size = 10 + (uint8_t(bytes[8]) | uint8_t(bytes[9]) << 8);
  std::string out = bytes.substr(0, 8);
  out += char(header.size() & 0xFF);
  out += char(header.size() >> 8);
  return out + header + bytes.substr(old_size);
}

const NumpyFile& numpy_case(const std::string& name) {
  for (const NumpyFile& c : kNumpyFiles)
    if (name == c.name) return c;
  std::abort();
}

}  // namespace

TEST_CASE(reads_the_files_numpy_writes) {
  for (const NumpyFile& c : kNumpyFiles) {
    const Tensor t = engine::npy_read(put("numpy.npy", c.bytes));
    const bool ok = same(t, tensor_of(c));
    if (!ok) std::printf("  %s: read %s\n", c.name, t.describe().c_str());
    CHECK(ok);
  }
}

TEST_CASE(writes_the_bytes_numpy_writes) {
  for (const NumpyFile& c : kNumpyFiles) {
    if (!c.default_version) continue;
    const std::string path = (scratch() / "ours.npy").string();
    engine::npy_write(path, tensor_of(c));
    const bool ok = contents(path) == c.bytes;
    if (!ok) std::printf("  %s: the bytes differ from np.save's\n", c.name);
    CHECK(ok);
  }
}

TEST_CASE(round_trips) {
  for (const Shape& shape : {Shape{}, Shape{0}, Shape{7}, Shape{2, 3, 5}}) {
    Tensor f = Tensor::empty(shape, DType::Float32);
    Tensor i = Tensor::empty(shape, DType::Int64);
    for (int64_t k = 0; k < f.numel(); ++k) {
      f.data<float>()[k] = 0.37f * float(k) - 5.0f;
      i.data<int64_t>()[k] = (k - 3) * (int64_t(1) << 40) + k;
    }
    for (const Tensor& t : {f, i}) {
      const std::string path = (scratch() / "round.npy").string();
      engine::npy_write(path, t);
      CHECK(same(engine::npy_read(path), t));
    }
  }
}

TEST_CASE(writes_version_2_when_the_header_needs_it) {
  // 30,000 dims of 1 need a header over version 1.0's 65,535 bytes.
  const Tensor t = Tensor::full(Shape(30000, 1), 4.5f);
  const std::string path = (scratch() / "wide.npy").string();
  engine::npy_write(path, t);
  const std::string bytes = contents(path);
  CHECK(bytes[6] == 2 && bytes[7] == 0);
  CHECK(bytes.size() % 64 == 4);  // the data (one float) starts at a multiple of 64
  CHECK(same(engine::npy_read(path), t));
}

TEST_CASE(writes_views_packed) {
  // A transposed view is written in its own (logical) C order.
  Tensor t = tensor_of(numpy_case("float32 (2, 3, 5)")).transpose(0, 2);
  const std::string path = (scratch() / "view.npy").string();
  engine::npy_write(path, t);
  const Tensor back = engine::npy_read(path);
  CHECK((back.shape() == Shape{5, 3, 2}));
  CHECK(same(back, t));
}

TEST_CASE(reads_native_byte_order_spellings) {
  // '|' (not applicable) and '=' (native) mean little-endian on this host.
  const NumpyFile& c = numpy_case("float32 (2, 3, 5)");
  for (const char* order : {"|", "="}) {
    std::string bytes = c.bytes;
    bytes.replace(bytes.find("'<f4'"), 5, std::string("'") + order + "f4'");
    CHECK(same(engine::npy_read(put("order.npy", bytes)), tensor_of(c)));
  }
}

TEST_CASE(reads_other_header_spellings) {
  // Other valid Python literals for the same dict: key order, quotes, spacing, commas.
  const NumpyFile& c = numpy_case("float32 (2, 3, 5)");
  for (const char* header : {"{'shape': (2, 3, 5), 'fortran_order': False, 'descr': '<f4'}",
                             "{\"descr\":\"<f4\",\"fortran_order\":False,\"shape\":(2,3,5,)}",
                             "  { 'descr' : '<f4' ,\t'fortran_order' : False ,"
                             " 'shape' : ( 2 , 3 , 5 ) , }  "})
    CHECK(same(engine::npy_read(put("spelling.npy", with_header(c.bytes, header))), tensor_of(c)));
}

TEST_CASE(rejects_what_numpy_writes_but_the_engine_does_not_read) {
  for (const NumpyReject& r : kNumpyRejects) check_rejected(r.name, r.bytes, r.message);
}

TEST_CASE(rejects_malformed_files) {
  const std::string good = numpy_case("float32 (2, 3, 5)").bytes;
  const std::string vector = numpy_case("int64 (7,)").bytes;
  std::string magic = good;
  magic[1] = 'M';
  check_rejected("wrong magic", magic, "not a .npy file");
  check_rejected("empty", "", "not a .npy file");
  check_rejected("short", good.substr(0, 4), "not a .npy file");
  check_rejected("no version", good.substr(0, 7), "truncated");
  check_rejected("no header length", good.substr(0, 9), "truncated");
  check_rejected("truncated data", good.substr(0, good.size() - 1), "truncated");
  check_rejected("no data", good.substr(0, 128), "truncated");
  check_rejected("extra data", good + '\0', "after the header, the file has 121");
  std::string past = good;
  past[8] = '\xff';
  past[9] = '\xff';
  check_rejected("header length past the end", past, "header length 65535 goes past the end");
  check_rejected("truncated header", good.substr(0, 60), "goes past the end");
  for (const char* version : {"\x04\x00", "\x01\x01", "\x00\x00"}) {
    std::string v = good;
    v.replace(6, 2, version, 2);
    check_rejected("version", v, "format version");
  }
  const auto header = [&](const char* name, const char* text, const char* message) {
    check_rejected(name, with_header(vector, text), message);
  };
  header("not a tuple", "{'descr': '<i8', 'fortran_order': False, 'shape': (7)}", "trailing comma");
  header("negative dim", "{'descr': '<i8', 'fortran_order': False, 'shape': (-7,)}",
         "expected a dimension");
  header("missing key", "{'descr': '<i8', 'fortran_order': False}", "no 'shape' key");
  header("extra key", "{'descr': '<i8', 'fortran_order': False, 'shape': (7,), 'x': 1}",
         "unexpected key 'x'");
  header("repeated key", "{'descr': '<i8', 'descr': '<i8', 'fortran_order': False, 'shape': (7,)}",
         "repeated");
  header("no dict", "'descr': '<i8'", "expected '{'");
  header("unclosed", "{'descr': '<i8', 'fortran_order': False, 'shape': (7,)", "expected '}'");
  header("trailing text", "{'descr': '<i8', 'fortran_order': False, 'shape': (7,)} x",
         "text after the header");
  header("not a bool", "{'descr': '<i8', 'fortran_order': 0, 'shape': (7,)}", "True or False");
  header("structured", "{'descr': [('a', '<i8')], 'fortran_order': False, 'shape': (7,)}",
         "structured dtypes");
  header("wrong size", "{'descr': '<i8', 'fortran_order': False, 'shape': (8,)}",
         "int64[8] needs 64 bytes");
  header("huge dim", "{'descr': '<i8', 'fortran_order': False, 'shape': (99999999999999999999,)}",
         "over 2^63");
  header("huge size", "{'descr': '<i8', 'fortran_order': False, 'shape': (4611686018427387904, 4)}",
         "overflows");
}

TEST_CASE(file_errors_are_os_errors) {
  const std::string missing = (scratch() / "missing.npy").string();
  std::optional<Error> e = error_of([&] { engine::npy_read(missing); });
  CHECK(e && e->kind() == ErrorKind::OS && e->os_errno() == ENOENT && e->path() == missing);
  e = error_of([&] { engine::npy_read(scratch().string()); });  // a directory
  CHECK(e && e->kind() == ErrorKind::OS);

  const std::string nowhere = (scratch() / "no_such_dir" / "x.npy").string();
  e = error_of([&] { engine::npy_write(nowhere, Tensor::full({2}, 1.0f)); });
  CHECK(e && e->kind() == ErrorKind::OS && e->path() == nowhere);
  e = error_of([&] { engine::npy_write((scratch() / "u.npy").string(), Tensor()); });
  CHECK(e && e->kind() == ErrorKind::Value);
}

TEST_CASE(writes_replace_files_whole) {
  const std::string path = (scratch() / "replace.npy").string();
  engine::npy_write(path, Tensor::full({1000}, 1.0f));
  engine::npy_write(path, Tensor::full({3}, 2.0f));
  CHECK(same(engine::npy_read(path), Tensor::full({3}, 2.0f)));
  CHECK(!fs::exists(path + ".tmp"));
}

int main() {
  const int rc = check::run_all();
  fs::remove_all(scratch());
  return rc;
}
