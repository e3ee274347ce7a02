// Winograd convolution F(m x m, 3 x 3) for 3x3, stride-1, undilated, ungrouped layers on
// the CPU: m*m outputs of a tile cost (m+2)^2 multiplications instead of 9*m*m.
//
//   U[t][c][o] = (G w[o][c] G^T)[t]       once per call, t over the (m+2)^2 points
//   V[t][c][p] = (B^T d[c][p] B)[t]       d: the (m+2) x (m+2) input window of tile p
//   M[t]       = U[t]^T * V[t]            (m+2)^2 independent GEMMs over the channels
//   y[o][p]    = A^T M[.][o][p] A (+ bias, Relu)
//
// U is stored as the GEMMs' transposed A, which they pack by plain copies. F(4x4, 3x3) is
// the default (4 times fewer multiplications, float32 error ~3e-6 of the output's norm at
// 256 channels); F(2x2, 3x3) serves 2x2 outputs, where a 4x4 tile would be mostly waste.
//
// The tiles of the whole batch are numbered image by image, row by row, and taken in
// chunks whose V and M stay within a few MiB. Edge tiles read zeros past the input and drop
// their outputs past the output, so any image size and pads work.
#pragma once

#include <cstdint>

#include "ops/conv/conv.h"

namespace engine {

// Whether conv2d_forward_cpu takes the Winograd route for this layer: the geometry above,
// and enough channels and output pixels per tile that it beats im2col + GEMM.
bool winograd_applies(const ConvShape& s);

// Any 3x3, stride-1, undilated, ungrouped s (whether or not winograd_applies): y =
// conv(x, w) + b, Relu when s.relu; b may be null. m is the output tile size, 2 or 4.
void conv2d_forward_winograd(const ConvShape& s, const float* x, const float* w, const float* b,
                             float* y, int m = 4);

// The forward pass in two parts, for callers that keep the transformed weights between
// calls (conv.h: prepared weights): their size in floats (0 unless winograd_applies(s)), the
// transform of w into `kept`, and the convolution from it. Where the batch's tiles run in
// several chunks, `kept` holds each U[t] packed for the GEMMs (GemmPackedA), else U itself.
int64_t winograd_weights_floats(const ConvShape& s);
void winograd_transform_weights(const ConvShape& s, const float* w, float* kept);
void conv2d_forward_winograd_transformed(const ConvShape& s, const float* x, const float* kept,
                                         const float* b, float* y);

// dx of such a layer as a Winograd convolution of dy with the kernel turned by 180 degrees
// and the channels swapped, when every pad is at most 2 (else false, nothing written).
bool conv2d_backward_data_winograd(const ConvShape& s, const float* dy, const float* w, float* dx);

// Where tile p of a chunk lies: image n, tile row and column (outputs row*m.., col*m..).
struct WinogradTile {
  int64_t n, row, col;
};

// A chunk of tiles: p in [0, tiles) is tile q0 + p of the batch; rows of V and M hold ld
// floats (tiles rounded up to whole groups of lanes).
struct WinogradTiles {
  const ConvShape& s;
  int64_t tile_rows, tile_cols;  // per image
  int64_t q0, tiles, ld;
  // Matrix t of V (of M) starts at t * v_step (t * m_step). The steps are a row count times
  // ld plus kMatrixSkew floats: a transform reads (writes) the same row of all (m+2)^2
  // matrices, and with steps of a power of two those rows would all fall into one cache set.
  static constexpr int64_t kMatrixSkew = 16;
  int64_t v_step() const { return s.C * ld + kMatrixSkew; }
  int64_t m_step() const { return s.OC * ld + kMatrixSkew; }
  WinogradTile tile(int64_t p) const {
    const int64_t q = q0 + p, per_image = tile_rows * tile_cols;
    const int64_t r = q % per_image;
    return {q / per_image, r / tile_cols, r % tile_cols};
  }
};

}  // namespace engine
