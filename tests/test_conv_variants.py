"""DepthwiseConv2D, SeparableConv2D, Conv1D and 1-D pooling: float64 numpy references of
their definitions, training next to the equivalent Conv2D / pooling model, ONNX export
against onnxruntime, and save/load."""
import numpy as np
import pytest

import engine
from engine import layers as L
from helpers import assert_close


def conv_ref(x, w, b=None, stride=(1, 1), pads=(0, 0, 0, 0), dilation=(1, 1), groups=1):
    """Cross-correlation of NCHW x with [OC, C/groups, KH, KW] w, float64."""
    x = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (pads[0], pads[2]), (pads[1], pads[3])))
    n, c, h, wd = x.shape
    oc, cg, kh, kw = w.shape
    oh = (h - (kh - 1) * dilation[0] - 1) // stride[0] + 1
    ow = (wd - (kw - 1) * dilation[1] - 1) // stride[1] + 1
    out = np.zeros((n, oc, oh, ow))
    per_group = oc // groups
    for o in range(oc):
        g = o // per_group
        for i in range(kh):
            for j in range(kw):
                patch = x[:, g * cg:(g + 1) * cg, i * dilation[0]:i * dilation[0] + stride[0] * oh:stride[0],
                          j * dilation[1]:j * dilation[1] + stride[1] * ow:stride[1]]
                out[:, o] += np.einsum("nchw,c->nhw", patch, w[o, :, i, j].astype(np.float64))
    if b is not None:
        out += b.astype(np.float64)[None, :, None, None]
    return out


def test_depthwise_and_separable_match_their_definitions(rng):
    x = rng.standard_normal((2, 3, 9, 8)).astype(np.float32)
    depthwise = L.DepthwiseConv2D((3, 2), strides=(2, 1), padding="same", depth_multiplier=2, activation="relu")
    model = engine.Sequential([engine.Input((3, 9, 8)), depthwise])
    kernel, bias = depthwise.kernel.numpy(), rng.standard_normal(6).astype(np.float32)
    depthwise.bias.assign(bias)
    # "same": 9 rows at stride 2 give 5 outputs from 2 padded rows (1 above, 1 below); 8
    # columns with a kernel of 2 need 1, at the end (TensorFlow puts the odd one there).
    expected = np.maximum(conv_ref(x, kernel, bias, (2, 1), (1, 0, 1, 1), groups=3), 0)
    assert kernel.shape == (6, 1, 3, 2)
    assert_close(model.predict(x), expected, 1e-5)

    separable = L.SeparableConv2D(4, 3, dilation_rate=2, depth_multiplier=2)
    model = engine.Sequential([engine.Input((3, 9, 8)), separable])
    separable.bias.assign(rng.standard_normal(4).astype(np.float32))
    mid = conv_ref(x, separable.kernel.numpy(), dilation=(2, 2), groups=3)
    expected = conv_ref(mid, separable.pointwise_kernel.numpy(), separable.bias.numpy())
    assert_close(model.predict(x), expected, 1e-5)
    assert [w.shape for w in separable.weights] == [(6, 1, 3, 3), (4, 6, 1, 1), (4,)]


def test_depthwise_trains_as_the_grouped_conv2d_it_is(rng):
    x = rng.standard_normal((8, 4, 6, 6)).astype(np.float32)
    y = rng.standard_normal((8, 8, 6, 6)).astype(np.float32)
    depthwise = engine.Sequential([engine.Input((4, 6, 6)),
                                   L.DepthwiseConv2D(3, padding="same", depth_multiplier=2)])
    grouped = engine.Sequential([engine.Input((4, 6, 6)), L.Conv2D(8, 3, padding="same", groups=4)])
    grouped.set_weights(depthwise.get_weights())
    for model in (depthwise, grouped):
        model.compile(loss="mse", optimizer=engine.optimizers.SGD(learning_rate=0.1))
        model.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0)
    for a, b in zip(depthwise.get_weights(), grouped.get_weights()):
        assert_close(a, b, 1e-5)


@pytest.mark.parametrize("padding,strides,dilation", [("valid", 1, 1), ("same", 2, 1), ("causal", 1, 2)])
def test_conv1d_matches_its_definition_and_trains_as_conv2d(rng, padding, strides, dilation):
    x = rng.standard_normal((3, 11, 4)).astype(np.float32)  # [batch, steps, channels]
    conv = L.Conv1D(5, 3, strides=strides, padding=padding, dilation_rate=dilation)
    model = engine.Sequential([engine.Input((11, 4)), conv])
    span = 2 * dilation
    if padding == "causal":
        pads = (0, span, 0, 0)
    elif padding == "same":
        total = max(0, (-(-11 // strides) - 1) * strides + span + 1 - 11)
        pads = (0, total // 2, 0, total - total // 2)
    else:
        pads = (0, 0, 0, 0)
    image = x.transpose(0, 2, 1)[:, :, None, :]
    expected = conv_ref(image, conv.kernel.numpy(), conv.bias.numpy(), (1, strides), pads, (1, dilation))
    got = model.predict(x)
    assert_close(got, expected[:, :, 0, :].transpose(0, 2, 1), 1e-5)
    if padding == "causal":  # output t reads no input after t
        changed = x.copy()
        changed[:, 7:] += 1.0
        assert np.array_equal(model.predict(changed)[:, :7], got[:, :7])
    # The same computation as a Conv2D over the sequence seen as an image of height 1.
    image_model = engine.Sequential([engine.Input((4, 1, 11)), L.Conv2D(5, (1, 3), strides=(1, strides),
                                                                         dilation_rate=(1, dilation))])
    image_model.set_weights(model.get_weights())
    y = rng.standard_normal(got.shape).astype(np.float32)
    model.compile(loss="mse", optimizer=engine.optimizers.SGD(learning_rate=0.1))
    model.fit(x, y, batch_size=3, epochs=2, verbose=0)
    if padding == "valid":
        image_model.compile(loss="mse", optimizer=engine.optimizers.SGD(learning_rate=0.1))
        image_model.fit(image, y.transpose(0, 2, 1)[:, :, None, :], batch_size=3, epochs=2, verbose=0)
        for a, b in zip(model.get_weights(), image_model.get_weights()):
            assert_close(a, b, 1e-5)


def test_pooling_1d_matches_numpy(rng):
    x = rng.standard_normal((2, 9, 3)).astype(np.float32)
    got = engine.Sequential([engine.Input((9, 3)), L.MaxPooling1D(3, strides=2)]).predict(x)
    assert np.array_equal(got, np.stack([x[:, i:i + 3].max(axis=1) for i in range(0, 7, 2)], axis=1))
    got = engine.Sequential([engine.Input((9, 3)), L.AveragePooling1D(2, padding="same")]).predict(x)
    windows = [x[:, i:i + 2].astype(np.float64).mean(axis=1) for i in range(0, 9, 2)]  # the last: 1 step
    assert_close(got, np.stack(windows, axis=1), 1e-6)
    first = engine.Sequential([engine.Input((3, 9)), L.MaxPooling1D(2, data_format="channels_first")])
    assert np.array_equal(first.predict(x.transpose(0, 2, 1)), x[:, :8].reshape(2, 4, 2, 3).max(axis=2)
                          .transpose(0, 2, 1))


def test_variants_export_to_onnx_and_survive_save_and_load(rng, tmp_path):
    ort = pytest.importorskip("onnxruntime", reason="onnxruntime is a test extra")
    images = rng.standard_normal((2, 3, 8, 8)).astype(np.float32)
    sequences = rng.standard_normal((2, 12, 4)).astype(np.float32)
    models = {
        "mobilenet_block": (engine.Sequential([
            engine.Input((3, 8, 8)), L.DepthwiseConv2D(3, padding="same", activation="relu6"),
            L.SeparableConv2D(6, 3, strides=2, padding="same", activation="relu"), L.GlobalAveragePooling2D()]),
            images),
        "wavenet_block": (engine.Sequential([
            engine.Input((12, 4)), L.Conv1D(8, 2, padding="causal", dilation_rate=1, activation="relu"),
            L.Conv1D(8, 2, padding="causal", dilation_rate=2, activation="relu"), L.MaxPooling1D(2),
            L.AveragePooling1D(3, strides=1, padding="same"), L.Conv1D(2, 1)]), sequences),
    }
    for name, (model, x) in models.items():
        expected = model.predict(x)
        path = tmp_path / f"{name}.onnx"
        model.export_onnx(path)
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        assert_close(session.run(None, {session.get_inputs()[0].name: x})[0], expected, 1e-5, what=name)
        model.save(tmp_path / f"{name}.ckpt")
        assert np.array_equal(engine.load_model(tmp_path / f"{name}.ckpt").predict(x), expected)
        assert_close(engine.onnx.load(path).predict(x), expected, 1e-5, what=f"{name} imported")
