#include "engine/threads.h"

#include <algorithm>
#include <atomic>
#include <exception>
#include <thread>

#include "engine/status.h"

#ifdef ENGINE_HAVE_OPENMP
#include <omp.h>
#endif

namespace engine {

namespace {
int default_threads() {
  unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : static_cast<int>(n);
}
std::atomic<int> g_threads{default_threads()};
}  // namespace

void set_num_threads(int n) {
  ENGINE_CHECK(n >= 1, "set_num_threads: need at least 1 thread, got ", n);
  g_threads = n;
}

int get_num_threads() { return g_threads.load(); }

void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  grain = std::max<int64_t>(grain, 1);
  const int64_t max_chunks = (n + grain - 1) / grain;
  const int threads = static_cast<int>(std::min<int64_t>(get_num_threads(), max_chunks));
#ifdef ENGINE_HAVE_OPENMP
  if (threads > 1 && !omp_in_parallel()) {
    // One contiguous range per thread: kernels keep their inner loops cache-friendly.
    // Exceptions cannot cross an OpenMP region, so the first one is carried out.
    std::exception_ptr error;
#pragma omp parallel num_threads(threads)
    {
      const int t = omp_get_thread_num();
      const int nt = omp_get_num_threads();
      const int64_t begin = n * t / nt, end = n * (t + 1) / nt;
      if (begin < end) {
        try {
          fn(begin, end);
        } catch (...) {
#pragma omp critical(engine_parallel_for_error)
          if (!error) error = std::current_exception();
        }
      }
    }
    if (error) std::rethrow_exception(error);
    return;
  }
#endif
  fn(0, n);
}

}  // namespace engine
