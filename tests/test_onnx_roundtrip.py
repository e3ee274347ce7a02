"""ONNX round trips: models built with engine.layers are exported, checked by onnx.checker,
run in onnxruntime and compared with the engine; export -> import -> export keeps the
outputs; imported models fine-tune and export again. PyTorch-exported models (classic
exporter, opsets 11 and 17) import and match torch's own outputs."""
import numpy as np
import pytest

import engine
import engine.onnx
from engine import layers as L

onnx = pytest.importorskip("onnx", reason="onnx is not installed")
ort = pytest.importorskip("onnxruntime", reason="onnxruntime is not installed")

RTOL, ATOL = 1e-3, 1e-5


def as_list(x):
    return x if isinstance(x, list) else [x]


def mlp():
    x = engine.Input((784,), name="pixels")
    h = L.Dense(300, activation="relu")(x)
    h = L.Dense(100, activation="relu")(h)
    return engine.Model(x, L.Dense(10, activation="softmax")(h)), [(784,)]


def cnn():
    x = engine.Input((1, 12, 12), name="image")
    h = L.Conv2D(6, 3, padding="same", activation="relu")(x)
    h = L.BatchNormalization()(h)
    h = L.MaxPooling2D(2)(h)
    h = L.Conv2D(8, 3, activation="relu")(h)
    h = L.AveragePooling2D(2)(h)
    h = L.Flatten()(h)
    h = L.Dropout(0.25)(h)
    return engine.Model(x, L.Dense(5, activation="softmax")(h)), [(1, 12, 12)]


def wide_and_deep():
    wide = engine.Input((5,), name="wide")
    deep = engine.Input((6,), name="deep")
    h = L.Dense(16, activation="relu")(deep)
    h = L.Dense(16, activation="relu")(h)
    cat = L.Concatenate()([wide, h])
    main = L.Dense(1, name="main")(cat)
    aux = L.Dense(1, name="aux")(h)
    return engine.Model([wide, deep], [main, aux]), [(5,), (6,)]


def resnet():
    x = engine.Input((3, 10, 10), name="image")
    h = L.Conv2D(8, 3, padding="same")(x)
    h = L.BatchNormalization()(h)
    h = L.Activation("relu")(h)
    for _ in range(2):
        r = L.Conv2D(8, 3, padding="same", activation="relu")(h)
        r = L.BatchNormalization()(L.Conv2D(8, 3, padding="same")(r))
        h = L.Activation("relu")(L.Add()([h, r]))
    h = L.GlobalAveragePooling2D()(h)
    return engine.Model(x, L.Dense(4, activation="softmax")(h)), [(3, 10, 10)]


def every_layer():
    x = engine.Input((2, 6, 6), name="x")
    h = L.Conv2D(4, 3, strides=2, padding="same", activation="tanh")(x)
    h = L.LeakyReLU(0.2)(h)
    h = L.MaxPool2D(2, padding="same")(h)
    h = L.AvgPool2D(1)(h)
    h = L.Reshape((4, 4))(h)
    h = L.Flatten()(h)
    h = L.Identity()(h)
    a = L.Dense(7, activation="sigmoid")(h)
    b = L.Dense(7, activation="elu")(h)
    c = L.Dense(7, activation="selu")(h)
    d = L.Dense(7, activation="softplus")(h)
    s = L.Add()([a, b, c, d])
    return engine.Model(x, L.Dense(3, activation="softmax")(s)), [(2, 6, 6)]


BUILDERS = {"mlp": mlp, "cnn": cnn, "wide_and_deep": wide_and_deep, "resnet": resnet,
            "every_layer": every_layer}


def inputs_for(shapes, rng, n=3):
    return [rng.standard_normal((n,) + s).astype(np.float32) for s in shapes]


def ort_run(path, model, xs):
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return sess.run(None, {t.layer_name: x for t, x in zip(model.inputs, xs)})


def feed(xs):
    return xs if len(xs) > 1 else xs[0]


def warm_up_batch_norm(model, xs):
    """Moves the BatchNormalization statistics off their initial values (zeros/ones), so
    the comparisons exercise them."""
    for layer in model.layers:
        if isinstance(layer, L.BatchNormalization):
            mean, var = layer.moving_mean, layer.moving_variance
            mean.assign(np.linspace(-0.5, 0.5, mean.shape[0]))
            var.assign(np.linspace(0.5, 2.0, var.shape[0]))


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_export_matches_onnxruntime_and_reimports(name, tmp_path, rng):
    model, shapes = BUILDERS[name]()
    warm_up_batch_norm(model, None)
    xs = inputs_for(shapes, rng)
    ref = as_list(model.predict(feed(xs)))
    first = tmp_path / "first.onnx"
    engine.onnx.export(model, first)
    onnx.checker.check_model(onnx.load(first), full_check=True)
    for got, r in zip(ort_run(first, model, xs), ref):
        np.testing.assert_allclose(got, r, rtol=RTOL, atol=ATOL)

    imported = engine.onnx.load(first)
    assert [t.layer_name for t in imported.inputs] == [t.layer_name for t in model.inputs]
    got = as_list(imported.predict(feed(xs)))
    for g, r in zip(got, ref):
        np.testing.assert_allclose(g, r, rtol=RTOL, atol=ATOL)
    second = tmp_path / "second.onnx"
    engine.onnx.export(imported, second)
    onnx.checker.check_model(onnx.load(second), full_check=True)
    assert [o.name for o in onnx.load(second).graph.output] == [o.name for o in onnx.load(first).graph.output]
    again = engine.onnx.load(second)
    for a, b in zip(as_list(again.predict(feed(xs))), got):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(ort_run(second, again, xs), ort_run(first, model, xs)):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", ["cnn", "wide_and_deep", "resnet"])
def test_imported_model_fine_tunes_and_exports(name, tmp_path, rng):
    engine.set_seed(0)  # the initial weights, whatever ran before
    model, shapes = BUILDERS[name]()
    path = tmp_path / "model.onnx"
    engine.onnx.export(model, path)
    imported = engine.onnx.load(path)
    xs = inputs_for(shapes, rng, n=16)
    outs = as_list(imported.predict(feed(xs)))
    ys = [rng.standard_normal(o.shape).astype(np.float32) if o.shape[1] == 1
          else np.eye(o.shape[1], dtype=np.float32)[rng.integers(0, o.shape[1], 16)] for o in outs]
    loss = "mse" if outs[0].shape[1] == 1 else "categorical_crossentropy"
    imported.compile(optimizer=engine.optimizers.Adam(1e-2), loss=loss)
    before = imported.evaluate(feed(xs), feed(ys), verbose=0)
    imported.fit(feed(xs), feed(ys), epochs=8, batch_size=16, verbose=0)
    after = imported.evaluate(feed(xs), feed(ys), verbose=0)
    before, after = np.ravel(before)[0], np.ravel(after)[0]
    assert after < before
    tuned = tmp_path / "tuned.onnx"
    engine.onnx.export(imported, tuned)
    onnx.checker.check_model(onnx.load(tuned), full_check=True)
    for g, r in zip(ort_run(tuned, imported, xs), as_list(imported.predict(feed(xs)))):
        np.testing.assert_allclose(g, r, rtol=RTOL, atol=ATOL)


def test_batch_norm_statistics_stay_frozen_parameters(tmp_path):
    model, _ = resnet()
    path = tmp_path / "r.onnx"
    engine.onnx.export(model, path)
    imported = engine.onnx.load(path)
    frozen = {w.name for w in imported.non_trainable_weights}
    assert frozen and all("moving" in n or "mean" in n or "var" in n for n in frozen)


# ---- PyTorch ----------------------------------------------------------------------------------

torch = pytest.importorskip("torch", reason="PyTorch is needed to export the torch models")


class TorchCnn(torch.nn.Module):
    def __init__(self, log):
        super().__init__()
        self.conv = torch.nn.Conv2d(2, 4, 3, padding=1)
        self.bn = torch.nn.BatchNorm2d(4)
        self.conv2 = torch.nn.Conv2d(4, 6, 3, stride=2)
        self.drop = torch.nn.Dropout(0.3)
        self.fc = torch.nn.Linear(6 * 2 * 2, 5)
        self.log = log

    def forward(self, x):
        h = torch.relu(self.bn(self.conv(x)))
        h = torch.nn.functional.max_pool2d(h, 2)
        h = torch.nn.functional.avg_pool2d(torch.relu(self.conv2(h)), 1)
        h = self.drop(h.view(h.size(0), -1))  # Shape -> Gather -> Unsqueeze -> Concat -> Reshape
        h = self.fc(h)  # Gemm transB=1
        return torch.log_softmax(h, 1) if self.log else torch.softmax(h, 1)


class TorchMlp(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.body = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(12, 7), torch.nn.Tanh(),
                                        torch.nn.Identity(), torch.nn.Linear(7, 3))

    def forward(self, x):
        return self.body(x) * 2.0 + torch.ones(3)  # Constant operands


def torch_export(module, x, path, opset):
    module.eval()
    with torch.no_grad():
        ref = module(torch.from_numpy(x)).numpy()
    torch.onnx.export(module, (torch.from_numpy(x),), str(path), opset_version=opset, dynamo=False,
                      input_names=["input"], output_names=["output"],
                      dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}})
    return ref


@pytest.mark.parametrize("opset", [11, 17])
@pytest.mark.parametrize("case", ["cnn_softmax", "cnn_logsoftmax", "mlp"])
def test_pytorch_models_import(case, opset, tmp_path, rng):
    torch.manual_seed(0)
    if case == "mlp":
        module, x = TorchMlp(), rng.standard_normal((4, 3, 4)).astype(np.float32)
    else:
        module = TorchCnn(log=case.endswith("logsoftmax"))
        with torch.no_grad():  # non-trivial running statistics
            module.bn.running_mean.uniform_(-0.5, 0.5)
            module.bn.running_var.uniform_(0.5, 2.0)
        x = rng.standard_normal((4, 2, 10, 10)).astype(np.float32)
    path = tmp_path / "torch.onnx"
    ref = torch_export(module, x, path, opset)
    model = engine.onnx.load(path)
    assert model.inputs[0].layer_name == "input" and model.outputs[0].layer_name == "output"
    np.testing.assert_allclose(model.predict(x), ref, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(model.predict(x[:1]), ref[:1], rtol=RTOL, atol=ATOL)  # batch is symbolic
    again = tmp_path / "again.onnx"
    engine.onnx.export(model, again)
    onnx.checker.check_model(onnx.load(again), full_check=True)
    np.testing.assert_array_equal(engine.onnx.load(again).predict(x), model.predict(x))


def test_tools_export_a_checkpoint_and_check_it(tmp_path, capsys):
    import importlib.util
    import pathlib

    tools = pathlib.Path(__file__).resolve().parents[1] / "tools"
    spec = importlib.util.spec_from_file_location("to_onnx", tools / "to_onnx.py")
    to_onnx = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(to_onnx)
    model, _ = cnn()
    model.compile(optimizer="sgd", loss="categorical_crossentropy")
    ckpt = tmp_path / "cnn.keras"
    model.save(ckpt)
    out = tmp_path / "cnn.onnx"
    assert to_onnx.main([str(ckpt), str(out), "--opset", "13", "--check"]) == 0
    assert "max abs difference" in capsys.readouterr().out
    import check_onnx  # importable: to_onnx put tools/ on the path

    assert check_onnx.main([str(out)]) == 0
