// Tensor: a typed, strided view of reference-counted storage on one device.
//
// Storage comes from its device's Allocator (engine/device.h) and is 64-byte aligned. A
// tensor may also wrap memory owned by someone else (a numpy array) through Storage::wrap,
// which keeps the owner alive until the last view goes away: that is how numpy arrays
// cross into the core without a copy. Element access from the host (data<T>() on CPU
// tensors, fill, strided copies) is for CPU tensors; Tensor::to moves data between devices.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/device.h"
#include "engine/export.h"
#include "engine/status.h"

namespace engine {

// Values follow ONNX TensorProto.DataType so that import/export copies the code.
// Bool holds one byte per element, 0 or 1 (C++ bool).
enum class DType : int32_t { Float32 = 1, Int64 = 7, Bool = 9 };

ENGINE_API size_t dtype_size(DType dtype);
ENGINE_API const char* dtype_name(DType dtype);

template <class T> struct dtype_of;
template <> struct dtype_of<float> { static constexpr DType value = DType::Float32; };
template <> struct dtype_of<int64_t> { static constexpr DType value = DType::Int64; };
template <> struct dtype_of<bool> { static constexpr DType value = DType::Bool; };

using Shape = std::vector<int64_t>;

ENGINE_API int64_t shape_numel(const Shape& shape);  // throws on negative dims or overflow
// shape_numel(shape) * dtype_size(dtype), checked against overflow of size_t.
ENGINE_API size_t shape_nbytes(const Shape& shape, DType dtype);
ENGINE_API Shape contiguous_strides(const Shape& shape);  // row-major, in elements
ENGINE_API std::string shape_str(const Shape& shape);     // "[2, 3, 7]"

class ENGINE_API Storage {
 public:
  // 64-byte aligned, uninitialised, from the device's allocator. Throws a Memory-kind
  // error when allocation fails.
  static std::shared_ptr<Storage> allocate(size_t nbytes, Device device = Device::cpu());
  // Borrow memory owned elsewhere; `release` runs when the last reference goes away.
  static std::shared_ptr<Storage> wrap(void* data, size_t nbytes, std::function<void()> release,
                                       Device device = Device::cpu());

  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() const { return data_; }
  size_t nbytes() const { return nbytes_; }
  Device device() const { return device_; }
  bool owned() const { return allocator_ != nullptr; }

  // When on, new allocations are filled with 0xFF bytes (NaN floats, -1 ints) so that a
  // kernel that forgets to write part of its output is caught by tests.
  static void set_poison(bool on);

  // Counters of host storage the core allocated itself (not wrapped memory).
  static int64_t live_bytes();
  static int64_t allocation_count();

 private:
  Storage(void* data, size_t nbytes, Device device, Allocator* allocator,
          std::function<void()> release)
      : data_(data), nbytes_(nbytes), device_(device), allocator_(allocator),
        release_(std::move(release)) {}
  void* data_;
  size_t nbytes_;
  Device device_;
  Allocator* allocator_;           // owner of data_; null for wrapped memory
  std::function<void()> release_;  // runs for wrapped memory
};

class ENGINE_API Tensor {
 public:
  Tensor() = default;  // undefined tensor: defined() is false

  static Tensor empty(const Shape& shape, DType dtype = DType::Float32,
                      Device device = Device::cpu());
  static Tensor zeros(const Shape& shape, DType dtype = DType::Float32,
                      Device device = Device::cpu());
  static Tensor full(const Shape& shape, float value);
  // A view of existing memory. Strides are in elements and may be negative or zero;
  // the caller guarantees every addressed element lies inside `storage`.
  static Tensor from_storage(std::shared_ptr<Storage> storage, int64_t offset_bytes,
                             const Shape& shape, const Shape& strides, DType dtype);

  bool defined() const { return storage_ != nullptr; }
  DType dtype() const { return dtype_; }
  Device device() const { return storage_ ? storage_->device() : Device::cpu(); }
  const Shape& shape() const { return shape_; }
  const Shape& strides() const { return strides_; }
  int ndim() const { return static_cast<int>(shape_.size()); }
  int64_t dim(int axis) const;  // negative axes count from the end
  int64_t numel() const { return numel_; }
  size_t nbytes() const { return static_cast<size_t>(numel_) * dtype_size(dtype_); }
  bool is_contiguous() const;
  const std::shared_ptr<Storage>& storage() const { return storage_; }
  int64_t offset_bytes() const { return offset_; }

  void* raw_data() const;
  template <class T> T* data() const {
    ENGINE_CHECK_TYPE(dtype_ == dtype_of<T>::value, "tensor holds ", dtype_name(dtype_),
                      ", not ", dtype_name(dtype_of<T>::value));
    return static_cast<T*>(raw_data());
  }

  // Views (no copy).
  Tensor reshape(const Shape& shape) const;  // one dim may be -1; copies when not contiguous
  Tensor permute(const std::vector<int>& axes) const;
  Tensor transpose(int a, int b) const;
  Tensor slice(int axis, int64_t start, int64_t stop, int64_t step = 1) const;

  Tensor contiguous() const;  // this tensor if already contiguous, else a packed copy
  Tensor clone() const;       // always a packed copy, on the same device
  // This tensor on `device`: itself when it is already there, else a packed copy.
  Tensor to(Device device) const;
  // Same shape and dtype. Any strides on the CPU; across devices both must be contiguous.
  void copy_from(const Tensor& src);
  void fill(float value);             // float32, CPU only

  std::string describe() const;  // "float32[2, 3]"

 private:
  std::shared_ptr<Storage> storage_;
  int64_t offset_ = 0;  // bytes from storage start
  Shape shape_, strides_;
  int64_t numel_ = 0;
  DType dtype_ = DType::Float32;
};

// Argument checks shared by every kernel; `what` names the op and argument ("conv: x").
ENGINE_API void check_float32(const Tensor& t, const char* what);
ENGINE_API void check_contiguous(const Tensor& t, const char* what);
ENGINE_API void check_ndim(const Tensor& t, int ndim, const char* what);
// defined + float32 + C-contiguous, the precondition of nearly every CPU kernel.
ENGINE_API void check_dense_float(const Tensor& t, const char* what);

}  // namespace engine
