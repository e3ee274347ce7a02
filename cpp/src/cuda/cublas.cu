// cuBLAS, opened with dlopen the first time a GEMM asks for it (cuda/cublas.h). No cuBLAS
// header or library is needed to build the plugin: the few entry points used are declared
// here from cuBLAS's C ABI, which is the same in cuBLAS 11, 12 and 13.
//
// cuBLAS is column-major: a row-major C[M,N] is the column-major C^T[N,M], so
// C = op(A) op(B) is computed as C^T = op(B)^T op(A)^T, i.e. cuBLAS gets (B, A) swapped,
// m = N and n = M, with the same transpose flags and leading dimensions.
#include <cuda_runtime.h>
#include <dlfcn.h>

#include <algorithm>
#include <atomic>
#include <climits>
#include <cstdlib>
#include <mutex>
#include <string>
#include <vector>

#include "cuda/cublas.h"
#include "cuda/launch.cuh"
#include "engine/status.h"

namespace engine {

namespace {

// ---- the declarations of cublas_api.h we need ----------------------------------------
struct cublasContext;
using cublasHandle_t = cublasContext*;
using cublasStatus_t = int;  // CUBLAS_STATUS_SUCCESS = 0
constexpr int kOpN = 0, kOpT = 1;             // cublasOperation_t
constexpr int kDefaultMath = 0;               // CUBLAS_DEFAULT_MATH: full float32 precision
constexpr int kTf32Math = 3;                  // CUBLAS_TF32_TENSOR_OP_MATH
// (CUBLAS_PEDANTIC_MATH, 2, also forbids reduced-precision internals but is documented as
// slower and meant for numerical studies; the default mode already keeps float32's
// mantissa, which is what "TF32 off" promises.)

using CreateFn = cublasStatus_t (*)(cublasHandle_t*);
using SetStreamFn = cublasStatus_t (*)(cublasHandle_t, cudaStream_t);
using SetMathModeFn = cublasStatus_t (*)(cublasHandle_t, int);
using SgemmFn = cublasStatus_t (*)(cublasHandle_t, int, int, int, int, int, const float*,
                                   const float*, int, const float*, int, const float*, float*,
                                   int);
using SgemmStridedBatchedFn = cublasStatus_t (*)(cublasHandle_t, int, int, int, int, int,
                                                 const float*, const float*, int, long long,
                                                 const float*, int, long long, const float*,
                                                 float*, int, long long, int);

struct Library {
  void* handle = nullptr;
  std::string path;    // the file loaded
  std::string reason;  // why none was, when none was
  CreateFn create = nullptr;
  SetStreamFn set_stream = nullptr;
  SetMathModeFn set_math_mode = nullptr;
  SgemmFn sgemm = nullptr;
  SgemmStridedBatchedFn sgemm_strided_batched = nullptr;
};

// The folder holding this plugin (with a trailing '/'), "" when unknown.
std::string plugin_folder() {
  Dl_info info{};
  if (!dladdr(reinterpret_cast<void*>(&cublas_unavailable_reason), &info) || !info.dli_fname)
    return "";
  const std::string self = info.dli_fname;
  const size_t slash = self.rfind('/');
  return slash == std::string::npos ? "" : self.substr(0, slash + 1);
}

// The candidates in order: $ENGINE_CUBLAS; the pip packages beside the engine package
// (site-packages/nvidia/... next to site-packages/engine/, where the plugin is); then the
// dynamic loader's own search.
std::vector<std::string> candidates() {
  std::vector<std::string> out;
  if (const char* env = std::getenv("ENGINE_CUBLAS"))
    if (*env) out.push_back(env);
  const std::string here = plugin_folder();
  if (!here.empty()) {
    for (const char* rel : {"../nvidia/cu13/lib/libcublas.so.13",
                            "../nvidia/cublas/lib/libcublas.so.13",
                            "../nvidia/cublas/lib/libcublas.so.12"})
      out.push_back(here + rel);
  }
  for (const char* name : {"libcublas.so.13", "libcublas.so.12", "libcublas.so"})
    out.push_back(name);
  return out;
}

template <class Fn>
bool bind(void* handle, const char* name, Fn& fn) {
  fn = reinterpret_cast<Fn>(dlsym(handle, name));
  return fn != nullptr;
}

const Library& library() {
  static Library lib;
  static std::once_flag once;
  std::call_once(once, [] {
    std::string tried;
    for (const std::string& path : candidates()) {
      void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
      if (!handle) {
        const char* why = dlerror();
        tried += (tried.empty() ? "" : "; ") + std::string(why ? why : path);
        continue;
      }
      Library l;
      l.handle = handle;
      if (!bind(handle, "cublasCreate_v2", l.create) ||
          !bind(handle, "cublasSetStream_v2", l.set_stream) ||
          !bind(handle, "cublasSetMathMode", l.set_math_mode) ||
          !bind(handle, "cublasSgemm_v2", l.sgemm) ||
          !bind(handle, "cublasSgemmStridedBatched", l.sgemm_strided_batched)) {
        tried += (tried.empty() ? "" : "; ") + path + ": not a usable cuBLAS (missing symbols)";
        dlclose(handle);
        continue;
      }
      // The file the loader actually opened (a bare soname resolves to a full path).
      Dl_info info{};
      l.path = dladdr(reinterpret_cast<void*>(l.sgemm), &info) && info.dli_fname
                   ? info.dli_fname : path;
      lib = l;
      return;
    }
    lib.reason = "libcublas could not be opened (" + tried + ")";
  });
  return lib;
}

bool loaded() { return library().handle != nullptr; }

enum class Choice { Auto, Own, Cublas };
std::atomic<Choice> g_choice{Choice::Auto};
std::atomic<bool> g_tf32{false};

// One handle per device, created on first use on that device and bound to its stream (a
// device has one stream for its whole life). Handles are never destroyed: at exit the
// CUDA runtime tears itself down in an order a static destructor cannot rely on. The
// mutex also serializes the calls, since a handle's math mode is shared state.
constexpr int kMaxDevices = 64;
struct DeviceHandle {
  cublasHandle_t handle = nullptr;
  int math = -1;
};
std::mutex g_mutex;
DeviceHandle g_handles[kMaxDevices];

void check(cublasStatus_t status, const char* what) {
  if (status != 0) fail(ErrorKind::Runtime, "cuBLAS: ", what, " failed with status ", status);
}

int to_int(int64_t v, const char* what) {
  if (v < 0 || v > INT_MAX) fail(ErrorKind::Value, "cuBLAS: ", what, " ", v, " does not fit an int");
  return static_cast<int>(v);
}

void sgemm(const GemmArgs& g, int64_t count, int64_t stride_a, int64_t stride_b,
           int64_t stride_c) {
  if (g.M <= 0 || g.N <= 0 || count <= 0) return;
  const Library& lib = library();
  if (!lib.handle) fail(ErrorKind::Runtime, "cuBLAS: ", lib.reason);
  int device = 0;
  cuda_check(cudaGetDevice(&device), "cudaGetDevice");
  if (device < 0 || device >= kMaxDevices) fail(ErrorKind::Runtime, "cuBLAS: device ", device);
  cudaStream_t stream = cuda_stream();

  // Column-major view: C^T[N, M] = op(B)^T[N, K] op(A)^T[K, M].
  const int m = to_int(g.N, "N"), n = to_int(g.M, "M"), k = to_int(g.K, "K");
  int lda = to_int(g.ldb, "ldb"), ldb = to_int(g.lda, "lda"), ldc = to_int(g.ldc, "ldc");
  const int op_a = g.trans_b ? kOpT : kOpN, op_b = g.trans_a ? kOpT : kOpN;
  if (k == 0) {  // nothing is read; cuBLAS still checks the leading dimensions
    lda = std::max(lda, std::max(1, op_a == kOpN ? m : k));
    ldb = std::max(ldb, std::max(1, op_b == kOpN ? k : n));
  }
  const int batch = to_int(count, "batch count");

  std::lock_guard<std::mutex> lock(g_mutex);
  DeviceHandle& h = g_handles[device];
  if (!h.handle) {
    check(lib.create(&h.handle), "cublasCreate");
    check(lib.set_stream(h.handle, stream), "cublasSetStream");
  }
  const int math = g_tf32.load() ? kTf32Math : kDefaultMath;
  if (h.math != math) {
    check(lib.set_math_mode(h.handle, math), "cublasSetMathMode");
    h.math = math;
  }
  const float alpha = g.alpha, beta = g.beta;
  if (batch == 1) {
    check(lib.sgemm(h.handle, op_a, op_b, m, n, k, &alpha, g.B, lda, g.A, ldb, &beta, g.C, ldc),
          "cublasSgemm");
  } else {
    check(lib.sgemm_strided_batched(h.handle, op_a, op_b, m, n, k, &alpha, g.B, lda, stride_b,
                                    g.A, ldb, stride_a, &beta, g.C, ldc, stride_c, batch),
          "cublasSgemmStridedBatched");
  }
}

}  // namespace

bool set_gemm_choice(const std::string& choice) {
  if (choice == "auto") {
    g_choice = Choice::Auto;
  } else if (choice == "own") {
    g_choice = Choice::Own;
  } else if (choice == "cublas") {
    if (!loaded()) return false;
    g_choice = Choice::Cublas;
  } else {
    return false;
  }
  return true;
}

bool use_cublas() { return g_choice.load() != Choice::Own && loaded(); }

void set_tf32(bool on) { g_tf32 = on; }

bool tf32_enabled() { return g_tf32.load(); }

const char* cublas_library() { return loaded() ? library().path.c_str() : ""; }

std::string cublas_unavailable_reason() { return library().reason; }

void cublas_sgemm(const GemmArgs& args) { sgemm(args, 1, 0, 0, 0); }

void cublas_sgemm_batched(const GemmArgs& args, int64_t count, int64_t stride_a,
                          int64_t stride_b, int64_t stride_c) {
  sgemm(args, count, stride_a, stride_b, stride_c);
}

}  // namespace engine
