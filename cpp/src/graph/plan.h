// The planner: the passes that turn a Graph into what the executor runs, and the
// structures they produce.
//
//   compile_graph      validate the graph, fuse GELU patterns and activations, number the
//                      values, order the nodes (validate.cpp, fuse_patterns.cpp,
//                      fuse_activations.cpp)
//   build_plan         per input shapes and mode:
//     plan_steps         the nodes to run, with BatchNormalization folded into the Conv
//                        before it for inference (fold_batch_norm.cpp)
//     plan_shapes        compile each step's op and infer every value's shape (shape_plan.cpp)
//     plan_memory        one buffer per value, shared between values whose lifetimes do not
//                        overlap in inference plans (memory_plan.cpp)
//     plan_gradients     which values carry gradients and where fan-out sums (gradient_plan.cpp)
//   RunState           the buffers of one call, made from a plan and reused (run_state.cpp)
//
// A Plan is immutable once built; everything a call writes lives in its RunState.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/graph.h"
#include "ops/op.h"

namespace engine {

// What a plan computes gradients for.
enum class GradKind { None, Parameters, ParametersAndInputs };

// The graph after validation: nodes with their defaults filled in (and activations fused),
// values numbered, nodes in topological order.
// How many chains fuse_patterns replaced, by kind.
struct FusedPatterns {
  int64_t gelus = 0, layer_norms = 0, swishes = 0, hard_swishes = 0;
};

struct CompiledGraph {
  std::vector<Node> nodes;
  std::vector<const OpDef*> defs;        // by node
  std::vector<std::string> value_names;  // by value id
  std::map<std::string, int> value_ids;
  std::vector<int> input_ids, output_ids;
  std::vector<DType> input_dtypes;                   // by graph input
  std::vector<std::pair<int, Tensor>> initializers;  // (value id, tensor)
  std::vector<char> trainable;                       // by value id
  std::vector<size_t> order;                         // node indices, topologically sorted
  std::vector<std::vector<int>> node_inputs;         // value ids by node; -1: omitted
  std::vector<std::vector<int>> node_outputs;
  int64_t fused_activations = 0;
  FusedPatterns fused_patterns;
  Device device;  // where the initializers live (and so the inputs and buffers)
};

// Validates `graph` and reports every problem in one error.
CompiledGraph compile_graph(const Graph& graph);

// Relu nodes whose input only they read, produced by a Conv or Gemm, become part of that
// producer (the internal attribute kFusedActivation); returns the nodes without them.
std::vector<Node> fuse_activations(const Graph& graph);
// The exact GELU, LayerNormalization, SiLU and HardSwish written out as chains of elementwise
// nodes and reductions become one Gelu, LayerNormalization, Swish or HardSwish node; returns
// the nodes with each chain replaced and counts them.
std::vector<Node> fuse_patterns(const Graph& graph, FusedPatterns* counts);

struct PlanKey {
  Mode mode = Mode::Inference;
  GradKind grads = GradKind::None;
  std::vector<Shape> input_shapes;
  bool operator==(const PlanKey& o) const {
    return mode == o.mode && grads == o.grads && input_shapes == o.input_shapes;
  }
};

// One node (or a Conv with the BatchNormalization and Relu folded into it) in run order.
struct PlanStep {
  size_t node = 0;       // index in CompiledGraph::nodes (the Conv of a fold)
  long batch_norm = -1;  // a folded BatchNormalization's node index
  bool relu = false;     // a Relu folded after it
  std::vector<int> ins, outs;
  std::unique_ptr<NodeOp> op;
};

// A Conv at order position `conv` that absorbs the BatchNormalization at `batch_norm` and,
// when `relu` >= 0, the Relu at that position.
struct BatchNormFold {
  size_t conv = 0, batch_norm = 0;
  long relu = -1;
};

struct Plan {
  PlanKey key;
  std::vector<PlanStep> steps;
  std::vector<ValueDesc> values;  // by value id: dtype and shape
  int64_t folded_batch_norms = 0;
  // Memory: the buffer each computed value lives in (-1: a graph input or initializer).
  std::vector<int> buffer_of;
  std::vector<size_t> buffer_bytes;
  // Gradients (empty unless key.grads != None).
  std::vector<char> has_grad;             // by value id
  std::vector<std::vector<char>> fan_in;  // by step and input slot: a private gradient
                                          // buffer, summed into the value's
  int64_t bytes = 0;                      // of one call's buffers
};

// The steps of a plan in topological order; with `fold_batch_norms` (inference plans
// without gradients) BatchNormalization and a Relu after it join the Conv before them.
std::vector<PlanStep> plan_steps(const CompiledGraph& g, bool fold_batch_norms,
                                 int64_t* folded = nullptr);
std::vector<BatchNormFold> find_batch_norm_folds(const CompiledGraph& g,
                                                 const std::vector<PlanStep>& steps);
// Compiles every step's op and infers the shape of every value from the input shapes.
std::vector<ValueDesc> plan_shapes(const CompiledGraph& g, std::vector<PlanStep>& steps,
                                   const PlanKey& key);
void plan_memory(const CompiledGraph& g, Plan& plan);
void plan_gradients(const CompiledGraph& g, Plan& plan);

std::unique_ptr<Plan> build_plan(const CompiledGraph& g, const PlanKey& key);

// The buffers of one call on a plan. Built once, reused by later calls.
struct RunState {
  std::vector<std::shared_ptr<Storage>> buffers;  // by memory-plan buffer
  std::vector<Tensor> values;                     // by value id
  std::vector<Tensor> grads;                      // by value id; undefined: no gradient
  std::vector<char> grad_written;                 // reset every backward pass
  std::vector<std::vector<Tensor>> states;        // by step: the op's per-call buffers
  std::vector<std::vector<Tensor>> fan_in;        // by step and input slot
  std::vector<OpIO> io;                           // by step
  Tensor unwanted;                                // the din of a gradient nobody wants
  Tensor ones;                                    // the seed of a scalar loss
  Tensor seed;                                    // a data-parallel step's seed
  float seed_value = 0.0f;
  // The trainable parameters' gradients, contiguous: grads[v] of each is a view into it.
  // Its first grad_arena_used floats hold them; a tail of 16 spare floats follows.
  Tensor grad_arena;
  int64_t grad_arena_used = 0;
  Tensor grad_arena_host;  // its host copy, when the arena is on a device
};

std::unique_ptr<RunState> make_run_state(const CompiledGraph& g, const Plan& plan);

}  // namespace engine
