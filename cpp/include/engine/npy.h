// NumPy's .npy files, the simplest way to move arrays between Python and a C++ program:
// np.save("x.npy", x) there, engine::npy_read("x.npy") here, and the reverse.
#pragma once

#include <string>

#include "engine/export.h"
#include "engine/tensor.h"

namespace engine {

// A float32 or int64 array in C order, little-endian (format versions 1 to 3). Anything
// else (other dtypes, Fortran order, truncated or malformed files) is a Value-kind error
// naming the file and the problem; a missing file is an OS-kind error.
ENGINE_API Tensor npy_read(const std::string& path);
// Writes a float32 or int64 tensor (version 1.0 header); the file is replaced atomically.
ENGINE_API void npy_write(const std::string& path, const Tensor& tensor);

}  // namespace engine
