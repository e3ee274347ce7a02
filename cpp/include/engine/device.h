// Devices and their memory. A tensor's storage lives on one device; every device has an
// Allocator that owns its memory and copies bytes to and from the host.
//
// The CPU allocator is always there. A CUDA device's allocator is installed when the CUDA
// plugin loads (the first time a CUDA device is asked for); where it cannot load, asking
// for the device's memory is an error that says why.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "engine/export.h"

namespace engine {

enum class DeviceKind : int32_t { CPU = 0, CUDA = 1 };

struct ENGINE_API Device {
  DeviceKind kind = DeviceKind::CPU;
  int index = 0;

  static Device cpu() { return Device{DeviceKind::CPU, 0}; }
  static Device cuda(int index = 0) { return Device{DeviceKind::CUDA, index}; }
  // "cpu", "cuda", "cuda:1" (a ValueError-kind error for anything else).
  static Device parse(const std::string& text);

  bool is_cpu() const { return kind == DeviceKind::CPU; }
  std::string str() const;  // "cpu", "cuda:0"
  bool operator==(const Device& o) const { return kind == o.kind && index == o.index; }
  bool operator!=(const Device& o) const { return !(*this == o); }
};

// The memory of one device. Implementations allocate and free raw bytes and move bytes
// between the host and the device; the base class keeps the counters.
class ENGINE_API Allocator {
 public:
  virtual ~Allocator() = default;
  virtual Device device() const = 0;

  // At least `nbytes` bytes, 64-byte aligned (a Memory-kind error when that fails). Filled
  // with 0xFF bytes while poisoning is on, so unwritten outputs show up as NaN.
  void* allocate(size_t nbytes);
  void deallocate(void* data, size_t nbytes) noexcept;

  virtual void copy_from_host(void* dst, const void* src, size_t nbytes) = 0;
  virtual void copy_to_host(void* dst, const void* src, size_t nbytes) = 0;
  virtual void copy_within(void* dst, const void* src, size_t nbytes) = 0;
  virtual void fill_bytes(void* dst, unsigned char value, size_t nbytes) = 0;
  // Makes this device the calling thread's current one before kernels run on it.
  virtual void make_current() {}

  int64_t live_bytes() const { return live_bytes_.load(); }
  int64_t allocation_count() const { return allocations_.load(); }

  // Process-wide: new allocations of every device are poisoned (for tests).
  static void set_poison(bool on);
  static bool poison();

 protected:
  virtual void* raw_allocate(size_t nbytes) = 0;  // nullptr when out of memory
  virtual void raw_deallocate(void* data) noexcept = 0;

 private:
  std::atomic<int64_t> live_bytes_{0};
  std::atomic<int64_t> allocations_{0};
};

// The allocator of `device`: the CPU's always; a CUDA device's once the CUDA plugin has
// loaded (this loads it; a Runtime-kind error naming the device and the reason when it
// cannot).
ENGINE_API Allocator& allocator(Device device);
// Called by a device backend when it loads; the allocator must live until process exit.
ENGINE_API void register_allocator(Device device, Allocator* allocator);

}  // namespace engine
