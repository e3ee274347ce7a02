// The functional API: one node compiled and planned for the given inputs, run on buffers
// allocated here. The same NodeOp code runs inside the executor.
#include <memory>

#include "ops/op.h"

namespace engine {

namespace {

// The device every defined input lives on; an error naming the op and the inputs when
// they disagree.
Device common_device(const Node& node, const std::vector<Tensor>& tensors) {
  const Tensor* first = nullptr;
  for (const Tensor& t : tensors) {
    if (!t.defined()) continue;
    if (!first) {
      first = &t;
    } else if (t.device() != first->device()) {
      fail(ErrorKind::Value, node.label(), ": inputs are on different devices (",
           first->device().str(), " and ", t.device().str(), "); move them with Tensor::to");
    }
  }
  return first ? first->device() : Device::cpu();
}

struct Compiled {
  std::unique_ptr<NodeOp> op;
  std::vector<ValueDesc> outputs;
  bool commits_at_inference = false;
};

Compiled compile(const OpCall& call, const std::vector<ValueDesc>& inputs, bool backward) {
  const OpDef& def = get_op(call.domain, call.op_type);
  const int n_out = call.num_outputs < 0 ? def.schema.min_outputs : call.num_outputs;
  Node node;
  node.op_type = def.op_type;
  node.domain = def.domain;
  node.attrs = call.attrs;
  for (size_t i = 0; i < inputs.size(); ++i)
    node.inputs.push_back(inputs[i].present ? "input" + std::to_string(i) : "");
  for (int k = 0; k < n_out; ++k) node.outputs.push_back("output" + std::to_string(k));
  Compiled c;
  c.op = def.make(checked_node(def, node));
  c.commits_at_inference = def.commits_at_inference;
  PlanOptions options;  // (the device stays the default: run_op's state lasts one call)
  options.mode = call.mode;
  options.backward = backward;
  c.outputs = plan_node(*c.op, inputs, options);
  ENGINE_CHECK(static_cast<int>(c.outputs.size()) == n_out, node.label(), ": produces ",
               c.outputs.size(), " outputs, asked for ", n_out);
  return c;
}

std::vector<ValueDesc> describe(const std::vector<Tensor>& inputs) {
  std::vector<ValueDesc> descs;
  for (const Tensor& t : inputs) {
    if (t.defined())
      descs.push_back({t.dtype(), t.shape(), &t, true});
    else
      descs.push_back({DType::Float32, {}, nullptr, false});
  }
  return descs;
}

// An op's state starts zeroed, as in a graph's RunState.
std::vector<Tensor> allocate(const std::vector<TensorDesc>& descs, Device device) {
  std::vector<Tensor> out;
  for (const TensorDesc& d : descs) out.push_back(Tensor::zeros(d.shape, d.dtype, device));
  return out;
}

std::vector<Tensor> allocate(const std::vector<ValueDesc>& descs, Device device) {
  std::vector<Tensor> out;
  for (const ValueDesc& d : descs) out.push_back(Tensor::empty(d.shape, d.dtype, device));
  return out;
}

template <class T>
std::vector<T*> pointers(std::vector<T>& values) {
  std::vector<T*> p;
  for (T& v : values) p.push_back(&v);
  return p;
}

OpIO forward_io(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs,
                std::vector<Tensor>& state) {
  OpIO io;
  for (const Tensor& t : inputs) io.inputs.push_back(&t);
  io.outputs = pointers(outputs);
  io.states = pointers(state);
  return io;
}

void check_count(const std::string& label, const char* what, size_t got, size_t want) {
  ENGINE_CHECK(got == want, label, ": ", what, ": expected ", want, ", got ", got);
}

// Problems with the inputs of a backward call are reported under "<op>_backward".
Compiled compile_backward(const OpCall& call, const std::vector<ValueDesc>& inputs) {
  try {
    return compile(call, inputs, true);
  } catch (const Error& e) {
    const std::string op = (call.domain.empty() ? "" : call.domain + ".") + call.op_type;
    const std::string msg = e.what();
    if (msg.compare(0, op.size() + 1, op + ":") != 0) throw;
    throw Error(e.kind(), op + "_backward" + msg.substr(op.size()));
  }
}

}  // namespace

OpResult run_op(const OpCall& call, const std::vector<Tensor>& inputs) {
  // Planned for backward: the state it returns is what run_op_backward reads (ops such as
  // LSTM keep less of it in a plan without gradients).
  const Compiled c = compile(call, describe(inputs), true);
  const Device device = common_device(c.op->node(), inputs);
  allocator(device).make_current();
  OpResult r;
  r.outputs = allocate(c.outputs, device);
  r.state = allocate(c.op->state(), device);
  const OpIO io = forward_io(inputs, r.outputs, r.state);
  c.op->forward(io, RunContext{call.mode, call.step});
  if (call.mode == Mode::Training || c.commits_at_inference) c.op->commit(io);  // as graphs do
  return r;
}

std::vector<Tensor> run_op_backward(const OpCall& call, const std::vector<Tensor>& inputs,
                                    const std::vector<Tensor>& outputs,
                                    const std::vector<Tensor>& state,
                                    const std::vector<Tensor>& douts,
                                    const std::vector<bool>& need) {
  const Compiled c = compile_backward(call, describe(inputs));
  const Node& node = c.op->node();
  const std::string label = node.label() + "_backward";
  const Device device = common_device(node, inputs);
  common_device(node, douts);
  allocator(device).make_current();
  const RunContext ctx{call.mode, call.step};
  std::vector<Tensor> outs = outputs, saved = state;
  if (outs.empty() && saved.empty() && c.op->backward_reads_forward()) {
    // Recompute what the caller did not keep; the side effects are not committed.
    outs = allocate(c.outputs, device);
    saved = allocate(c.op->state(), device);
    c.op->forward(forward_io(inputs, outs, saved), ctx);
  } else if (outs.empty()) {
    // Not read: undefined tensors keep every slot addressable.
    outs.resize(c.outputs.size());
    if (!c.op->backward_reads_forward()) saved.resize(c.op->state().size());
  }
  check_count(label, "outputs", outs.size(), c.outputs.size());
  check_count(label, "state tensors", saved.size(), c.op->state().size());
  for (size_t k = 0; k < outs.size(); ++k)
    ENGINE_CHECK(!outs[k].defined() || outs[k].shape() == c.outputs[k].shape, label, ": output ", k,
                 " has shape ", shape_str(outs[k].shape()), ", the inputs give ",
                 shape_str(c.outputs[k].shape));
  // The op's backward checks each output gradient's shape against its own outputs.
  check_count(label, "output gradients", douts.size(), c.outputs.size());
  if (!need.empty()) check_count(label, "flags in `need`", need.size(), inputs.size());
  std::vector<Tensor> dins(inputs.size());
  bool any = false;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const bool wanted = need.empty() ? c.op->differentiable_input(i) : need[i];
    if (!wanted || !inputs[i].defined()) continue;
    ENGINE_CHECK(c.op->differentiable_input(i), label, ": input ", i, " has no gradient");
    ENGINE_CHECK_TYPE(inputs[i].dtype() == DType::Float32, label, ": input ", i, " is ",
                      dtype_name(inputs[i].dtype()), " and has no gradient");
    dins[i] = Tensor::empty(inputs[i].shape(), DType::Float32, device);
    any = true;
  }
  if (!any) return dins;
  OpIO io = forward_io(inputs, outs, saved);
  for (const Tensor& d : douts) io.douts.push_back(&d);
  io.dins = pointers(dins);
  c.op->backward(io, ctx);
  return dins;
}

std::vector<ValueDesc> infer_op(const OpCall& call, const std::vector<ValueDesc>& inputs) {
  return compile(call, inputs, false).outputs;
}

}  // namespace engine
