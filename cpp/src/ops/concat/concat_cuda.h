// The CUDA kernel of Concat, over a Grid (core/grid.h): DeviceGrid in the CUDA plugin
// (concat_cuda.cu), HostGrid for its emulation in the kernel table.
// The parts go to the device in batches of up to kConcatMaxParts per launch (their pointers
// and offsets ride in the kernel's arguments); one thread per element of the batch's
// columns in every row finds its part by a short scan and copies one word. Words are the
// widest of 8, 4 or 1 bytes that divides every row length and address.
#pragma once

#include <cstdint>
#include <vector>

#include "core/grid.h"
#include "ops/concat/concat.h"

namespace engine {

constexpr int kConcatMaxParts = 16;

template <class W, class I>
struct ConcatBatch {
  int count = 0;
  I width = 0;        // the whole's row, in words
  I batch_width = 0;  // the sum of the batch's rows
  W* data[kConcatMaxParts] = {};
  I row[kConcatMaxParts] = {};    // the part's row, in words
  I start[kConcatMaxParts] = {};  // its first column among the batch's columns
  I col[kConcatMaxParts] = {};    // its first column in the whole's row
};

template <class Grid, class W, class I>
void concat_copy_batch(const ConcatBatch<W, I>& b, I outer, W* whole, bool to_parts) {
  for_each_index<Grid>(static_cast<int64_t>(outer) * b.batch_width, [=] ENGINE_HD(int64_t idx) {
    const I i = static_cast<I>(idx);
    const I o = i / b.batch_width, k = i % b.batch_width;
    int j = 0;
    while (j + 1 < b.count && b.start[j + 1] <= k) ++j;
    const I off = k - b.start[j];
    W* part = b.data[j] + o * b.row[j] + off;
    W* big = whole + o * b.width + b.col[j] + off;
    if (to_parts)
      *part = *big;
    else
      *big = *part;
  });
}

template <class Grid, class W, class I>
void concat_copy_words(int64_t outer, const std::vector<ConcatPart>& parts, char* whole,
                       bool to_parts) {
  ConcatBatch<W, I> b;
  int64_t width = 0;
  for (const ConcatPart& p : parts) width += p.row_bytes;
  b.width = static_cast<I>(width / sizeof(W));
  int64_t col = 0;
  auto flush = [&] {
    if (b.count > 0 && b.batch_width > 0)
      concat_copy_batch<Grid, W, I>(b, static_cast<I>(outer), reinterpret_cast<W*>(whole),
                                    to_parts);
    b.count = 0;
    b.batch_width = 0;
  };
  for (const ConcatPart& p : parts) {
    const I row = static_cast<I>(p.row_bytes / static_cast<int64_t>(sizeof(W)));
    if (p.data && row > 0) {
      b.data[b.count] = reinterpret_cast<W*>(p.data);
      b.row[b.count] = row;
      b.start[b.count] = b.batch_width;
      b.col[b.count] = static_cast<I>(col);
      b.batch_width += row;
      if (++b.count == kConcatMaxParts) flush();
    }
    col += row;
  }
  flush();
}

template <class Grid, class W>
void concat_copy_as(int64_t outer, const std::vector<ConcatPart>& parts, char* whole,
                    bool to_parts) {
  int64_t width = 0;
  for (const ConcatPart& p : parts) width += p.row_bytes;
  // 32-bit index arithmetic (cheaper on the GPU) when every index stays below 2^31.
  if (outer * (width / static_cast<int64_t>(sizeof(W))) <= (int64_t(1) << 30))
    concat_copy_words<Grid, W, int32_t>(outer, parts, whole, to_parts);
  else
    concat_copy_words<Grid, W, int64_t>(outer, parts, whole, to_parts);
}

template <class Grid>
void concat_copy_grid(int64_t outer, const std::vector<ConcatPart>& parts, char* whole,
                      bool to_parts) {
  if (outer <= 0) return;
  uint64_t bits = reinterpret_cast<uintptr_t>(whole);
  for (const ConcatPart& p : parts) {
    bits |= static_cast<uint64_t>(p.row_bytes);
    if (p.data) bits |= reinterpret_cast<uintptr_t>(p.data);
  }
  if (bits % 8 == 0)
    concat_copy_as<Grid, uint64_t>(outer, parts, whole, to_parts);
  else if (bits % 4 == 0)
    concat_copy_as<Grid, uint32_t>(outer, parts, whole, to_parts);
  else
    concat_copy_as<Grid, unsigned char>(outer, parts, whole, to_parts);
}

template <class Grid>
ConcatKernels concat_cuda_kernels() {
  ConcatKernels k;
  k.copy = &concat_copy_grid<Grid>;  // (a one-member brace list trips nvcc's host pass)
  return k;
}

}  // namespace engine
