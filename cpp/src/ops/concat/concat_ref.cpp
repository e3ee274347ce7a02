// Reference kernel: byte by byte, row by row.
#include "ops/concat/concat.h"

namespace engine {

void concat_copy_ref(int64_t outer, const std::vector<ConcatPart>& parts, char* whole,
                     bool to_parts) {
  int64_t width = 0;
  for (const ConcatPart& p : parts) width += p.row_bytes;
  for (int64_t o = 0; o < outer; ++o) {
    int64_t col = 0;
    for (const ConcatPart& p : parts) {
      for (int64_t b = 0; p.data && b < p.row_bytes; ++b) {
        char& part = p.data[o * p.row_bytes + b];
        char& big = whole[o * width + col + b];
        if (to_parts) part = big; else big = part;
      }
      col += p.row_bytes;
    }
  }
}

}  // namespace engine
