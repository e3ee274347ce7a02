// Sessions (engine/session.h): an imported ONNX model behind an Executor, for inference, and
// with a loss and an optimizer, for training.
//
// A TrainingSession runs two executors over the same parameter tensors: one over the imported
// graph (run, and the graph export_onnx writes) and one over that graph plus a target input
// and the loss node (train_step, evaluate). The optimizer updates the tensors in place, so
// both see every step; a shared ParameterLock keeps a step from overlapping a run, as the
// Python side does for its inference and training executors.
#include "engine/session.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <set>
#include <utility>

#include "core/file_io.h"
#include "engine/graph.h"
#include "engine/onnx.h"
#include "engine/status.h"
#include "engine/threads.h"
#include "ops/softmax/softmax.h"

namespace engine {

namespace {

// ---- models ---------------------------------------------------------------------------------

// A model read and imported for a session.
struct LoadedModel {
  std::shared_ptr<Graph> graph;  // what the executors run; float initializers on the device
  std::vector<TensorInfo> inputs, outputs;
  OnnxModel header;  // the file's model fields without its graph (export writes them back)
  int64_t opset = 0;
};

LoadedModel load_model(OnnxModel model, const std::string& source, const SessionOptions& options) {
  ENGINE_CHECK(options.threads >= 0, "SessionOptions.threads must be >= 0, got ", options.threads);
  ENGINE_CHECK(options.batch_size >= 0, "SessionOptions.batch_size must be >= 0, got ",
               options.batch_size);
  if (options.threads > 0) set_num_threads(options.threads);
  OnnxImport imported = onnx_import(model, source);
  model.graph = Graph();

  LoadedModel m;
  m.header = std::move(model);
  m.opset = imported.opset;
  // The executor runs where the float initializers are; int64 ones (shapes, indices) are
  // read by the host and stay there.
  for (auto& kv : imported.graph.initializers)
    if (kv.second.dtype() == DType::Float32) kv.second = kv.second.to(options.device);
  for (const ValueInfo& v : imported.graph.inputs) m.inputs.push_back({v.name, v.dtype, v.shape});
  for (size_t k = 0; k < imported.graph.outputs.size(); ++k) {
    const ValueInfo& v = imported.graph.outputs[k];
    m.outputs.push_back({v.name, v.dtype, imported.output_shapes.at(k)});
  }
  m.graph = std::make_shared<Graph>(std::move(imported.graph));
  return m;
}

OnnxModel parse_buffer(const void* data, size_t size) {
  ENGINE_CHECK(data != nullptr || size == 0, "session: null model buffer of ", size, " bytes");
  return onnx_parse(data, size);
}

std::string names_of(const std::vector<TensorInfo>& infos) {
  std::string out;
  for (const TensorInfo& i : infos) out += (out.empty() ? "'" : ", '") + i.name + "'";
  return out;
}

void check_input_count(const char* what, const std::vector<TensorInfo>& inputs, size_t got) {
  ENGINE_CHECK(got == inputs.size(), what, ": the model takes ", inputs.size(), " input(s) (",
               names_of(inputs), "), got ", got);
}

std::vector<Tensor> to_host(std::vector<Tensor> tensors) {
  for (Tensor& t : tensors) t = t.to(Device::cpu());
  return tensors;
}

template <class Impl>
Impl& checked_impl(const std::unique_ptr<Impl>& impl, const char* what) {
  ENGINE_CHECK(impl != nullptr, what, ": the session was moved from");
  return *impl;
}

// ---- files (written with core/file_io.h's atomic_write) ------------------------------------

std::string read_file(const std::string& path, const char* what) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (!file) fail_os(errno, path, str(what, ": cannot open '", path, "'"));
  std::string bytes;
  char chunk[1 << 16];
  size_t n;
  while ((n = std::fread(chunk, 1, sizeof chunk, file)) > 0) bytes.append(chunk, n);
  const int err = std::ferror(file) ? (errno ? errno : EIO) : 0;
  std::fclose(file);
  if (err != 0) fail_os(err, path, str(what, ": cannot read '", path, "'"));
  return bytes;
}

// ---- the optimizer state file ----------------------------------------------------------------
//
// Native byte order, after a mark that tells a file from a machine of the other order:
//   "ENGOPTST"  u32 version (1)  u32 0x01020304
//   str optimizer kind ("Adam")  i64 iterations
//   u32 parameters P  u32 slots S  S x str slot name
//   P x (str name, u32 ndim, ndim x i64 dim)
//   P x S x float32 data of the parameter's shape (parameter-major, Optimizer::state order)
// with str = u32 length + bytes.
constexpr char kStateMagic[8] = {'E', 'N', 'G', 'O', 'P', 'T', 'S', 'T'};
constexpr uint32_t kStateVersion = 1;
constexpr uint32_t kByteOrderMark = 0x01020304;
constexpr uint32_t kMaxStateRank = 64;

// The fields before the slot data, in memory (the slots are streamed to the file after it).
class StateWriter {
 public:
  template <class T> void put(T value) { raw(&value, sizeof value); }
  void put_str(const std::string& s) {
    put(static_cast<uint32_t>(s.size()));
    raw(s.data(), s.size());
  }
  void raw(const void* data, size_t n) { bytes_.append(static_cast<const char*>(data), n); }
  const std::string& bytes() const { return bytes_; }

 private:
  std::string bytes_;
};

// Reads a state file's bytes; every read is checked against what is left, and a problem is a
// Value error naming the file.
class StateReader {
 public:
  StateReader(const std::string& bytes, const std::string& path) : bytes_(bytes), path_(path) {}

  [[noreturn]] void fail(const std::string& message) const {
    engine::fail(ErrorKind::Value, "load_optimizer_state: '", path_, "': ", message);
  }
  const char* take(size_t n, const char* what) {
    if (n > bytes_.size() - pos_)
      fail(str("truncated at byte ", pos_, " (reading ", what, ": ", n, " bytes, ",
               bytes_.size() - pos_, " left)"));
    const char* p = bytes_.data() + pos_;
    pos_ += n;
    return p;
  }
  template <class T> T get(const char* what) {
    T value;
    std::memcpy(&value, take(sizeof value, what), sizeof value);
    return value;
  }
  std::string get_str(const char* what) {
    const uint32_t n = get<uint32_t>(what);
    return std::string(take(n, what), n);
  }
  size_t left() const { return bytes_.size() - pos_; }

 private:
  const std::string& bytes_;
  const std::string& path_;
  size_t pos_ = 0;
};

// ---- losses ---------------------------------------------------------------------------------

enum class LossId { SparseCategorical, Categorical, Binary, MeanSquared, MeanAbsolute, Huber };

struct LossName {
  const char* name;
  LossId id;
};
// TrainingOptions.loss, with the aliases engine.losses.get accepts.
constexpr LossName kLossNames[] = {
    {"sparse_categorical_crossentropy", LossId::SparseCategorical},
    {"categorical_crossentropy", LossId::Categorical},
    {"binary_crossentropy", LossId::Binary},
    {"mse", LossId::MeanSquared},
    {"mean_squared_error", LossId::MeanSquared},
    {"mae", LossId::MeanAbsolute},
    {"mean_absolute_error", LossId::MeanAbsolute},
    {"huber", LossId::Huber},
    {"huber_loss", LossId::Huber},
};

LossId loss_from_name(const std::string& name) {
  std::string key = name;
  for (char& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::string known;
  for (const LossName& l : kLossNames) {
    if (key == l.name) return l.id;
    known += (known.empty() ? "" : ", ") + std::string(l.name);
  }
  fail(ErrorKind::Value, "TrainingOptions.loss: unknown loss '", name, "'; known: ", known);
}

// The input of the activation `op_type` that computes `value` (through Identity copies), or
// "" when something else does: the cross-entropies read those logits instead of the
// probabilities, as engine/losses.py does (and Keras). A Softmax fuses only over axis 1,
// the class axis of the losses.
std::string activation_input(const Graph& g, std::string value, const std::string& op_type,
                             size_t rank) {
  for (size_t hops = 0; hops <= g.nodes.size(); ++hops) {
    const Node* producer = nullptr;
    for (const Node& n : g.nodes)
      if (std::find(n.outputs.begin(), n.outputs.end(), value) != n.outputs.end()) producer = &n;
    if (!producer || !producer->domain.empty() || producer->inputs.empty()) return "";
    if (producer->op_type == "Identity") {
      value = producer->inputs[0];
      continue;
    }
    if (producer->op_type != op_type) return "";
    if (op_type == "Softmax") {
      int64_t axis = producer->attr_int("axis", -1);
      if (axis < 0) axis += static_cast<int64_t>(rank);
      if (axis != 1 || producer->attr_int(kSoftmaxCoerce2d, 0) != 0) return "";
    }
    return producer->inputs[0];
  }
  return "";
}

// Every value name of `g`, and a name not among them (`base`, else base_1, base_2, ...),
// which is then taken.
std::set<std::string> value_names(const Graph& g) {
  std::set<std::string> used;
  for (const ValueInfo& v : g.inputs) used.insert(v.name);
  for (const ValueInfo& v : g.outputs) used.insert(v.name);
  for (const auto& kv : g.initializers) used.insert(kv.first);
  for (const Node& n : g.nodes) used.insert(n.outputs.begin(), n.outputs.end());
  return used;
}

std::string fresh_name(std::set<std::string>& used, const std::string& base) {
  std::string name = base;
  for (int k = 1; used.count(name); ++k) name = base + "_" + std::to_string(k);
  used.insert(name);
  return name;
}

// The loss node (engine domain, mean over the batch: Keras's sum_over_batch_size without
// sample weights) and the target it reads, as engine/losses.py emits them.
struct LossPlan {
  Node node;
  TensorInfo target;   // dtype and shape (-1: any size) the target must have
  std::string what;    // how the target is described in errors
};

LossPlan plan_loss(const Graph& g, const TensorInfo& output, const TrainingOptions& options,
                   const std::string& target, const std::string& loss) {
  const LossId id = loss_from_name(options.loss);
  const size_t rank = output.shape.size();
  LossPlan p;
  p.target = {target, DType::Float32, output.shape};
  p.what = str("float32 of the output's shape ", shape_str(output.shape));
  std::string pred = output.name;
  std::string op_type;
  switch (id) {
    case LossId::SparseCategorical: {
      ENGINE_CHECK(rank >= 2, "sparse_categorical_crossentropy needs an output of shape [N, C, ...]"
                   " (classes on axis 1); '", output.name, "' is ", shape_str(output.shape));
      if (!options.from_logits) pred = activation_input(g, output.name, "Softmax", rank);
      ENGINE_CHECK(!pred.empty(), "sparse_categorical_crossentropy with from_logits=false needs the"
                   " model output '", output.name, "' to come from a Softmax over axis 1 (or set"
                   " from_logits=true)");
      op_type = "SoftmaxCrossEntropy";
      p.target.dtype = DType::Int64;
      p.target.shape.erase(p.target.shape.begin() + 1);
      p.what = str("int64 class labels of shape ", shape_str(p.target.shape), " (the output is ",
                   shape_str(output.shape), ")");
      break;
    }
    case LossId::Categorical: {
      ENGINE_CHECK(rank >= 2, "categorical_crossentropy needs an output of shape [N, C, ...]"
                   " (classes on axis 1); '", output.name, "' is ", shape_str(output.shape));
      const std::string logits =
          options.from_logits ? output.name : activation_input(g, output.name, "Softmax", rank);
      op_type = logits.empty() ? "CategoricalCrossEntropy" : "SoftmaxCrossEntropy";
      if (!logits.empty()) pred = logits;
      break;
    }
    case LossId::Binary: {
      const std::string logits =
          options.from_logits ? output.name : activation_input(g, output.name, "Sigmoid", rank);
      op_type = "BinaryCrossEntropy";
      if (!logits.empty()) pred = logits;
      p.node.attrs["from_logits"] = Attribute::of_int(logits.empty() ? 0 : 1);
      break;
    }
    case LossId::MeanSquared: op_type = "MeanSquaredError"; break;
    case LossId::MeanAbsolute: op_type = "MeanAbsoluteError"; break;
    case LossId::Huber: op_type = "Huber"; break;
  }
  ENGINE_CHECK(rank >= 1, options.loss, " needs an output with a batch axis; '", output.name,
               "' is a scalar");
  p.node.name = options.loss;
  p.node.op_type = op_type;
  p.node.domain = "engine";
  p.node.inputs = {pred, target};
  p.node.outputs = {loss};
  p.node.attrs["reduction"] = Attribute::of_string("mean");
  return p;
}

// The graph export_onnx writes: Softmax nodes imported with the opset < 13 coercion become
// ONNX again (Flatten at the axis, normalise the rows, restore the input's shape), as
// engine/onnx/_export.py writes them.
void restore_coerced_softmax(Graph& g) {
  std::set<std::string> used = value_names(g);
  std::vector<Node> nodes;
  for (Node& node : g.nodes) {
    if (!node.domain.empty() || node.attr_int(kSoftmaxCoerce2d, 0) == 0) {
      nodes.push_back(std::move(node));
      continue;
    }
    const std::string x = node.inputs.at(0), y = node.outputs.at(0);
    const std::string flat = fresh_name(used, y + "/flat"), rows = fresh_name(used, y + "/rows"),
                      shape = fresh_name(used, y + "/shape");
    Node flatten;
    flatten.name = node.name + "/flatten";
    flatten.op_type = "Flatten";
    flatten.inputs = {x};
    flatten.outputs = {flat};
    flatten.attrs["axis"] = Attribute::of_int(node.attr_int("axis", 1));
    Node softmax = node;  // Softmax or LogSoftmax
    softmax.attrs.erase(kSoftmaxCoerce2d);
    softmax.attrs["axis"] = Attribute::of_int(1);
    softmax.inputs = {flat};
    softmax.outputs = {rows};
    Node shape_of;
    shape_of.name = node.name + "/shape";
    shape_of.op_type = "Shape";
    shape_of.inputs = {x};
    shape_of.outputs = {shape};
    Node reshape;
    reshape.name = node.name + "/reshape";
    reshape.op_type = "Reshape";
    reshape.inputs = {rows, shape};
    reshape.outputs = {y};
    for (Node* n : {&flatten, &softmax, &shape_of, &reshape}) nodes.push_back(std::move(*n));
  }
  g.nodes = std::move(nodes);
}

}  // namespace

// ---- host_view --------------------------------------------------------------------------------

Tensor host_view(void* data, const Shape& shape, DType dtype) {
  const size_t nbytes = shape_nbytes(shape, dtype);  // checks the dims and the dtype
  ENGINE_CHECK(data != nullptr || nbytes == 0, "host_view: null data for a ", dtype_name(dtype),
               shape_str(shape), " tensor");
  // The caller owns the memory: nothing to release.
  auto storage = Storage::wrap(data, nbytes, [] {});
  return Tensor::from_storage(std::move(storage), 0, shape, contiguous_strides(shape), dtype);
}

// ---- InferenceSession ---------------------------------------------------------------------------

struct InferenceSession::Impl {
  LoadedModel model;
  std::unique_ptr<Executor> executor;  // runs are thread-safe

  Impl(LoadedModel m, const SessionOptions& options)
      : model(std::move(m)), executor(std::make_unique<Executor>(model.graph)) {
    if (options.batch_size > 0) plan_for_batch(options.batch_size);
  }

  // One run on zeros of that batch size: it plans and allocates what later runs reuse.
  void plan_for_batch(int64_t batch) const {
    std::vector<Tensor> zeros;
    for (const TensorInfo& info : model.inputs) {
      Shape shape = info.shape;
      for (size_t d = 0; d < shape.size(); ++d) {
        if (shape[d] >= 0) continue;
        ENGINE_CHECK(d == 0, "SessionOptions.batch_size: input '", info.name, "' ",
                     shape_str(info.shape), " has sizes left open besides the batch");
        shape[d] = batch;
      }
      zeros.push_back(Tensor::zeros(shape, info.dtype));
    }
    executor->run(zeros);
  }

  std::vector<Tensor> run(const std::vector<Tensor>& inputs, const char* what) const {
    check_input_count(what, model.inputs, inputs.size());
    return to_host(executor->run(inputs));
  }
};

InferenceSession::InferenceSession(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
InferenceSession::InferenceSession(InferenceSession&&) noexcept = default;
InferenceSession& InferenceSession::operator=(InferenceSession&&) noexcept = default;
InferenceSession::~InferenceSession() = default;

InferenceSession InferenceSession::from_file(const std::string& onnx_path,
                                             const SessionOptions& options) {
  return InferenceSession(
      std::make_unique<Impl>(load_model(onnx_read(onnx_path), onnx_path, options), options));
}

InferenceSession InferenceSession::from_buffer(const void* data, size_t size,
                                               const SessionOptions& options) {
  return InferenceSession(
      std::make_unique<Impl>(load_model(parse_buffer(data, size), "<buffer>", options), options));
}

const std::vector<TensorInfo>& InferenceSession::inputs() const {
  return checked_impl(impl_, "InferenceSession::inputs").model.inputs;
}

const std::vector<TensorInfo>& InferenceSession::outputs() const {
  return checked_impl(impl_, "InferenceSession::outputs").model.outputs;
}

std::vector<Tensor> InferenceSession::run(const std::vector<Tensor>& inputs) const {
  return checked_impl(impl_, "InferenceSession::run").run(inputs, "InferenceSession::run");
}

void InferenceSession::run_into(const std::vector<Tensor>& inputs,
                                const std::vector<Tensor>& outputs) const {
  const char* what = "InferenceSession::run_into";
  const Impl& m = checked_impl(impl_, what);
  const std::vector<TensorInfo>& infos = m.model.outputs;
  ENGINE_CHECK(outputs.size() == infos.size(), what, ": the model has ", infos.size(),
               " output(s) (", names_of(infos), "), got ", outputs.size(), " tensors");
  for (size_t k = 0; k < outputs.size(); ++k) {
    ENGINE_CHECK(outputs[k].defined(), what, ": output '", infos[k].name, "' is undefined");
    ENGINE_CHECK_TYPE(outputs[k].dtype() == infos[k].dtype, what, ": output '", infos[k].name,
                      "' is ", dtype_name(infos[k].dtype), ", got a ",
                      dtype_name(outputs[k].dtype()), " tensor");
  }
  const std::vector<Tensor> results = m.run(inputs, what);
  // Every shape is checked before anything is written.
  for (size_t k = 0; k < outputs.size(); ++k)
    ENGINE_CHECK(outputs[k].shape() == results[k].shape(), what, ": output '", infos[k].name,
                 "' has shape ", shape_str(results[k].shape()), " for these inputs, got a tensor of"
                 " shape ", shape_str(outputs[k].shape()));
  for (size_t k = 0; k < outputs.size(); ++k) {
    Tensor destination = outputs[k];  // a handle: the copy writes the caller's memory
    destination.copy_from(results[k]);
  }
}

// ---- TrainingSession ----------------------------------------------------------------------------

struct TrainingSession::Impl {
  LoadedModel model;
  std::shared_ptr<ParameterLock> lock = std::make_shared<ParameterLock>();
  std::unique_ptr<Executor> inference;  // over model.graph
  std::shared_ptr<Graph> train_graph;   // model.graph + target input + loss node
  std::unique_ptr<Executor> training;
  std::string loss_value;
  LossPlan loss;
  std::shared_ptr<Optimizer> optimizer;
  std::vector<std::string> parameters;  // trained initializers, in the optimizer's order
  std::function<double(int64_t)> schedule;

  Impl(LoadedModel m, const TrainingOptions& options) : model(std::move(m)) {
    const Graph& g = *model.graph;
    ENGINE_CHECK(model.outputs.size() == 1, "TrainingSession: the model has ",
                 model.outputs.size(), " outputs (", names_of(model.outputs),
                 "); training needs exactly one");
    const TensorInfo& output = model.outputs[0];
    ENGINE_CHECK_TYPE(output.dtype == DType::Float32, "TrainingSession: the output '",
                      output.name, "' is ", dtype_name(output.dtype), ", a loss needs float32");
    std::set<std::string> used = value_names(g);
    const std::string target = fresh_name(used, "target");
    loss_value = fresh_name(used, "loss");
    loss = plan_loss(g, output, options, target, loss_value);

    if (options.trainable.empty()) {
      parameters.assign(g.trainable.begin(), g.trainable.end());
    } else {
      std::set<std::string> seen;
      for (const std::string& name : options.trainable) {
        ENGINE_CHECK(g.trainable.count(name), "TrainingOptions.trainable: '", name,
                     "' is not a trainable initializer of the model");
        ENGINE_CHECK(seen.insert(name).second, "TrainingOptions.trainable: '", name,
                     "' is listed twice");
        parameters.push_back(name);
      }
    }
    ENGINE_CHECK(!parameters.empty(), "TrainingSession: the model has no trainable initializers");

    // The same initializer tensors (handles to one storage): updates are seen by both graphs.
    train_graph = std::make_shared<Graph>(g);
    train_graph->inputs.push_back({target, loss.target.dtype, loss.target.shape});
    train_graph->nodes.push_back(loss.node);
    train_graph->outputs = {{loss_value, DType::Float32, {}}};
    // Only the trained parameters get gradients.
    train_graph->trainable = std::set<std::string>(parameters.begin(), parameters.end());

    inference = std::make_unique<Executor>(model.graph, lock);
    training = std::make_unique<Executor>(train_graph, lock);
    optimizer = std::make_shared<Optimizer>(options.optimizer);
    training->set_optimizer(optimizer, parameters);
    schedule = options.schedule;
  }

  // The executor's input list for a loss: the model's inputs, then the target, checked
  // against the loss first so the error says what the loss expects.
  std::vector<Tensor> loss_inputs(const std::vector<Tensor>& inputs, const Tensor& target,
                                  const char* what) const {
    check_input_count(what, model.inputs, inputs.size());
    const std::string& name = loss.node.name;
    ENGINE_CHECK(target.defined(), what, ": the target is undefined (", name, " needs ",
                 loss.what, ")");
    ENGINE_CHECK_TYPE(target.dtype() == loss.target.dtype, what, ": ", name, " needs ", loss.what,
                      " as its target, got ", target.describe());
    Shape want = loss.target.shape;
    // The output's batch follows the inputs' batch.
    for (size_t i = 0; !want.empty() && want[0] < 0 && i < inputs.size(); ++i) {
      const Shape& declared = model.inputs[i].shape;
      if (!declared.empty() && declared[0] < 0 && inputs[i].defined() && inputs[i].ndim() > 0)
        want[0] = inputs[i].dim(0);
    }
    bool ok = target.ndim() == static_cast<int>(want.size());
    for (size_t d = 0; ok && d < want.size(); ++d) ok = want[d] < 0 || want[d] == target.dim(d);
    ENGINE_CHECK(ok, what, ": ", name, " needs ", loss.what, " as its target, for this batch ",
                 shape_str(want), " (-1: any size), got ", target.describe());
    std::vector<Tensor> all = inputs;
    all.push_back(target);
    return all;
  }

  void set_learning_rate(double lr, const char* what) {
    ENGINE_CHECK(std::isfinite(lr) && lr >= 0, what, ": the learning rate must be finite and >= 0,"
                 " got ", lr);
    optimizer->set_learning_rate(static_cast<float>(lr));
  }
};

TrainingSession::TrainingSession(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
TrainingSession::TrainingSession(TrainingSession&&) noexcept = default;
TrainingSession& TrainingSession::operator=(TrainingSession&&) noexcept = default;
TrainingSession::~TrainingSession() = default;

TrainingSession TrainingSession::from_file(const std::string& onnx_path,
                                           const TrainingOptions& options) {
  return TrainingSession(std::make_unique<Impl>(
      load_model(onnx_read(onnx_path), onnx_path, options.session), options));
}

TrainingSession TrainingSession::from_buffer(const void* data, size_t size,
                                             const TrainingOptions& options) {
  return TrainingSession(std::make_unique<Impl>(
      load_model(parse_buffer(data, size), "<buffer>", options.session), options));
}

const std::vector<TensorInfo>& TrainingSession::inputs() const {
  return checked_impl(impl_, "TrainingSession::inputs").model.inputs;
}

const std::vector<TensorInfo>& TrainingSession::outputs() const {
  return checked_impl(impl_, "TrainingSession::outputs").model.outputs;
}

float TrainingSession::train_step(const std::vector<Tensor>& inputs, const Tensor& targets) {
  const char* what = "TrainingSession::train_step";
  Impl& m = checked_impl(impl_, what);
  const std::vector<Tensor> all = m.loss_inputs(inputs, targets, what);
  if (m.schedule) m.set_learning_rate(m.schedule(m.optimizer->iterations()), "schedule");
  const float loss = m.training->train_step(all, m.loss_value);
  // The executor skips the update of a non-finite loss; the session reports it.
  if (!std::isfinite(loss))
    fail(ErrorKind::FloatingPoint, what, ": the loss is ", loss, "; the weights were not updated");
  return loss;
}

float TrainingSession::evaluate(const std::vector<Tensor>& inputs, const Tensor& targets) const {
  const char* what = "TrainingSession::evaluate";
  const Impl& m = checked_impl(impl_, what);
  const Tensor loss = m.training->run(m.loss_inputs(inputs, targets, what), Mode::Inference)[0];
  return loss.to(Device::cpu()).data<float>()[0];
}

std::vector<Tensor> TrainingSession::run(const std::vector<Tensor>& inputs) const {
  const char* what = "TrainingSession::run";
  const Impl& m = checked_impl(impl_, what);
  check_input_count(what, m.model.inputs, inputs.size());
  return to_host(m.inference->run(inputs));
}

int64_t TrainingSession::steps() const {
  return checked_impl(impl_, "TrainingSession::steps").optimizer->iterations();
}

void TrainingSession::set_learning_rate(double learning_rate) {
  checked_impl(impl_, "TrainingSession::set_learning_rate")
      .set_learning_rate(learning_rate, "TrainingSession::set_learning_rate");
}

void TrainingSession::export_onnx(const std::string& path) const {
  const Impl& m = checked_impl(impl_, "TrainingSession::export_onnx");
  OnnxModel out = m.model.header;
  out.graph = *m.model.graph;
  for (auto& kv : out.graph.initializers) kv.second = kv.second.to(Device::cpu());
  out.graph.trainable.clear();
  restore_coerced_softmax(out.graph);
  // The imported nodes are in the forms of opset 13 and later (those the engine runs); an
  // older file is written at the default opset.
  out.opset_imports = {{"", std::max(m.model.opset, kOnnxDefaultOpset)}};
  out.ir_version = std::max(out.ir_version, kOnnxDefaultIrVersion);
  out.producer_name = "engine";
  out.producer_version.clear();
  onnx_write(out, path);
}

void TrainingSession::save_optimizer_state(const std::string& path) const {
  const Impl& m = checked_impl(impl_, "TrainingSession::save_optimizer_state");
  const Optimizer& opt = *m.optimizer;
  const std::vector<std::string> slots = opt.slot_names();
  StateWriter w;
  w.raw(kStateMagic, sizeof kStateMagic);
  w.put(kStateVersion);
  w.put(kByteOrderMark);
  w.put_str(optimizer_kind_name(opt.config().kind));
  w.put(static_cast<int64_t>(opt.iterations()));
  w.put(static_cast<uint32_t>(m.parameters.size()));
  w.put(static_cast<uint32_t>(slots.size()));
  for (const std::string& s : slots) w.put_str(s);
  for (const std::string& name : m.parameters) {
    const Shape& shape = m.model.graph->initializers.at(name).shape();
    w.put_str(name);
    w.put(static_cast<uint32_t>(shape.size()));
    for (int64_t d : shape) w.put(d);
  }
  std::vector<Tensor> state = opt.state();
  if (opt.num_params() == 0) {
    // No step yet: the slots a first step would start from, as Optimizer::build makes them.
    const float init = opt.config().kind == OptimizerKind::Adagrad
                           ? static_cast<float>(opt.config().initial_accumulator_value)
                           : 0.0f;
    for (const std::string& name : m.parameters)
      for (size_t s = 0; s < slots.size(); ++s)
        state.push_back(Tensor::full(m.model.graph->initializers.at(name).shape(), init));
  }
  atomic_write(path, "save_optimizer_state", [&](const ByteSink& sink) {
    sink(w.bytes().data(), w.bytes().size());
    for (const Tensor& t : state) {
      const Tensor host = t.to(Device::cpu()).contiguous();
      sink(host.raw_data(), host.nbytes());
    }
  });
}

void TrainingSession::load_optimizer_state(const std::string& path) {
  Impl& m = checked_impl(impl_, "TrainingSession::load_optimizer_state");
  const std::string bytes = read_file(path, "load_optimizer_state");
  StateReader r(bytes, path);
  if (std::memcmp(r.take(sizeof kStateMagic, "the magic string"), kStateMagic,
                  sizeof kStateMagic) != 0)
    r.fail("not an optimizer state file (no ENGOPTST magic string)");
  const uint32_t version = r.get<uint32_t>("the version");
  if (version != kStateVersion)
    r.fail(str("format version ", version, "; this engine reads version ", kStateVersion));
  if (r.get<uint32_t>("the byte-order mark") != kByteOrderMark)
    r.fail("written on a machine of the other byte order");
  const std::string kind = r.get_str("the optimizer kind");
  const char* own_kind = optimizer_kind_name(m.optimizer->config().kind);
  if (kind != own_kind)
    r.fail(str("holds ", kind, " state; this session trains with ", own_kind));
  const int64_t iterations = r.get<int64_t>("the step count");
  if (iterations < 0) r.fail(str("negative step count ", iterations));
  const uint32_t num_params = r.get<uint32_t>("the parameter count");
  if (num_params != m.parameters.size())
    r.fail(str("holds the state of ", num_params, " parameters; this session trains ",
               m.parameters.size()));
  const uint32_t num_slots = r.get<uint32_t>("the slot count");
  const std::vector<std::string> slots = m.optimizer->slot_names();
  std::vector<std::string> file_slots;
  // At most one name more than expected: enough to tell the lists apart.
  for (uint32_t s = 0; s < num_slots && s <= slots.size(); ++s)
    file_slots.push_back(r.get_str("a slot name"));
  if (file_slots != slots)
    r.fail(str("its slots differ from this optimizer's (", num_slots, " slots per parameter, ",
               slots.size(), " here: the configuration changed)"));
  std::vector<Shape> shapes;
  for (uint32_t i = 0; i < num_params; ++i) {
    const std::string name = r.get_str("a parameter name");
    const uint32_t ndim = r.get<uint32_t>("a parameter's rank");
    if (ndim > kMaxStateRank) r.fail(str("parameter '", name, "' has rank ", ndim));
    Shape shape(ndim);
    for (int64_t& d : shape) d = r.get<int64_t>("a parameter's shape");
    const Shape& own = m.model.graph->initializers.at(m.parameters[i]).shape();
    if (name != m.parameters[i] || shape != own)
      r.fail(str("parameter ", i, " is '", name, "' of shape ", shape_str(shape),
                 " in the file, '", m.parameters[i], "' of shape ", shape_str(own),
                 " in this session"));
    shapes.push_back(shape);
  }
  std::vector<Tensor> state;
  for (const Shape& shape : shapes)
    for (size_t s = 0; s < slots.size(); ++s) {
      Tensor t = Tensor::empty(shape);
      std::memcpy(t.raw_data(), r.take(t.nbytes(), "the slot values"), t.nbytes());
      state.push_back(std::move(t));
    }
  if (r.left() != 0) r.fail(str(r.left(), " bytes after the last slot"));
  // Everything checked; the optimizer validates once more before it changes.
  m.optimizer->load_state(iterations, state);
  // Dropout masks follow the step count: a resumed run replays the same ones.
  m.training->set_step(static_cast<uint64_t>(iterations));
}

}  // namespace engine
