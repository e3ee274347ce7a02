#include "engine/status.h"

#include <cstring>

namespace engine {

void fail_os(int os_errno, const std::string& path, const std::string& message) {
  throw Error(os_errno, path, message + ": " + std::strerror(os_errno));
}

}  // namespace engine
