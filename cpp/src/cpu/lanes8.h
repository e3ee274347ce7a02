// Eight floats as one GCC vector, and the 8x8 transpose of eight of them: the kernels that
// gather pixels of eight planes or eight windows into lanes (depthwise and Winograd
// convolution) share it. In an anonymous namespace, as the loops that include it: each ISA's
// copy compiles it for its own instructions.
#pragma once

#include <cstdint>

namespace engine {
namespace {

using ChannelLanes = float __attribute__((vector_size(32)));
constexpr int64_t kChannelLanes = 8;

// v[j][i] <-> v[i][j] for eight vectors of eight: three rounds of two-input shuffles that
// compile to unpack / shuffle / permute instructions on any x86 ISA.
inline void transpose8x8(ChannelLanes v[8]) {
  ChannelLanes a[8], b[8];
  for (int i = 0; i < 8; i += 2) {
    a[i] = __builtin_shufflevector(v[i], v[i + 1], 0, 8, 1, 9, 4, 12, 5, 13);
    a[i + 1] = __builtin_shufflevector(v[i], v[i + 1], 2, 10, 3, 11, 6, 14, 7, 15);
  }
  for (int i = 0; i < 8; i += 4)
    for (int j = 0; j < 2; ++j) {
      b[i + j] = __builtin_shufflevector(a[i + j], a[i + j + 2], 0, 1, 8, 9, 4, 5, 12, 13);
      b[i + j + 2] = __builtin_shufflevector(a[i + j], a[i + j + 2], 2, 3, 10, 11, 6, 7, 14, 15);
    }
  // b[0..3] hold columns 0, 2, 1, 3 of rows 0-3 (low half) and 4-7 (high half) of rows 0-3;
  // b[4..7] the same for rows 4-7.
  const int order[4] = {0, 2, 1, 3};
  for (int i = 0; i < 4; ++i) {
    v[order[i]] = __builtin_shufflevector(b[i], b[i + 4], 0, 1, 2, 3, 8, 9, 10, 11);
    v[order[i] + 4] = __builtin_shufflevector(b[i], b[i + 4], 4, 5, 6, 7, 12, 13, 14, 15);
  }
}

}  // namespace
}  // namespace engine
