// Loading the CUDA plugin and the host side of its devices: the allocator every CUDA
// tensor's storage comes from, and the engine::cuda functions.
#include <dlfcn.h>
#include <unistd.h>

#include <cstdlib>
#include <memory>
#include <mutex>
#include <vector>

#include "core/cuda_plugin.h"
#include "engine/cuda.h"
#include "engine/device.h"
#include "engine/runtime.h"
#include "engine/status.h"

namespace engine {

namespace {

// Device memory through the plugin. Copies that touch the host block until done; the
// rest is ordered on the device's stream.
class CudaAllocator final : public Allocator {
 public:
  CudaAllocator(const EngineCudaPluginApi* api, int index) : api_(api), index_(index) {}
  Device device() const override { return Device::cuda(index_); }
  void copy_from_host(void* dst, const void* src, size_t n) override {
    check(api_->copy(index_, dst, src, n, ENGINE_COPY_HOST_TO_DEVICE), "copy to");
  }
  void copy_to_host(void* dst, const void* src, size_t n) override {
    check(api_->copy(index_, dst, src, n, ENGINE_COPY_DEVICE_TO_HOST), "copy from");
  }
  void copy_within(void* dst, const void* src, size_t n) override {
    check(api_->copy(index_, dst, src, n, ENGINE_COPY_DEVICE_TO_DEVICE), "copy within");
  }
  void fill_bytes(void* dst, unsigned char value, size_t n) override {
    check(api_->fill(index_, dst, value, n), "fill on");
  }
  void make_current() override { check(api_->set_device(index_), "select"); }

 protected:
  void* raw_allocate(size_t nbytes) override { return api_->allocate(index_, nbytes); }
  void raw_deallocate(void* data) noexcept override { api_->deallocate(index_, data, 0); }

 private:
  void check(int rc, const char* what) const {
    if (rc != 0) fail(ErrorKind::Runtime, "cuda: ", what, " ", device().str(), ": ", api_->last_error());
  }
  const EngineCudaPluginApi* api_;
  int index_;
};

struct Plugin {
  const EngineCudaPluginApi* api = nullptr;
  std::string reason;  // why api is null
  bool library_found = false;
  std::vector<std::unique_ptr<CudaAllocator>> allocators;
};

// The plugin's path: $ENGINE_CUDA_PLUGIN, else libengine_cuda.so beside libengine, else
// the loader's search path.
std::vector<std::string> plugin_candidates() {
  std::vector<std::string> paths;
  if (const char* env = std::getenv("ENGINE_CUDA_PLUGIN")) {
    if (*env) paths.push_back(env);
    return paths;
  }
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&cuda_plugin), &info) && info.dli_fname) {
    std::string self = info.dli_fname;
    const size_t slash = self.rfind('/');
    if (slash != std::string::npos) paths.push_back(self.substr(0, slash + 1) + "libengine_cuda.so");
  }
  paths.push_back("libengine_cuda.so");
  return paths;
}

Plugin load_plugin() {
  Plugin p;
  void* handle = nullptr;
  std::string failures;  // of plugin files that exist but do not load
  for (const std::string& path : plugin_candidates()) {
    handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle) break;
    const char* e = dlerror();
    const bool exists = path.find('/') == std::string::npos ? false : access(path.c_str(), F_OK) == 0;
    if (exists) failures += (failures.empty() ? "" : "; ") + std::string(e ? e : path);
  }
  if (!handle) {
    p.reason = failures.empty()
                   ? "this build has no CUDA backend (no libengine_cuda.so beside libengine)"
                   : "the CUDA plugin cannot be loaded: " + failures;
    return p;
  }
  p.library_found = true;
  auto entry = reinterpret_cast<EngineCudaPluginEntryFn>(dlsym(handle, ENGINE_CUDA_PLUGIN_ENTRY));
  const EngineCudaPluginApi* api = entry ? entry(ENGINE_CUDA_PLUGIN_API_VERSION) : nullptr;
  if (!api || api->api_version != ENGINE_CUDA_PLUGIN_API_VERSION ||
      api->struct_size < sizeof(EngineCudaPluginApi)) {
    p.reason = str("the CUDA plugin does not serve API version ", ENGINE_CUDA_PLUGIN_API_VERSION,
                   " (it belongs to another build of the engine)");
    return p;
  }
  if (const char* why = api->init()) {
    p.reason = why;
    return p;
  }
  const int count = api->device_count();
  if (count <= 0) {
    p.reason = "no CUDA device is visible";
    return p;
  }
  p.api = api;
  for (int i = 0; i < count; ++i) {
    p.allocators.push_back(std::make_unique<CudaAllocator>(api, i));
    register_allocator(Device::cuda(i), p.allocators.back().get());
  }
  return p;
}

const Plugin& plugin() {
  static const Plugin p = load_plugin();  // thread-safe, once
  return p;
}

const EngineCudaPluginApi& ready_api() {
  const Plugin& p = plugin();
  if (!p.api) fail(ErrorKind::Runtime, "CUDA is not available: ", p.reason);
  return *p.api;
}

void check_option(int rc, const char* key) {
  if (rc != 0) fail(ErrorKind::Value, "cuda: ", key, ": ", ready_api().last_error());
}

}  // namespace

const EngineCudaPluginApi* cuda_plugin() { return plugin().api; }

const void* cuda_plugin_kernels(const char* table, size_t struct_size) {
  const EngineCudaPluginApi* api = cuda_plugin();
  return api ? api->kernels(table, struct_size) : nullptr;
}

int cuda_device_count() {
  const Plugin& p = plugin();
  return p.api ? static_cast<int>(p.allocators.size()) : 0;
}

bool cuda_built() { return plugin().library_found; }

namespace cuda {

bool is_available() { return cuda_plugin() != nullptr; }
std::string unavailable_reason() { return plugin().reason; }
int device_count() { return cuda_device_count(); }

MemoryStats memory_stats(int device) {
  const EngineCudaPluginApi& api = ready_api();
  ENGINE_CHECK(device >= 0 && device < cuda_device_count(), "cuda.memory_stats: no device ", device);
  int64_t s[ENGINE_STAT_COUNT] = {};
  api.memory_stats(device, s, ENGINE_STAT_COUNT);
  MemoryStats m;
  m.allocated_bytes = s[ENGINE_STAT_ALLOCATED_BYTES];
  m.reserved_bytes = s[ENGINE_STAT_RESERVED_BYTES];
  m.peak_allocated_bytes = s[ENGINE_STAT_PEAK_ALLOCATED_BYTES];
  m.allocations = s[ENGINE_STAT_ALLOCATIONS];
  m.cache_hits = s[ENGINE_STAT_CACHE_HITS];
  m.device_mallocs = s[ENGINE_STAT_DEVICE_MALLOCS];
  return m;
}

void empty_cache() {
  if (const EngineCudaPluginApi* api = cuda_plugin()) api->empty_cache();
}

void synchronize(int device) {
  const EngineCudaPluginApi& api = ready_api();
  if (api.synchronize(device) != 0) fail(ErrorKind::Runtime, "cuda: ", api.last_error());
}

void set_gemm(const std::string& which) {
  ENGINE_CHECK(which == "auto" || which == "own" || which == "cublas",
               "cuda.set_gemm: expected 'auto', 'own' or 'cublas', got '", which, "'");
  check_option(ready_api().set_option("gemm", which.c_str()), "set_gemm");
}

std::string gemm() { return ready_api().option("gemm"); }

void allow_tf32(bool allow) { check_option(ready_api().set_option("tf32", allow ? "1" : "0"), "allow_tf32"); }

bool tf32_allowed() { return std::string(ready_api().option("tf32")) == "1"; }

}  // namespace cuda

}  // namespace engine
