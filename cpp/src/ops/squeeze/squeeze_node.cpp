// Graph adapter for Squeeze(data[, axes]): size-1 dims removed.
#include "ops/axes_shape_node.h"
#include "ops/squeeze/squeeze.h"

namespace engine {

std::unique_ptr<NodeOp> make_squeeze_node(const Node& node) {
  return std::make_unique<AxesShapeNode<squeeze_output_shape, squeeze_forward>>(node);
}

}  // namespace engine
