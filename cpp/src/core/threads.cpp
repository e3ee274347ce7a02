// parallel_for on a persistent pool of worker threads.
//
// Idle workers spin for a few microseconds and then sleep on a condition variable, so a
// pool costs nothing while the process does other work, and a worker that the OS has not
// scheduled (the other core busy) never holds a job up: the caller runs chunk 0, then it
// and the workers claim the others from one counter, so the caller runs the chunks of
// workers that have not woken yet. A call made while the pool runs another job (a nested
// call, or another user thread's) runs serially in its own thread.
#include "engine/threads.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "engine/status.h"

#if defined(__x86_64__) || defined(_M_X64) || defined(__i386__) || defined(_M_IX86)
#include <immintrin.h>
#define ENGINE_CPU_RELAX() _mm_pause()
#else
#define ENGINE_CPU_RELAX() std::this_thread::yield()
#endif

#if defined(__unix__) || defined(__APPLE__)
#include <pthread.h>
#define ENGINE_HAVE_PTHREAD_ATFORK 1
#endif

namespace engine {

namespace {

int default_threads() {
  unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : static_cast<int>(n);
}
std::atomic<int> g_threads{default_threads()};

// How long a waiting thread spins before it sleeps: long enough to catch the next job of a
// run of parallel loops, short enough that an idle worker gives its core away at once.
constexpr auto kSpin = std::chrono::microseconds(20);

// A wait that spins for kSpin, then blocks. One thread waits on it at a time; notify()
// must follow the (seq_cst) store that makes the waiter's predicate true.
class SpinThenBlock {
 public:
  template <class Ready>
  void wait(Ready ready) {
    const auto until = std::chrono::steady_clock::now() + kSpin;
    for (int i = 1;; ++i) {
      if (ready()) return;
      ENGINE_CPU_RELAX();
      if (i % 64 == 0 && std::chrono::steady_clock::now() > until) break;
    }
    std::unique_lock<std::mutex> lock(mutex_);
    // seq_cst against notify(): either the waker sees sleeping_, or this thread sees the
    // store that made ready() true.
    sleeping_.store(true);
    while (!ready()) cv_.wait(lock);
    sleeping_.store(false, std::memory_order_relaxed);
  }

  void notify() {
    if (!sleeping_.load()) return;
    std::lock_guard<std::mutex> lock(mutex_);
    cv_.notify_one();
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::atomic<bool> sleeping_{false};
};

// True in the pool's workers, and in a caller while it takes part in its job: a
// parallel_for called there runs serially.
thread_local bool t_in_pool = false;

struct InPool {
  InPool() { t_in_pool = true; }
  ~InPool() { t_in_pool = false; }
};

// The claim word of a job: its id (so that a late worker never claims a chunk of a later
// job), its chunk count and the next unclaimed chunk.
constexpr int kChunkBits = 12;
constexpr int64_t kMaxChunks = (int64_t(1) << kChunkBits) - 1;
constexpr uint64_t kChunkMask = kMaxChunks;

uint64_t claim_word(uint64_t job, int chunks) {
  return job << (2 * kChunkBits) | uint64_t(chunks) << kChunkBits;
}

class Pool {
 public:
  // Runs fn over [0, n) in `chunks` contiguous chunks, or returns false (without running
  // anything) when the pool is busy with another caller's job or shut down.
  bool run(int64_t n, int chunks, const std::function<void(int64_t, int64_t)>& fn) {
    bool expected = false;
    if (!busy_.compare_exchange_strong(expected, true, std::memory_order_acquire)) return false;
    resize(std::min<int64_t>(get_num_threads(), kMaxChunks) - 1);
    chunks = std::min<int>(chunks, static_cast<int>(workers_.size()) + 1);

    fn_ = &fn;
    n_ = n;
    error_ = nullptr;
    done_.store(0, std::memory_order_relaxed);
    const uint64_t job = ++jobs_;
    // Chunk 0 is the caller's: its data is the one most likely in this core's caches.
    claim_.store(claim_word(job, chunks) + 1, std::memory_order_release);
    for (int w = 0; w < chunks - 1; ++w) {
      workers_[w]->job.store(job);
      workers_[w]->wake.notify();
    }
    {
      InPool in_pool;
      run_chunk(0, chunks);
      run_chunks(job);
    }
    done_wait_.wait([&] { return done_.load() == chunks; });
    std::exception_ptr error = error_;
    busy_.store(false, std::memory_order_release);
    if (error) std::rethrow_exception(error);
    return true;
  }

  // Joins the workers; later calls run serially. Waits for a job in flight to finish.
  void shut_down() {
    bool expected = false;
    while (!busy_.compare_exchange_weak(expected, true, std::memory_order_acquire)) {
      expected = false;
      std::this_thread::yield();
    }
    resize(0);  // busy_ stays set
  }

 private:
  struct Worker {
    std::atomic<uint64_t> job{0};  // the last job handed to this worker
    std::atomic<bool> stop{false};
    SpinThenBlock wake;
    std::thread thread;
  };

  // Only the holder of busy_ calls this.
  void resize(int64_t workers) {
    while (static_cast<int64_t>(workers_.size()) > workers) {
      Worker& w = *workers_.back();
      w.stop.store(true);
      w.wake.notify();
      w.thread.join();
      workers_.pop_back();
    }
    while (static_cast<int64_t>(workers_.size()) < workers) {
      workers_.push_back(std::make_unique<Worker>());
      Worker* w = workers_.back().get();
      w->thread = std::thread([this, w] { work(*w); });
    }
  }

  void work(Worker& w) {
    t_in_pool = true;
    uint64_t seen = 0;
    for (;;) {
      w.wake.wait([&] { return w.job.load() != seen || w.stop.load(); });
      if (w.stop.load()) return;
      seen = w.job.load();
      run_chunks(seen);
    }
  }

  // Claims and runs chunks of `job` until none is left.
  void run_chunks(uint64_t job) {
    uint64_t word = claim_.load(std::memory_order_acquire);
    for (;;) {
      const int64_t c = static_cast<int64_t>(word & kChunkMask);
      const int chunks = static_cast<int>(word >> kChunkBits & kChunkMask);
      if (word >> (2 * kChunkBits) != job || c == chunks) return;
      if (!claim_.compare_exchange_weak(word, word + 1, std::memory_order_acq_rel)) continue;
      // The claim keeps the job (fn_, n_) alive until this chunk is counted done.
      run_chunk(c, chunks);
      word = claim_.load(std::memory_order_acquire);
    }
  }

  void run_chunk(int64_t c, int chunks) {
    const int64_t begin = n_ * c / chunks, end = n_ * (c + 1) / chunks;
    if (begin < end) {
      try {
        (*fn_)(begin, end);
      } catch (...) {
        std::lock_guard<std::mutex> lock(error_mutex_);
        if (!error_) error_ = std::current_exception();
      }
    }
    if (done_.fetch_add(1) + 1 == chunks) done_wait_.notify();
  }

  std::atomic<bool> busy_{false};
  std::vector<std::unique_ptr<Worker>> workers_;
  uint64_t jobs_ = 0;

  // The job in flight.
  const std::function<void(int64_t, int64_t)>* fn_ = nullptr;
  int64_t n_ = 0;
  std::atomic<uint64_t> claim_{0};
  std::atomic<int> done_{0};
  SpinThenBlock done_wait_;
  std::mutex error_mutex_;
  std::exception_ptr error_;
};

// Created on first use. A forked child starts with a new pool (the parent's workers do not
// exist there); the old one is left as it is, since its locks may be held. It is never
// deleted, so a call that races with exit runs serially instead of touching freed memory.
std::atomic<Pool*> g_pool{nullptr};

Pool& pool() {
  Pool* p = g_pool.load(std::memory_order_acquire);
  if (p) return *p;
#ifdef ENGINE_HAVE_PTHREAD_ATFORK
  static const int registered =
      pthread_atfork(nullptr, nullptr, [] { g_pool.store(nullptr, std::memory_order_relaxed); });
  (void)registered;
#endif
  Pool* fresh = new Pool;
  if (g_pool.compare_exchange_strong(p, fresh, std::memory_order_acq_rel)) return *fresh;
  delete fresh;
  return *p;
}

// Joins the workers at exit, before the runtime tears down what they might touch.
struct ShutDownAtExit {
  ~ShutDownAtExit() {
    if (Pool* p = g_pool.load(std::memory_order_acquire)) p->shut_down();
  }
} g_shut_down_at_exit;

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
  // One contiguous range per chunk, at most one chunk per thread: kernels keep their inner
  // loops cache-friendly.
  const int chunks =
      static_cast<int>(std::min<int64_t>({get_num_threads(), max_chunks, kMaxChunks}));
  if (chunks > 1 && !t_in_pool && pool().run(n, chunks, fn)) return;
  fn(0, n);
}

}  // namespace engine
