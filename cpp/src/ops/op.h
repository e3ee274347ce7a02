// The op contract. An op is defined once (OpDef): its schema (inputs, outputs, attributes
// with their kinds and defaults), how it reads from ONNX files of older opsets, and a
// factory that compiles one node into a NodeOp. A NodeOp is planned once for concrete
// input shapes and is immutable from then on: every run works on buffers its caller owns
// (OpIO), so one plan serves many threads and the functional API alike.
//
// The executor (graph/) and the functional API (run_op) both stand on this; nothing here
// knows about graphs.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "engine/ir.h"
#include "engine/ops.h"
#include "engine/tensor.h"

namespace engine {

class Communicator;  // engine/communicator.h

inline bool has_input(const std::vector<ValueDesc>& in, size_t i) {
  return i < in.size() && in[i].present;
}

struct TensorDesc {
  DType dtype = DType::Float32;
  Shape shape;
};

struct PlanOptions {
  Mode mode = Mode::Inference;
  bool backward = false;  // gradients will flow back through the node
  Device device;          // where the graph's values and the node's state live
};

struct RunContext {
  Mode mode = Mode::Inference;
  // Increases every training step, and every inference call (counted apart): dropout draws
  // a fresh mask.
  uint64_t step = 0;
  // A data-parallel training step: the ranks' group (ops that synchronize across the
  // ranks, such as synchronized BatchNormalization, use it), and whether this rank's batch
  // counts (a rank without samples of its own runs on a stand-in row).
  Communicator* group = nullptr;
  bool group_samples = true;
};

// The tensors one run of a node reads and writes, owned by the caller. Inputs and
// output gradients are read-only; an undefined din(k) means input k's gradient is not
// wanted, an undefined dout(k) that no gradient flows into output k.
struct OpIO {
  std::vector<const Tensor*> inputs;
  std::vector<Tensor*> outputs;
  std::vector<Tensor*> states;
  std::vector<const Tensor*> douts;
  std::vector<Tensor*> dins;

  const Tensor& in(size_t k) const { return k < inputs.size() ? *inputs[k] : none(); }
  Tensor& out(size_t k) const { return *outputs[k]; }
  Tensor& state(size_t k) const { return *states[k]; }
  const Tensor& dout(size_t k) const { return k < douts.size() ? *douts[k] : none(); }
  Tensor& din(size_t k) const { return *dins[k]; }
  size_t num_inputs() const { return inputs.size(); }
  size_t num_outputs() const { return outputs.size(); }
  // The inputs as values, for kernels that take a list (Concat, Sum).
  std::vector<Tensor> input_list() const;
  // din(k) when it is wanted, else nullptr (the kernels' "skip this gradient").
  Tensor* wanted(size_t k) const {
    return k < dins.size() && dins[k]->defined() ? dins[k] : nullptr;
  }
  static const Tensor& none();
};

class NodeOp {
 public:
  // `node` has been checked against the op's schema: its attributes have the right kinds
  // and every attribute with a default is present.
  explicit NodeOp(const Node& node) : node_(node) {}
  virtual ~NodeOp() = default;
  NodeOp(const NodeOp&) = delete;
  NodeOp& operator=(const NodeOp&) = delete;

  // Plan time, once, before any run: checks the inputs (count, dtypes, shapes), returns
  // the outputs, and asks for the per-call buffers it needs with add_state().
  virtual std::vector<ValueDesc> plan(const std::vector<ValueDesc>& in,
                                      const PlanOptions& options) = 0;
  // Run time: const. io's outputs are written; its state buffers are the op's own for
  // this call (forward fills what backward reads). They start zeroed, and a graph's calls
  // reuse them (a RunState serves one call at a time), so an op may keep there what it
  // computed from parameters for later calls (conv.h: prepared weights).
  virtual void forward(const OpIO& io, const RunContext& ctx) const = 0;
  // Writes (overwrites) each wanted input gradient from the output gradients.
  virtual void backward(const OpIO& io, const RunContext& ctx) const;
  // Makes the side effects of the last forward pass permanent (BatchNormalization's moving
  // statistics). Called after a training step whose loss is finite, so a step that
  // produced NaN leaves every parameter and statistic as it was.
  virtual void commit(const OpIO& io) const {}
  // False for inputs that never carry gradients (labels, shapes, indices).
  virtual bool differentiable_input(size_t index) const { return true; }
  // False when backward reads neither the outputs nor the state of the forward pass (the
  // functional API then need not run it again).
  virtual bool backward_reads_forward() const { return true; }

  const Node& node() const { return node_; }
  // The per-call buffers planned with add_state(), in order.
  const std::vector<TensorDesc>& state() const { return state_; }

 protected:
  // Errors raised while checking this node name it: "Conv 'conv1': ...".
  template <class... Parts>
  [[noreturn]] void fail_node(const Parts&... parts) const {
    fail(ErrorKind::Value, node_.label(), ": ", parts...);
  }
  void expect_inputs(const std::vector<ValueDesc>& inputs, size_t min, size_t max) const;
  // Every present input is float32; `names` name them in the error ("a", "b").
  void expect_float(const std::vector<ValueDesc>& inputs,
                    std::initializer_list<const char*> names) const;
  // The values of input `index`, which must be a constant 1-D int64 tensor (a target shape,
  // a list of axes); `what` names it in errors.
  std::vector<int64_t> constant_int64s(const std::vector<ValueDesc>& inputs, size_t index,
                                       const char* what) const;
  // The value of input `index`, which must be a constant float32 scalar (a pad value, a
  // ratio); `what` names it in errors.
  float constant_float(const std::vector<ValueDesc>& inputs, size_t index, const char* what) const;
  // Asks for a per-call buffer; returns its index in OpIO::state.
  size_t add_state(const Shape& shape, DType dtype = DType::Float32);
  // Runs `check`, an op-level function whose errors name the kernel ("huber: ..."), so that
  // its errors name this node too.
  template <class Check>
  auto labeled(Check&& check) const -> decltype(check()) {
    try {
      return check();
    } catch (const Error& e) {
      fail(e.kind(), node_.label(), ": ", e.what());
    }
  }

  const Node node_;

 private:
  std::vector<TensorDesc> state_;
};

// op.plan(in, options), with errors naming the node: an op-level check says "Conv: ...",
// which becomes "Conv 'conv1': ..." for a named node.
std::vector<ValueDesc> plan_node(NodeOp& op, const std::vector<ValueDesc>& in,
                                 const PlanOptions& options);

// A tensor with the dtype and shape of `desc` and no memory, for the ops whose shape checks
// are written against tensors. Only shapes and dtypes may be read from it.
Tensor shape_only(const ValueDesc& desc);

// Counts one preparation of values kept from parameters in an op's state (engine/runtime.h:
// prepared_weights_count).
void count_prepared_weights();
// Zeroes a gradient buffer before a kernel that accumulates into it (undefined: no-op).
void zero_fill(Tensor& t);

// ---- definitions ------------------------------------------------------------------

struct AttrSpec : AttributeSchema {
  bool internal = false;  // written by the engine's own passes, never read from ONNX files
};

class OpSchema {
 public:
  OpSchema& inputs(int min, int max);    // max -1: any number
  OpSchema& outputs(int min, int max);
  OpSchema& attr(const std::string& name, Attribute default_value);  // optional, default
  OpSchema& optional(const std::string& name, Attribute::Kind kind);  // optional, none
  OpSchema& required(const std::string& name, Attribute::Kind kind);
  OpSchema& internal(const std::string& name, Attribute::Kind kind);
  const AttrSpec* find(const std::string& name) const;

  int min_inputs = 1, max_inputs = 1, min_outputs = 1, max_outputs = 1;
  std::vector<AttrSpec> attrs;
};

class OnnxImportContext;  // ops/onnx_translate.h
class OnnxExportContext;  // ops/onnx_translate.h
// Rewrites a node read from an ONNX file of an older opset into the form the engine runs.
using OnnxTranslate = void (*)(Node& node, OnnxImportContext& ctx);
// Rewrites a node the engine runs into the form of the (older) opset a file is written at.
using OnnxExportTranslate = void (*)(Node& node, OnnxExportContext& ctx);

// An attribute that older opsets had and `translate` consumes; accepted below `until`.
struct LegacyAttr {
  std::string name;
  Attribute::Kind kind;
  int64_t until_opset;
};

struct OnnxMapping {
  int64_t since_opset = 1;          // the oldest opset whose form the importer reads
  std::vector<LegacyAttr> legacy;   // attributes of older forms
  OnnxTranslate translate = nullptr;
  OnnxExportTranslate to_opset = nullptr;  // none: the engine's form is every opset's
};

using NodeOpFactory = std::unique_ptr<NodeOp> (*)(const Node& node);

struct OpDef {
  std::string domain;  // "" (ONNX) or "engine"
  std::string op_type;
  OpSchema schema;
  NodeOpFactory make = nullptr;
  OnnxMapping onnx;
  // commit() after inference runs too, not only training ones (engine.StoreState): a graph
  // with such a node runs one call at a time.
  bool commits_at_inference = false;
};

// Fills in `def` (whose domain and op_type are set): each op folder has one for its ops.
using OpDefiner = void (*)(OpDef& def);

// Every op, from ops/op_list.inc.
const std::vector<OpDef>& op_defs();
// nullptr when the engine has no such op ("ai.onnx" is the default domain).
const OpDef* find_op(const std::string& domain, const std::string& op_type);
const OpDef& get_op(const std::string& domain, const std::string& op_type);  // or an error

// Checks a node's inputs, outputs and attributes against its schema and returns it with
// the defaults filled in. The error lists every problem of the node; it is a Type-kind
// error when an attribute has the wrong kind.
Node checked_node(const OpDef& def, const Node& node);
// The problems of a node without throwing (for reports over a whole graph); empty if none.
// `kind_problem` is set when an attribute has the wrong kind.
std::vector<std::string> node_problems(const OpDef& def, const Node& node,
                                       bool* kind_problem = nullptr);

// Definers, declared once from the op list.
#define ENGINE_OP(op_domain, type, definer) void definer(OpDef& def);
#include "ops/op_list.inc"
#undef ENGINE_OP

}  // namespace engine
