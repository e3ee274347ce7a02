"""ConvTranspose and Conv2DTranspose: forward against the scatter-add definition in numpy
float64 (and PyTorch's conv_transpose2d where it is installed), backward against an
independent numpy backward (the input gradient is a Conv of dy), the Keras layer's output
sizes, ONNX export through onnxruntime, and training."""
import numpy as np
import pytest

import engine
from engine import _core
from engine import layers as L
from helpers import REDUCTION_RTOL, assert_close

# (x shape, w shape [C, OC/group, KH, KW], attributes)
CASES = {
    "k3s2p1-op1": ((2, 3, 5, 4), (3, 4, 3, 3), {"strides": [2, 2], "pads": [1, 1, 1, 1],
                                                 "output_padding": [1, 1]}),
    "k2x3d2-g2": ((1, 4, 6, 5), (4, 3, 2, 3), {"dilations": [2, 1], "group": 2, "pads": [0, 1, 1, 0]}),
    "s3-output-shape": ((2, 2, 3, 4), (2, 5, 3, 3), {"strides": [3, 2], "output_shape": [9, 8]}),
    "depthwise-s2": ((2, 6, 7, 5), (6, 1, 3, 3), {"strides": [2, 2], "group": 6}),
    "k1": ((3, 5, 4, 6), (5, 7, 1, 1), {}),
}


def scatter(x, w, strides=(1, 1), dilations=(1, 1), group=1):
    """The definition, one input pixel at a time: x[n, c, i, j] * w[c, o] lands on the
    window of the full (uncropped) output starting at (i * SH, j * SW)."""
    n, c, h, wd = x.shape
    ocg, kh, kw = w.shape[1:]
    sh, sw = strides
    dh, dw = dilations
    full = np.zeros((n, ocg * group, (h - 1) * sh + (kh - 1) * dh + 1, (wd - 1) * sw + (kw - 1) * dw + 1))
    cg = c // group
    for ci in range(c):
        g = ci // cg
        for i in range(h):
            for j in range(wd):
                patch = x[:, ci, i, j][:, None, None, None] * w[ci][None]  # [n, ocg, kh, kw]
                full[:, g * ocg:(g + 1) * ocg, i * sh:i * sh + (kh - 1) * dh + 1:dh,
                     j * sw:j * sw + (kw - 1) * dw + 1:dw] += patch
    return full


def crop(full, attrs, x_shape, w_shape):
    """ONNX's pads (or output_shape, whose extra crop goes first) and output_padding
    applied to the full output."""
    pads = list(attrs.get("pads", [0, 0, 0, 0]))
    extra = attrs.get("output_padding", [0, 0])
    if "output_shape" in attrs:
        for a in range(2):
            total = full.shape[2 + a] + extra[a] - attrs["output_shape"][a]
            pads[a], pads[a + 2] = total - total // 2, total // 2
    full = np.pad(full, ((0, 0), (0, 0), (0, extra[0]), (0, extra[1])))
    h, w = full.shape[2:]
    return full[:, :, pads[0]:h - pads[2], pads[1]:w - pads[3]]


def reference(x, w, b, attrs):
    y = crop(scatter(x.astype(np.float64), w.astype(np.float64), attrs.get("strides", (1, 1)),
                     attrs.get("dilations", (1, 1)), attrs.get("group", 1)), attrs, x.shape, w.shape)
    return y + b.astype(np.float64)[None, :, None, None]


def conv_input_grad(dy, w, x_shape, attrs):
    """dx of the op, written as what it is: a Conv (correlation) of dy with w, read back at
    the input pixels through the same window geometry, in float64."""
    full_dy = np.zeros_like(scatter(np.zeros(x_shape), w, attrs.get("strides", (1, 1)),
                                    attrs.get("dilations", (1, 1)), attrs.get("group", 1)))
    pads = list(attrs.get("pads", [0, 0, 0, 0]))
    extra = attrs.get("output_padding", [0, 0])
    if "output_shape" in attrs:
        for a in range(2):
            total = full_dy.shape[2 + a] + extra[a] - attrs["output_shape"][a]
            pads[a], pads[a + 2] = total - total // 2, total // 2
    h, wd = full_dy.shape[2] + extra[0], full_dy.shape[3] + extra[1]
    padded = np.zeros(full_dy.shape[:2] + (h, wd))
    padded[:, :, pads[0]:h - pads[2], pads[1]:wd - pads[3]] = dy
    sh, sw = attrs.get("strides", (1, 1))
    dh, dw = attrs.get("dilations", (1, 1))
    group = attrs.get("group", 1)
    c, ocg, kh, kw = w.shape
    cg = c // group
    dx = np.zeros(x_shape)
    for i in range(x_shape[2]):
        for j in range(x_shape[3]):
            win = padded[:, :, i * sh:i * sh + (kh - 1) * dh + 1:dh, j * sw:j * sw + (kw - 1) * dw + 1:dw]
            for ci in range(c):
                g = ci // cg
                dx[:, ci, i, j] = np.einsum("nokl,okl->n", win[:, g * ocg:(g + 1) * ocg], w[ci])
    return dx


def draw(rng, case):
    xs, ws, attrs = CASES[case]
    x = rng.standard_normal(xs).astype(np.float32)
    w = rng.standard_normal(ws).astype(np.float32)
    b = rng.standard_normal(ws[1] * attrs.get("group", 1)).astype(np.float32)
    return x, w, b, attrs


@pytest.mark.parametrize("case", sorted(CASES))
def test_forward_matches_the_scatter_definition(case, rng, kernel_impl):
    x, w, b, attrs = draw(rng, case)
    (y,), _ = _core.run_op("ConvTranspose", [x, w, b], attrs)
    assert_close(y, reference(x, w, b, attrs), REDUCTION_RTOL)


@pytest.mark.parametrize("case", sorted(CASES))
def test_forward_matches_pytorch(case, rng):
    torch = pytest.importorskip("torch", reason="PyTorch is an optional second oracle")
    x, w, b, attrs = draw(rng, case)
    (y,), _ = _core.run_op("ConvTranspose", [x, w, b], attrs)
    # PyTorch pads symmetrically: its padding is the smaller pad, and the larger end pad
    # (or output_shape's crop) is cut afterwards.
    full = torch.nn.functional.conv_transpose2d(
        torch.from_numpy(x).double(), torch.from_numpy(w).double(), torch.from_numpy(b).double(),
        stride=tuple(attrs.get("strides", (1, 1))), dilation=tuple(attrs.get("dilations", (1, 1))),
        groups=attrs.get("group", 1)).numpy()
    assert_close(y, crop(full - b[None, :, None, None], attrs, x.shape, w.shape) + b[None, :, None, None],
                 REDUCTION_RTOL)


@pytest.mark.parametrize("case", sorted(CASES))
def test_backward_matches_numpy(case, rng, kernel_impl):
    x, w, b, attrs = draw(rng, case)
    (y,), _ = _core.run_op("ConvTranspose", [x, w, b], attrs)
    dy = rng.standard_normal(y.shape).astype(np.float32)
    dx, dw, db = _core.run_op_backward("ConvTranspose", [x, w, b], [dy], attrs)
    assert_close(dx, conv_input_grad(dy.astype(np.float64), w.astype(np.float64), x.shape, attrs),
                 REDUCTION_RTOL, what="dx")
    # y is linear in w: dw[c, o, kh, kw] = <dy, y of x with w = the unit weight at (c, o, kh, kw)>,
    # which the scatter definition gives without any transposition worked out by hand.
    want_dw = np.zeros(w.shape)
    for idx in np.ndindex(*w.shape):
        unit = np.zeros(w.shape)
        unit[idx] = 1.0
        want_dw[idx] = np.sum(dy * reference(x, unit, np.zeros_like(b), attrs))
    assert_close(dw, want_dw, REDUCTION_RTOL, what="dw")
    assert_close(db, dy.astype(np.float64).sum(axis=(0, 2, 3)), REDUCTION_RTOL, what="db")


# ---- the Keras layer -----------------------------------------------------------------------

def keras_length(size, kernel, padding, output_padding, stride, dilation):
    """keras.src.utils.conv_utils.deconv_output_length."""
    kernel = kernel + (kernel - 1) * (dilation - 1)
    if output_padding is None:
        return size * stride + max(kernel - stride, 0) if padding == "valid" else size * stride
    pad = kernel // 2 if padding == "same" else 0
    return (size - 1) * stride + kernel - 2 * pad + output_padding


LAYERS = [  # filters, kernel_size, strides, padding, output_padding, dilation_rate
    (4, 3, 2, "same", None, 1),
    (3, (3, 2), (2, 3), "valid", None, 1),
    (2, 4, 2, "same", 1, 1),
    (5, (2, 3), 2, "valid", (1, 0), 1),
    (3, 3, 1, "same", None, 2),
    (2, 1, 3, "valid", None, 1),
    (4, 5, 3, "same", (2, 1), 1),
]


@pytest.mark.parametrize("args", LAYERS, ids=lambda a: "-".join(map(str, a)))
def test_layer_follows_keras_output_sizes_and_the_definition(args, rng):
    filters, kernel, strides, padding, output_padding, dilation = args
    layer = L.Conv2DTranspose(filters, kernel, strides=strides, padding=padding, output_padding=output_padding,
                              dilation_rate=dilation)
    model = engine.Sequential([engine.Input((3, 5, 6)), layer])
    x = rng.standard_normal((2, 3, 5, 6)).astype(np.float32)
    y = model.predict(x)
    k, s, d = layer.kernel_size, layer.strides, layer.dilation_rate
    op = (None, None) if output_padding is None else layer.output_padding
    want = tuple(keras_length(n, k[a], padding, op[a], s[a], d[a]) for a, n in enumerate((5, 6)))
    assert y.shape == (2, filters) + want
    assert layer.compute_output_shape((None, 3, 5, 6)) == (None, filters) + want
    kernel_w, bias = layer.get_weights()
    assert kernel_w.shape == (3, filters) + k  # ONNX layout [C, filters, KH, KW]
    # The full scatter, cropped as TensorFlow's Keras does it: the layer is the gradient of
    # a Conv from the output size back to the input size, "same" padding it with the odd
    # pad at the end (begin = total // 2), "valid" not at all. Independent of how the layer
    # turns Keras's arguments into ONNX pads.
    full = scatter(x.astype(np.float64), kernel_w.astype(np.float64), s, d)
    out = []
    for a, n in enumerate((5, 6)):
        span = (k[a] - 1) * d[a] + 1
        out.append(max((n - 1) * s[a] + span - want[a], 0) // 2 if padding == "same" else 0)
    full = np.pad(full, ((0, 0), (0, 0), (0, max(0, want[0] + out[0] - full.shape[2])),
                         (0, max(0, want[1] + out[1] - full.shape[3]))))
    expected = full[:, :, out[0]:out[0] + want[0], out[1]:out[1] + want[1]] + bias[None, :, None, None]
    assert_close(y, expected, REDUCTION_RTOL)


def test_layer_matches_pytorch_conv_transpose_module(rng):
    """Keras's "same" with stride 2 and kernel 4 (a DCGAN generator's layer) is PyTorch's
    padding=1. (With an odd kernel, TensorFlow and JAX put the odd crop at the end, where
    PyTorch's symmetric padding cannot; Keras's own PyTorch backend warns of that.)"""
    torch = pytest.importorskip("torch", reason="PyTorch is an optional second oracle")
    layer = L.Conv2DTranspose(4, 4, strides=2, padding="same")
    model = engine.Sequential([engine.Input((3, 5, 7)), layer])
    x = rng.standard_normal((2, 3, 5, 7)).astype(np.float32)
    kernel_w, bias = layer.get_weights()
    want = torch.nn.functional.conv_transpose2d(torch.from_numpy(x).double(), torch.from_numpy(kernel_w).double(),
                                                torch.from_numpy(bias).double(), stride=2, padding=1).numpy()
    assert_close(model.predict(x), want, REDUCTION_RTOL)


def test_layer_arguments_are_checked():
    with pytest.raises(ValueError, match="Conv2DTranspose: output_padding .* must be smaller than the strides"):
        L.Conv2DTranspose(2, 3, strides=2, output_padding=2)
    with pytest.raises(ValueError, match="Conv2DTranspose: output_padding must be an integer >= 0"):
        L.Conv2DTranspose(2, 3, strides=2, output_padding=-1)
    with pytest.raises(ValueError, match="Conv2DTranspose: data_format must be 'channels_first'"):
        L.Conv2DTranspose(2, 3, data_format="channels_last")
    with pytest.raises(ValueError, match="Conv2DTranspose: padding"):
        L.Conv2DTranspose(2, 3, padding="full")


def test_layer_exports_to_onnx_and_survives_save_and_load(rng, tmp_path):
    ort = pytest.importorskip("onnxruntime", reason="onnxruntime is a test extra")
    model = engine.Sequential([
        engine.Input((3, 6, 5)), L.Conv2D(4, 3, strides=2, padding="same", activation="relu"),
        L.Conv2DTranspose(5, 3, strides=2, padding="same", output_padding=1, activation="relu"),
        L.Conv2DTranspose(2, (2, 3), strides=(1, 2), padding="valid", dilation_rate=(2, 1), use_bias=False)])
    x = rng.standard_normal((2, 3, 6, 5)).astype(np.float32)
    expected = model.predict(x)
    path = tmp_path / "decoder.onnx"
    model.export_onnx(path)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert_close(session.run(None, {session.get_inputs()[0].name: x})[0], expected, 1e-5)
    model.save(tmp_path / "decoder.ckpt")
    assert np.array_equal(engine.load_model(tmp_path / "decoder.ckpt").predict(x), expected)
    assert_close(engine.onnx.load(path).predict(x), expected, 1e-5, what="imported")


def test_layer_trains_to_upsample(rng):
    """A stride-2 transposed convolution learns nearest-neighbour upsampling (which it can
    represent exactly: a 2x2 kernel of ones per channel)."""
    x = rng.standard_normal((32, 2, 4, 5)).astype(np.float32)
    y = x.repeat(2, axis=2).repeat(2, axis=3)
    model = engine.Sequential([engine.Input((2, 4, 5)), L.Conv2DTranspose(2, 2, strides=2)])
    model.compile(loss="mse", optimizer=engine.optimizers.Adam(learning_rate=0.05))
    before = float(np.mean((model.predict(x) - y) ** 2))
    model.fit(x, y, batch_size=8, epochs=60, verbose=0)
    after = float(np.mean((model.predict(x) - y) ** 2))
    assert after < 1e-3 * before, (before, after)
    kernel_w, bias = model.layers[-1].get_weights()
    assert_close(kernel_w, np.eye(2)[:, :, None, None] * np.ones((2, 2)), 1e-2, what="learned kernel")
