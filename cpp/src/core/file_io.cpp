#include "core/file_io.h"

#include <cerrno>
#include <cstdio>

#include "engine/status.h"

namespace engine {

void atomic_write(const std::string& path, const char* what,
                  const std::function<void(const ByteSink& sink)>& emit) {
  const std::string tmp = path + ".tmp";
  std::FILE* file = std::fopen(tmp.c_str(), "wb");
  if (!file) fail_os(errno, path, str(what, ": cannot open '", tmp, "' for writing"));
  int err = 0;  // the first write error; later pieces are skipped
  try {
    emit([&](const void* data, size_t n) {
      if (err == 0 && n > 0 && std::fwrite(data, 1, n, file) != n) err = errno ? errno : EIO;
    });
  } catch (...) {
    std::fclose(file);
    std::remove(tmp.c_str());
    throw;
  }
  if (std::fflush(file) != 0 && err == 0) err = errno;
  if (std::fclose(file) != 0 && err == 0) err = errno;
  if (err != 0) {
    std::remove(tmp.c_str());
    fail_os(err, path, str(what, ": cannot write '", tmp, "'"));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    err = errno;
    std::remove(tmp.c_str());
    fail_os(err, path, str(what, ": cannot rename '", tmp, "' to '", path, "'"));
  }
}

}  // namespace engine
