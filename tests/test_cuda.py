"""The CUDA backend from Python: what every machine sees (a clear error where there is no GPU)
and, on a GPU, models placed on the device against the same models on the CPU. The per-op
checks of CUDA against the CPU kernels are the "cuda" variant of test_op_cases.py."""
import numpy as np
import pytest

import engine
from engine import _core
from engine import layers as L
from helpers import assert_close

HAS_GPU = engine.cuda.is_available()
needs_gpu = pytest.mark.skipif(not HAS_GPU, reason=f"no usable GPU: {engine.cuda.unavailable_reason()}")
without_gpu = pytest.mark.skipif(HAS_GPU, reason="a GPU is available here")


def small_cnn(dropout=0.0):
    layers = [engine.Input((1, 8, 8)),
              L.Conv2D(6, 3, padding="same", activation="relu"),
              L.BatchNormalization(),
              L.MaxPool2D(2),
              L.Conv2D(8, 3, activation="tanh"),
              L.Flatten()]
    if dropout:
        layers.append(L.Dropout(dropout))
    layers += [L.Dense(13, activation="elu"), L.Dense(10, activation="softmax")]
    return engine.Sequential(layers)


def twin_models(builder, seed=7):
    """The same architecture and weights twice."""
    engine.set_seed(seed)
    a = builder()
    engine.set_seed(seed)
    b = builder()
    b.set_weights(a.get_weights())
    return a, b


def digits():
    return engine.datasets.load_digits()


# ---- every machine ---------------------------------------------------------------------------

def test_availability_is_reported_consistently():
    assert isinstance(engine.cuda.is_available(), bool)
    reason = engine.cuda.unavailable_reason()
    if engine.cuda.is_available():
        assert reason == "" and engine.cuda.device_count() > 0
    else:
        assert reason and engine.cuda.device_count() == 0


@pytest.mark.parametrize("bad", ["tpu", "cuda:", "cuda:x", "gpu0"])
def test_unknown_device_names_are_value_errors(bad):
    model = small_cnn()
    with pytest.raises(ValueError, match="unknown device"):
        model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", device=bad)


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_training_steps_on_the_emulated_cuda_kernels_follow_the_cpu(optimizer):
    """Every kernel of a training step (conv, batch norm, pooling, dropout, dense, the fused
    loss, the optimizer) as the CUDA kernels compute it, run over their grid on the host:
    the same trajectory as the CPU kernels."""
    (x, y), _ = digits()
    results = []
    for variant in ("cpu", "cuda-emulated"):
        engine.set_seed(3)
        model = small_cnn(dropout=0.25)
        model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy")
        _core.set_kernel_variant(variant)
        try:
            losses = [float(np.ravel(model.train_on_batch(x[i * 16:(i + 1) * 16], y[i * 16:(i + 1) * 16]))[0])
                      for i in range(5)]
            probs = model.predict(x[:40])
        finally:
            _core.set_kernel_variant("cpu")
        results.append((losses, [w.numpy() for w in model.weights], probs))
    (cpu_losses, cpu_weights, cpu_probs), (emu_losses, emu_weights, emu_probs) = results
    np.testing.assert_allclose(emu_losses, cpu_losses, rtol=1e-4)
    for wc, we in zip(cpu_weights, emu_weights):
        assert_close(we, wc, 1e-4)
    assert_close(emu_probs, cpu_probs, 1e-4)


@without_gpu
def test_cuda_without_a_gpu_names_the_reason():
    model = small_cnn()
    with pytest.raises(RuntimeError, match="not available") as info:
        model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", device="cuda")
    assert engine.cuda.unavailable_reason() in str(info.value)
    # The model is untouched and still trains on the CPU.
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    (x, y), _ = digits()
    model.train_on_batch(x[:16], y[:16])
    assert model.device == "cpu"


@without_gpu
def test_moving_a_model_to_cuda_without_a_gpu_raises():
    model = small_cnn()
    with pytest.raises(RuntimeError, match="not available"):
        model.to("cuda")
    assert model.to("cpu") is model and model.device == "cpu"


@without_gpu
def test_core_calls_on_cuda_without_a_gpu_raise():
    with pytest.raises(RuntimeError, match="not available"):
        _core.run_op("Relu", [np.ones(3, np.float32)], device="cuda")
    with pytest.raises(RuntimeError, match="not available"):
        engine.cuda.memory_stats()
    with pytest.raises(RuntimeError, match="not available"):
        _core.DeviceArray(np.ones(3, np.float32), "cuda")


# ---- on a GPU ----------------------------------------------------------------------------------

@needs_gpu
def test_predict_on_cuda_matches_cpu(rng):
    cpu, gpu = twin_models(small_cnn)
    gpu.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", device="cuda")
    assert gpu.device == "cuda:0" and all(w.device == "cuda:0" for w in gpu.weights)
    x = rng.standard_normal((37, 1, 8, 8)).astype(np.float32)
    assert_close(gpu.predict(x, batch_size=16), cpu.predict(x, batch_size=16), 1e-5)


@needs_gpu
def test_imported_onnx_model_runs_on_cuda(tmp_path, rng):
    cpu = small_cnn()
    path = str(tmp_path / "m.onnx")
    engine.onnx.export(cpu, path)
    imported = engine.onnx.load(path).to("cuda")
    assert imported.device == "cuda:0"
    x = rng.standard_normal((5, 1, 8, 8)).astype(np.float32)
    assert_close(imported.predict(x), cpu.predict(x), 1e-5)


@needs_gpu
@pytest.mark.parametrize("optimizer", ["sgd", "adagrad", "rmsprop", "adam", "adamax", "nadam", "adamw"])
def test_twenty_steps_follow_the_cpu_trajectory(optimizer):
    """Same weights, batches, dropout masks (the counter-based RNG is the same on both
    devices) and optimizer: the weights after 20 steps agree to 1e-4."""
    cpu, gpu = twin_models(lambda: small_cnn(dropout=0.25))
    opts = {"sgd": lambda: engine.optimizers.SGD(0.01, momentum=0.9)}
    make = opts.get(optimizer, lambda: engine.optimizers.get(optimizer))
    cpu.compile(optimizer=make(), loss="sparse_categorical_crossentropy")
    gpu.compile(optimizer=make(), loss="sparse_categorical_crossentropy", device="cuda")
    (x, y), _ = digits()
    for step in range(20):
        batch = slice(step * 24, step * 24 + 24)
        lc = cpu.train_on_batch(x[batch], y[batch])
        lg = gpu.train_on_batch(x[batch], y[batch])
        assert abs(float(np.ravel(lc)[0]) - float(np.ravel(lg)[0])) <= 1e-4 * max(1.0, abs(float(np.ravel(lc)[0])))
    for wc, wg in zip(cpu.weights, gpu.weights):
        assert_close(wg.numpy(), wc.numpy(), 1e-4, wc.name)


@needs_gpu
def test_digits_cnn_trains_on_cuda_and_exports_to_onnx(tmp_path):
    from engine.__main__ import digits_cnn

    ort = pytest.importorskip("onnxruntime")
    engine.set_seed(0)
    model = digits_cnn()
    (x_train, y_train), (x_test, y_test) = digits()
    model.compile(optimizer=engine.optimizers.Adam(3e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"], device="cuda")
    model.fit(x_train, y_train, epochs=12, batch_size=32, verbose=0)
    _, accuracy = model.evaluate(x_test, y_test, verbose=0)
    assert accuracy >= 0.97
    stats = engine.cuda.memory_stats()
    assert stats["cache_hits"] > stats["device_mallocs"], stats

    path = str(tmp_path / "digits.onnx")
    engine.onnx.export(model, path)
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    theirs = session.run(None, {session.get_inputs()[0].name: x_test})[0]
    assert_close(model.predict(x_test, batch_size=64), theirs, 1e-5)

    checkpoint = str(tmp_path / "digits.engine")
    model.save(checkpoint)
    restored = engine.load_model(checkpoint)
    assert_close(restored.predict(x_test), model.predict(x_test), 1e-5)


@needs_gpu
def test_variables_on_cuda_read_and_assign_through_copies(rng):
    model = small_cnn()
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", device="cuda")
    w = model.weights[0]
    new = rng.standard_normal(w.shape).astype(np.float32)
    w.assign(new)
    assert np.array_equal(w.numpy(), new)
    model.set_weights([np.zeros(v.shape, np.float32) for v in model.weights])
    assert all(not np.any(v.numpy()) for v in model.weights)


@needs_gpu
def test_out_of_memory_is_a_memory_error_and_the_device_stays_usable():
    with pytest.raises(MemoryError):
        _core.DeviceArray.empty((1 << 42,), "cuda")  # 16 TiB
    x = np.arange(12, dtype=np.float32)
    assert np.array_equal(_core.DeviceArray(x, "cuda").numpy(), x)
    outputs, _ = _core.run_op("Relu", [x - 5], device="cuda")
    assert np.array_equal(outputs[0], np.maximum(x - 5, 0))


@needs_gpu
def test_own_gemm_and_cublas_agree(rng):
    a = rng.standard_normal((67, 129)).astype(np.float32)
    b = rng.standard_normal((129, 35)).astype(np.float32)
    want = a.astype(np.float64) @ b
    results = {}
    for which in ["own"] + (["cublas"] if _cublas_loadable() else []):
        engine.cuda.set_gemm(which)
        try:
            assert engine.cuda.gemm() == which
            results[which] = _core.run_op("MatMul", [a, b], device="cuda")[0][0]
        finally:
            engine.cuda.set_gemm("auto")
    for which, got in results.items():
        assert_close(got, want, 1e-5, which)


def _cublas_loadable():
    try:
        engine.cuda.set_gemm("cublas")
    except ValueError:
        return False
    engine.cuda.set_gemm("auto")
    return True


@needs_gpu
def test_tf32_is_opt_in():
    assert not engine.cuda.tf32_allowed()
    engine.cuda.allow_tf32(True)
    try:
        assert engine.cuda.tf32_allowed()
    finally:
        engine.cuda.allow_tf32(False)


@needs_gpu
def test_cuda_matches_onnxruntime_cuda_provider_when_installed(tmp_path, rng):
    ort = pytest.importorskip("onnxruntime")
    if "CUDAExecutionProvider" not in ort.get_available_providers():
        pytest.skip("onnxruntime-gpu with the CUDA provider is not installed")
    model = small_cnn()
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", device="cuda")
    path = str(tmp_path / "m.onnx")
    engine.onnx.export(model, path)
    session = ort.InferenceSession(path, providers=["CUDAExecutionProvider"])
    # onnxruntime falls back to the CPU silently when the CUDA provider cannot start.
    assert session.get_providers()[0] == "CUDAExecutionProvider"
    x = rng.standard_normal((9, 1, 8, 8)).astype(np.float32)
    theirs = session.run(None, {session.get_inputs()[0].name: x})[0]
    assert_close(model.predict(x), theirs, 1e-5)


@needs_gpu
def test_second_device_when_present():
    if engine.cuda.device_count() < 2:
        pytest.skip("only one GPU here")
    model = small_cnn()
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", device="cuda:1")
    assert model.device == "cuda:1"
