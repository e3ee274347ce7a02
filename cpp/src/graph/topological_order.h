// Kahn's algorithm, shared by graph validation and ONNX import.
#pragma once

#include <cstddef>
#include <deque>
#include <vector>

namespace engine {

// Nodes 0..n-1; `readers[k]` lists the nodes that read an output of node k (once per edge)
// and `pending[k]` counts the edges into node k. Returns the nodes in an order where each
// follows every node it reads, the ready ones first come first served; the nodes left out
// sit on a cycle.
inline std::vector<size_t> topological_order(const std::vector<std::vector<size_t>>& readers,
                                             std::vector<int> pending) {
  std::deque<size_t> ready;
  for (size_t k = 0; k < pending.size(); ++k)
    if (pending[k] == 0) ready.push_back(k);
  std::vector<size_t> order;
  while (!ready.empty()) {
    const size_t k = ready.front();
    ready.pop_front();
    order.push_back(k);
    for (size_t r : readers[k])
      if (--pending[r] == 0) ready.push_back(r);
  }
  return order;
}

}  // namespace engine
