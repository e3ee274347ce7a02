// Import expansions kept out of import.cpp: ONNX ops the importer writes out as the engine
// ops they are made of, so that they run and train through those ops' kernels and gradients.
// Errors go through the context's fail(), which names the node.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "engine/ir.h"
#include "ops/onnx_translate.h"

namespace engine {

// What an expansion may ask of the importer, beyond what an op's translation may.
class OnnxExpansionContext : public OnnxImportContext {
 public:
  // A value's shape, kSymbolicBatch (or kSymbolicDerived) for the dims that change with the
  // batch size; an error when the importer cannot tell.
  virtual std::vector<int64_t> symbolic_shape(const std::string& name) const = 0;
  virtual DType dtype(const std::string& name) const = 0;
  // The node `op` over `inputs`, whose one output is named after `whole`'s first output and
  // `what` (or is `output`): computed now when every input is known (none a weight, none
  // holding the batch size), else emitted into the graph. Returns the output's name.
  virtual std::string expand_part(const Node& whole, const char* op,
                                  std::vector<std::string> inputs, const char* what,
                                  const std::string& output = "",
                                  std::map<std::string, Attribute> attrs = {}) = 0;
  // The node's output `name` is the value `value`, computed under another name.
  virtual void alias(const std::string& name, const std::string& value) = 0;
};

// Attention (opsets 23 to 25): scaled dot-product attention over 3-D or 4-D Q, K and V,
// grouped-query heads, a bool or float mask, is_causal, softcap, a key/value cache and the
// qk_matmul_output modes and the sliding window of opset 25 (attention.cpp).
void emit_attention(const Node& node, OnnxExpansionContext& ctx);
// RotaryEmbedding (opset 23): rotation of 3-D or 4-D input by cos/sin caches, whole or
// interleaved halves, over all of each head or its first rotary_embedding_dim values.
void emit_rotary_embedding(const Node& node, OnnxExpansionContext& ctx);
// LinearAttention (opset 27): linear, gated, delta and gated-delta recurrences over 3-D
// packed heads, unrolled over a sequence known at import (linear_attention.cpp).
void emit_linear_attention(const Node& node, OnnxExpansionContext& ctx);
// AffineGrid (opset 20): GridSample's grid from 2-D or 3-D affine matrices (affine_grid.cpp).
void emit_affine_grid(const Node& node, OnnxExpansionContext& ctx);

}  // namespace engine
