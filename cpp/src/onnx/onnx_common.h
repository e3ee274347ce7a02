// Field numbers and enum codes of onnx.proto shared by the reader and the writer.
#pragma once

#include <cstdint>

namespace engine {
namespace onnx_proto {

namespace model {
enum : uint32_t { ir_version = 1, producer_name = 2, producer_version = 3, domain = 4,
                  model_version = 5, doc_string = 6, graph = 7, opset_import = 8,
                  metadata_props = 14 };
}
namespace opset {
enum : uint32_t { domain = 1, version = 2 };
}
namespace entry {  // StringStringEntryProto
enum : uint32_t { key = 1, value = 2 };
}
namespace graph {
enum : uint32_t { node = 1, name = 2, initializer = 5, input = 11, output = 12,
                  sparse_initializer = 15 };
}
namespace node {
enum : uint32_t { input = 1, output = 2, name = 3, op_type = 4, attribute = 5, domain = 7 };
}
namespace attr {
enum : uint32_t { name = 1, f = 2, i = 3, s = 4, t = 5, g = 6, floats = 7, ints = 8,
                  strings = 9, tensors = 10, graphs = 11, tp = 14, tps = 15, type = 20,
                  ref_attr_name = 21, sparse_tensor = 22, sparse_tensors = 23 };
// AttributeProto.AttributeType
enum : int32_t { UNDEFINED = 0, FLOAT = 1, INT = 2, STRING = 3, TENSOR = 4, GRAPH = 5,
                 FLOATS = 6, INTS = 7, STRINGS = 8, TENSORS = 9, GRAPHS = 10,
                 SPARSE_TENSOR = 11, SPARSE_TENSORS = 12, TYPE_PROTO = 13, TYPE_PROTOS = 14 };
}
namespace tensor {
enum : uint32_t { dims = 1, data_type = 2, segment = 3, float_data = 4, int32_data = 5,
                  string_data = 6, int64_data = 7, name = 8, raw_data = 9, double_data = 10,
                  uint64_data = 11, external_data = 13, data_location = 14 };
enum : int32_t { DEFAULT = 0, EXTERNAL = 1 };
}
namespace dtype {  // TensorProto.DataType
enum : int32_t { UNDEFINED = 0, FLOAT = 1, UINT8 = 2, INT8 = 3, UINT16 = 4, INT16 = 5, INT32 = 6,
                 INT64 = 7, BOOL = 9, FLOAT16 = 10, DOUBLE = 11, UINT32 = 12, UINT64 = 13,
                 BFLOAT16 = 16 };
}
// The type whose values hold those of `code` in the engine: integers in int64, floating
// point in float32, bool as bool; UNDEFINED for the types it cannot hold (strings, complex,
// 4- and 8-bit floats).
int32_t computing_type(int64_t code);
namespace value_info {
enum : uint32_t { name = 1, type = 2 };
}
namespace type_proto {
enum : uint32_t { tensor_type = 1, sequence_type = 4, map_type = 5, sparse_tensor_type = 8,
                  optional_type = 9 };
}
namespace tensor_type {
enum : uint32_t { elem_type = 1, shape = 2 };
}
namespace shape {
enum : uint32_t { dim = 1 };
}
namespace dim {
enum : uint32_t { dim_value = 1, dim_param = 2 };
}

// TensorProto.DataType names for messages ("float16"), "unknown" outside the enum.
const char* dtype_name(int64_t code);

}  // namespace onnx_proto
}  // namespace engine
