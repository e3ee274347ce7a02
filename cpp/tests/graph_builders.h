// Small builders the C++ tests share: a float tensor from values, a graph node.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "engine/engine.h"

namespace test_graph {

inline engine::Tensor values(const engine::Shape& shape, const std::vector<float>& v) {
  engine::Tensor t = engine::Tensor::empty(shape);
  for (size_t i = 0; i < v.size(); ++i) t.data<float>()[i] = v[i];
  return t;
}

inline engine::Node node(const char* op, const char* domain, std::vector<std::string> in,
                         std::vector<std::string> out) {
  engine::Node n;
  n.op_type = op;
  n.domain = domain;
  n.inputs = std::move(in);
  n.outputs = std::move(out);
  return n;
}

}  // namespace test_graph
