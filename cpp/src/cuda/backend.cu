// The CUDA plugin's entry point (core/cuda_plugin.h): devices, one stream per device, a
// caching allocator, copies, options and the kernel tables' CUDA entries.
#include <cuda_runtime.h>

#include <cstdio>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "core/cuda_plugin.h"
#include "cuda/cublas.h"
#include "cuda/launch.cuh"

namespace engine {

#define ENGINE_CUDA_KERNELS(table, entry) const void* entry(size_t* size);
#include "cuda/kernel_list.inc"
#undef ENGINE_CUDA_KERNELS

namespace {

constexpr int kMaxDevices = 64;
thread_local std::string t_last_error;
thread_local int t_device = 0;

int report(cudaError_t status, const char* what) {
  if (status == cudaSuccess) return 0;
  t_last_error = std::string(what) + ": " + cudaGetErrorString(status);
  cudaGetLastError();  // clear a non-sticky error so the next call starts clean
  return 1;
}

// Small blocks are rounded to 512 bytes, large ones to 2 MiB, so freed blocks fit later
// requests of about the same size; a block is reused only for its exact rounded size.
size_t rounded_size(size_t n) {
  constexpr size_t kSmall = 512, kLarge = size_t(2) << 20, kLargeFrom = size_t(1) << 20;
  if (n == 0) n = 1;
  const size_t unit = n < kLargeFrom ? kSmall : kLarge;
  return (n + unit - 1) / unit * unit;
}

// A caching allocator per device. Freed blocks go to the cache; the device's single stream
// orders every kernel and copy, so a block freed by the host may be handed out again at
// once: work that still reads it was queued earlier on the same stream.
struct DeviceState {
  std::mutex mutex;
  cudaStream_t stream = nullptr;
  // Pinned host memory that batches pass through on their way to and from the device:
  // copies from it run at full bus speed, and a copy to the device returns before it lands.
  std::mutex staging_mutex;
  void* staging = nullptr;
  size_t staging_bytes = 0;
  cudaEvent_t staging_free = nullptr;  // recorded after the last copy that read `staging`
  std::multimap<size_t, void*> free_blocks;  // rounded size -> block
  std::map<void*, size_t> live;              // block -> rounded size
  int64_t stats[ENGINE_STAT_COUNT] = {};
};

int g_device_count = 0;

void release_cache(DeviceState& d) {
  for (auto& kv : d.free_blocks) {
    cudaFree(kv.second);
    d.stats[ENGINE_STAT_RESERVED_BYTES] -= static_cast<int64_t>(kv.first);
  }
  d.free_blocks.clear();
}

struct ProbeBody {
  int* flag;
  __device__ void operator()(int64_t, int) const { *flag = 42; }
};

const char* plugin_init() {
  static std::string reason;
  static std::once_flag once;
  std::call_once(once, [] {
    int count = 0;
    const cudaError_t status = cudaGetDeviceCount(&count);
    if (status != cudaSuccess) {
      cudaGetLastError();
      reason = std::string("no usable CUDA driver or device (") + cudaGetErrorString(status) + ")";
      return;
    }
    if (count == 0) {
      reason = "no CUDA device is visible";
      return;
    }
    g_device_count = count < kMaxDevices ? count : kMaxDevices;
    // A device this build cannot run code on (its architecture is not compiled in) is as
    // good as none: probe with a kernel.
    int* flag = nullptr;
    if (cudaMalloc(&flag, sizeof(int)) != cudaSuccess) {
      cudaGetLastError();
      reason = "cannot allocate memory on CUDA device 0";
      g_device_count = 0;
      return;
    }
    DeviceGrid::launch(GridDims{1, 1}, ProbeBody{flag});
    // The launch stream does not synchronize with the legacy stream of cudaMemcpy: wait for
    // the kernel first, or a busy device hands back the flag before the kernel wrote it.
    cudaError_t status_after = cudaDeviceSynchronize();
    int value = 0;
    if (status_after == cudaSuccess)
      status_after = cudaMemcpy(&value, flag, sizeof(int), cudaMemcpyDeviceToHost);
    cudaFree(flag);
    if (status_after != cudaSuccess || value != 42) {
      cudaGetLastError();
      reason = std::string("CUDA device 0 cannot run this build's kernels (compiled for "
                           "another GPU architecture?): ") + cudaGetErrorString(status_after);
      g_device_count = 0;
    }
  });
  return reason.empty() ? nullptr : reason.c_str();
}

// Never destroyed: tensors freed while the process exits still find their device's cache.
DeviceState& device_state(int device) {
  static DeviceState* const states = new DeviceState[kMaxDevices];
  return states[device];
}

int plugin_device_count() { return g_device_count; }

int plugin_set_device(int device) {
  if (device < 0 || device >= g_device_count) {
    t_last_error = "no CUDA device " + std::to_string(device);
    return 1;
  }
  if (report(cudaSetDevice(device), "cudaSetDevice")) return 1;
  t_device = device;
  return 0;
}

void* plugin_allocate(int device, size_t nbytes) {
  if (plugin_set_device(device)) return nullptr;
  DeviceState& d = device_state(device);
  const size_t size = rounded_size(nbytes);
  std::lock_guard<std::mutex> lock(d.mutex);
  void* block = nullptr;
  auto it = d.free_blocks.find(size);
  if (it != d.free_blocks.end()) {
    block = it->second;
    d.free_blocks.erase(it);
    d.stats[ENGINE_STAT_CACHE_HITS] += 1;
  } else {
    if (cudaMalloc(&block, size) != cudaSuccess) {
      cudaGetLastError();
      release_cache(d);  // the cache may hold what this request needs
      if (report(cudaMalloc(&block, size), "cudaMalloc")) return nullptr;
    }
    d.stats[ENGINE_STAT_DEVICE_MALLOCS] += 1;
    d.stats[ENGINE_STAT_RESERVED_BYTES] += static_cast<int64_t>(size);
  }
  d.live[block] = size;
  d.stats[ENGINE_STAT_ALLOCATIONS] += 1;
  int64_t& allocated = d.stats[ENGINE_STAT_ALLOCATED_BYTES];
  allocated += static_cast<int64_t>(size);
  if (allocated > d.stats[ENGINE_STAT_PEAK_ALLOCATED_BYTES])
    d.stats[ENGINE_STAT_PEAK_ALLOCATED_BYTES] = allocated;
  return block;
}

void plugin_deallocate(int device, void* data, size_t) {
  if (!data || device < 0 || device >= g_device_count) return;
  DeviceState& d = device_state(device);
  std::lock_guard<std::mutex> lock(d.mutex);
  auto it = d.live.find(data);
  if (it == d.live.end()) return;
  d.stats[ENGINE_STAT_ALLOCATED_BYTES] -= static_cast<int64_t>(it->second);
  d.free_blocks.emplace(it->second, data);
  d.live.erase(it);
}

// Up to this many bytes go through the pinned staging buffer; larger copies go direct.
constexpr size_t kMaxStagingBytes = size_t(64) << 20;

// The staging buffer of `d`, at least `nbytes`, once the copies that read it have finished.
void* staging_buffer(DeviceState& d, size_t nbytes) {
  if (d.staging_free) cudaEventSynchronize(d.staging_free);
  if (d.staging_bytes >= nbytes) return d.staging;
  if (d.staging) cudaFreeHost(d.staging);
  d.staging = nullptr;
  d.staging_bytes = 0;
  if (cudaMallocHost(&d.staging, nbytes) != cudaSuccess) {
    cudaGetLastError();
    d.staging = nullptr;
    return nullptr;
  }
  if (!d.staging_free && cudaEventCreateWithFlags(&d.staging_free, cudaEventDisableTiming) != cudaSuccess) {
    cudaGetLastError();
    d.staging_free = nullptr;
  }
  d.staging_bytes = nbytes;
  return d.staging;
}

int plugin_copy(int device, void* dst, const void* src, size_t nbytes, int direction) {
  if (plugin_set_device(device)) return 1;
  if (nbytes == 0) return 0;
  cudaStream_t stream = cuda_stream();
  if (direction == ENGINE_COPY_DEVICE_TO_DEVICE)
    return report(cudaMemcpyAsync(dst, src, nbytes, cudaMemcpyDeviceToDevice, stream),
                  "cudaMemcpyAsync");
  DeviceState& d = device_state(device);
  std::lock_guard<std::mutex> lock(d.staging_mutex);
  void* staged = nbytes <= kMaxStagingBytes ? staging_buffer(d, nbytes) : nullptr;
  if (direction == ENGINE_COPY_HOST_TO_DEVICE) {
    if (!staged) {  // pageable: the call returns once the source has been read
      if (report(cudaMemcpyAsync(dst, src, nbytes, cudaMemcpyHostToDevice, stream), "copy to device"))
        return 1;
      return report(cudaStreamSynchronize(stream), "copy to device");
    }
    std::memcpy(staged, src, nbytes);
    if (report(cudaMemcpyAsync(dst, staged, nbytes, cudaMemcpyHostToDevice, stream), "copy to device"))
      return 1;
    // The caller may reuse `src` now; the staging buffer waits for the copy.
    return d.staging_free ? report(cudaEventRecord(d.staging_free, stream), "cudaEventRecord") : 0;
  }
  void* target = staged ? staged : dst;
  if (report(cudaMemcpyAsync(target, src, nbytes, cudaMemcpyDeviceToHost, stream), "copy to host") ||
      report(cudaStreamSynchronize(stream), "copy to host"))
    return 1;
  if (staged) std::memcpy(dst, staged, nbytes);
  return 0;
}

int plugin_fill(int device, void* dst, unsigned char value, size_t nbytes) {
  if (plugin_set_device(device)) return 1;
  return report(cudaMemsetAsync(dst, value, nbytes, cuda_stream()), "cudaMemsetAsync");
}

int plugin_synchronize(int device) {
  if (plugin_set_device(device)) return 1;
  return report(cudaStreamSynchronize(cuda_stream()), "cudaStreamSynchronize");
}

const char* plugin_last_error() { return t_last_error.c_str(); }

void plugin_memory_stats(int device, int64_t* out, int count) {
  if (device < 0 || device >= g_device_count) return;
  DeviceState& d = device_state(device);
  std::lock_guard<std::mutex> lock(d.mutex);
  for (int i = 0; i < count && i < ENGINE_STAT_COUNT; ++i) out[i] = d.stats[i];
}

void plugin_empty_cache() {
  for (int i = 0; i < g_device_count; ++i) {
    DeviceState& d = device_state(i);
    std::lock_guard<std::mutex> lock(d.mutex);
    if (d.free_blocks.empty()) continue;
    cudaSetDevice(i);
    if (d.stream) cudaStreamSynchronize(d.stream);
    release_cache(d);
  }
  cudaSetDevice(t_device);
}

int plugin_set_option(const char* key, const char* value) {
  const std::string k = key ? key : "", v = value ? value : "";
  if (k == "gemm") {
    if (!set_gemm_choice(v)) {
      t_last_error = v == "cublas" ? "cuBLAS cannot be loaded: " + cublas_unavailable_reason()
                                   : "unknown GEMM '" + v + "'";
      return 1;
    }
    return 0;
  }
  if (k == "tf32") {
    set_tf32(v == "1");
    return 0;
  }
  t_last_error = "unknown option '" + k + "'";
  return 1;
}

const char* plugin_option(const char* key) {
  const std::string k = key ? key : "";
  if (k == "gemm") return use_cublas() ? "cublas" : "own";
  if (k == "tf32") return tf32_enabled() ? "1" : "0";
  if (k == "cublas") return cublas_library();
  return "";
}

struct KernelEntry {
  const char* table;
  const void* (*get)(size_t*);
};

const KernelEntry kKernelEntries[] = {
#define ENGINE_CUDA_KERNELS(table, entry) {table, entry},
#include "cuda/kernel_list.inc"
#undef ENGINE_CUDA_KERNELS
};

const void* plugin_kernels(const char* table, size_t struct_size) {
  for (const KernelEntry& e : kKernelEntries) {
    if (std::strcmp(e.table, table) != 0) continue;
    size_t size = 0;
    const void* kernels = e.get(&size);
    return size == struct_size ? kernels : nullptr;
  }
  return nullptr;
}

const EngineCudaPluginApi kApi = {
    ENGINE_CUDA_PLUGIN_API_VERSION, sizeof(EngineCudaPluginApi), plugin_init,
    plugin_device_count, plugin_set_device, plugin_allocate, plugin_deallocate, plugin_copy,
    plugin_fill, plugin_synchronize, plugin_last_error, plugin_memory_stats,
    plugin_empty_cache, plugin_set_option, plugin_option, plugin_kernels,
};

}  // namespace

cudaStream_t cuda_stream() {
  DeviceState& d = device_state(t_device);
  std::lock_guard<std::mutex> lock(d.mutex);
  if (!d.stream) cuda_check(cudaStreamCreateWithFlags(&d.stream, cudaStreamNonBlocking), "stream");
  return d.stream;
}

void* cuda_scratch(size_t nbytes) {
  struct Scratch {
    void* data = nullptr;
    size_t bytes = 0;
    int device = -1;
    ~Scratch() {
      if (data) plugin_deallocate(device, data, bytes);
    }
  };
  thread_local Scratch per_device[kMaxDevices];
  Scratch& s = per_device[t_device];
  if (s.bytes >= nbytes && s.data) return s.data;
  if (s.data) plugin_deallocate(s.device, s.data, s.bytes);
  s.data = plugin_allocate(t_device, nbytes);
  if (!s.data) {
    s.bytes = 0;
    fail(ErrorKind::Memory, "out of memory: ", nbytes, " bytes of CUDA scratch on cuda:", t_device);
  }
  s.bytes = nbytes;
  s.device = t_device;
  return s.data;
}

void cuda_check(cudaError_t status, const char* what) {
  if (status == cudaSuccess) return;
  cudaGetLastError();
  fail(status == cudaErrorMemoryAllocation ? ErrorKind::Memory : ErrorKind::Runtime, "cuda: ",
       what, ": ", cudaGetErrorString(status));
}

}  // namespace engine

extern "C" __attribute__((visibility("default"))) const EngineCudaPluginApi* engine_cuda_plugin(
    int api_version) {
  return api_version == ENGINE_CUDA_PLUGIN_API_VERSION ? &engine::kApi : nullptr;
}
