// The collective operations data-parallel training needs, between the processes ("ranks")
// that each train a replica of one model. The executor calls them between the backward
// pass and the optimizer update (Executor::set_communicator). Implementations wrap an
// existing transport: MPI (engine.distribute reaches it through mpi4py), NCCL for CUDA
// devices. Every rank must make the same calls in the same order; a call returns when
// every rank has made it, and throws when the transport reports a failure or gives up
// waiting for a rank.
#pragma once

#include <cstdint>

#include "engine/export.h"

namespace engine {

class ENGINE_API Communicator {
 public:
  virtual ~Communicator();
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // Replaces `count` floats of host memory on every rank by their sum over the ranks.
  virtual void allreduce_sum(float* data, int64_t count) = 0;
  // Copies `bytes` bytes of host memory from rank `root` to every other rank.
  virtual void broadcast(void* data, int64_t bytes, int root) = 0;
  // Returns once every rank has called it.
  virtual void barrier() = 0;
};

}  // namespace engine
