// The device seam: tensors know their device, memory comes from the device's allocator,
// Tensor::to moves data, and ops refuse inputs on different devices or devices without
// kernels. A host-memory allocator registered as "cuda:7" stands in for a GPU backend.
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "check.h"
#include "engine/engine.h"

using engine::Device;
using engine::Tensor;

namespace {

class HostBackedAllocator final : public engine::Allocator {
 public:
  Device device() const override { return Device::cuda(7); }
  void copy_from_host(void* dst, const void* src, size_t n) override { std::memcpy(dst, src, n); }
  void copy_to_host(void* dst, const void* src, size_t n) override { std::memcpy(dst, src, n); }
  void copy_within(void* dst, const void* src, size_t n) override { std::memmove(dst, src, n); }
  void fill_bytes(void* dst, unsigned char value, size_t n) override { std::memset(dst, value, n); }

 protected:
  void* raw_allocate(size_t nbytes) override { return std::malloc(nbytes == 0 ? 1 : nbytes); }
  void raw_deallocate(void* data) noexcept override { std::free(data); }
};

Device fake_gpu() {
  static HostBackedAllocator allocator;
  static const bool registered = (engine::register_allocator(Device::cuda(7), &allocator), true);
  (void)registered;
  return Device::cuda(7);
}

bool message_has(const std::string& text, const std::exception& e) {
  return std::string(e.what()).find(text) != std::string::npos;
}

}  // namespace

TEST_CASE(devices_parse_and_print) {
  CHECK(Device::parse("cpu") == Device::cpu());
  CHECK(Device::parse("cuda") == Device::cuda(0));
  CHECK(Device::parse("cuda:3").index == 3);
  CHECK(Device::cuda(2).str() == "cuda:2");
  CHECK_THROWS(Device::parse("tpu"));
  CHECK_THROWS(Device::parse("cuda:"));
  CHECK_THROWS(Device::parse("cuda:-1"));
}

TEST_CASE(unavailable_device_is_a_clear_error) {
  try {
    Tensor::empty({2}, engine::DType::Float32, Device::cuda(5));
    CHECK(false);
  } catch (const engine::Error& e) {
    // Without the CUDA plugin (or a GPU) the error says why.
    CHECK(e.kind() == engine::ErrorKind::Runtime);
    CHECK(message_has("cuda:5 is not available: ", e));
  }
}

TEST_CASE(tensors_move_between_devices) {
  const Device gpu = fake_gpu();
  Tensor x = Tensor::full({2, 3}, 1.25f);
  CHECK(x.device() == Device::cpu());
  CHECK(x.to(Device::cpu()).raw_data() == x.raw_data());  // already there: no copy
  Tensor on_gpu = x.to(gpu);
  CHECK(on_gpu.device() == gpu && on_gpu.raw_data() != x.raw_data());
  CHECK(on_gpu.describe() == "float32[2, 3] on cuda:7");
  const int64_t live = engine::allocator(gpu).live_bytes();
  CHECK(live >= 24);
  Tensor back = on_gpu.to(Device::cpu());
  for (int64_t i = 0; i < 6; ++i) CHECK(back.data<float>()[i] == 1.25f);
  on_gpu = Tensor();
  CHECK(engine::allocator(gpu).live_bytes() == live - 24);
  Tensor strided = Tensor::full({4, 4}, 2.0f).transpose(0, 1);
  CHECK_THROWS(Tensor::empty({4, 4}, engine::DType::Float32, gpu).copy_from(strided));
  CHECK_THROWS(Tensor::empty({2}, engine::DType::Float32, gpu).fill(0.0f));
}

TEST_CASE(ops_check_devices) {
  const Device gpu = fake_gpu();
  engine::OpCall add;
  add.op_type = "Add";
  const Tensor a = Tensor::full({3}, 1.0f);
  try {
    engine::run_op(add, {a, a.to(gpu)});
    CHECK(false);
  } catch (const engine::Error& e) {
    CHECK(e.kind() == engine::ErrorKind::Value);
    CHECK(message_has("inputs are on different devices (cpu and cuda:7)", e));
  }
  // A device without kernels for the op says so; it never runs CPU code on device memory.
  try {
    engine::run_op(add, {a.to(gpu), a.to(gpu)});
    CHECK(false);
  } catch (const engine::Error& e) {
    CHECK(e.kind() == engine::ErrorKind::NotImplemented);
    CHECK(message_has("no cuda kernels", e));
  }
}

TEST_CASE(executor_inputs_must_be_on_the_model_device) {
  auto graph = std::make_shared<engine::Graph>();
  graph->inputs.push_back({"x", engine::DType::Float32, {-1, 3}});
  engine::Node relu;
  relu.op_type = "Relu";
  relu.inputs = {"x"};
  relu.outputs = {"y"};
  graph->nodes.push_back(relu);
  graph->outputs.push_back({"y", engine::DType::Float32, {}});
  engine::Executor executor(graph);
  try {
    executor.run({Tensor::full({2, 3}, 1.0f).to(fake_gpu())});
    CHECK(false);
  } catch (const engine::Error& e) {
    CHECK(message_has("input 'x' is on cuda:7 but the model is on cpu", e));
  }
}

TEST_MAIN()
