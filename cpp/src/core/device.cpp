#include "engine/device.h"

#include "engine/cuda.h"
#include "engine/runtime.h"

#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>

#include "core/cuda_plugin.h"
#include "engine/status.h"

namespace engine {

Device Device::parse(const std::string& text) {
  if (text == "cpu") return cpu();
  if (text == "cuda") return cuda(0);
  const std::string prefix = "cuda:";
  if (text.compare(0, prefix.size(), prefix) == 0 && text.size() > prefix.size() &&
      text.size() <= prefix.size() + 4 &&
      text.find_first_not_of("0123456789", prefix.size()) == std::string::npos)
    return cuda(std::stoi(text.substr(prefix.size())));
  fail(ErrorKind::Value, "unknown device '", text, "' (expected 'cpu', 'cuda' or 'cuda:N')");
}

std::string Device::str() const {
  switch (kind) {
    case DeviceKind::CPU:
      return "cpu";
    case DeviceKind::CUDA:
      return "cuda:" + std::to_string(index);
  }
  return "device(" + std::to_string(static_cast<int>(kind)) + ")";
}

namespace {

std::atomic<bool> g_poison{false};
constexpr size_t kAlignment = 64;

// Host memory: aligned_alloc, plain memcpy for every copy.
class CpuAllocator final : public Allocator {
 public:
  Device device() const override { return Device::cpu(); }
  void copy_from_host(void* dst, const void* src, size_t n) override { std::memcpy(dst, src, n); }
  void copy_to_host(void* dst, const void* src, size_t n) override { std::memcpy(dst, src, n); }
  void copy_within(void* dst, const void* src, size_t n) override { std::memmove(dst, src, n); }
  void fill_bytes(void* dst, unsigned char value, size_t n) override { std::memset(dst, value, n); }

 protected:
  void* raw_allocate(size_t nbytes) override {
    size_t rounded = (nbytes + kAlignment - 1) / kAlignment * kAlignment;
    return std::aligned_alloc(kAlignment, rounded == 0 ? kAlignment : rounded);
  }
  void raw_deallocate(void* data) noexcept override { std::free(data); }
};

struct AllocatorRegistry {
  std::mutex mutex;
  std::map<std::pair<int, int>, Allocator*> devices;
};

AllocatorRegistry& registry() {
  static AllocatorRegistry r;
  return r;
}

}  // namespace

void Allocator::set_poison(bool on) { g_poison = on; }
bool Allocator::poison() { return g_poison.load(); }

void* Allocator::allocate(size_t nbytes) {
  // The rounding to the alignment below must not wrap.
  if (nbytes > SIZE_MAX - kAlignment)
    fail(ErrorKind::Memory, "out of memory: ", nbytes, " bytes requested on ", device().str());
  void* p = raw_allocate(nbytes);
  if (!p)
    fail(ErrorKind::Memory, "out of memory allocating ", nbytes, " bytes on ", device().str());
  if (g_poison.load() && nbytes > 0) fill_bytes(p, 0xFF, nbytes);
  live_bytes_ += static_cast<int64_t>(nbytes);
  allocations_ += 1;
  return p;
}

void Allocator::deallocate(void* data, size_t nbytes) noexcept {
  raw_deallocate(data);
  live_bytes_ -= static_cast<int64_t>(nbytes);
}

Allocator& allocator(Device device) {
  if (device.is_cpu()) {
    static CpuAllocator cpu;
    return cpu;
  }
  if (device.kind == DeviceKind::CUDA) cuda_plugin();  // registers its devices when it loads
  AllocatorRegistry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  auto it = r.devices.find({static_cast<int>(device.kind), device.index});
  if (it == r.devices.end()) {
    if (device.kind == DeviceKind::CUDA && cuda_device_count() > 0)
      fail(ErrorKind::Value, "device ", device.str(), " does not exist (", cuda_device_count(),
           " CUDA device(s))");
    fail(ErrorKind::Runtime, "device ", device.str(), " is not available: ",
         device.kind == DeviceKind::CUDA ? cuda::unavailable_reason() : "no backend for it");
  }
  return *it->second;
}

void register_allocator(Device device, Allocator* alloc) {
  ENGINE_CHECK(alloc != nullptr && alloc->device() == device, "register_allocator: allocator for ",
               alloc ? alloc->device().str() : "null", " registered as ", device.str());
  ENGINE_CHECK(!device.is_cpu(), "register_allocator: the CPU allocator is built in");
  AllocatorRegistry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  r.devices[{static_cast<int>(device.kind), device.index}] = alloc;
}

}  // namespace engine
