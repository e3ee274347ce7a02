"""The examples run end to end (one short epoch each) and learn something."""
import importlib.util
import pathlib
import sys

import numpy as np

EXAMPLES = pathlib.Path(__file__).resolve().parent.parent / "examples"
# The examples import their shared helpers (onnx_check.py) as scripts run from there do.
sys.path.insert(0, str(EXAMPLES))


def load(name):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_fashion_mnist_mlp_on_synthetic_data(tmp_path, capsys):
    history = load("fashion_mnist_mlp").main(["--epochs", "2", "--data", str(tmp_path)])
    assert "synthetic" in capsys.readouterr().out
    assert history.history["val_accuracy"][-1] > 0.5


def test_wide_and_deep(capsys):
    results = load("wide_and_deep").main(["--epochs", "3"])
    assert set(results) >= {"loss", "main_output_root_mean_squared_error", "aux_output_root_mean_squared_error"}
    assert np.isfinite(results["loss"])


def test_custom_training_loop(capsys):
    model = load("custom_training_loop").main(["--epochs", "2"])
    assert "test accuracy" in capsys.readouterr().out
    assert len(model.trainable_weights) == 4


def test_sequences_and_mobile_nets(tmp_path, capsys):
    results = load("sequences_and_mobile_nets").main(["--epochs", "3", "--samples", "400", "--out", str(tmp_path)])
    assert set(results) == {"lstm_forecaster", "wavenet_gru", "embedding_gru", "mobile_net"}
    for name, result in results.items():
        losses = result["history"]["loss"]
        assert losses[-1] < losses[0], name
        assert result["onnxruntime_difference"] < 1e-4, name
    assert results["embedding_gru"]["history"]["val_accuracy"][-1] > 0.8


def test_transformer_classifier(tmp_path, capsys):
    result = load("transformer_classifier").main(["--epochs", "5", "--samples", "2000", "--out", str(tmp_path)])
    losses = result["history"]["loss"]
    assert losses[-1] < losses[0]
    assert result["history"]["val_accuracy"][-1] > 0.85
    if result["onnxruntime_difference"] is not None:  # None: onnxruntime is not installed
        assert result["onnxruntime_difference"] < 1e-4


def test_unet_segmenter(tmp_path, capsys):
    result = load("unet_segmenter").main(["--epochs", "6", "--samples", "400", "--out", str(tmp_path)])
    losses = result["history"]["loss"]
    assert losses[-1] < losses[0]
    assert result["history"]["val_binary_accuracy"][-1] > 0.95
    assert result["test_iou"] > 0.7
    if result["onnxruntime_difference"] is not None:  # None: onnxruntime is not installed
        assert result["onnxruntime_difference"] < 1e-4
