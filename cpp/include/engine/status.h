// Errors: every bad input becomes an engine::Error carrying a kind and a precise message.
// The kind decides the Python exception class (ValueError, TypeError, MemoryError, ...);
// a failed file operation also carries errno and the path, as OSError does.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>
#include <type_traits>

#include "engine/export.h"

namespace engine {

enum class ErrorKind {
  Value,     // wrong shape, out-of-range attribute, malformed data  -> ValueError
  Type,      // wrong dtype                                          -> TypeError
  Memory,    // allocation failure                                   -> MemoryError
  Runtime,   // anything else (I/O, internal invariant)              -> RuntimeError
  NotImplemented,  // a valid request this build cannot serve       -> NotImplementedError
  OS,        // a file operation failed (errno, path)    -> OSError: FileNotFoundError, ...
  FloatingPoint,  // a computation went non-finite (NaN gradients) -> FloatingPointError
};

class ENGINE_API Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  // An OS-kind error: `os_errno` as errno reported it, `path` the file it concerns.
  Error(int os_errno, const std::string& path, const std::string& message)
      : std::runtime_error(message), kind_(ErrorKind::OS), os_errno_(os_errno), path_(path) {}
  ErrorKind kind() const noexcept { return kind_; }
  int os_errno() const noexcept { return os_errno_; }  // 0 unless kind() is OS
  const std::string& path() const noexcept { return path_; }

 private:
  ErrorKind kind_;
  int os_errno_ = 0;
  std::string path_;
};

namespace detail {
// Text and integers are appended directly; anything else (floats) goes through a stream,
// as it prints. Kernels name their operands with str() on every call, and a stream costs
// a locale's set-up each time.
inline void append_one(std::string& s, const std::string& v) { s += v; }
inline void append_one(std::string& s, const char* v) { s += v; }
inline void append_one(std::string& s, char v) { s += v; }
inline void append_one(std::string& s, bool v) { s += v ? '1' : '0'; }
template <class T>
void append_one(std::string& s, const T& v) {
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, signed char> &&
                !std::is_same_v<T, unsigned char>) {  // (streams print those as characters)
    s += std::to_string(v);
  } else {
    std::ostringstream os;
    os << v;
    s += os.str();
  }
}
inline void append(std::string&) {}
template <class T, class... Rest>
void append(std::string& s, const T& value, const Rest&... rest) {
  append_one(s, value);
  append(s, rest...);
}
}  // namespace detail

// Builds a message from any streamable pieces: str("conv: got ", n, " dims").
template <class... Parts>
std::string str(const Parts&... parts) {
  std::string s;
  detail::append(s, parts...);
  return s;
}

template <class... Parts>
[[noreturn]] void fail(ErrorKind kind, const Parts&... parts) {
  throw Error(kind, str(parts...));
}

// A failed file operation: fail_os(errno, path, str("onnx: cannot open '", path, "'"))
// throws an OS-kind error whose message ends with ": " and strerror(os_errno).
[[noreturn]] ENGINE_API void fail_os(int os_errno, const std::string& path,
                                     const std::string& message);

}  // namespace engine

// ENGINE_CHECK(cond, "op: ", details...) throws a ValueError-kind error when cond is false.
#define ENGINE_CHECK(cond, ...)                                          \
  do {                                                                   \
    if (!(cond)) ::engine::fail(::engine::ErrorKind::Value, __VA_ARGS__); \
  } while (0)
#define ENGINE_CHECK_TYPE(cond, ...)                                    \
  do {                                                                  \
    if (!(cond)) ::engine::fail(::engine::ErrorKind::Type, __VA_ARGS__); \
  } while (0)
