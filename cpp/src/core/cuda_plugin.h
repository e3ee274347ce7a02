// The CUDA plugin's C ABI. libengine has no CUDA dependency: the CUDA backend is its own
// library (libengine_cuda.so), opened with dlopen the first time a CUDA device is asked
// for. It exports one function, ENGINE_CUDA_PLUGIN_ENTRY, which returns this table of
// entry points for the API version libengine asks for (or NULL when it cannot serve it).
//
// ABI rules: a new version may only append members; libengine checks api_version and
// struct_size before using anything. Calls report failure by return value and leave the
// reason in last_error() (thread-local in the plugin); no C++ exception crosses these
// entry points. The kernel structs that kernels() hands out are the kernel tables' POD
// structs of function pointers (their size is checked per table); those kernels may throw
// engine::Error like any kernel.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "engine/export.h"

#define ENGINE_CUDA_PLUGIN_API_VERSION 1
#define ENGINE_CUDA_PLUGIN_ENTRY "engine_cuda_plugin"

extern "C" {

enum EngineCudaCopy { ENGINE_COPY_HOST_TO_DEVICE = 0, ENGINE_COPY_DEVICE_TO_HOST = 1,
                      ENGINE_COPY_DEVICE_TO_DEVICE = 2 };

// memory_stats() fills these, in this order.
enum EngineCudaStat { ENGINE_STAT_ALLOCATED_BYTES = 0, ENGINE_STAT_RESERVED_BYTES,
                      ENGINE_STAT_PEAK_ALLOCATED_BYTES, ENGINE_STAT_ALLOCATIONS,
                      ENGINE_STAT_CACHE_HITS, ENGINE_STAT_DEVICE_MALLOCS, ENGINE_STAT_COUNT };

typedef struct EngineCudaPluginApi {
  int api_version;
  size_t struct_size;
  // NULL when the backend is ready, else why it is not (no driver, no device, ...).
  const char* (*init)(void);
  int (*device_count)(void);
  // Makes `device` current on the calling thread; 0 on success.
  int (*set_device)(int device);
  // Device memory from the caching allocator; NULL when the device is out of memory even
  // after the cache was returned to the driver.
  void* (*allocate)(int device, size_t nbytes);
  void (*deallocate)(int device, void* data, size_t nbytes);
  // Ordered on the device's stream; copies to the host return once the bytes are there.
  int (*copy)(int device, void* dst, const void* src, size_t nbytes, int direction);
  int (*fill)(int device, void* dst, unsigned char value, size_t nbytes);
  int (*synchronize)(int device);
  const char* (*last_error)(void);
  void (*memory_stats)(int device, int64_t* stats, int count);
  void (*empty_cache)(void);
  // "gemm" = auto|own|cublas, "tf32" = 0|1; 0 on success.
  int (*set_option)(const char* key, const char* value);
  // "gemm" -> the GEMM in use (own|cublas), "tf32", "cublas" -> the library loaded or "".
  const char* (*option)(const char* key);
  // The kernel struct of one kernel table (by its name), NULL when the plugin has none.
  const void* (*kernels)(const char* table, size_t struct_size);
} EngineCudaPluginApi;

typedef const EngineCudaPluginApi* (*EngineCudaPluginEntryFn)(int api_version);

}  // extern "C"

namespace engine {

// The loaded plugin, or NULL (with the reason in cuda_plugin_unavailable_reason()).
// Loads it on the first call.
ENGINE_API const EngineCudaPluginApi* cuda_plugin();
// The CUDA kernels of a kernel table, NULL when there are none.
ENGINE_API const void* cuda_plugin_kernels(const char* table, size_t struct_size);

}  // namespace engine
