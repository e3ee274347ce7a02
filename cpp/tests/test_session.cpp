// Sessions (engine/session.h) on models built here as engine Graphs and written with
// onnx_write. References are independent of the sessions: a direct Executor run of the same
// graph, a Gemm worked out by hand, losses computed in double from the model's outputs, a
// second session restored from an exported file and a saved optimizer state.
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "check.h"
#include "engine/engine.h"

namespace fs = std::filesystem;
using engine::DType;
using engine::ErrorKind;
using engine::Shape;
using engine::Tensor;

namespace {

// A folder of its own for this process's files, removed at exit.
const fs::path& temp_dir() {
  struct Dir {
    fs::path path = fs::temp_directory_path() / ("engine_test_session_" + std::to_string(getpid()));
    Dir() { fs::create_directories(path); }
    ~Dir() {
      std::error_code ignored;
      fs::remove_all(path, ignored);
    }
  };
  static Dir dir;
  return dir.path;
}

std::string temp_file(const std::string& name) { return (temp_dir() / name).string(); }

Tensor values(const Shape& shape, const std::vector<float>& v) {
  Tensor t = Tensor::empty(shape);
  for (size_t i = 0; i < v.size(); ++i) t.data<float>()[i] = v[i];
  return t;
}

// Deterministic values in [-scale, scale).
struct Lcg {
  uint64_t state;
  float next(float scale) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return scale * (static_cast<float>(state >> 40) / static_cast<float>(1 << 23) - 1.0f);
  }
  Tensor tensor(const Shape& shape, float scale) {
    Tensor t = Tensor::empty(shape);
    for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = next(scale);
    return t;
  }
};

engine::Node node(const char* op, std::vector<std::string> in, std::vector<std::string> out) {
  engine::Node n;
  n.op_type = op;
  n.name = out.at(0);
  n.inputs = std::move(in);
  n.outputs = std::move(out);
  return n;
}

// x [-1, in] -> Gemm -> Relu -> Gemm -> "logits" [-1, out] (-> Softmax -> "probs").
engine::Graph mlp(int in, int hidden, int out, uint64_t seed, bool softmax = false) {
  Lcg rng{seed};
  engine::Graph g;
  g.inputs = {{"x", DType::Float32, {-1, in}}};
  g.initializers["W1"] = rng.tensor({in, hidden}, 1.0f);
  g.initializers["b1"] = rng.tensor({hidden}, 0.1f);
  g.initializers["W2"] = rng.tensor({hidden, out}, 0.5f);
  g.initializers["b2"] = rng.tensor({out}, 0.1f);
  g.nodes = {node("Gemm", {"x", "W1", "b1"}, {"h"}), node("Relu", {"h"}, {"r"}),
             node("Gemm", {"r", "W2", "b2"}, {"logits"})};
  g.outputs = {{"logits", DType::Float32, {}}};
  if (softmax) {
    g.nodes.push_back(node("Softmax", {"logits"}, {"probs"}));
    g.nodes.back().attrs["axis"] = engine::Attribute::of_int(1);
    g.outputs = {{"probs", DType::Float32, {}}};
  }
  return g;
}

std::string write_model(const engine::Graph& g, const std::string& name, int64_t opset = 0) {
  engine::OnnxModel m;
  m.graph = g;
  if (opset) m.opset_imports = {{"", opset}};
  const std::string path = temp_file(name);
  engine::onnx_write(m, path);
  return path;
}

std::string file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Same shape, dtype and bytes.
bool same(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() && a.dtype() == b.dtype() &&
         std::memcmp(a.contiguous().raw_data(), b.contiguous().raw_data(), a.nbytes()) == 0;
}

bool close(double got, double want, double rtol) {
  const bool ok = std::fabs(got - want) <= rtol * std::fabs(want);
  if (!ok) std::printf("  got %.9g, expected %.9g\n", got, want);
  return ok;
}

// Runs `fn`, which must throw an engine::Error of `kind` whose message holds `phrase`.
template <class Fn>
void expect_error(Fn&& fn, ErrorKind kind, const std::string& phrase) {
  try {
    fn();
    std::printf("  no error (expected one with '%s')\n", phrase.c_str());
    CHECK(false);
  } catch (const engine::Error& e) {
    const bool named = std::string(e.what()).find(phrase) != std::string::npos;
    if (!named || e.kind() != kind)
      std::printf("  error of kind %d: %s (expected kind %d with '%s')\n",
                  static_cast<int>(e.kind()), e.what(), static_cast<int>(kind), phrase.c_str());
    CHECK(named);
    CHECK(e.kind() == kind);
  }
}

// Three separable classes in the plane: points near (2, 0), (-1, 1.7), (-1, -1.7).
struct Data {
  Tensor x, labels, one_hot;
};

Data blobs(int n, uint64_t seed) {
  Lcg rng{seed};
  const float centers[3][2] = {{2.0f, 0.0f}, {-1.0f, 1.7f}, {-1.0f, -1.7f}};
  Data d{Tensor::empty({n, 2}), Tensor::empty({n}, DType::Int64), Tensor::zeros({n, 3})};
  for (int i = 0; i < n; ++i) {
    const int c = i % 3;
    d.x.data<float>()[2 * i] = centers[c][0] + rng.next(0.6f);
    d.x.data<float>()[2 * i + 1] = centers[c][1] + rng.next(0.6f);
    d.labels.data<int64_t>()[i] = c;
    d.one_hot.data<float>()[3 * i + c] = 1.0f;
  }
  return d;
}

// Mean over the rows of -log softmax(z)[label], in double.
double softmax_cross_entropy(const Tensor& logits, const Tensor& labels) {
  const int64_t n = logits.dim(0), c = logits.dim(1);
  double total = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    const float* z = logits.data<float>() + i * c;
    double m = z[0], s = 0.0;
    for (int64_t j = 1; j < c; ++j) m = std::max(m, double(z[j]));
    for (int64_t j = 0; j < c; ++j) s += std::exp(z[j] - m);
    total += std::log(s) + m - z[labels.data<int64_t>()[i]];
  }
  return total / n;
}

engine::TrainingOptions options(const std::string& loss, float learning_rate = 0.05f) {
  engine::TrainingOptions o;
  o.loss = loss;
  o.optimizer.learning_rate = learning_rate;
  return o;
}

}  // namespace

TEST_CASE(inference_matches_a_hand_computed_gemm) {
  engine::Graph g;
  g.inputs = {{"x", DType::Float32, {-1, 3}}};
  g.initializers["W"] = values({3, 2}, {0.5f, -0.25f, 0.125f, 1.0f, -0.75f, 0.3f});
  g.initializers["b"] = values({2}, {0.1f, -0.2f});
  g.nodes = {node("Gemm", {"x", "W", "b"}, {"y"})};
  g.outputs = {{"y", DType::Float32, {}}};
  const engine::InferenceSession s =
      engine::InferenceSession::from_file(write_model(g, "gemm.onnx"));

  CHECK(s.inputs().size() == 1 && s.outputs().size() == 1);
  CHECK(s.inputs()[0].name == "x" && s.inputs()[0].dtype == DType::Float32 &&
        s.inputs()[0].shape == (Shape{-1, 3}));
  CHECK(s.outputs()[0].name == "y" && s.outputs()[0].dtype == DType::Float32 &&
        s.outputs()[0].shape == (Shape{-1, 2}));

  const Tensor x = values({2, 3}, {1, 2, 3, -1, 0.5f, 2});
  const std::vector<Tensor> y = s.run({x});
  CHECK(y.size() == 1 && y[0].shape() == (Shape{2, 2}) && y[0].device().is_cpu());
  const double W[3][2] = {{0.5, -0.25}, {0.125, 1.0}, {-0.75, 0.3}}, b[2] = {0.1, -0.2};
  for (int n = 0; n < 2; ++n)
    for (int j = 0; j < 2; ++j) {
      double want = b[j];
      for (int i = 0; i < 3; ++i) want += x.data<float>()[n * 3 + i] * W[i][j];
      CHECK(close(y[0].data<float>()[n * 2 + j], want, 1e-6));
    }
}

TEST_CASE(inference_matches_a_direct_executor_run) {
  const engine::Graph g = mlp(2, 8, 3, 1, /*softmax=*/true);
  const std::string path = write_model(g, "mlp_softmax.onnx");
  const Tensor x = blobs(10, 7).x;
  engine::Executor direct(std::make_shared<engine::Graph>(g));
  const Tensor want = direct.run({x})[0];

  const engine::InferenceSession from_file = engine::InferenceSession::from_file(path);
  CHECK(same(from_file.run({x})[0], want));
  CHECK(from_file.outputs()[0].name == "probs" && from_file.outputs()[0].shape == (Shape{-1, 3}));
  const std::string bytes = file_bytes(path);
  const engine::InferenceSession from_buffer =
      engine::InferenceSession::from_buffer(bytes.data(), bytes.size());
  CHECK(same(from_buffer.run({x})[0], want));

  // run_into writes into caller-owned memory.
  std::vector<float> out(10 * 3, -1.0f);
  from_file.run_into({x}, {engine::host_view(out.data(), {10, 3})});
  CHECK(std::memcmp(out.data(), want.data<float>(), out.size() * sizeof(float)) == 0);

  // Planned for the batch size when made: the same outputs, and the first run of that size
  // allocates nothing new.
  engine::SessionOptions planned;
  planned.batch_size = 10;
  const engine::InferenceSession warm = engine::InferenceSession::from_file(path, planned);
  const int64_t before = engine::Storage::allocation_count();
  const Tensor got = warm.run({x})[0];
  CHECK(same(got, want));
  CHECK(engine::Storage::allocation_count() - before <= 2);  // the output and its host copy
  planned.batch_size = -1;
  expect_error([&] { engine::InferenceSession::from_file(path, planned); }, ErrorKind::Value,
               "batch_size must be >= 0");

  // A moved session runs; the moved-from one says so instead of crashing.
  engine::InferenceSession moved = engine::InferenceSession::from_file(path);
  engine::InferenceSession target = std::move(moved);
  CHECK(same(target.run({x})[0], want));
  expect_error([&] { moved.run({x}); }, ErrorKind::Value, "moved from");
}

TEST_CASE(concurrent_runs_give_the_single_threaded_outputs) {
  const engine::InferenceSession s =
      engine::InferenceSession::from_file(write_model(mlp(2, 8, 3, 2), "mlp_threads.onnx"));
  constexpr int kThreads = 4, kRuns = 50;
  std::vector<Tensor> inputs, expected;
  for (int t = 0; t < kThreads; ++t) {
    inputs.push_back(blobs(5 + 7 * t, 100 + t).x);  // a batch size of its own per thread
    expected.push_back(s.run({inputs.back()})[0]);
  }
  std::vector<int> mismatches(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int r = 0; r < kRuns; ++r)
        if (!same(s.run({inputs[t]})[0], expected[t])) ++mismatches[t];
    });
  for (std::thread& t : threads) t.join();
  for (int t = 0; t < kThreads; ++t) CHECK(mismatches[t] == 0);
}

TEST_CASE(bad_files_and_inputs_are_errors_that_name_the_problem) {
  const std::string missing = temp_file("no_such_model.onnx");
  try {
    engine::InferenceSession::from_file(missing);
    CHECK(false);
  } catch (const engine::Error& e) {
    CHECK(e.kind() == ErrorKind::OS);
    CHECK(e.os_errno() == ENOENT);
    CHECK(e.path() == missing);
  }

  const std::string bytes = file_bytes(write_model(mlp(2, 4, 3, 3), "mlp_errors.onnx"));
  expect_error([&] { engine::InferenceSession::from_buffer(bytes.data(), bytes.size() / 2); },
               ErrorKind::Value, "");
  std::string corrupt = bytes;
  for (size_t i = 0; i < corrupt.size(); i += 7) corrupt[i] = static_cast<char>(0xff);
  expect_error([&] { engine::InferenceSession::from_buffer(corrupt.data(), corrupt.size()); },
               ErrorKind::Value, "");
  expect_error([&] { engine::InferenceSession::from_buffer(nullptr, 10); }, ErrorKind::Value,
               "null model buffer");
  const std::string truncated_path = temp_file("truncated.onnx");
  std::ofstream(truncated_path, std::ios::binary) << bytes.substr(0, bytes.size() - 9);
  expect_error([&] { engine::InferenceSession::from_file(truncated_path); }, ErrorKind::Value, "");

  const engine::InferenceSession s = engine::InferenceSession::from_buffer(bytes.data(), bytes.size());
  const Tensor x = Tensor::full({4, 2}, 0.5f);
  expect_error([&] { s.run({}); }, ErrorKind::Value, "takes 1 input(s) ('x'), got 0");
  expect_error([&] { s.run({x, x}); }, ErrorKind::Value, "got 2");
  expect_error([&] { s.run({Tensor::full({4, 3}, 0.5f)}); }, ErrorKind::Value, "input 'x'");
  expect_error([&] { s.run({Tensor::zeros({4, 2}, DType::Int64)}); }, ErrorKind::Type, "input 'x'");
  expect_error([&] { s.run({Tensor()}); }, ErrorKind::Value, "input 'x'");

  std::vector<float> out(4 * 3);
  expect_error([&] { s.run_into({x}, {engine::host_view(out.data(), {3, 4})}); }, ErrorKind::Value,
               "output 'logits' has shape [4, 3]");
  expect_error([&] { s.run_into({x}, {}); }, ErrorKind::Value, "has 1 output(s)");
  expect_error([&] { s.run_into({x}, {Tensor()}); }, ErrorKind::Value, "output 'logits'");
  std::vector<int64_t> ints(12);
  expect_error([&] { s.run_into({x}, {engine::host_view(ints.data(), {4, 3}, DType::Int64)}); },
               ErrorKind::Type, "output 'logits'");
  expect_error([&] { engine::host_view(nullptr, {2, 2}); }, ErrorKind::Value, "null data");
  expect_error([&] { engine::host_view(out.data(), {-1, 2}); }, ErrorKind::Value, "");
}

TEST_CASE(session_threads_option_sets_the_thread_count) {
  const int before = engine::get_num_threads();
  engine::SessionOptions o;
  o.threads = 1;
  engine::InferenceSession::from_file(write_model(mlp(2, 4, 3, 4), "mlp_threads_opt.onnx"), o);
  CHECK(engine::get_num_threads() == 1);
  engine::set_num_threads(before);
  o.threads = -1;
  expect_error([&] { engine::InferenceSession::from_file(temp_file("mlp_threads_opt.onnx"), o); },
               ErrorKind::Value, "threads");
}

TEST_CASE(sparse_training_first_loss_descent_and_export) {
  const std::string path = write_model(mlp(2, 8, 3, 5), "mlp_train.onnx");
  const Data d = blobs(48, 11);
  engine::TrainingSession t =
      engine::TrainingSession::from_file(path, options("sparse_categorical_crossentropy"));
  CHECK(t.inputs().size() == 1 && t.outputs()[0].name == "logits");
  CHECK(t.steps() == 0);

  // The first step's loss is the mean cross-entropy of the initial outputs; evaluate gives the
  // same and changes nothing.
  const Tensor initial = t.run({d.x})[0];
  const double want = softmax_cross_entropy(initial, d.labels);
  CHECK(close(t.evaluate({d.x}, d.labels), want, 1e-5));
  CHECK(same(t.run({d.x})[0], initial));
  const float first = t.train_step({d.x}, d.labels);
  CHECK(close(first, want, 1e-5));
  CHECK(t.steps() == 1);
  CHECK(!same(t.run({d.x})[0], initial));  // the inference graph sees the update

  float last = first;
  for (int step = 0; step < 200; ++step) last = t.train_step({d.x}, d.labels);
  CHECK(t.steps() == 201);
  CHECK(last < 0.2f * first);
  const Tensor trained = t.run({d.x})[0];
  CHECK(close(t.evaluate({d.x}, d.labels), softmax_cross_entropy(trained, d.labels), 1e-5));
  int correct = 0;
  for (int i = 0; i < 48; ++i) {
    const float* z = trained.data<float>() + 3 * i;
    const int arg = z[0] >= z[1] && z[0] >= z[2] ? 0 : (z[1] >= z[2] ? 1 : 2);
    correct += arg == d.labels.data<int64_t>()[i];
  }
  CHECK(correct >= 46);

  // The exported model computes what the trained session does.
  const std::string exported = temp_file("mlp_trained.onnx");
  t.export_onnx(exported);
  const engine::InferenceSession s = engine::InferenceSession::from_file(exported);
  CHECK(same(s.run({d.x})[0], trained));
  CHECK(same(s.run({blobs(5, 3).x})[0], t.run({blobs(5, 3).x})[0]));
}

TEST_CASE(each_loss_matches_its_formula_on_the_first_step) {
  const Data d = blobs(12, 21);
  const Tensor logits_model_out =
      engine::InferenceSession::from_file(write_model(mlp(2, 8, 3, 6), "mlp_losses.onnx"))
          .run({d.x})[0];
  const std::string softmax_path = write_model(mlp(2, 8, 3, 6, true), "mlp_losses_softmax.onnx");
  const int n = 12, c = 3;
  const float* z = logits_model_out.data<float>();
  const float* t = d.one_hot.data<float>();
  auto mean_of = [&](auto per_element) {
    double total = 0.0;
    for (int i = 0; i < n * c; ++i) total += per_element(double(z[i]), double(t[i]));
    return total / (n * c);
  };
  struct Case {
    const char* loss;
    bool from_logits, softmax_model;
    double want;
  };
  const double ce = softmax_cross_entropy(logits_model_out, d.labels);
  const Case cases[] = {
      {"sparse_categorical_crossentropy", true, false, ce},
      {"categorical_crossentropy", true, false, ce},
      // Probabilities from a Softmax: the loss reads its logits (fused, as Keras does).
      {"categorical_crossentropy", false, true, ce},
      {"sparse_categorical_crossentropy", false, true, ce},
      {"binary_crossentropy", true, false,
       mean_of([](double z, double t) {
         return std::max(z, 0.0) - z * t + std::log1p(std::exp(-std::fabs(z)));
       })},
      {"mse", false, false, mean_of([](double z, double t) { return (z - t) * (z - t); })},
      {"MAE", false, false, mean_of([](double z, double t) { return std::fabs(z - t); })},
      {"huber", false, false, mean_of([](double z, double t) {
         const double a = std::fabs(z - t);
         return a <= 1.0 ? 0.5 * a * a : a - 0.5;
       })},
  };
  for (const Case& k : cases) {
    engine::TrainingOptions o = options(k.loss);
    o.from_logits = k.from_logits;
    engine::TrainingSession s = engine::TrainingSession::from_file(
        k.softmax_model ? softmax_path : temp_file("mlp_losses.onnx"), o);
    const bool sparse = std::string(k.loss) == "sparse_categorical_crossentropy";
    const Tensor& target = sparse ? d.labels : d.one_hot;
    const float got = s.train_step({d.x}, target);
    if (!close(got, k.want, 1e-5)) std::printf("  loss %s\n", k.loss);
    CHECK(close(got, k.want, 1e-5));
  }
}

TEST_CASE(mse_training_reduces_the_loss) {
  const Data d = blobs(48, 31);
  engine::TrainingSession t = engine::TrainingSession::from_file(
      write_model(mlp(2, 8, 3, 8), "mlp_mse.onnx"), options("mse", 0.02f));
  const float first = t.train_step({d.x}, d.one_hot);
  float last = first;
  for (int step = 0; step < 200; ++step) last = t.train_step({d.x}, d.one_hot);
  CHECK(last < 0.25f * first);
  CHECK(close(t.evaluate({d.x}, d.one_hot), last, 0.05));
}

TEST_CASE(targets_and_options_are_checked) {
  const std::string path = write_model(mlp(2, 4, 3, 9), "mlp_checks.onnx");
  const Data d = blobs(6, 41);
  engine::TrainingSession t =
      engine::TrainingSession::from_file(path, options("sparse_categorical_crossentropy"));
  expect_error([&] { t.train_step({d.x}, d.one_hot); }, ErrorKind::Type,
               "sparse_categorical_crossentropy needs int64 class labels of shape [-1]");
  expect_error([&] { t.train_step({d.x}, Tensor::zeros({5}, DType::Int64)); }, ErrorKind::Value,
               "for this batch [6]");
  expect_error([&] { t.train_step({d.x}, Tensor::zeros({6, 1}, DType::Int64)); },
               ErrorKind::Value, "sparse_categorical_crossentropy");
  expect_error([&] { t.train_step({d.x}, Tensor()); }, ErrorKind::Value, "target is undefined");
  expect_error([&] { t.train_step({}, d.labels); }, ErrorKind::Value, "takes 1 input(s)");
  Tensor bad_label = d.labels.clone();
  bad_label.data<int64_t>()[2] = 3;
  CHECK_THROWS(t.train_step({d.x}, bad_label));
  expect_error([&] { t.evaluate({d.x}, Tensor::zeros({6, 3})); }, ErrorKind::Type, "int64");
  CHECK(t.steps() == 0);
  t.train_step({d.x}, d.labels);  // still trains
  CHECK(t.steps() == 1);

  engine::TrainingSession mse = engine::TrainingSession::from_file(path, options("mse"));
  expect_error([&] { mse.train_step({d.x}, Tensor::zeros({6, 2})); }, ErrorKind::Value,
               "float32 of the output's shape [-1, 3]");

  expect_error([&] { engine::TrainingSession::from_file(path, options("hinge")); },
               ErrorKind::Value, "unknown loss 'hinge'");
  engine::TrainingOptions probs = options("sparse_categorical_crossentropy");
  probs.from_logits = false;  // the output is logits, not a Softmax's
  expect_error([&] { engine::TrainingSession::from_file(path, probs); }, ErrorKind::Value,
               "from a Softmax");
  engine::TrainingOptions unknown = options("mse");
  unknown.trainable = {"W1", "nope"};
  expect_error([&] { engine::TrainingSession::from_file(path, unknown); }, ErrorKind::Value,
               "'nope' is not a trainable initializer");
  engine::TrainingOptions bad_lr = options("mse");
  bad_lr.optimizer.learning_rate = -1.0f;
  expect_error([&] { engine::TrainingSession::from_file(path, bad_lr); }, ErrorKind::Value,
               "learning_rate");
  expect_error([&] { t.set_learning_rate(std::nan("")); }, ErrorKind::Value, "learning rate");
}

TEST_CASE(trainable_subset_and_schedule) {
  const engine::Graph g = mlp(2, 4, 3, 10);
  const std::string path = write_model(g, "mlp_subset.onnx");
  const Data d = blobs(6, 51);
  engine::TrainingOptions o = options("sparse_categorical_crossentropy");
  o.trainable = {"W2"};
  std::vector<int64_t> asked;
  o.schedule = [&](int64_t step) {
    asked.push_back(step);
    return step == 0 ? 0.0 : 0.05;
  };
  engine::TrainingSession t = engine::TrainingSession::from_file(path, o);
  const Tensor before = t.run({d.x})[0];
  t.train_step({d.x}, d.labels);  // learning rate 0: nothing moves
  CHECK(same(t.run({d.x})[0], before));
  t.train_step({d.x}, d.labels);
  CHECK(!same(t.run({d.x})[0], before));
  CHECK(asked == (std::vector<int64_t>{0, 1}));
  CHECK(t.steps() == 2);

  // Only W2 changed: an exported model with the original W2 computes the original outputs.
  const std::string exported = temp_file("mlp_subset_trained.onnx");
  t.export_onnx(exported);
  engine::OnnxModel m = engine::onnx_read(exported);
  CHECK(same(m.graph.initializers.at("W1"), g.initializers.at("W1")));
  CHECK(same(m.graph.initializers.at("b2"), g.initializers.at("b2")));
  CHECK(!same(m.graph.initializers.at("W2"), g.initializers.at("W2")));
}

TEST_CASE(optimizer_state_round_trip_resumes_training_exactly) {
  const Data d = blobs(24, 61);
  const engine::TrainingOptions o = options("sparse_categorical_crossentropy");
  engine::TrainingSession t =
      engine::TrainingSession::from_file(write_model(mlp(2, 8, 3, 12), "mlp_state.onnx"), o);
  for (int step = 0; step < 5; ++step) t.train_step({d.x}, d.labels);
  const std::string model = temp_file("mlp_state_5.onnx"), state = temp_file("state_5.bin");
  t.export_onnx(model);
  t.save_optimizer_state(state);
  const float l1 = t.train_step({d.x}, d.labels), l2 = t.train_step({d.x}, d.labels),
              l3 = t.train_step({d.x}, d.labels);

  // A second session from the exported weights and the saved state takes the same steps.
  engine::TrainingSession resumed = engine::TrainingSession::from_file(model, o);
  resumed.load_optimizer_state(state);
  CHECK(resumed.steps() == 5);
  CHECK(resumed.train_step({d.x}, d.labels) == l1);
  CHECK(resumed.train_step({d.x}, d.labels) == l2);
  // Without the state, Adam's second step differs (the check above has teeth).
  const std::string model_bytes = file_bytes(model);
  engine::TrainingSession fresh =
      engine::TrainingSession::from_buffer(model_bytes.data(), model_bytes.size(), o);
  CHECK(fresh.train_step({d.x}, d.labels) == l1);
  CHECK(fresh.train_step({d.x}, d.labels) != l2);

  // A state saved by a differently-shaped model is refused and changes nothing.
  engine::TrainingSession other =
      engine::TrainingSession::from_file(write_model(mlp(2, 5, 3, 13), "mlp_state_other.onnx"), o);
  other.train_step({d.x}, d.labels);
  const std::string other_state = temp_file("state_other.bin");
  other.save_optimizer_state(other_state);
  expect_error([&] { resumed.load_optimizer_state(other_state); }, ErrorKind::Value,
               "of shape [2, 5] in the file, 'W1' of shape [2, 8] in this session");
  CHECK(resumed.steps() == 7);
  CHECK(resumed.train_step({d.x}, d.labels) == l3);

  // Damaged or missing files, and another optimizer's state.
  const std::string bytes = file_bytes(state);
  const std::string truncated = temp_file("state_truncated.bin");
  std::ofstream(truncated, std::ios::binary) << bytes.substr(0, bytes.size() - 3);
  expect_error([&] { resumed.load_optimizer_state(truncated); }, ErrorKind::Value, "truncated");
  const std::string extra = temp_file("state_extra.bin");
  std::ofstream(extra, std::ios::binary) << bytes << "xy";
  expect_error([&] { resumed.load_optimizer_state(extra); }, ErrorKind::Value, "2 bytes after");
  const std::string not_state = temp_file("not_state.bin");
  std::ofstream(not_state, std::ios::binary) << "hello, world";
  expect_error([&] { resumed.load_optimizer_state(not_state); }, ErrorKind::Value, "magic");
  expect_error([&] { resumed.load_optimizer_state(temp_file("no_state.bin")); }, ErrorKind::OS,
               "no_state.bin");
  engine::TrainingOptions sgd = o;
  sgd.optimizer = engine::optimizer_default_config(engine::OptimizerKind::SGD);
  engine::TrainingSession sgd_session = engine::TrainingSession::from_file(model, sgd);
  expect_error([&] { sgd_session.load_optimizer_state(state); }, ErrorKind::Value,
               "holds Adam state; this session trains with SGD");
  CHECK(resumed.steps() == 8);

  // A state saved before the first step is a fresh optimizer's.
  engine::TrainingSession a = engine::TrainingSession::from_file(model, o);
  engine::TrainingSession b = engine::TrainingSession::from_file(model, o);
  const std::string initial = temp_file("state_initial.bin");
  a.save_optimizer_state(initial);
  b.train_step({d.x}, d.labels);
  b.load_optimizer_state(initial);
  CHECK(b.steps() == 0);
  engine::TrainingSession c = engine::TrainingSession::from_file(model, o);
  c.load_optimizer_state(initial);
  a.train_step({d.x}, d.labels);
  c.train_step({d.x}, d.labels);
  CHECK(same(a.run({d.x})[0], c.run({d.x})[0]));
}

TEST_CASE(export_restores_an_old_opset_softmax) {
  // Opset 11's Softmax over axis 1 of a rank-3 input normalises over both trailing dims; the
  // importer marks it, export writes it as ONNX again (Flatten, Softmax, Reshape).
  engine::Graph g;
  g.inputs = {{"x", DType::Float32, {-1, 2, 3}}};
  g.initializers["w"] = values({3}, {0.5f, -1.0f, 2.0f});
  g.nodes = {node("Mul", {"x", "w"}, {"scaled"}), node("Softmax", {"scaled"}, {"y"})};
  g.nodes[1].attrs["axis"] = engine::Attribute::of_int(1);
  g.outputs = {{"y", DType::Float32, {}}};
  engine::TrainingSession t = engine::TrainingSession::from_file(
      write_model(g, "softmax_opset11.onnx", 11), options("mse"));
  const Tensor x = Lcg{71}.tensor({4, 2, 3}, 2.0f);
  t.train_step({x}, Tensor::full({4, 2, 3}, 1.0f / 6));
  const std::string exported = temp_file("softmax_exported.onnx");
  t.export_onnx(exported);
  const engine::OnnxModel written = engine::onnx_read(exported);
  std::string ops;
  for (const engine::Node& n : written.graph.nodes) ops += n.op_type + " ";
  CHECK(ops == "Mul Flatten Softmax Shape Reshape ");
  const engine::InferenceSession s = engine::InferenceSession::from_file(exported);
  const Tensor y = s.run({x})[0];
  CHECK(same(y, t.run({x})[0]));
  double row = 0.0;  // each sample sums to 1 over its 2 x 3 values
  for (int i = 0; i < 6; ++i) row += y.data<float>()[i];
  CHECK(close(row, 1.0, 1e-6));
}

TEST_MAIN()
