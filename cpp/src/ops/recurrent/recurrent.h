// RNN, LSTM and GRU (ONNX, opset 14), forward over every step and backward through time.
//
//   T steps   B batch   I input size   H hidden size   D directions (2: bidirectional)
//   G gates: RNN 1; LSTM 4 in ONNX's order i, o, f, c; GRU 3 in the order z, r, h
//
//   x [T, B, I]            w [D, G*H, I]    r [D, G*H, H]    b [D, 2*G*H] (Wb, then Rb)
//   sequence_lens [B] (int64; absent: T)    initial_h, initial_c [D, B, H]
//   p [D, 3*H] (LSTM peepholes i, o, f)
//   -> y [T, D, B, H], y_h [D, B, H], y_c [D, B, H] (LSTM)
//   layout 1 puts the batch first: x [B, T, I], y [B, T, D, H], states [B, D, H].
//
// Per direction (f, g, h its activations; a = x_t W^T + h_{t-1} R^T + Wb + Rb, split by gate;
// every activation's input clipped to [-clip, clip] when clip is given):
//   RNN   h_t = f(a)
//   LSTM  i = f(a_i + p_i c_{t-1})  f = f(a_f + p_f c_{t-1})  c~ = g(a_c)
//         c_t = f c_{t-1} + i c~    o = f(a_o + p_o c_t)      h_t = o h(c_t)
//   GRU   z = f(a_z)  r = f(a_r)
//         h~ = g(x_t Wh^T + (r h_{t-1}) Rh^T + Wbh + Rbh)     linear_before_reset 0
//         h~ = g(x_t Wh^T + r (h_{t-1} Rh^T + Rbh) + Wbh)     linear_before_reset 1
//         h_t = (1 - z) h~ + z h_{t-1}
// The reverse direction runs from step len-1 down to 0. Steps at or past a batch entry's
// sequence length leave its states alone and write zeros to y.
//
// Kernels: the reference runs those formulas one value at a time in double (its backward
// recomputes the forward and backpropagates through time). The optimized kernels
// (recurrent_steps.h, over a backend: the CPU's, or a CUDA Grid) do the input projection of
// every step in one GEMM, one recurrent GEMM per step (two for GRU with
// linear_before_reset 0) and an elementwise kernel per step; they save in the state what
// backward reads, and backward ends with the weight gradients as GEMMs over all steps.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/hd.h"
#include "core/kernel_table.h"
#include "engine/tensor.h"

namespace engine {

enum class CellKind : int { Rnn, Lstm, Gru };
enum class RnnActivation : int { Sigmoid, Tanh, Relu };
enum class RnnDirection : int { Forward, Reverse, Bidirectional };

struct RecurrentAttrs {
  CellKind cell = CellKind::Lstm;
  int64_t hidden_size = -1;  // -1: not given (read from w)
  RnnDirection direction = RnnDirection::Forward;
  std::vector<std::string> activations;  // empty: the cell's defaults
  float clip = -1.0f;                    // < 0: not given (no clipping)
  int64_t layout = 0;
  bool linear_before_reset = false;  // GRU
  bool input_forget = false;         // LSTM (not supported)
  // Whether forward keeps what backward reads (recurrent_state_shapes); false where no
  // gradient will flow (an inference plan): the state then holds only forward's buffers.
  bool saves = true;
};

// Everything the kernels need to know, copied into their elementwise bodies.
struct RecurrentGeometry {
  CellKind cell = CellKind::Lstm;
  int64_t T = 0, B = 0, I = 0, H = 0, D = 1, G = 4;
  bool batch_first = false;   // layout 1
  bool reverse = false;       // direction reverse (with D == 1)
  bool linear_before_reset = false;
  bool saves = true;  // RecurrentAttrs::saves
  float clip = 0.0f;  // <= 0: no clipping
  // Activations per direction: f, g, h (the cell uses its first 1, 2 or 3).
  RnnActivation act[2][3] = {};

  int64_t rows() const { return T * B; }
  // The row of step t, batch entry b in x (and in the kernels' per-step buffers).
  ENGINE_HD int64_t row(int64_t t, int64_t b) const { return batch_first ? b * T + t : t * B + b; }
  ENGINE_HD bool reversed(int64_t d) const { return d == 1 || reverse; }
  // Offsets of y[t, d, b, 0] and of y_h[d, b, 0] (initial_h, y_c, ... alike).
  ENGINE_HD int64_t y_offset(int64_t t, int64_t d, int64_t b) const {
    return (batch_first ? (b * T + t) * D + d : (t * D + d) * B + b) * H;
  }
  ENGINE_HD int64_t state_offset(int64_t d, int64_t b) const {
    return (batch_first ? b * D + d : d * B + b) * H;
  }
};

// The number of activations per direction: RNN 1, LSTM 3, GRU 2. (Inline: the CUDA plugin
// calls it too.)
inline int recurrent_activation_count(CellKind cell) {
  return cell == CellKind::Rnn ? 1 : cell == CellKind::Lstm ? 3 : 2;
}

// The state the optimized forward pass fills for backward, and backward's scratch. Slots
// a cell does not use are empty, and so are HPrev, CPrev, Aux, DGates and DAux when the
// geometry does not save (inference). "rows" = T * B rows in x's row order (geometry.row).
enum RecurrentSlot : int {
  kRnnGates,    // [rows, D*G*H]  pre-activations of every gate (what the activations read;
                //                LSTM with the default activations: the gate values)
  kRnnHPrev,    // [rows, D*H]    the hidden state each step started from
  kRnnCPrev,    // [rows, D*H]    LSTM: the cell state each step started from
  kRnnAux,      // [rows, D*H]    GRU: r h_{t-1} (linear_before_reset 0) or h_{t-1} Rh^T + Rbh
  kRnnH,        // [D, B, H]      the running hidden state; backward: its gradient
  kRnnC,        // [D, B, H]      LSTM: the running cell state; backward: its gradient
  kRnnStep,     // [B, G*H]       one step's recurrent product; backward: its gate gradients
  kRnnTmp,      // [B, H]         GRU: r h_{t-1} for the GEMM; backward: its gradient
  kRnnDGates,   // [rows, D*G*H]  backward: gradients of the pre-activations
  kRnnDAux,     // [rows, D*H]    GRU linear_before_reset 1, backward: gradient of aux
  kRnnConst,    // [D*(G+4)*H + G*H]  per call, from b and p: the gate biases the input GEMM
                //                adds [D, G*H], GRU's Rbh [D, H], the peepholes [D, 3*H]
                //                (zeros when absent, so the step bodies read no optional
                //                input), then G*H zeros
  kRnnSlots
};
std::vector<Shape> recurrent_state_shapes(const RecurrentGeometry& g);

// Validated geometry from the inputs' shapes (undefined tensors: absent inputs); errors
// name the op ("LSTM: w ...").
RecurrentGeometry recurrent_geometry(const RecurrentAttrs& attrs, const Tensor& x,
                                     const Tensor& w, const Tensor& r, const Tensor& b,
                                     const Tensor& lens, const Tensor& h0, const Tensor& c0,
                                     const Tensor& p);
Shape recurrent_y_shape(const RecurrentGeometry& g);
Shape recurrent_state_shape(const RecurrentGeometry& g);  // y_h, y_c, initial_h, initial_c

// The op on tensors. Absent optional inputs, unwanted outputs and gradients are undefined
// tensors (or null pointers); `state` holds the kRnnSlots buffers of
// recurrent_state_shapes, filled by forward and read (and used as scratch) by backward.
struct RecurrentInputs {
  Tensor x, w, r, b, lens, h0, c0, p;
};
struct RecurrentInputGrads {
  Tensor *dx = nullptr, *dw = nullptr, *dr = nullptr, *db = nullptr, *dh0 = nullptr,
         *dc0 = nullptr, *dp = nullptr;
};
void recurrent_forward(const RecurrentAttrs& attrs, const RecurrentInputs& in, Tensor* y,
                       Tensor* yh, Tensor* yc, const std::vector<Tensor*>& state);
// Overwrites every wanted gradient; dy, dyh, dyc may be undefined (no gradient flows in).
void recurrent_backward(const RecurrentAttrs& attrs, const RecurrentInputs& in, const Tensor& dy,
                        const Tensor& dyh, const Tensor& dyc, const RecurrentInputGrads& grads,
                        const std::vector<Tensor*>& state);

// Kernel arguments: contiguous buffers; absent optional inputs, unwanted outputs and
// unwanted gradients are null. `state` holds the kRnnSlots buffers.
struct RecurrentData {
  const float *x, *w, *r, *b;
  const int64_t* lens;
  const float *h0, *c0, *p;
  float *y, *yh, *yc;
  float* const* state;
};
struct RecurrentGrads {
  const float *dy, *dyh, *dyc;             // output gradients (null: none flows in)
  float *dx, *dw, *dr, *db, *dh0, *dc0, *dp;  // overwritten
};

struct RecurrentKernels {
  void (*forward)(const RecurrentGeometry& g, const RecurrentData& d);
  // Reads what forward saved in d.state (and the inputs); d's outputs are not read.
  void (*backward)(const RecurrentGeometry& g, const RecurrentData& d, const RecurrentGrads& gr);
};
const KernelTable<RecurrentKernels>& recurrent_kernels();

void recurrent_forward_ref(const RecurrentGeometry& g, const RecurrentData& d);
void recurrent_backward_ref(const RecurrentGeometry& g, const RecurrentData& d,
                            const RecurrentGrads& gr);
void recurrent_forward_cpu(const RecurrentGeometry& g, const RecurrentData& d);
void recurrent_backward_cpu(const RecurrentGeometry& g, const RecurrentData& d,
                            const RecurrentGrads& gr);

}  // namespace engine
