"""Data-parallel training (engine.distribute) with real MPI ranks: `mpiexec -n 2` runs a
script written here, and the results are compared with one process trained on the global
batch in this process. Skipped, with the reason, where mpi4py or an MPI launcher is missing
or cannot start two ranks.
"""
import functools
import os
import shutil
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import engine
from engine import layers as L

RUN_TIMEOUT = 180.0

# The common part of every script: data, a model, and the strategy.
PRELUDE = """
import os, sys, time
import numpy as np
import engine
from engine import layers as L

out = sys.argv[1]
engine.set_seed(7)
rng = np.random.default_rng(0)
x = rng.normal(size=(203, 1, 6, 6)).astype(np.float32)
y = ((x[:, 0, :3].sum((1, 2)) > 0).astype(np.int64) + (x[:, 0, 3, 3] > 1)).astype(np.int64)
strategy = engine.distribute.DataParallel(timeout=float(os.environ.get("DP_TIMEOUT", "300")))
"""

MODEL = """
def make_model():
    model = engine.Sequential([engine.Input((1, 6, 6)), L.Conv2D(4, 3, activation="relu"), L.Flatten(),
                               L.Dense(8, activation="tanh", kernel_regularizer="l2"), L.Dense(3, activation="softmax")])
    model.compile(optimizer=engine.optimizers.Adam(learning_rate=0.01), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model
"""


def _mpiexec():
    here = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    return here if os.path.exists(here) else shutil.which("mpiexec")


@functools.lru_cache(maxsize=None)
def _launcher():
    """(command prefix, environment) for two ranks on this machine, or a skip reason."""
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return None, "mpi4py is not installed (pip install '.[distributed]')"
    mpiexec = _mpiexec()
    if mpiexec is None:
        return None, "no mpiexec on PATH (pip install '.[distributed]' brings Open MPI's)"
    env = dict(os.environ)
    # Open MPI refuses root unless told, and two ranks may exceed the cores it counts.
    env.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1", OMPI_MCA_rmaps_base_oversubscribe="1",
               PRTE_MCA_rmaps_default_mapping_policy=":oversubscribe", OMP_NUM_THREADS="1")
    env["PYTHONPATH"] = os.pathsep.join(p for p in [os.path.dirname(os.path.dirname(engine.__file__)),
                                                    env.get("PYTHONPATH", "")] if p)
    version = subprocess.run([mpiexec, "--version"], capture_output=True, text=True, env=env).stdout
    prefix = [mpiexec, "-n", "2"]
    if "Open MPI" in version or "OpenRTE" in version:
        prefix += ["--oversubscribe", "-x", "PYTHONPATH", "-x", "OMP_NUM_THREADS"]
    probe = subprocess.run(prefix + [sys.executable, "-c",
                                     "from mpi4py import MPI; print(MPI.COMM_WORLD.Get_size())"],
                           capture_output=True, text=True, env=env, timeout=RUN_TIMEOUT)
    if probe.returncode != 0 or probe.stdout.split() != ["2", "2"]:
        return None, f"{mpiexec} could not start 2 ranks: {(probe.stderr or probe.stdout).strip()[-300:]}"
    return (prefix, env), None


def run_ranks(tmp_path, body, timeout=RUN_TIMEOUT, extra_env=None):
    """Runs PRELUDE + body on two ranks; returns the CompletedProcess and the seconds it took."""
    launcher, reason = _launcher()
    if launcher is None:
        pytest.skip(reason)
    prefix, env = launcher
    script = tmp_path / "script.py"
    script.write_text(PRELUDE + MODEL + textwrap.dedent(body))
    start = time.perf_counter()
    done = subprocess.run(prefix + [sys.executable, str(script), str(tmp_path)], capture_output=True, text=True,
                          env={**env, **(extra_env or {})}, timeout=timeout)
    return done, time.perf_counter() - start


def data():
    engine.set_seed(7)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(203, 1, 6, 6)).astype(np.float32)
    y = ((x[:, 0, :3].sum((1, 2)) > 0).astype(np.int64) + (x[:, 0, 3, 3] > 1)).astype(np.int64)
    return x, y


def make_model():
    namespace = {"engine": engine, "L": L}
    exec(MODEL, namespace)
    return namespace["make_model"]()


def test_two_ranks_train_like_one_process_on_the_global_batch(tmp_path):
    done, _ = run_ranks(tmp_path, """
        with strategy.scope():
            model = make_model()
        history = model.fit(x, y, batch_size=16, epochs=3, verbose=0, validation_data=(x[:50], y[:50]))
        np.savez(f"{out}/rank{strategy.rank}.npz", *model.get_weights())
        np.save(f"{out}/history{strategy.rank}.npy", np.array([history.history[k] for k in sorted(history.history)]))
        print(strategy.rank, model.evaluate(x, y, verbose=0))
    """)
    assert done.returncode == 0, done.stderr[-3000:]
    x, y = data()
    single = make_model()
    history = single.fit(x, y, batch_size=32, epochs=3, verbose=0, validation_data=(x[:50], y[:50]))
    expected = single.get_weights()
    ranks = [np.load(tmp_path / f"rank{r}.npz") for r in range(2)]
    for k, w in enumerate(expected):
        got = [ranks[r][f"arr_{k}"] for r in range(2)]
        np.testing.assert_array_equal(got[0], got[1])  # every rank holds the same weights
        np.testing.assert_allclose(got[0], w, rtol=1e-5, atol=1e-6 * np.abs(w).max())
    logs = np.array([history.history[k] for k in sorted(history.history)])
    for r in range(2):  # loss, metrics and validation reduced over the ranks
        np.testing.assert_allclose(np.load(tmp_path / f"history{r}.npy"), logs, rtol=1e-5)
    evaluated = sorted(line for line in done.stdout.splitlines() if line[:2] in ("0 ", "1 "))
    assert evaluated[0][2:] == evaluated[1][2:], evaluated


SYNCHRONIZED_BN = """
def make_bn_model():
    # No bias before the normalization: its true gradient is 0, and Adam would magnify the
    # rounding noise in it.
    model = engine.Sequential([engine.Input((1, 6, 6)), L.Conv2D(4, 3, use_bias=False),
                               L.BatchNormalization(synchronized=True),
                               L.Activation("relu"), L.Flatten(), L.Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    return model
"""


def test_synchronized_batch_norm_trains_like_one_process(tmp_path):
    # 193 rows: the last global batch of 32 holds one row, so rank 1 has none of it.
    done, _ = run_ranks(tmp_path, SYNCHRONIZED_BN + textwrap.dedent("""
        with strategy.scope():
            model = make_bn_model()
        model.fit(x[:193], y[:193], batch_size=16, epochs=2, verbose=0)
        np.savez(f"{out}/rank{strategy.rank}.npz", *model.get_weights())
    """))
    assert done.returncode == 0, done.stderr[-3000:]
    x, y = data()
    namespace = {"engine": engine, "L": L}
    exec(SYNCHRONIZED_BN, namespace)
    single = namespace["make_bn_model"]()
    single.fit(x[:193], y[:193], batch_size=32, epochs=2, verbose=0)
    ranks = [np.load(tmp_path / f"rank{r}.npz") for r in range(2)]
    for k, w in enumerate(single.get_weights()):
        np.testing.assert_allclose(ranks[0][f"arr_{k}"], w, rtol=1e-5, atol=1e-6 * np.abs(w).max())
        np.testing.assert_array_equal(ranks[0][f"arr_{k}"], ranks[1][f"arr_{k}"])


def test_dataset_batches_are_the_global_batch_and_batch_norm_is_averaged(tmp_path):
    done, _ = run_ranks(tmp_path, """
        with strategy.scope():
            model = engine.Sequential([engine.Input((1, 6, 6)), L.Conv2D(4, 3), L.BatchNormalization(),
                                       L.Activation("relu"), L.Flatten(), L.Dense(3, activation="softmax")])
            model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
        dataset = engine.data.Dataset.from_tensor_slices((x, y)).batch(40)
        steps = []
        class Count(engine.callbacks.Callback):
            def on_train_batch_end(self, batch, logs=None):
                steps.append(batch)
        model.fit(dataset, epochs=2, verbose=0, callbacks=[Count()])
        np.savez(f"{out}/rank{strategy.rank}.npz", *model.get_weights())
        print("steps", strategy.rank, len(steps))
    """)
    assert done.returncode == 0, done.stderr[-3000:]
    assert sorted(line for line in done.stdout.splitlines() if line.startswith("steps")) == \
        ["steps 0 12", "steps 1 12"]  # 6 batches of the dataset per epoch on each rank
    ranks = [np.load(tmp_path / f"rank{r}.npz") for r in range(2)]
    for k in ranks[0]:
        np.testing.assert_array_equal(ranks[0][k], ranks[1][k])


def test_only_rank_zero_writes_and_the_others_wait(tmp_path):
    done, _ = run_ranks(tmp_path, """
        import engine.saving, engine.onnx
        writes = []
        for module, name in ((engine.saving, "save_model"), (engine.onnx, "export")):
            original = getattr(module, name)
            def wrapper(*args, _original=original, _name=name, **kwargs):
                time.sleep(0.5)  # a slow disk: the other rank must wait for the file
                writes.append(_name)
                return _original(*args, **kwargs)
            setattr(module, name, wrapper)
        with strategy.scope():
            model = make_model()
        model.fit(x, y, batch_size=16, epochs=2, verbose=1, callbacks=[
            engine.callbacks.ModelCheckpoint(f"{out}/checkpoint.engine"),
            engine.callbacks.CSVLogger(f"{out}/log.csv")])
        model.export_onnx(f"{out}/model.onnx")
        # Every rank finds the files complete once the calls return.
        loaded = engine.load_model(f"{out}/checkpoint.engine")
        assert os.path.getsize(f"{out}/model.onnx") > 0
        print("writes", strategy.rank, ",".join(writes))
    """)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = sorted(line for line in done.stdout.splitlines() if line.startswith("writes"))
    assert lines == ["writes 0 save_model,save_model,export", "writes 1 "], lines
    assert done.stdout.count("Epoch 1/2") == 1  # only rank 0 prints progress
    rows = (tmp_path / "log.csv").read_text().splitlines()
    assert len(rows) == 3 and rows[0].startswith("epoch"), rows
    import onnxruntime as ort
    x, _ = data()
    model = engine.load_model(str(tmp_path / "checkpoint.engine"))
    session = ort.InferenceSession(str(tmp_path / "model.onnx"), providers=["CPUExecutionProvider"])
    np.testing.assert_allclose(session.run(None, {session.get_inputs()[0].name: x})[0], model.predict(x, verbose=0),
                               rtol=1e-5, atol=1e-6)


def test_training_resumes_from_a_checkpoint_with_another_number_of_ranks(tmp_path):
    done, _ = run_ranks(tmp_path, """
        with strategy.scope():
            model = make_model()
        model.fit(x, y, batch_size=16, epochs=1, verbose=0)
        model.save(f"{out}/epoch1.engine")
    """)
    assert done.returncode == 0, done.stderr[-3000:]
    x, y = data()
    single = make_model()
    single.fit(x, y, batch_size=32, epochs=2, verbose=0)
    # The checkpoint holds the random state too: epoch 2 shuffles as the single process did.
    resumed = engine.load_model(str(tmp_path / "epoch1.engine"))
    resumed.fit(x, y, batch_size=32, epochs=2, initial_epoch=1, verbose=0)
    for got, want in zip(resumed.get_weights(), single.get_weights()):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6 * np.abs(want).max())


def test_a_rank_that_raises_stops_the_other(tmp_path):
    done, seconds = run_ranks(tmp_path, """
        with strategy.scope():
            model = make_model()
        class Fail(engine.callbacks.Callback):
            def on_epoch_begin(self, epoch, logs=None):
                if epoch == 1 and strategy.rank == 1:
                    raise RuntimeError("rank 1 gives up")
        model.fit(x, y, batch_size=16, epochs=5, verbose=0, callbacks=[Fail()])
        print("finished", strategy.rank)
    """, timeout=120)
    assert done.returncode != 0 and "finished" not in done.stdout
    assert "rank 1 gives up" in done.stderr and "rank 1 of 2 failed" in done.stderr, done.stderr[-2000:]
    assert seconds < 60


def test_a_killed_rank_stops_the_other(tmp_path):
    done, seconds = run_ranks(tmp_path, """
        import signal
        with strategy.scope():
            model = make_model()
        class Die(engine.callbacks.Callback):
            def on_train_batch_begin(self, batch, logs=None):
                if batch == 3 and strategy.rank == 1:
                    os.kill(os.getpid(), signal.SIGKILL)
        model.fit(x, y, batch_size=16, epochs=5, verbose=0, callbacks=[Die()])
        print("finished", strategy.rank)
    """, timeout=120, extra_env={"DP_TIMEOUT": "20"})
    assert done.returncode != 0 and "finished" not in done.stdout
    assert seconds < 60


def test_a_rank_waiting_too_long_raises_a_timeout(tmp_path):
    done, seconds = run_ranks(tmp_path, """
        with strategy.scope():
            model = make_model()
        class Stall(engine.callbacks.Callback):
            def on_train_batch_begin(self, batch, logs=None):
                if batch == 2 and strategy.rank == 1:
                    time.sleep(60)
        model.fit(x, y, batch_size=16, epochs=1, verbose=0, callbacks=[Stall()])
        print("finished", strategy.rank)
    """, timeout=120, extra_env={"DP_TIMEOUT": "3"})
    assert done.returncode != 0 and "finished" not in done.stdout
    assert "TimeoutError: rank 0 of 2: an all-reduce of" in done.stderr, done.stderr[-2000:]
    assert seconds < 45


def test_a_single_process_is_a_world_of_one():
    strategy = engine.distribute.DataParallel()
    assert (strategy.rank, strategy.size, strategy.is_chief) == (0, 1, True)
    x, y = data()
    with strategy.scope():
        model = make_model()
    model.fit(x, y, batch_size=32, epochs=1, verbose=0)
    x, y = data()  # the same seed again
    plain = make_model()
    plain.fit(x, y, batch_size=32, epochs=1, verbose=0)
    for a, b in zip(model.get_weights(), plain.get_weights()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(strategy.allreduce(np.arange(3.0)), np.arange(3.0))
    np.testing.assert_array_equal(strategy.broadcast(np.arange(4)), np.arange(4))
    with pytest.raises(ValueError, match="timeout must be > 0"):
        engine.distribute.DataParallel(timeout=0)


def test_synchronized_batch_norm_exports_as_plain_onnx(tmp_path):
    onnx = pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    x, y = data()
    namespace = {"engine": engine, "L": L}
    exec(SYNCHRONIZED_BN, namespace)
    model = namespace["make_bn_model"]()
    model.fit(x, y, batch_size=32, epochs=1, verbose=0)  # alone: the layer's own batch statistics
    model.export_onnx(str(tmp_path / "bn.onnx"))
    onnx.checker.check_model(onnx.load(str(tmp_path / "bn.onnx")), full_check=True)
    session = ort.InferenceSession(str(tmp_path / "bn.onnx"), providers=["CPUExecutionProvider"])
    np.testing.assert_allclose(session.run(None, {session.get_inputs()[0].name: x})[0], model.predict(x, verbose=0),
                               rtol=1e-5, atol=1e-6)
    assert engine.layers.BatchNormalization.from_config(model.layers[1].get_config()).synchronized


def test_two_ranks_on_a_gpu_train_like_one_process(tmp_path):
    if not engine.cuda.is_available():
        pytest.skip(f"no CUDA device: {engine.cuda.unavailable_reason()}")
    # Both ranks share the one GPU; the gradient arena is all-reduced through host memory.
    done, _ = run_ranks(tmp_path, """
        with strategy.scope():
            model = make_model()
            model.compile(optimizer=engine.optimizers.Adam(learning_rate=0.01),
                          loss="sparse_categorical_crossentropy", device="cuda")
        model.fit(x, y, batch_size=16, epochs=2, verbose=0)
        np.savez(f"{out}/rank{strategy.rank}.npz", *model.get_weights())
    """)
    assert done.returncode == 0, done.stderr[-3000:]
    x, y = data()
    single = make_model()
    single.compile(optimizer=engine.optimizers.Adam(learning_rate=0.01), loss="sparse_categorical_crossentropy",
                   device="cuda")
    single.fit(x, y, batch_size=32, epochs=2, verbose=0)
    ranks = [np.load(tmp_path / f"rank{r}.npz") for r in range(2)]
    for k, w in enumerate(single.get_weights()):
        np.testing.assert_array_equal(ranks[0][f"arr_{k}"], ranks[1][f"arr_{k}"])
        np.testing.assert_allclose(ranks[0][f"arr_{k}"], w, rtol=1e-4, atol=1e-5 * np.abs(w).max())
