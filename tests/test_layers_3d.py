"""Conv3D, MaxPooling3D, AveragePooling3D and GlobalAveragePooling3D on NCDHW volumes: float64
numpy references of their definitions (op_cases.py's window references), Keras's "same"
padding, training, ONNX export against onnxruntime, and configs."""
import numpy as np
import pytest

import engine
from engine import layers as L
from helpers import assert_close
from op_cases import average_pool_ref, conv_ref, max_pool_ref

SHAPE = (2, 7, 9, 8)  # [C, D, H, W]


def test_conv3d_matches_its_definition(rng):
    x = rng.standard_normal((3,) + SHAPE).astype(np.float32)
    conv = L.Conv3D(4, (3, 2, 2), strides=(2, 1, 1), padding="same", dilation_rate=(1, 2, 1),
                    activation="relu")
    model = engine.Sequential([engine.Input(SHAPE), conv])
    conv.bias.assign(rng.standard_normal(4).astype(np.float32))
    kernel = conv.kernel.numpy()
    assert kernel.shape == (4, 2, 3, 2, 2)
    # "same" (TensorFlow's): depth 7 at stride 2 gives 4 outputs from 2 padded slices (1 in
    # front, 1 behind); height 9 with a dilated span of 3 needs 1 row each side; width 8
    # with a kernel of 2 needs 1 column, at the end.
    expected = np.maximum(conv_ref(x.astype(np.float64), kernel.astype(np.float64),
                                   conv.bias.numpy().astype(np.float64), strides=[2, 1, 1],
                                   dilations=[1, 2, 1], pads=[1, 1, 0, 1, 1, 1]), 0)
    assert conv.compute_output_shape((None,) + SHAPE) == (None, 4, 4, 9, 8)
    assert_close(model.predict(x, verbose=0), expected, 1e-5)


def test_pooling_3d_matches_numpy(rng):
    x = rng.standard_normal((3,) + SHAPE).astype(np.float32)
    x64 = x.astype(np.float64)
    for layer, expected in [
        (L.MaxPooling3D((2, 2, 3), strides=(2, 1, 2)),
         max_pool_ref(x64, [2, 2, 3], strides=[2, 1, 2])),
        # "same" at the default strides (the pool size): depth 7 pads 1 behind, height 9 one
        # below, width 8 none; the padded cells are not counted (as Keras).
        (L.AveragePooling3D(2, padding="same"),
         average_pool_ref(x64, [2, 2, 2], strides=[2, 2, 2], pads=[0, 0, 0, 1, 1, 0])),
        (L.GlobalAveragePooling3D(), x64.mean(axis=(2, 3, 4))),
        (L.GlobalAveragePooling3D(keepdims=True), x64.mean(axis=(2, 3, 4), keepdims=True)),
    ]:
        model = engine.Sequential([engine.Input(SHAPE), layer])
        assert layer.compute_output_shape((3,) + SHAPE) == expected.shape
        assert_close(model.predict(x, verbose=0), expected, 1e-5)


def test_3d_cnn_trains_exports_and_round_trips_its_config(rng, tmp_path):
    ort = pytest.importorskip("onnxruntime", reason="onnxruntime is not installed")
    model = engine.Sequential([
        engine.Input(SHAPE),
        L.Conv3D(6, 3, padding="same", activation="relu"),
        L.MaxPooling3D(2),
        L.Convolution3D(8, (2, 3, 3), groups=2, activation="relu"),
        L.AveragePooling3D((1, 2, 2), padding="same"),
        L.GlobalAveragePooling3D(),
        L.Dense(3),
    ])
    xs = rng.standard_normal((16,) + SHAPE).astype(np.float32)
    ys = rng.standard_normal((16, 3)).astype(np.float32)
    model.compile(optimizer=engine.optimizers.Adam(3e-3), loss="mse")
    first = model.evaluate(xs, ys, verbose=0)
    model.fit(xs, ys, epochs=10, batch_size=8, verbose=0)
    assert model.evaluate(xs, ys, verbose=0) < first
    path = str(tmp_path / "volumes.onnx")
    engine.onnx.export(model, path)
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    (theirs,) = sess.run(None, {sess.get_inputs()[0].name: xs[:5]})
    assert_close(model.predict(xs[:5], verbose=0), theirs, 1e-5)
    for layer in model.layers:
        config = layer.get_config()
        assert type(layer).from_config(config).get_config() == config


def test_3d_layers_refuse_other_ranks():
    with pytest.raises(ValueError, match="Conv3D.*kernel_size"):
        L.Conv3D(4, (3, 3))
    with pytest.raises(ValueError, match="expects NCDHW inputs of rank 5"):
        engine.Sequential([engine.Input((2, 9, 8)), L.Conv3D(4, 3)])
    with pytest.raises(ValueError, match="expects NCDHW inputs of rank 5"):
        engine.Sequential([engine.Input((2, 9, 8)), L.MaxPooling3D(2)])
    assert L.MaxPool3D is L.MaxPooling3D and L.AvgPool3D is L.AveragePooling3D
    assert L.GlobalAvgPool3D is L.GlobalAveragePooling3D and L.Convolution3D is L.Conv3D
