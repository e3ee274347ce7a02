// A minimal test harness for the ctest programs: CHECK records failures, main returns
// the count. No third-party framework, so the tests build wherever libengine builds.
#pragma once

#include <cstdio>
#include <functional>
#include <string>
#include <vector>

namespace check {

inline int& failures() {
  static int n = 0;
  return n;
}

inline std::vector<std::pair<std::string, std::function<void()>>>& registry() {
  static std::vector<std::pair<std::string, std::function<void()>>> r;
  return r;
}

struct Register {
  Register(const char* name, std::function<void()> fn) { registry().emplace_back(name, fn); }
};

inline int run_all() {
  int passed = 0, failed = 0;
  for (auto& [name, fn] : registry()) {
    const int before = failures();
    try {
      fn();
    } catch (const std::exception& e) {
      std::printf("  exception: %s\n", e.what());
      ++failures();
    }
    if (failures() == before) {
      ++passed;
    } else {
      ++failed;
      std::printf("FAILED %s\n", name.c_str());
    }
  }
  std::printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}

}  // namespace check

#define TEST_CASE(name)                                          \
  static void name();                                            \
  static check::Register name##_registered(#name, name);         \
  static void name()

#define CHECK(cond)                                                             \
  do {                                                                          \
    if (!(cond)) {                                                              \
      std::printf("  %s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond);    \
      ++check::failures();                                                      \
    }                                                                           \
  } while (0)

#define CHECK_THROWS(expr)                                                            \
  do {                                                                                \
    bool thrown = false;                                                              \
    try {                                                                             \
      (void)(expr);                                                                   \
    } catch (const std::exception&) {                                                 \
      thrown = true;                                                                  \
    }                                                                                 \
    if (!thrown) {                                                                    \
      std::printf("  %s:%d: %s did not throw\n", __FILE__, __LINE__, #expr);          \
      ++check::failures();                                                            \
    }                                                                                 \
  } while (0)

#define TEST_MAIN() \
  int main() { return check::run_all(); }
