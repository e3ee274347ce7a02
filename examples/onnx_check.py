"""What the examples share: export a trained model to ONNX and compare it with onnxruntime."""
import os

import numpy as np


def check_onnx(model, sample, out):
    """max |engine - onnxruntime| on `sample`, or None without onnxruntime."""
    try:
        import onnxruntime as ort
    except ImportError:
        print("onnxruntime is not installed: the ONNX file is not checked")
        return None
    path = os.path.join(out, f"{model.name}.onnx")
    model.export_onnx(path)
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    got = session.run(None, {session.get_inputs()[0].name: sample})[0]
    return float(np.abs(got - model.predict(sample, verbose=0)).max())
