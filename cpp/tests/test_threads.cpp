// parallel_for: every index exactly once in contiguous chunks, whatever the sizes, thread
// counts and callers; exceptions reach the caller; nested calls run serially.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "check.h"
#include "engine/threads.h"

#if defined(__unix__) || defined(__APPLE__)
#include <sys/wait.h>
#include <unistd.h>
#endif

using engine::get_num_threads;
using engine::parallel_for;
using engine::set_num_threads;

namespace {

// Restores the thread count a test changes.
struct KeepThreads {
  int saved = get_num_threads();
  ~KeepThreads() { set_num_threads(saved); }
};

// Runs parallel_for(n, grain) and returns the ranges it handed out, sorted; each index
// counted in `hits`.
std::vector<std::pair<int64_t, int64_t>> ranges_of(int64_t n, int64_t grain,
                                                   std::vector<int>* hits = nullptr) {
  std::mutex mutex;
  std::vector<std::pair<int64_t, int64_t>> ranges;
  std::vector<std::atomic<int>> counts(std::max<int64_t>(n, 0));
  parallel_for(n, grain, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) counts[i]++;
    std::lock_guard<std::mutex> lock(mutex);
    ranges.emplace_back(begin, end);
  });
  std::sort(ranges.begin(), ranges.end());
  if (hits) {
    hits->clear();
    for (auto& c : counts) hits->push_back(c.load());
  }
  return ranges;
}

// The ranges tile [0, n) in order, none empty, and every index was hit once.
bool tiles(int64_t n, const std::vector<std::pair<int64_t, int64_t>>& ranges,
           const std::vector<int>& hits) {
  int64_t at = 0;
  for (auto [begin, end] : ranges) {
    if (begin != at || end <= begin) return false;
    at = end;
  }
  return at == std::max<int64_t>(n, 0) &&
         std::all_of(hits.begin(), hits.end(), [](int h) { return h == 1; });
}

int64_t expected_chunks(int64_t n, int64_t grain, int threads) {
  if (n <= 0) return 0;
  grain = std::max<int64_t>(grain, 1);
  return std::min<int64_t>(threads, (n + grain - 1) / grain);
}

}  // namespace

TEST_CASE(every_index_once_in_one_chunk_per_thread) {
  KeepThreads keep;
  std::vector<int> hits;
  for (int threads : {1, 2, 3, 5, 8, 13}) {
    set_num_threads(threads);
    for (int64_t n : {0, 1, 2, 3, 4, 7, 12, 13, 33, 257, 1000}) {
      for (int64_t grain : {0, 1, 2, 7, 33, 5000}) {
        auto ranges = ranges_of(n, grain, &hits);
        const bool ok = tiles(n, ranges, hits) &&
                        static_cast<int64_t>(ranges.size()) == expected_chunks(n, grain, threads);
        if (!ok) std::printf("  threads %d n %lld grain %lld\n", threads, (long long)n, (long long)grain);
        CHECK(ok);
      }
    }
  }
}

TEST_CASE(chunks_run_at_the_same_time) {
  // Each chunk waits until all have started: only threads running side by side get there.
  KeepThreads keep;
  for (int threads : {2, 3, 7}) {
    set_num_threads(threads);
    std::atomic<int> started{0};
    std::atomic<bool> timed_out{false};
    std::mutex mutex;
    std::set<std::thread::id> ids;
    std::thread::id first;
    parallel_for(threads, 1, [&](int64_t begin, int64_t) {
      {
        std::lock_guard<std::mutex> lock(mutex);
        ids.insert(std::this_thread::get_id());
        if (begin == 0) first = std::this_thread::get_id();
      }
      started++;
      const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
      while (started.load() < threads) {
        if (std::chrono::steady_clock::now() > until) {
          timed_out = true;
          break;
        }
        std::this_thread::yield();
      }
    });
    CHECK(!timed_out.load());
    CHECK(static_cast<int>(ids.size()) == threads);
    CHECK(first == std::this_thread::get_id());  // the caller runs the first chunk
  }
}

TEST_CASE(exceptions_reach_the_caller) {
  KeepThreads keep;
  set_num_threads(4);
  for (int64_t bad = 0; bad < 4; ++bad) {
    std::string what;
    try {
      parallel_for(4, 1, [&](int64_t begin, int64_t) {
        if (begin == bad) throw std::runtime_error("chunk " + std::to_string(bad));
      });
    } catch (const std::runtime_error& e) {
      what = e.what();
    }
    CHECK(what == "chunk " + std::to_string(bad));
  }
  // Every chunk throws: one of them comes out.
  std::string what;
  try {
    parallel_for(4, 1, [](int64_t begin, int64_t) {
      throw std::runtime_error("chunk " + std::to_string(begin));
    });
  } catch (const std::runtime_error& e) {
    what = e.what();
  }
  CHECK(what.rfind("chunk ", 0) == 0);
  // The pool still works afterwards.
  std::vector<int> hits;
  auto ranges = ranges_of(101, 1, &hits);
  CHECK(tiles(101, ranges, hits) && ranges.size() == 4);
}

TEST_CASE(nested_calls_run_serially_in_their_thread) {
  KeepThreads keep;
  set_num_threads(4);
  std::atomic<int> inner_calls{0}, wrong{0};
  std::vector<std::atomic<int>> counts(4 * 37);
  parallel_for(4, 1, [&](int64_t begin, int64_t end) {
    for (int64_t outer = begin; outer < end; ++outer) {
      const auto id = std::this_thread::get_id();
      parallel_for(37, 1, [&](int64_t b, int64_t e) {
        inner_calls++;
        if (b != 0 || e != 37 || std::this_thread::get_id() != id) wrong++;
        for (int64_t i = b; i < e; ++i) counts[outer * 37 + i]++;
      });
    }
  });
  CHECK(inner_calls.load() == 4);
  CHECK(wrong.load() == 0);
  CHECK(std::all_of(counts.begin(), counts.end(), [](auto& c) { return c.load() == 1; }));
}

TEST_CASE(concurrent_callers) {
  // Eight threads call at once (one runs on the pool, the others serially); one more keeps
  // changing the thread count under them.
  KeepThreads keep;
  set_num_threads(3);
  std::atomic<int> bad{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> callers;
  for (int t = 0; t < 8; ++t) {
    callers.emplace_back([&, t] {
      std::vector<int> hits;
      for (int call = 0; call < 300; ++call) {
        const int64_t n = 1 + (call * 7 + t * 13) % 97;
        if (!tiles(n, ranges_of(n, 1 + call % 3, &hits), hits)) bad++;
      }
    });
  }
  std::thread changer([&] {
    for (int k = 0; !stop.load(); ++k) {
      set_num_threads(1 + k % 4);
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
  });
  for (auto& c : callers) c.join();
  stop = true;
  changer.join();
  CHECK(bad.load() == 0);
}

TEST_CASE(thread_count_changes_between_calls) {
  KeepThreads keep;
  std::vector<int> hits;
  for (int threads : {2, 5, 1, 3, 8, 2, 1, 4, 16, 3}) {
    set_num_threads(threads);
    auto ranges = ranges_of(1001, 1, &hits);
    CHECK(tiles(1001, ranges, hits) && static_cast<int>(ranges.size()) == threads);
  }
}

TEST_CASE(many_tiny_calls) {
  KeepThreads keep;
  set_num_threads(2);
  std::atomic<int64_t> sum{0};
  for (int call = 0; call < 20000; ++call) {
    parallel_for(2 + call % 3, 1, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) sum += i + 1;
    });
  }
  int64_t want = 0;
  for (int call = 0; call < 20000; ++call) {
    const int64_t n = 2 + call % 3;
    want += n * (n + 1) / 2;
  }
  CHECK(sum.load() == want);
}

#if defined(__unix__) || defined(__APPLE__)
TEST_CASE(a_forked_child_gets_its_own_pool) {
  KeepThreads keep;
  set_num_threads(3);
  std::vector<int> hits;
  CHECK(tiles(50, ranges_of(50, 1, &hits), hits));  // the parent's workers are running
  const pid_t pid = fork();
  if (pid == 0) {
    std::vector<int> child_hits;
    bool ok = true;
    for (int call = 0; call < 100; ++call) {
      auto ranges = ranges_of(50, 1, &child_hits);
      ok = ok && tiles(50, ranges, child_hits) && ranges.size() == 3;
    }
    _exit(ok ? 0 : 1);
  }
  int status = -1;
  CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  CHECK(tiles(50, ranges_of(50, 1, &hits), hits));
}
#endif

TEST_MAIN()
