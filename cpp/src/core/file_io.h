// Files written whole or not at all, shared by every writer of the library (ONNX models and
// their external data, .npy arrays, optimizer state).
#pragma once

#include <cstddef>
#include <functional>
#include <string>

namespace engine {

// Receives the file's bytes in order, in pieces of any size.
using ByteSink = std::function<void(const void* data, size_t size)>;

// Calls emit(sink), which passes the file's bytes to sink; they go to `path`.tmp, which
// is renamed over `path` once complete, so a reader never sees a partial file. On any
// failure (including an exception from emit) the temporary file is removed and `path` is
// left as it was. File errors are OS-kind and start with `what` ("onnx", "npy").
void atomic_write(const std::string& path, const char* what,
                  const std::function<void(const ByteSink& sink)>& emit);

}  // namespace engine
