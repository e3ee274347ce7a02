"""Writes the ONNX cases that cpp/tests/test_onnx_import.cpp loads through the C++ API alone.

Each case is a folder: model.onnx, input_<k>.pb and output_<k>.pb (serialized TensorProtos,
the layout of ONNX's own test data) and oracle.txt naming where the expected outputs came
from: onnxruntime where it runs the opset, else onnx.reference, else a numpy float64
reference written next to the case. A case that must fail to import holds error.txt with a
phrase its message must contain instead of outputs.

    python cpp/tests/onnx_cases/make_cases.py      # after changing a case; commit the result

tests/test_onnx_cases.py checks that the committed outputs still match their oracle.
"""
import os
import shutil
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(20261130)


def vi(name, shape):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)


def model(nodes, inputs, outputs, inits=None, opset=11):
    graph = helper.make_graph(nodes, "case", inputs, outputs,
                              [numpy_helper.from_array(v, k) for k, v in (inits or {}).items()])
    ir = 3 if opset < 7 else 7 if opset < 13 else 8
    return helper.make_model(graph, ir_version=ir, opset_imports=[helper.make_opsetid("", opset)])


def normal(*shape):
    return rng.standard_normal(shape).astype(np.float32)


def bn_reference(x, s, b, m, v, eps):
    shape = (1, -1) + (1,) * (x.ndim - 2)
    x, s, b, m, v = (a.astype(np.float64) for a in (x, s, b, m, v))
    return (x - m.reshape(shape)) / np.sqrt(v.reshape(shape) + eps) * s.reshape(shape) + b.reshape(shape)


def cases():
    """(name, model, inputs, numpy reference or None) for cases that run; (name, model,
    expected error phrase) for cases that must fail."""
    c = 3
    stats = {"s": rng.random(c, dtype=np.float32) + 0.5, "b": normal(c), "m": normal(c),
             "v": rng.random(c, dtype=np.float32) + 0.5}
    w, bias = normal(6, 4), normal(6)
    runs = [
        ("softmax_opset11_3d",
         model([helper.make_node("Softmax", ["x"], ["y"])], [vi("x", ["N", 3, 4])], [vi("y", ["N", 3, 4])]),
         [normal(2, 3, 4)], None),
        ("logsoftmax_opset9_axis0_3d",
         model([helper.make_node("LogSoftmax", ["x"], ["y"], axis=0)], [vi("x", ["N", 3, 4])],
               [vi("y", ["N", 3, 4])], opset=9),
         [normal(2, 3, 4)], None),
        ("batchnorm_opset7_spatial",
         model([helper.make_node("BatchNormalization", ["x", "s", "b", "m", "v"], ["y"], epsilon=1e-3,
                                 spatial=1)],
               [vi("x", ["N", c, 4, 5])], [vi("y", ["N", c, 4, 5])], stats, opset=7),
         [normal(2, c, 4, 5)], None),
        ("batchnorm_opset6_is_test",
         model([helper.make_node("BatchNormalization", ["x", "s", "b", "m", "v"], ["y"], epsilon=1e-3,
                                 is_test=1, spatial=1, consumed_inputs=[0, 0, 0, 1, 1])],
               [vi("x", ["N", c])], [vi("y", ["N", c])], stats, opset=6),
         [normal(5, c)], lambda x: bn_reference(x, *(stats[k] for k in "sbmv"), 1e-3)),
        ("reshape_opset4_shape_attribute",
         model([helper.make_node("Reshape", ["x"], ["y"], shape=[0, -1])], [vi("x", ["N", 3, 4])],
               [vi("y", ["N", 12])], opset=4),
         [normal(3, 3, 4)], None),
        ("unsqueeze_squeeze_opset11_axes_attribute",
         model([helper.make_node("Unsqueeze", ["x"], ["u"], axes=[1, 3]),
                helper.make_node("Relu", ["u"], ["r"]),
                helper.make_node("Squeeze", ["r"], ["y"], axes=[3])],
               [vi("x", ["N", 3, 4])], [vi("y", ["N", 1, 3, 4])]),
         [normal(2, 3, 4)], None),
        ("gemm_opset11_broadcast_bias",
         model([helper.make_node("Gemm", ["x", "w", "c"], ["y"], transB=1, alpha=0.5)],
               [vi("x", ["N", 4])], [vi("y", ["N", 6])], {"w": w, "c": bias}),
         [normal(5, 4)], None),
        ("gemm_opset6_broadcast_attribute",
         model([helper.make_node("Gemm", ["x", "w", "c"], ["y"], transB=1, broadcast=1)],
               [vi("x", ["N", 4])], [vi("y", ["N", 6])], {"w": w, "c": bias}, opset=6),
         [normal(5, 4)], None),
        ("add_opset6_broadcast_axis",
         model([helper.make_node("Add", ["x", "b"], ["y"], broadcast=1, axis=1)],
               [vi("x", ["N", 3, 2])], [vi("y", ["N", 3, 2])], {"b": stats["b"]}, opset=6),
         [normal(4, 3, 2)], lambda x: x.astype(np.float64) + stats["b"].astype(np.float64).reshape(3, 1)),
        ("clip_opset13_relu6_inputs",  # MobileNet's ReLU6 as PyTorch exports it
         model([helper.make_node("Clip", ["x", "lo", "hi"], ["y"])], [vi("x", ["N", 3, 5])],
               [vi("y", ["N", 3, 5])], {"lo": np.array(0, np.float32), "hi": np.array(6, np.float32)},
               opset=13),
         [normal(2, 3, 5) * 5], None),
        ("clip_opset6_attributes",
         model([helper.make_node("Clip", ["x"], ["y"], min=-0.5, max=0.75)], [vi("x", ["N", 7])],
               [vi("y", ["N", 7])], opset=6),
         [normal(3, 7)], lambda x: np.clip(x.astype(np.float64), -0.5, 0.75)),
        ("pytorch_flatten_folded",
         model([helper.make_node("Shape", ["x"], ["s"]),
                helper.make_node("Constant", [], ["i0"], value=helper.make_tensor("i", TensorProto.INT64, [], [0])),
                helper.make_node("Gather", ["s", "i0"], ["n"], axis=0),
                helper.make_node("Unsqueeze", ["n"], ["n1"], axes=[0]),
                helper.make_node("Constant", [], ["m1"], value=helper.make_tensor("m", TensorProto.INT64, [1], [-1])),
                helper.make_node("Concat", ["n1", "m1"], ["shape"], axis=0),
                helper.make_node("Reshape", ["x", "shape"], ["y"])],
               [vi("x", ["N", 3, 4, 5])], [vi("y", ["N", 60])]),
         [normal(3, 3, 4, 5)], None),
    ]
    conv = helper.make_node("Conv", ["x", "w"], ["y"], name="bad_conv", kernel_shape=[1, 1], frobnicate=1)
    failures = [
        ("error_unknown_attribute",
         model([conv], [vi("x", ["N", 1, 2, 2])], [vi("y", ["N", 1, 2, 2])],
               {"w": np.ones((1, 1, 1, 1), np.float32)}),
         "unsupported attributes: 'bad_conv' (Conv): frobnicate"),
        ("error_batchnorm_spatial_0",
         model([helper.make_node("BatchNormalization", ["x", "s", "b", "m", "v"], ["y"], spatial=0)],
               [vi("x", ["N", c])], [vi("y", ["N", c])], stats, opset=7),
         "spatial=0"),
        ("error_unknown_ops_listed_together",
         model([helper.make_node("Det", ["x"], ["a"], name="e"),
                helper.make_node("Custom", ["a"], ["y"], name="c", domain="com.example")],
               [vi("x", ["N", 2])], [vi("y", ["N", 2])]),
         "unsupported operators: Det (node 'e'), Custom in domain 'com.example' (node 'c')"),
    ]
    return runs, failures


def expected_outputs(m, inputs, reference):
    """The outputs and the oracle that produced them."""
    feeds = {i.name: x for i, x in zip(m.graph.input, inputs)}
    if reference is None:
        try:
            import onnxruntime as ort
            sess = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
            return sess.run(None, feeds), "onnxruntime"
        except Exception:
            from onnx.reference import ReferenceEvaluator
            return ReferenceEvaluator(m).run(None, feeds), "onnx.reference"
    return [reference(*inputs).astype(np.float32)], "numpy float64 reference"


def write(root):
    runs, failures = cases()
    for name, m, inputs, reference in runs:
        folder = os.path.join(root, name)
        os.makedirs(folder)
        onnx.save(m, os.path.join(folder, "model.onnx"))
        outputs, oracle = expected_outputs(m, inputs, reference)
        for kind, arrays in (("input", inputs), ("output", outputs)):
            for k, a in enumerate(arrays):
                with open(os.path.join(folder, f"{kind}_{k}.pb"), "wb") as f:
                    f.write(numpy_helper.from_array(np.asarray(a)).SerializeToString())
        with open(os.path.join(folder, "oracle.txt"), "w") as f:
            f.write(oracle + "\n")
    for name, m, phrase in failures:
        folder = os.path.join(root, name)
        os.makedirs(folder)
        onnx.save(m, os.path.join(folder, "model.onnx"))
        with open(os.path.join(folder, "error.txt"), "w") as f:
            f.write(phrase + "\n")


if __name__ == "__main__":
    out = sys.argv[1] if len(sys.argv) > 1 else HERE
    for entry in os.listdir(out):
        if os.path.isdir(os.path.join(out, entry)):
            shutil.rmtree(os.path.join(out, entry))
    write(out)
