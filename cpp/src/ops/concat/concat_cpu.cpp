// CPU kernel: one memcpy per (row, part), threads over the rows.
#include <algorithm>
#include <cstring>

#include "engine/threads.h"
#include "ops/concat/concat.h"

namespace engine {

void concat_copy_cpu(int64_t outer, const std::vector<ConcatPart>& parts, char* whole,
                     bool to_parts) {
  int64_t width = 0;
  for (const ConcatPart& p : parts) width += p.row_bytes;
  const int64_t grain = std::max<int64_t>(1, (int64_t(1) << 16) / std::max<int64_t>(1, width));
  parallel_for(outer, grain, [&](int64_t begin, int64_t end) {
    for (int64_t o = begin; o < end; ++o) {
      char* row = whole + o * width;
      for (const ConcatPart& p : parts) {
        if (p.data) {
          char* part = p.data + o * p.row_bytes;
          if (to_parts) std::memcpy(part, row, p.row_bytes);
          else std::memcpy(row, part, p.row_bytes);
        }
        row += p.row_bytes;
      }
    }
  });
}

}  // namespace engine
