#include <cstdint>
#include <cstring>

#include "check.h"
#include "engine/engine.h"

using engine::DType;
using engine::Shape;
using engine::Tensor;

TEST_CASE(empty_is_aligned_and_contiguous) {
  Tensor t = Tensor::empty({3, 7, 13});
  CHECK(t.numel() == 273);
  CHECK(t.nbytes() == 273 * 4);
  CHECK(t.is_contiguous());
  CHECK(reinterpret_cast<uintptr_t>(t.raw_data()) % 64 == 0);
  CHECK((t.strides() == Shape{91, 13, 1}));
}

TEST_CASE(views_share_storage) {
  Tensor t = Tensor::zeros({4, 6});
  Tensor v = t.reshape({2, -1});
  CHECK((v.shape() == Shape{2, 12}));
  CHECK(v.raw_data() == t.raw_data());
  v.data<float>()[5] = 3.0f;
  CHECK(t.data<float>()[5] == 3.0f);

  Tensor tr = t.transpose(0, 1);
  CHECK(!tr.is_contiguous());
  CHECK(tr.raw_data() == t.raw_data());
  Tensor packed = tr.contiguous();
  CHECK(packed.is_contiguous());
  CHECK(packed.raw_data() != t.raw_data());
  // tr[5][0] is t[0][5].
  CHECK(packed.data<float>()[5 * 4 + 0] == 3.0f);
}

TEST_CASE(slice_with_step) {
  Tensor t = Tensor::empty({10});
  for (int i = 0; i < 10; ++i) t.data<float>()[i] = static_cast<float>(i);
  Tensor s = t.slice(0, 1, 9, 3);  // 1, 4, 7
  CHECK(s.numel() == 3);
  Tensor c = s.contiguous();
  CHECK(c.data<float>()[0] == 1.0f && c.data<float>()[1] == 4.0f && c.data<float>()[2] == 7.0f);
}

TEST_CASE(int64_tensors_and_dtype_checks) {
  Tensor t = Tensor::zeros({5}, DType::Int64);
  CHECK(t.nbytes() == 40);
  t.data<int64_t>()[4] = 1LL << 40;
  CHECK(t.clone().data<int64_t>()[4] == (1LL << 40));
  CHECK_THROWS(t.data<float>());
}

TEST_CASE(bad_shapes_throw) {
  CHECK_THROWS(Tensor::empty({-1, 3}));
  CHECK_THROWS(Tensor::empty({INT64_MAX, 4}));
  Tensor t = Tensor::empty({6});
  CHECK_THROWS(t.reshape({4, -1}));
  CHECK_THROWS(t.reshape({-1, -1}));
  CHECK_THROWS(t.dim(1));
}

TEST_CASE(storage_is_freed_with_last_view) {
  const int64_t before = engine::Storage::live_bytes();
  {
    Tensor t = Tensor::empty({1000});
    Tensor v = t.reshape({10, 100});
    CHECK(engine::Storage::live_bytes() == before + 4000);
  }
  CHECK(engine::Storage::live_bytes() == before);
}

TEST_CASE(wrapped_memory_is_released_once) {
  static float buffer[12];
  int released = 0;
  {
    auto storage = engine::Storage::wrap(buffer, sizeof(buffer), [&] { ++released; });
    Tensor t = Tensor::from_storage(storage, 0, {3, 4}, {4, 1}, DType::Float32);
    Tensor view = t.slice(1, 1, 3);
    CHECK(released == 0);
  }
  CHECK(released == 1);
}

TEST_CASE(threads_setting) {
  const int n = engine::get_num_threads();
  CHECK(n >= 1);
  engine::set_num_threads(1);
  CHECK(engine::get_num_threads() == 1);
  CHECK_THROWS(engine::set_num_threads(0));
  engine::set_num_threads(n);
}

TEST_MAIN()
