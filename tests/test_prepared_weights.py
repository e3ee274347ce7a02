"""Weights kept prepared between calls (a Winograd layer's transformed weights, in an
inference plan on the CPU): prepared once while the parameters stay the same, and again
after anything that changes them (assign, set_weights, fit, a custom loop's optimizer,
BatchNormalization's moving statistics); every prediction checked against a float64
numpy forward pass of the current weights."""
import threading

import numpy as np
import pytest

import engine
from engine import _core
from engine import layers as L
from helpers import assert_close
from model_reference import conv2d, reference_forward

# 3x3 stride-1 layers with 16+ channels on 12x12 images: the CPU's Winograd route.
RTOL = 2e-5


def winograd_model(batch_norm=False, size=12):
    engine.set_seed(1)
    layers = [engine.Input((16, size, size)), L.Conv2D(32, 3, padding="same", use_bias=not batch_norm)]
    if batch_norm:
        layers.append(L.BatchNormalization())
    layers += [L.Activation("relu"), L.Conv2D(16, 3), L.GlobalAveragePooling2D(), L.Dense(3)]
    return engine.Sequential(layers)


def check(model, x, what):
    assert_close(model.predict(x, verbose=0), reference_forward(model, [x])[0], RTOL, what=what)


def prepares(fn):
    before = _core.prepared_weights_count()
    fn()
    return _core.prepared_weights_count() - before


@pytest.fixture
def data(rng):
    return rng.standard_normal((4, 16, 12, 12)).astype(np.float32)


def test_unchanged_weights_are_prepared_once(data):
    model = winograd_model()
    assert prepares(lambda: model.predict(data, verbose=0)) == 2  # both convolutions
    assert prepares(lambda: [model.predict(data, verbose=0) for _ in range(3)]) == 0
    check(model, data, "cached")


def test_weights_packed_for_many_chunks_of_tiles(rng):
    """A batch whose tiles run in several chunks keeps U packed for the GEMMs."""
    model = winograd_model(size=40)
    x = rng.standard_normal((8, 16, 40, 40)).astype(np.float32)
    assert prepares(lambda: check(model, x, "first call")) == 2
    assert prepares(lambda: check(model, x[:5], "a smaller batch")) == 2  # its own plan
    assert prepares(lambda: check(model, x, "again")) == 0
    model.layers[0].kernel.assign(model.layers[0].kernel.numpy() * -1.5)
    assert prepares(lambda: check(model, x, "after assign")) == 2


def test_assign_and_set_weights_are_seen(data, rng):
    model = winograd_model()
    model.predict(data, verbose=0)
    kernel = model.layers[0].kernel
    kernel.assign(rng.standard_normal(kernel.shape).astype(np.float32) * 0.2)
    assert prepares(lambda: check(model, data, "after assign")) == 2
    model.set_weights([w * 0.5 for w in model.get_weights()])
    check(model, data, "after set_weights")


def test_fit_and_custom_loop_updates_are_seen(data, rng):
    model = winograd_model()
    model.compile(loss="mse", optimizer=engine.optimizers.SGD(learning_rate=0.1))
    y = rng.standard_normal((4, 3)).astype(np.float32)
    before = model.predict(data, verbose=0)
    model.fit(data, y, epochs=2, verbose=0)
    check(model, data, "after fit")
    optimizer = engine.optimizers.Adam(learning_rate=0.05)
    _, grads = model.value_and_grad(data, y)
    optimizer.apply_gradients(zip(grads, model.trainable_weights))
    after = model.predict(data, verbose=0)
    check(model, data, "after apply_gradients")
    assert not np.allclose(before, after)


def test_batch_norm_statistics_from_training_are_seen(data, rng):
    model = winograd_model(batch_norm=True)
    model.compile(loss="mse", optimizer=engine.optimizers.SGD(learning_rate=0.1))
    model.predict(data, verbose=0)
    bn = model.layers[1]
    mean = bn.moving_mean.numpy()
    model(data * 3.0 + 1.0, training=True)  # moves the statistics alone, no optimizer step
    assert not np.allclose(bn.moving_mean.numpy(), mean)
    check(model, data, "after a training call")
    model.fit(data * 2.0, np.zeros((4, 3), np.float32), epochs=1, verbose=0)
    check(model, data, "after fit")


def test_value_is_a_read_only_view_that_follows_the_weights(data):
    model = winograd_model()
    kernel = model.layers[0].kernel
    view = kernel.value
    with pytest.raises(ValueError, match="read-only"):
        view[0, 0, 0, 0] = 1.0
    kernel.assign(np.ones(kernel.shape, np.float32))
    assert np.all(view == 1.0)


def test_every_isa_and_the_reference_kernels_agree(data):
    model = winograd_model()
    expected = reference_forward(model, [data])[0]
    isas = [isa for isa in ("portable", "avx2", "avx512") if _core.cpu_isa_supported(isa)]
    try:
        for isa in isas:
            _core.set_cpu_isa(isa)
            assert_close(model.predict(data, verbose=0), expected, RTOL, what=isa)
        _core.set_kernel_variant("ref")
        assert_close(model.predict(data, verbose=0), expected, RTOL, what="ref")
    finally:
        _core.set_kernel_variant("cpu")
        _core.set_cpu_isa("best")
    assert_close(model.predict(data, verbose=0), expected, RTOL, what="best again")


def test_weights_that_are_inputs_are_not_kept(rng):
    """A Conv whose weights come in as a graph input prepares nothing: each call uses the
    weights it is given."""
    onnx = pytest.importorskip("onnx", reason="onnx is a test extra")
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Conv", ["x", "w"], ["y"], pads=[1, 1, 1, 1])], "conv_w_input",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 16, 12, 12]),
         helper.make_tensor_value_info("w", TensorProto.FLOAT, [32, 16, 3, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 32, 12, 12])])
    data = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8).SerializeToString()
    session = engine.onnx.InferenceSession(data)
    x = rng.standard_normal((4, 16, 12, 12)).astype(np.float32)
    for k in range(2):
        w = rng.standard_normal((32, 16, 3, 3)).astype(np.float32)
        got = session.run(None, {"x": x, "w": w})[0]
        assert_close(got, conv2d(np.float64(x), np.float64(w), None, (1, 1), (1, 1, 1, 1), (1, 1), 1), RTOL,
                     what=f"weights {k}")


def test_threads_share_a_model_while_weights_stay(data):
    model = winograd_model()
    expected = reference_forward(model, [data])[0]
    results, errors = [], []

    def work():
        try:
            for _ in range(5):
                results.append(model.predict(data, verbose=0))
        except Exception as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    for k, got in enumerate(results):
        assert_close(got, expected, RTOL, what=f"call {k}")
