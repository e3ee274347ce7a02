// ONNX import and export without libprotobuf: ModelProto bytes <-> engine::Graph.
//
// Two levels: onnx_read/onnx_parse decode a file into the graph it holds, node for node;
// onnx_import/onnx_load then give the graph the engine runs: every node checked against
// its op's schema and opset range first (all problems reported in one error), nodes of
// older opsets translated into the forms the engine implements, and the shape computations
// exporters emit (Shape -> Gather -> Unsqueeze -> Concat -> Reshape, Constant, Cast, ...)
// folded into constants, with the batch dimension kept symbolic.
//
// The codec reads the subset of ONNX the engine executes: one main graph with nodes,
// ONNX attributes (int, float, string, tensor, ints, floats), float32/int64 initializers
// (int32 initializers are widened to int64, the only lossless conversion; every other data
// type is rejected by name), tensor-typed inputs and outputs whose symbolic dimensions
// become -1, and external data confined to the model's folder. Other fields (value_info,
// doc strings, training info, functions) are skipped. Subgraph, string-list and sparse
// attributes are rejected with an error naming the node.
//
// Hostile input is an engine::Error of kind Value (ValueError in Python), never a crash:
// every length is checked against the bytes present, varints are at most 10 bytes, nesting
// is fixed by the schema (no recursion driven by the file), dimensions are checked for
// negative values and overflow, and no buffer is allocated before the bytes that justify it
// have been seen. File-system problems are Runtime errors.
//
// Writing produces deterministic bytes and replaces the target atomically (a temporary
// file renamed over it). Graph inputs are written with their shapes (-1 as an unnamed
// dimension); outputs with an empty shape are written without one (unknown rank).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "engine/export.h"
#include "engine/ir.h"

namespace engine {

struct OnnxModel {
  Graph graph;
  std::string graph_name;  // written as "engine" when empty (ONNX requires a name)
  int64_t ir_version = 0;  // 0: written as kOnnxDefaultIrVersion
  // (domain, version); "" is the default ONNX domain. Empty: written as ("", 17), and a
  // domain used by a node but not listed here is written with version 1.
  std::vector<std::pair<std::string, int64_t>> opset_imports;
  std::string producer_name, producer_version, domain;
  int64_t model_version = 0;
  std::string doc_string;
  std::map<std::string, std::string> metadata;
};

constexpr int64_t kOnnxDefaultIrVersion = 8;
constexpr int64_t kOnnxDefaultOpset = 17;

struct OnnxWriteOptions {
  // Tensors of at least this many bytes go to one external data file next to the model;
  // -1 keeps them inline unless the model would exceed protobuf's 2 GB limit, in which
  // case tensors of 1 KB and more go external automatically.
  int64_t external_threshold_bytes = -1;
  // Name of the data file, relative to the model's folder; empty: "<model file>.data".
  std::string external_file;
};

// Reads a model file; external data is resolved relative to the file's folder.
ENGINE_API OnnxModel onnx_read(const std::string& path);
// Parses model bytes. External data is only allowed when base_dir names the folder that
// confines it.
ENGINE_API OnnxModel onnx_parse(const void* data, size_t size, const std::string& base_dir = "");

// A serialized TensorProto (the .pb files of ONNX test data sets): float32, int64 (int32
// widened), no external data.
ENGINE_API Tensor onnx_parse_tensor(const void* data, size_t size);
ENGINE_API Tensor onnx_read_tensor(const std::string& path);

// The newest ONNX opset the importer knows; newer models are rejected (an op's meaning
// may have changed since).
constexpr int64_t kOnnxMaxOpset = 28;

// An ONNX model as the engine runs it.
struct OnnxImport {
  Graph graph;  // inputs (initializers excluded), engine nodes, initializers, outputs
  // Float initializers of the model that are its parameters; graph.trainable holds those
  // the optimizer updates (all but BatchNormalization's running statistics). The other
  // initializers are constants (int64 values, folded computations).
  std::set<std::string> weights;
  // Per graph output; -1 marks a dimension that follows the batch or another input.
  std::vector<Shape> output_shapes;
  // True when the graph runs only at the batch size its inputs declare (a Reshape to a
  // fixed shape, say); graph.inputs then keep that size instead of -1.
  bool fixed_batch = false;
  int64_t opset = 0;  // of the default domain
};

// `source` names the model in errors ("ONNX import of <source> (opset N): ...").
// With `exact_shapes` the graph inputs' declared shapes are the ones it runs at: no dim
// follows a batch, and shape computations fold to their values (a session that imports a
// file per set of input shapes).
ENGINE_API OnnxImport onnx_import(const OnnxModel& model, const std::string& source = "<model>",
                                  bool exact_shapes = false);
// onnx_read + onnx_import.
ENGINE_API OnnxImport onnx_load(const std::string& path);

// Writes the model atomically: `path` is either left untouched or fully replaced. With
// external data, the data file is replaced first, then the model.
ENGINE_API void onnx_write(const OnnxModel& model, const std::string& path,
                const OnnxWriteOptions& options = {});
// The model as ModelProto bytes, all tensors inline (an error above 2 GB).
ENGINE_API std::string onnx_serialize(const OnnxModel& model);

}  // namespace engine
