"""Writes the seed corpus of the ONNX parser fuzzer (cpp/fuzz/corpus/, a few tiny models).

    python cpp/fuzz/make_corpus.py      # needs the onnx package
Files named crash-* in the corpus are inputs the fuzzer once found; they are kept.
"""
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def model(nodes, inputs, outputs, inits=(), **kw):
    g = helper.make_graph(nodes, "g", inputs, outputs, list(inits))
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)], ir_version=8, **kw)


def vi(name, shape, t=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, t, shape)


def main():
    rng = np.random.default_rng(0)
    f32 = lambda *s: rng.standard_normal(s).astype(np.float32)
    models = {}
    models["conv_relu_gemm"] = model(
        [helper.make_node("Conv", ["x", "w", "b"], ["c"], name="conv", pads=[1, 1, 1, 1],
                          strides=[1, 1], kernel_shape=[3, 3]),
         helper.make_node("Relu", ["c"], ["r"]),
         helper.make_node("Flatten", ["r"], ["f"], axis=1),
         helper.make_node("Gemm", ["f", "gw", "gb"], ["y"], transB=1, alpha=1.0)],
        [vi("x", ["N", 1, 3, 3])], [vi("y", ["N", 2])],
        [numpy_helper.from_array(f32(2, 1, 3, 3), "w"), numpy_helper.from_array(f32(2), "b"),
         numpy_helper.from_array(f32(2, 18), "gw"), numpy_helper.from_array(f32(2), "gb")])
    tensor_attr = helper.make_tensor("t", TensorProto.FLOAT, [2], [1.5, -2.0])
    models["all_attributes"] = model(
        [helper.make_node("Custom", ["x"], ["y"], domain="custom.domain", name="n",
                          i=-3, f=0.25, s="text", t=tensor_attr, ints=[1, -2, 3],
                          floats=[0.5, 1.5])],
        [vi("x", [2])], [vi("y", None)])
    shape = helper.make_tensor("shape", TensorProto.INT64, [2], [3, -1])
    idx = helper.make_tensor("idx", TensorProto.INT32, [2], [0, 2])
    models["typed_fields"] = model(
        [helper.make_node("Reshape", ["x", "shape"], ["r"]),
         helper.make_node("Gather", ["r", "idx"], ["y"], axis=0)],
        [vi("x", [6])], [vi("y", [2, 2])], [shape, idx])
    dup = model([helper.make_node("Add", ["x", "w"], ["y"])],
                [vi("x", ["batch", 3]), vi("w", [3])], [vi("y", ["batch", 3])],
                [helper.make_tensor("w", TensorProto.FLOAT, [3], [1.0, 2.0, 3.0])],
                producer_name="seed", doc_string="doc")
    dup.graph.value_info.append(vi("y", ["batch", 3]))
    helper.set_model_props(dup, {"k": "v"})
    models["dup_input_metadata"] = dup
    ext = model([helper.make_node("Relu", ["w"], ["y"])], [], [vi("y", [4])],
                [helper.make_tensor("w", TensorProto.FLOAT, [4], [0.0] * 4)])
    w = ext.graph.initializer[0]
    w.ClearField("float_data")
    w.data_location = TensorProto.EXTERNAL
    for k, v in (("location", "w.bin"), ("offset", "0"), ("length", "16")):
        w.external_data.add(key=k, value=v)
    models["external_ref"] = ext
    branch = helper.make_graph([helper.make_node("Identity", ["x"], ["z"])], "b", [],
                               [vi("z", [1])])
    models["subgraph"] = model(
        [helper.make_node("If", ["c"], ["y"], then_branch=branch, else_branch=branch)],
        [vi("c", [], TensorProto.BOOL), vi("x", [1])], [vi("y", [1])])
    # Hostile sizes: attributes whose arithmetic overflows 64 bits or describes outputs no
    # memory holds. Loading them must raise ValueError naming the attribute.
    huge = 2**61
    w = numpy_helper.from_array(f32(1, 1, 3, 3), "w")
    for name, attrs in (("conv_huge_pads", {"pads": [huge, 0, huge, 0]}),
                        ("conv_huge_dilation", {"dilations": [2 * huge, 1]}),
                        ("conv_huge_stride", {"strides": [2 * huge, 2**31]})):
        models[name] = model([helper.make_node("Conv", ["x", "w"], ["y"], **attrs)],
                             [vi("x", ["N", 1, 5, 5])], [vi("y", None)], [w])
    models["maxpool_huge_pads"] = model(
        [helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[1, 1], pads=[huge, 0, huge, 0])],
        [vi("x", ["N", 1, 5, 5])], [vi("y", None)])
    os.makedirs(HERE, exist_ok=True)
    for name, m in models.items():
        with open(os.path.join(HERE, name + ".onnx"), "wb") as f:
            f.write(m.SerializeToString())


if __name__ == "__main__":
    main()
