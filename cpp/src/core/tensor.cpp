#include "engine/tensor.h"

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <limits>

namespace engine {

size_t dtype_size(DType dtype) {
  switch (dtype) {
    case DType::Float32: return 4;
    case DType::Int64: return 8;
    case DType::Bool: return 1;
  }
  fail(ErrorKind::Type, "unknown dtype code ", static_cast<int>(dtype));
}

const char* dtype_name(DType dtype) {
  switch (dtype) {
    case DType::Float32: return "float32";
    case DType::Int64: return "int64";
    case DType::Bool: return "bool";
  }
  return "unknown";
}

int64_t shape_numel(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    ENGINE_CHECK(d >= 0, "negative dimension in shape ", shape_str(shape));
    // The message only on failure (built for every dim, it made this quadratic in the rank).
    if (__builtin_mul_overflow(n, d, &n))
      fail(ErrorKind::Value, "the element count of shape ", shape_str(shape), " overflows 64 bits");
  }
  return n;
}

size_t shape_nbytes(const Shape& shape, DType dtype) {
  const int64_t n = shape_numel(shape);
  const size_t esize = dtype_size(dtype);
  // Allocators cannot hand out more than PTRDIFF_MAX bytes (pointer differences must fit).
  if (static_cast<uint64_t>(n) > static_cast<uint64_t>(PTRDIFF_MAX) / esize)
    fail(ErrorKind::Value, "shape ", shape_str(shape), " of ", dtype_name(dtype),
         " needs more bytes than memory can address");
  return static_cast<size_t>(n) * esize;
}

Shape contiguous_strides(const Shape& shape) {
  Shape strides(shape.size(), 1);
  // An empty tensor addresses nothing; its other dims may be huge, so skip the products.
  for (int64_t d : shape)
    if (d == 0) return strides;
  int64_t s = 1;
  for (size_t i = shape.size(); i-- > 0;) {
    strides[i] = s;
    if (i > 0 && __builtin_mul_overflow(s, shape[i], &s))
      fail(ErrorKind::Value, "the strides of shape ", shape_str(shape), " overflow 64 bits");
  }
  return strides;
}

std::string shape_str(const Shape& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

// ---- Storage ----------------------------------------------------------------------

void Storage::set_poison(bool on) { Allocator::set_poison(on); }

std::shared_ptr<Storage> Storage::allocate(size_t nbytes, Device device) {
  Allocator& a = allocator(device);
  void* p = a.allocate(nbytes);
  return std::shared_ptr<Storage>(new Storage(p, nbytes, device, &a, nullptr));
}

std::shared_ptr<Storage> Storage::wrap(void* data, size_t nbytes, std::function<void()> release,
                                       Device device) {
  if (!release) release = [] {};
  return std::shared_ptr<Storage>(new Storage(data, nbytes, device, nullptr, std::move(release)));
}

Storage::~Storage() {
  if (allocator_)
    allocator_->deallocate(data_, nbytes_);
  else
    release_();
}

int64_t Storage::live_bytes() { return allocator(Device::cpu()).live_bytes(); }
int64_t Storage::allocation_count() { return allocator(Device::cpu()).allocation_count(); }

// ---- Tensor -----------------------------------------------------------------------

Tensor Tensor::empty(const Shape& shape, DType dtype, Device device) {
  const size_t bytes = shape_nbytes(shape, dtype);
  return from_storage(Storage::allocate(bytes, device), 0, shape, contiguous_strides(shape),
                      dtype);
}

Tensor Tensor::zeros(const Shape& shape, DType dtype, Device device) {
  Tensor t = empty(shape, dtype, device);
  allocator(device).fill_bytes(t.raw_data(), 0, t.nbytes());
  return t;
}

Tensor Tensor::full(const Shape& shape, float value) {
  Tensor t = empty(shape, DType::Float32);
  t.fill(value);
  return t;
}

Tensor Tensor::from_storage(std::shared_ptr<Storage> storage, int64_t offset_bytes,
                            const Shape& shape, const Shape& strides, DType dtype) {
  ENGINE_CHECK(storage != nullptr, "tensor: null storage");
  ENGINE_CHECK(shape.size() == strides.size(), "tensor: shape ", shape_str(shape),
               " and strides ", shape_str(strides), " differ in rank");
  Tensor t;
  t.storage_ = std::move(storage);
  t.offset_ = offset_bytes;
  t.shape_ = shape;
  t.strides_ = strides;
  t.numel_ = shape_numel(shape);
  t.dtype_ = dtype;
  (void)dtype_size(dtype);  // rejects unknown codes
  return t;
}

int64_t Tensor::dim(int axis) const {
  int n = ndim();
  ENGINE_CHECK(axis >= -n && axis < n, "axis ", axis, " out of range for ", describe());
  return shape_[axis < 0 ? axis + n : axis];
}

bool Tensor::is_contiguous() const {
  if (numel_ == 0) return true;  // nothing to address: any strides describe it
  int64_t expected = 1;
  for (size_t i = shape_.size(); i-- > 0;) {
    if (shape_[i] == 1) continue;
    if (strides_[i] != expected) return false;
    expected *= shape_[i];
  }
  return true;
}

void* Tensor::raw_data() const {
  ENGINE_CHECK(defined(), "use of an undefined tensor");
  return static_cast<char*>(storage_->data()) + offset_;
}

Tensor Tensor::reshape(const Shape& shape) const {
  Shape out = shape;
  int infer = -1;
  int64_t known = 1;
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i] == -1) {
      ENGINE_CHECK(infer < 0, "reshape: more than one -1 in ", shape_str(shape));
      infer = static_cast<int>(i);
    } else {
      ENGINE_CHECK(out[i] >= 0, "reshape: invalid dimension in ", shape_str(shape));
      known *= out[i];
    }
  }
  if (infer >= 0) {
    ENGINE_CHECK(known != 0 && numel_ % known == 0, "reshape: cannot reshape ", describe(),
                 " to ", shape_str(shape));
    out[infer] = numel_ / known;
  }
  ENGINE_CHECK(shape_numel(out) == numel_, "reshape: cannot reshape ", describe(), " to ",
               shape_str(shape));
  const Tensor base = is_contiguous() ? *this : contiguous();
  return from_storage(base.storage_, base.offset_, out, contiguous_strides(out), dtype_);
}

Tensor Tensor::permute(const std::vector<int>& axes) const {
  ENGINE_CHECK(static_cast<int>(axes.size()) == ndim(), "permute: ", axes.size(),
               " axes for ", describe());
  std::vector<bool> seen(axes.size(), false);
  Shape shape(axes.size()), strides(axes.size());
  for (size_t i = 0; i < axes.size(); ++i) {
    int a = axes[i] < 0 ? axes[i] + ndim() : axes[i];
    ENGINE_CHECK(a >= 0 && a < ndim() && !seen[a], "permute: invalid axes for ", describe());
    seen[a] = true;
    shape[i] = shape_[a];
    strides[i] = strides_[a];
  }
  return from_storage(storage_, offset_, shape, strides, dtype_);
}

Tensor Tensor::transpose(int a, int b) const {
  std::vector<int> axes(ndim());
  for (int i = 0; i < ndim(); ++i) axes[i] = i;
  a = a < 0 ? a + ndim() : a;
  b = b < 0 ? b + ndim() : b;
  ENGINE_CHECK(a >= 0 && a < ndim() && b >= 0 && b < ndim(), "transpose: axes out of range for ",
               describe());
  std::swap(axes[a], axes[b]);
  return permute(axes);
}

Tensor Tensor::slice(int axis, int64_t start, int64_t stop, int64_t step) const {
  int n = ndim();
  ENGINE_CHECK(axis >= -n && axis < n, "slice: axis ", axis, " out of range for ", describe());
  if (axis < 0) axis += n;
  ENGINE_CHECK(step > 0, "slice: step must be positive, got ", step);
  int64_t d = shape_[axis];
  start = std::max<int64_t>(0, std::min(start < 0 ? start + d : start, d));
  stop = std::max<int64_t>(0, std::min(stop < 0 ? stop + d : stop, d));
  int64_t count = stop > start ? (stop - start + step - 1) / step : 0;
  Shape shape = shape_, strides = strides_;
  shape[axis] = count;
  strides[axis] = strides_[axis] * step;
  int64_t offset = offset_ + start * strides_[axis] * static_cast<int64_t>(dtype_size(dtype_));
  return from_storage(storage_, offset, shape, strides, dtype_);
}

Tensor Tensor::contiguous() const {
  if (is_contiguous()) return *this;
  return clone();
}

Tensor Tensor::clone() const {
  Tensor out = empty(shape_, dtype_, device());
  out.copy_from(*this);
  return out;
}

Tensor Tensor::to(Device target) const {
  ENGINE_CHECK(defined(), "to(", target.str(), "): the tensor is undefined");
  if (device() == target) return *this;
  Tensor out = empty(shape_, dtype_, target);
  out.copy_from(*this);
  return out;
}

void Tensor::copy_from(const Tensor& src) {
  ENGINE_CHECK(src.shape_ == shape_, "copy: shape ", shape_str(src.shape_), " into ",
               shape_str(shape_));
  ENGINE_CHECK_TYPE(src.dtype_ == dtype_, "copy: dtype ", dtype_name(src.dtype_), " into ",
                    dtype_name(dtype_));
  const Device from = src.device(), into = device();
  if (!from.is_cpu() || !into.is_cpu()) {
    ENGINE_CHECK(is_contiguous() && src.is_contiguous(), "copy from ", from.str(), " to ",
                 into.str(), ": both tensors must be contiguous, got ", src.describe(), " and ",
                 describe());
    if (from == into)
      allocator(into).copy_within(raw_data(), src.raw_data(), nbytes());
    else if (from.is_cpu())
      allocator(into).copy_from_host(raw_data(), src.raw_data(), nbytes());
    else if (into.is_cpu())
      allocator(from).copy_to_host(raw_data(), src.raw_data(), nbytes());
    else
      copy_from(src.to(Device::cpu()));
    return;
  }
  const size_t esize = dtype_size(dtype_);
  if (is_contiguous() && src.is_contiguous()) {
    std::memmove(raw_data(), src.raw_data(), nbytes());
    return;
  }
  // Generic strided copy: walk a multi-index over the shape.
  const int n = ndim();
  std::vector<int64_t> index(n, 0);
  char* dst = static_cast<char*>(raw_data());
  const char* s = static_cast<const char*>(src.raw_data());
  for (int64_t i = 0; i < numel_; ++i) {
    int64_t doff = 0, soff = 0;
    for (int k = 0; k < n; ++k) {
      doff += index[k] * strides_[k];
      soff += index[k] * src.strides_[k];
    }
    std::memcpy(dst + doff * static_cast<int64_t>(esize), s + soff * static_cast<int64_t>(esize),
                esize);
    for (int k = n - 1; k >= 0; --k) {
      if (++index[k] < shape_[k]) break;
      index[k] = 0;
    }
  }
}

void Tensor::fill(float value) {
  check_float32(*this, "fill");
  check_contiguous(*this, "fill");
  ENGINE_CHECK(device().is_cpu(), "fill: the tensor is on ", device().str(), ", not the CPU");
  float* p = data<float>();
  for (int64_t i = 0; i < numel_; ++i) p[i] = value;
}

std::string Tensor::describe() const {
  if (!defined()) return "undefined tensor";
  const std::string where = device().is_cpu() ? "" : " on " + device().str();
  return str(dtype_name(dtype_), shape_str(shape_), where);
}

void check_float32(const Tensor& t, const char* what) {
  ENGINE_CHECK(t.defined(), what, " is missing");
  ENGINE_CHECK_TYPE(t.dtype() == DType::Float32, what, " must be float32, got ",
                    dtype_name(t.dtype()));
}

void check_contiguous(const Tensor& t, const char* what) {
  ENGINE_CHECK(t.is_contiguous(), what, " must be C-contiguous, got ", t.describe(),
               " with strides ", shape_str(t.strides()));
}

void check_ndim(const Tensor& t, int ndim, const char* what) {
  ENGINE_CHECK(t.ndim() == ndim, what, " must have rank ", ndim, ", got ", t.describe());
}

void check_dense_float(const Tensor& t, const char* what) {
  check_float32(t, what);
  check_contiguous(t, what);
}

}  // namespace engine
