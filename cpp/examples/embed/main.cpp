// Links the installed libengine through find_package(engine) and uses its tensors.
#include <cstdio>

#include "engine/engine.h"

int main() {
  engine::Tensor x = engine::Tensor::full({2, 3}, 1.5f);
  engine::Tensor view = x.reshape({3, 2}).transpose(0, 1);
  std::printf("engine %s (%s), %d threads: %s\n", engine::version(), engine::cpu_features(),
              engine::get_num_threads(), view.describe().c_str());
  try {
    engine::Tensor::empty({-1});
  } catch (const engine::Error& e) {
    std::printf("bad shape rejected: %s\n", e.what());
  }
  return view.contiguous().data<float>()[0] == 1.5f ? 0 : 1;
}
