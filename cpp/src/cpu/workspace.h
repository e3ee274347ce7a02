// Scratch memory that grows and is then reused: pack buffers of the GEMM, im2col matrices,
// per-thread partial sums. Kept thread_local by its users, so a step after the first
// allocates nothing.
#pragma once

#include <cstdint>
#include <cstdlib>

#include "engine/status.h"

namespace engine {

class Workspace {
 public:
  Workspace() = default;
  Workspace(const Workspace&) = delete;
  Workspace& operator=(const Workspace&) = delete;
  ~Workspace() { std::free(data_); }

  // At least `floats` floats, 64-byte aligned; contents are unspecified.
  float* get(int64_t floats) {
    if (floats > capacity_) {
      if (floats > PTRDIFF_MAX / static_cast<int64_t>(sizeof(float)))
        fail(ErrorKind::Memory, "cannot allocate ", floats, " floats of scratch memory");
      std::free(data_);
      data_ = nullptr;
      capacity_ = 0;
      const size_t bytes = (static_cast<size_t>(floats) * sizeof(float) + 63) / 64 * 64;
      data_ = static_cast<float*>(std::aligned_alloc(64, bytes));
      if (!data_) fail(ErrorKind::Memory, "cannot allocate ", bytes, " bytes of scratch memory");
      capacity_ = floats;
    }
    return data_;
  }

 private:
  float* data_ = nullptr;
  int64_t capacity_ = 0;
};

}  // namespace engine
