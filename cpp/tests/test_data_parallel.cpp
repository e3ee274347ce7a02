// Data-parallel training through the public API: a Communicator whose "ranks" are threads
// of this process (sums through shared memory), each with its own executor and its own copy
// of the parameters. A step on each rank's part of a batch must give every rank the weights
// and loss of one step on the whole batch; a rank without samples of its own (samples 0)
// must change nothing.
#include <cmath>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "check.h"
#include "engine/engine.h"
#include "graph_builders.h"

using engine::Tensor;
using test_graph::node;
using test_graph::values;

namespace {

// Ranks are threads: every collective meets at a generation-counted barrier.
class ThreadGroup {
 public:
  explicit ThreadGroup(int size) : size_(size) {}
  int size() const { return size_; }

  void allreduce_sum(float* data, int64_t count) {
    std::unique_lock<std::mutex> lock(mutex_);
    if (arrived_ == 0) sum_.assign(count, 0.0f);
    for (int64_t i = 0; i < count; ++i) sum_[i] += data[i];
    wait(lock);
    for (int64_t i = 0; i < count; ++i) data[i] = sum_[i];
    wait(lock);  // nobody starts the next sum before everyone has read this one
  }
  void barrier() {
    std::unique_lock<std::mutex> lock(mutex_);
    wait(lock);
  }

 private:
  void wait(std::unique_lock<std::mutex>& lock) {
    const int64_t generation = generation_;
    if (++arrived_ == size_) {
      arrived_ = 0;
      ++generation_;
      cv_.notify_all();
    } else {
      cv_.wait(lock, [&] { return generation_ != generation; });
    }
  }

  const int size_;
  std::mutex mutex_;
  std::condition_variable cv_;
  int arrived_ = 0;
  int64_t generation_ = 0;
  std::vector<float> sum_;
};

class ThreadCommunicator : public engine::Communicator {
 public:
  ThreadCommunicator(ThreadGroup& group, int rank) : group_(group), rank_(rank) {}
  int rank() const override { return rank_; }
  int size() const override { return group_.size(); }
  void allreduce_sum(float* data, int64_t count) override { group_.allreduce_sum(data, count); }
  void broadcast(void*, int64_t, int) override {}  // the ranks start from the same weights
  void barrier() override { group_.barrier(); }

 private:
  ThreadGroup& group_;
  int rank_;
};

Tensor rows(const Tensor& t, int64_t begin, int64_t end) {
  const int64_t width = t.numel() / t.dim(0);
  std::vector<float> v(t.data<float>() + begin * width, t.data<float>() + end * width);
  return values({end - begin, width}, v);
}

// loss = mean over samples and columns of (x W + b - t)^2, 3 -> 2; Adam with its own state
// on each rank.
struct Replica {
  std::shared_ptr<engine::Graph> graph = std::make_shared<engine::Graph>();
  std::unique_ptr<engine::Executor> executor;

  Replica() {
    graph->inputs = {{"x", engine::DType::Float32, {-1, 3}}, {"t", engine::DType::Float32, {-1, 2}}};
    graph->initializers["W"] = values({3, 2}, {0.5f, -0.25f, 0.125f, 1.0f, -0.75f, 0.3f});
    graph->initializers["b"] = values({2}, {0.1f, -0.2f});
    graph->trainable = {"W", "b"};
    graph->nodes = {node("Gemm", "", {"x", "W", "b"}, {"y"}),
                    node("MeanSquaredError", "engine", {"y", "t"}, {"loss"})};
    graph->outputs = {{"y", engine::DType::Float32, {}}};
    executor = std::make_unique<engine::Executor>(graph);
    engine::OptimizerConfig adam = engine::optimizer_default_config(engine::OptimizerKind::Adam);
    adam.learning_rate = 0.05f;
    executor->set_optimizer(std::make_shared<engine::Optimizer>(adam), {"W", "b"});
  }
  std::vector<float> weights() const {
    std::vector<float> w;
    for (const char* name : {"W", "b"}) {
      const Tensor& t = graph->initializers.at(name);
      w.insert(w.end(), t.data<float>(), t.data<float>() + t.numel());
    }
    return w;
  }
};

const Tensor kX = values({5, 3}, {1, 2, 3, -1, 0.5f, 2, 0, 1, -2, 3, -1, 0.25f, 0.5f, 0.5f, -1});
const Tensor kT = values({5, 2}, {1, 0, -1, 2, 0.5f, 0.5f, 2, -1, 0, 1});

// Three steps on ranks that each hold rows [begins[r], ends[r]) of the batch.
void check_against_one_process(const std::vector<int64_t>& begins, const std::vector<int64_t>& ends) {
  Replica single;
  std::vector<float> single_losses;
  for (int step = 0; step < 3; ++step) single_losses.push_back(single.executor->train_step({kX, kT}, "loss"));

  const int size = static_cast<int>(begins.size());
  ThreadGroup group(size);
  std::vector<Replica> replicas(size);
  std::vector<std::vector<float>> losses(size);
  std::vector<std::thread> threads;
  for (int r = 0; r < size; ++r) {
    threads.emplace_back([&, r] {
      replicas[r].executor->set_communicator(std::make_shared<ThreadCommunicator>(group, r));
      // A rank without rows runs on a stand-in row with samples 0.
      const int64_t begin = begins[r], end = ends[r];
      const Tensor x = end > begin ? rows(kX, begin, end) : rows(kX, 0, 1);
      const Tensor t = end > begin ? rows(kT, begin, end) : rows(kT, 0, 1);
      for (int step = 0; step < 3; ++step)
        losses[r].push_back(replicas[r].executor->train_step({x, t}, "loss", {}, nullptr,
                                                             static_cast<float>(end - begin)));
    });
  }
  for (std::thread& t : threads) t.join();
  const std::vector<float> want = single.weights();
  for (int r = 0; r < size; ++r) {
    const std::vector<float> got = replicas[r].weights();
    for (size_t i = 0; i < want.size(); ++i) CHECK(std::fabs(got[i] - want[i]) <= 1e-5f * (1 + std::fabs(want[i])));
    for (int step = 0; step < 3; ++step)
      CHECK(std::fabs(losses[r][step] - single_losses[step]) <= 1e-5f * std::fabs(single_losses[step]));
  }
}

}  // namespace

TEST_CASE(two_ranks_with_uneven_parts_train_like_one_process) { check_against_one_process({0, 3}, {3, 5}); }

TEST_CASE(a_rank_without_samples_changes_nothing) { check_against_one_process({0, 2, 5}, {2, 5, 5}); }

TEST_CASE(a_group_of_one_trains_alone) {
  Replica single, alone;
  ThreadGroup group(1);
  alone.executor->set_communicator(std::make_shared<ThreadCommunicator>(group, 0));
  const float a = single.executor->train_step({kX, kT}, "loss");
  const float b = alone.executor->train_step({kX, kT}, "loss", {}, nullptr, 5.0f);
  CHECK(a == b);
  CHECK(single.weights() == alone.weights());
}

TEST_CASE(negative_sample_counts_are_refused) {
  ThreadGroup group(2);
  Replica replica;
  replica.executor->set_communicator(std::make_shared<ThreadCommunicator>(group, 0));
  bool threw = false;
  try {
    replica.executor->train_step({kX, kT}, "loss", {}, nullptr, -1.0f);
  } catch (const engine::Error& e) {
    threw = std::string(e.what()).find("samples must be a finite count >= 0") != std::string::npos;
  }
  CHECK(threw);
}

TEST_MAIN()
