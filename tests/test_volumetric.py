"""3-D CNNs (video, volumetric data: [N, C, D, H, W]) as PyTorch's classic exporter writes
them: Conv3d, MaxPool3d, AvgPool3d, ConvTranspose3d and AdaptiveAvgPool3d(1) imported,
compared with onnxruntime, trained and exported again. The ops themselves are checked
against numpy, finite differences and onnxruntime in the op-case table (tests/op_cases.py).
"""
import numpy as np
import pytest

import engine

torch = pytest.importorskip("torch", reason="torch is not installed")
ort = pytest.importorskip("onnxruntime", reason="onnxruntime is not installed")
onnx = pytest.importorskip("onnx", reason="onnx is not installed")

RTOL = 1e-4
# torch's classic (TorchScript) exporter, asked for by name, warns that it is deprecated.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def rel_err(a, b):
    return np.linalg.norm(np.asarray(a, np.float64) - b) / np.linalg.norm(b)


class Volumetric(torch.nn.Module):
    """Every window attribute the 3-D ops take, on odd sizes."""

    def __init__(self):
        super().__init__()
        nn = torch.nn
        self.features = nn.Sequential(
            nn.Conv3d(2, 6, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.MaxPool3d(kernel_size=(2, 3, 2), stride=(2, 2, 1), padding=(1, 1, 0), ceil_mode=True),
            nn.Conv3d(6, 8, kernel_size=(3, 2, 3), stride=(1, 2, 1), dilation=(2, 1, 1), padding=(2, 0, 1),
                      groups=2),
            nn.ReLU(),
            nn.AvgPool3d(kernel_size=3, stride=(1, 2, 2), padding=1, count_include_pad=False),
            nn.ConvTranspose3d(8, 4, kernel_size=(2, 3, 2), stride=(2, 2, 1), padding=(0, 1, 0),
                               output_padding=(1, 1, 0)),
            nn.ReLU(),
            nn.AvgPool3d(kernel_size=2, ceil_mode=True),
        )
        self.head = nn.Sequential(nn.AdaptiveAvgPool3d(1), nn.Flatten(), nn.Linear(4, 5))

    def forward(self, x):
        return self.head(self.features(x))


INPUT = (2, 9, 13, 11)  # [C, D, H, W]


@pytest.fixture
def exported(tmp_path):
    torch.manual_seed(3)
    net = Volumetric().eval()
    x = torch.randn(3, *INPUT)
    path = str(tmp_path / "volumetric.onnx")
    torch.onnx.export(net, x, path, opset_version=17, dynamo=False, input_names=["x"],
                      output_names=["y"], dynamic_axes={"x": {0: "N"}, "y": {0: "N"}})
    model = onnx.load(path)
    model.ir_version = min(model.ir_version, 8)  # what the installed onnxruntime reads
    onnx.save(model, path)
    ops = {n.op_type for n in model.graph.node}
    assert {"Conv", "MaxPool", "AveragePool", "ConvTranspose", "GlobalAveragePool"} <= ops, ops
    return path, x.numpy()


def run_ort(path, x):
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    return sess.run(None, {sess.get_inputs()[0].name: x})[0]


def test_3d_cnn_from_torch_matches_onnxruntime(exported):
    path, x = exported
    expected = run_ort(path, x)
    model = engine.onnx.load(path)
    y = model.predict(x, verbose=0)
    assert y.shape == expected.shape
    assert rel_err(y, expected) < RTOL
    np.testing.assert_allclose(model.predict(x[:1], verbose=0), y[:1], rtol=1e-4, atol=1e-5)


def test_3d_cnn_from_torch_trains_and_exports(exported, tmp_path):
    path, x = exported
    model = engine.onnx.load(path)
    rng = np.random.default_rng(11)
    xs = rng.standard_normal((8,) + INPUT).astype(np.float32)
    ys = rng.standard_normal((8, 5)).astype(np.float32)
    model.compile(optimizer=engine.optimizers.Adam(3e-3), loss="mse")
    before = [v.numpy().copy() for v in model.trainable_weights]
    first = model.evaluate(xs, ys, verbose=0)
    model.fit(xs, ys, epochs=8, batch_size=8, verbose=0)
    last = model.evaluate(xs, ys, verbose=0)
    assert np.isfinite(last) and last < first
    # Every weight moved: the gradients reach all 3-D ops' weights and biases.
    assert all(not np.array_equal(a, v.numpy()) for a, v in zip(before, model.trainable_weights))
    tuned = model.predict(x, verbose=0)
    out = str(tmp_path / "tuned.onnx")
    engine.onnx.export(model, out)
    assert rel_err(run_ort(out, x), tuned) < RTOL


def test_3d_cnn_gradient_matches_torch(exported):
    # One SGD step on the same batch and loss moves every weight as PyTorch's autograd does.
    path, x = exported
    torch.manual_seed(3)
    net = Volumetric()
    y_target = np.random.default_rng(5).standard_normal((3, 5)).astype(np.float32)
    loss = torch.nn.functional.mse_loss(net(torch.from_numpy(x)), torch.from_numpy(y_target))
    loss.backward()
    grads = {tuple(p.shape): p.grad.numpy().astype(np.float64) for p in net.parameters()}
    assert len(grads) == len(list(net.parameters()))  # shapes tell the parameters apart

    model = engine.onnx.load(path)
    lr = 0.5
    model.compile(optimizer=engine.optimizers.SGD(lr), loss="mse")
    before = {tuple(v.shape): v.numpy().astype(np.float64) for v in model.trainable_weights}
    model.fit(x, y_target, epochs=1, batch_size=3, shuffle=False, verbose=0)
    for v in model.trainable_weights:
        step = (before[tuple(v.shape)] - v.numpy()) / lr
        assert rel_err(step, grads[tuple(v.shape)]) < 1e-3, v.shape
