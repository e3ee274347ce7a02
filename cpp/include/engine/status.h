// Errors: every bad input becomes an engine::Error carrying a kind and a precise message.
// The kind decides the Python exception class (ValueError, TypeError, MemoryError, ...).
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

#include "engine/export.h"

namespace engine {

enum class ErrorKind {
  Value,     // wrong shape, out-of-range attribute, malformed data  -> ValueError
  Type,      // wrong dtype                                          -> TypeError
  Memory,    // allocation failure                                   -> MemoryError
  Runtime,   // anything else (I/O, internal invariant)              -> RuntimeError
  NotImplemented,  // a valid request this build cannot serve       -> NotImplementedError
};

class ENGINE_API Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  ErrorKind kind() const noexcept { return kind_; }

 private:
  ErrorKind kind_;
};

namespace detail {
inline void append(std::ostringstream&) {}
template <class T, class... Rest>
void append(std::ostringstream& os, const T& value, const Rest&... rest) {
  os << value;
  append(os, rest...);
}
}  // namespace detail

// Builds a message from any streamable pieces: str("conv: got ", n, " dims").
template <class... Parts>
std::string str(const Parts&... parts) {
  std::ostringstream os;
  detail::append(os, parts...);
  return os.str();
}

template <class... Parts>
[[noreturn]] void fail(ErrorKind kind, const Parts&... parts) {
  throw Error(kind, str(parts...));
}

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
