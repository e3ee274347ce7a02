"""The ONNX cases the C++ test (cpp/tests/test_onnx_import.cpp) checks through the C++ API
alone: the committed expected outputs must still be what their oracle (onnxruntime where
it runs the opset) computes, and the Python importer must agree with them too."""
import glob
import importlib.util
import os

import numpy as np
import pytest

import engine.onnx

onnx = pytest.importorskip("onnx", reason="onnx is not installed")
pytest.importorskip("onnxruntime", reason="onnxruntime is not installed")
from onnx import numpy_helper  # noqa: E402

CASES = os.path.join(os.path.dirname(__file__), "..", "cpp", "tests", "onnx_cases")


def load_generator():
    spec = importlib.util.spec_from_file_location("make_cases", os.path.join(CASES, "make_cases.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def tensors(folder, kind):
    return [numpy_helper.to_array(onnx.load_tensor(f))
            for f in sorted(glob.glob(os.path.join(folder, f"{kind}_*.pb")))]


def case_folders(root):
    return sorted(d for d in os.listdir(root) if os.path.isdir(os.path.join(root, d)))


def test_committed_cases_are_what_the_generator_writes(tmp_path):
    load_generator().write(str(tmp_path))
    assert case_folders(CASES) == case_folders(tmp_path)
    for name in case_folders(CASES):
        ours, fresh = os.path.join(CASES, name), os.path.join(tmp_path, name)
        if os.path.exists(os.path.join(fresh, "error.txt")):
            with open(os.path.join(ours, "error.txt")) as a, open(os.path.join(fresh, "error.txt")) as b:
                assert a.read() == b.read(), name
            continue
        for kind in ("input", "output"):
            got, want = tensors(ours, kind), tensors(fresh, kind)
            assert len(got) == len(want), f"{name}: {len(got)} {kind}s, the generator writes {len(want)}"
            for g, w in zip(got, want):
                np.testing.assert_allclose(g, w, rtol=1e-6, atol=1e-7, err_msg=f"{name} {kind}")


@pytest.mark.parametrize("name", case_folders(CASES))
def test_python_importer_agrees(name):
    folder = os.path.join(CASES, name)
    model = os.path.join(folder, "model.onnx")
    if os.path.exists(os.path.join(folder, "error.txt")):
        with open(os.path.join(folder, "error.txt")) as f:
            phrase = f.readline().strip()
        with pytest.raises(ValueError) as err:
            engine.onnx.load(model)
        assert phrase in str(err.value)
        return
    (x,) = tensors(folder, "input")
    (want,) = tensors(folder, "output")
    np.testing.assert_allclose(engine.onnx.load(model).predict(x), want, rtol=1e-3, atol=1e-5)
