// Graph adapter for Unsqueeze(data[, axes]): size-1 dims inserted.
#include "ops/axes_shape_node.h"
#include "ops/unsqueeze/unsqueeze.h"

namespace engine {

std::unique_ptr<NodeOp> make_unsqueeze_node(const Node& node) {
  return std::make_unique<AxesShapeNode<unsqueeze_output_shape, unsqueeze_forward>>(node);
}

}  // namespace engine
