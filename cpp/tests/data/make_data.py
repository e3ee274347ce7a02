"""Writes the files cpp/tests/test_c_api.c reads: an ONNX MLP and its onnxruntime outputs.

    mlp.onnx          x [N, 4] -> Gemm(4x8) -> Relu -> Gemm(8x3) -> y [N, 3] (logits), seeded
                      random weights, opset 17, IR version 8
    x.npy             a 5x4 float32 batch
    y_expected.npy    onnxruntime's output for x.npy
    labels.npy        int64 class labels [5] (eng_npy_read must refuse them: float32 only)

    python cpp/tests/data/make_data.py      # after changing the model; commit the result
"""
import os

import numpy as np
import onnx
import onnxruntime
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    rng = np.random.default_rng(20261201)
    inits = {
        "w1": rng.standard_normal((4, 8)).astype(np.float32) * 0.5,
        "b1": rng.standard_normal(8).astype(np.float32) * 0.1,
        "w2": rng.standard_normal((8, 3)).astype(np.float32) * 0.5,
        "b2": rng.standard_normal(3).astype(np.float32) * 0.1,
    }
    graph = helper.make_graph(
        [helper.make_node("Gemm", ["x", "w1", "b1"], ["h"]),
         helper.make_node("Relu", ["h"], ["r"]),
         helper.make_node("Gemm", ["r", "w2", "b2"], ["y"])],
        "mlp",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3])],
        [numpy_helper.from_array(v, k) for k, v in inits.items()])
    model = helper.make_model(graph, ir_version=8, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model)
    path = os.path.join(HERE, "mlp.onnx")
    onnx.save(model, path)

    x = rng.standard_normal((5, 4)).astype(np.float32)
    y = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"]).run(
        None, {"x": x})[0]
    np.save(os.path.join(HERE, "x.npy"), x)
    np.save(os.path.join(HERE, "y_expected.npy"), y)
    np.save(os.path.join(HERE, "labels.npy"), np.array([0, 1, 2, 1, 0], dtype=np.int64))


if __name__ == "__main__":
    main()
