"""fit / evaluate / predict fed by engine.data pipelines and other iterables: the same
numbers as the arrays they hold, the background thread's work, errors and cleanup."""
import json
import os
import subprocess
import sys
import textwrap
import threading
import traceback

import numpy as np
import pytest

import engine
from engine import layers as L
from engine.data import Dataset


def thread_names():
    return sorted(t.name for t in threading.enumerate() if t is not threading.current_thread())


@pytest.fixture(autouse=True)
def no_thread_left_behind():
    before = thread_names()
    yield
    assert thread_names() == before


def toy(rng, n=96, d=6):
    x = rng.standard_normal((n, d)).astype(np.float32)
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype(np.int64) + (x[:, 2] > 1).astype(np.int64)
    return x, y


def mlp(d=6, seed=3):
    engine.set_seed(seed)
    model = engine.Sequential([engine.Input((d,)), L.Dense(16, activation="relu"), L.Dense(3, activation="softmax")])
    model.compile(optimizer=engine.optimizers.Adam(learning_rate=0.01), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


def assert_same_weights(a, b):
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(wa, wb)


def test_fit_on_a_dataset_equals_fit_on_its_arrays(rng):
    x, y = toy(rng)
    xv, yv = toy(rng, 40)
    ref = mlp()
    ref_hist = ref.fit(x, y, batch_size=16, epochs=3, shuffle=False, validation_data=(xv, yv), verbose=0)
    model = mlp()
    train = Dataset.from_tensor_slices((x, y)).batch(16).prefetch(2)
    val = Dataset.from_tensor_slices((xv, yv)).batch(32)
    hist = model.fit(train, epochs=3, validation_data=val, verbose=0)
    assert_same_weights(model, ref)
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        np.testing.assert_allclose(hist.history[key], ref_hist.history[key], rtol=1e-6)
    assert model.evaluate(val, verbose=0) == pytest.approx(ref.evaluate(xv, yv, verbose=0), rel=1e-6)
    np.testing.assert_allclose(model.predict(Dataset.from_tensor_slices(xv).batch(7)), ref.predict(xv), rtol=1e-6)
    np.testing.assert_allclose(model.predict(val), ref.predict(xv), rtol=1e-6)  # (x, y) batches: y ignored
    assert model.predict(val, steps=1).shape == (32, 3)


def test_sample_weights_and_class_weights_from_a_dataset(rng):
    x, y = toy(rng)
    w = rng.uniform(0.2, 2.0, len(x)).astype(np.float32)
    ref = mlp()
    ref.fit(x, y, sample_weight=w, class_weight={0: 1.0, 1: 2.0, 2: 0.5}, batch_size=32, shuffle=False, verbose=0)
    model = mlp()
    model.fit(Dataset.from_tensor_slices((x, y, w)).batch(32), class_weight={0: 1.0, 1: 2.0, 2: 0.5}, verbose=0)
    assert_same_weights(model, ref)


def test_a_shuffled_mapped_pipeline_trains_as_its_arrays_in_the_same_order(rng):
    x, y = toy(rng, 120)
    pipeline = (Dataset.from_tensor_slices((x, y)).shuffle(50, seed=5)
                .map(lambda a, b: (a * 2.0 + 1.0, b), num_parallel_calls=3).batch(10).prefetch(3))
    order = [int(i) for i in Dataset.range(120).shuffle(50, seed=5)]  # the same seed: the same order
    model = mlp()
    model.fit(pipeline, epochs=1, verbose=0)
    ref = mlp()
    ref.fit(x[order] * 2.0 + 1.0, y[order], batch_size=10, shuffle=False, verbose=0)
    assert_same_weights(model, ref)


def test_steps_per_epoch_continues_one_pass_across_epochs(rng):
    x, y = toy(rng, 160)
    model = mlp()
    # 10 batches; 3 per epoch for 2 epochs: batches 0..5, as one run over the first 96 rows.
    model.fit(Dataset.from_tensor_slices((x, y)).batch(16), steps_per_epoch=3, epochs=2, verbose=0)
    ref = mlp()
    ref.fit(x[:96], y[:96], batch_size=16, shuffle=False, verbose=0)
    assert_same_weights(model, ref)
    endless = mlp()
    history = endless.fit(Dataset.from_tensor_slices((x, y)).batch(16).repeat(), steps_per_epoch=4, epochs=3,
                          verbose=0)
    assert len(history.history["loss"]) == 3 and int(endless.optimizer.iterations) == 12


def test_running_out_of_data_ends_the_epoch_with_a_warning(rng):
    x, y = toy(rng, 80)
    model = mlp()
    with pytest.warns(UserWarning, match="ran out of data"):
        model.fit(Dataset.from_tensor_slices((x, y)).batch(16), steps_per_epoch=3, epochs=2, verbose=0)
    assert int(model.optimizer.iterations) == 5
    ref = mlp()
    ref.fit(x, y, batch_size=16, shuffle=False, verbose=0)
    assert_same_weights(model, ref)


def test_an_endless_dataset_needs_steps(rng):
    x, y = toy(rng)
    with pytest.raises(ValueError, match="steps_per_epoch"):
        mlp().fit(Dataset.from_tensor_slices((x, y)).batch(16).repeat(), epochs=1, verbose=0)
    with pytest.raises(ValueError, match="y must be None"):
        mlp().fit(Dataset.from_tensor_slices((x, y)).batch(16), y, verbose=0)
    with pytest.raises(ValueError, match=r"tuple \(x, y\) or \(x, y, sample_weight\), got ndarray"):
        mlp().fit(Dataset.from_tensor_slices(x).batch(16), verbose=0)


def test_validation_steps(rng):
    x, y = toy(rng)
    xv, yv = toy(rng, 64)
    model = mlp()
    seen = {}
    probe = engine.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: seen.setdefault(epoch, model.evaluate(xv[16 * epoch * 2:16 * epoch * 2 + 32],
                                                                                yv[16 * epoch * 2:16 * epoch * 2 + 32],
                                                                                verbose=0)))
    val = Dataset.from_tensor_slices((xv, yv)).batch(16).repeat()
    hist = model.fit(x, y, batch_size=32, epochs=2, validation_data=val, validation_steps=2, callbacks=[probe],
                     verbose=0)
    # Epoch 1 validates on batches 0-1, epoch 2 on batches 2-3 (one pass continues, as in Keras).
    np.testing.assert_allclose(hist.history["val_loss"], [seen[0][0], seen[1][0]], rtol=1e-6)


def test_batches_are_prepared_on_a_background_thread(rng):
    x, y = toy(rng)
    readers = []

    def batches():
        for i in range(0, len(x), 16):
            readers.append(threading.current_thread().name)
            yield x[i:i + 16], y[i:i + 16]

    model = mlp()
    model.fit(batches(), epochs=1, verbose=0)
    assert readers and set(readers) == {"engine-fit-batches"}
    ref = mlp()
    ref.fit(x, y, batch_size=16, shuffle=False, verbose=0)
    assert_same_weights(model, ref)


def test_worker_errors_reach_fit_with_the_original_traceback(rng):
    x, y = toy(rng)

    def decode(a, b):
        if float(a[0]) == float(x[37, 0]):
            raise RuntimeError("corrupt record 37")
        return a, b

    for ds in (Dataset.from_tensor_slices((x, y)).map(decode, num_parallel_calls=2).batch(8),
               Dataset.from_tensor_slices((x, y)).map(decode).batch(8).prefetch(2)):
        model = mlp()
        with pytest.raises(RuntimeError, match="corrupt record 37") as info:
            model.fit(ds, epochs=2, verbose=0)
        text = "".join(traceback.format_exception(info.value))
        assert "in decode" in text and 'raise RuntimeError("corrupt record 37")' in text
        assert int(model.optimizer.iterations) == 4  # the batches before the bad one were used

    def broken():
        yield x[:8], y[:8]
        raise OSError("the disk went away")

    with pytest.raises(OSError, match="the disk went away"):
        mlp().fit(broken(), verbose=0)


def test_stopping_early_leaves_no_thread(rng):
    x, y = toy(rng)
    before = thread_names()
    ds = Dataset.from_tensor_slices((x, y)).map(lambda a, b: (a, b), num_parallel_calls=2).repeat().batch(8).prefetch(4)

    class StopAt(engine.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if batch == 2:
                self.model.stop_training = True

    model = mlp()
    model.fit(ds, steps_per_epoch=100, epochs=5, callbacks=[StopAt()], verbose=0)
    assert int(model.optimizer.iterations) == 3
    assert thread_names() == before

    class Fail(engine.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            raise KeyError("callback failed")

    with pytest.raises(KeyError):
        mlp().fit(ds, steps_per_epoch=10, epochs=1, callbacks=[Fail()], validation_data=ds, validation_steps=2,
                  verbose=0)
    assert thread_names() == before
    early = engine.callbacks.EarlyStopping(monitor="loss", patience=0, min_delta=100.0)
    mlp().fit(ds, steps_per_epoch=5, epochs=10, callbacks=[early], verbose=0)
    assert thread_names() == before


class Sequence:
    """Keras's PyDataset protocol: __len__, __getitem__ (a batch), on_epoch_end, workers."""

    def __init__(self, x, y, batch_size, workers=1):
        self.x, self.y, self.batch_size, self.workers = x, y, batch_size, workers
        self.epochs_ended = 0

    def __len__(self):
        return -(-len(self.x) // self.batch_size)

    def __getitem__(self, i):
        s = slice(i * self.batch_size, (i + 1) * self.batch_size)
        return self.x[s], self.y[s]

    def on_epoch_end(self):
        self.epochs_ended += 1


@pytest.mark.parametrize("workers", [1, 3])
def test_pydataset_like_sources(rng, workers):
    x, y = toy(rng)
    seq = Sequence(x, y, 16, workers)
    model = mlp()
    model.fit(seq, epochs=2, verbose=0)
    assert seq.epochs_ended == 2
    ref = mlp()
    ref.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    assert_same_weights(model, ref)
    assert model.evaluate(seq, verbose=0) == pytest.approx(ref.evaluate(x, y, verbose=0), rel=1e-6)


class FakeTensor:
    """A framework tensor as numpy sees it: __array__ only."""

    def __init__(self, a):
        self.a = a

    def __array__(self, dtype=None, copy=None):
        return self.a if dtype is None else self.a.astype(dtype)


def test_dataloader_style_batches(rng):
    # PyTorch's default collate turns (x, y) into a list [x, y] of tensors.
    x, y = toy(rng)

    class Loader:
        def __len__(self):
            return 6

        def __iter__(self):
            for i in range(6):
                yield [FakeTensor(x[i * 16:(i + 1) * 16]), FakeTensor(y[i * 16:(i + 1) * 16])]

    model = mlp()
    model.fit(Loader(), epochs=2, verbose=0)
    ref = mlp()
    ref.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    assert_same_weights(model, ref)


def test_a_pytorch_dataloader(rng):
    torch = pytest.importorskip("torch", reason="PyTorch is not installed")
    from torch.utils.data import DataLoader, TensorDataset

    x, y = toy(rng)
    loader = DataLoader(TensorDataset(torch.from_numpy(x), torch.from_numpy(y)), batch_size=16, shuffle=False)
    model = mlp()
    model.fit(loader, epochs=2, validation_data=loader, verbose=0)
    ref = mlp()
    ref.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    assert_same_weights(model, ref)
    np.testing.assert_allclose(model.predict(loader), ref.predict(x), rtol=1e-6)


# ---- a CSV file larger than what the pipeline holds -------------------------------------------

STREAM_SCRIPT = textwrap.dedent("""
    import json, sys
    import numpy as np
    import engine
    from engine import layers as L
    from engine.data import Dataset, make_csv_dataset

    path, features, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]

    def status_kib(field):
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith(field + ":"))

    engine.set_seed(0)
    model = engine.Sequential([engine.Input((features,)), L.Dense(16, activation="relu"),
                               L.Dense(3, activation="softmax")])
    model.compile(optimizer=engine.optimizers.Adam(learning_rate=1e-3), loss="sparse_categorical_crossentropy")
    model.predict(np.zeros((1, features), np.float32))
    names = [f"f{j}" for j in range(features)]

    def pack(columns, label):
        return np.stack([columns[n] for n in names], axis=1), label

    pipeline = (make_csv_dataset(path, batch_size=500, label_name="label", num_epochs=1, shuffle=False)
                .map(pack, num_parallel_calls=2)
                .unbatch()
                .shuffle(2000, seed=11)
                .batch(250)
                .prefetch(2))
    base = status_kib("VmRSS")
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # resets the peak (VmHWM) to the current RSS: imports do not count
    history = model.fit(pipeline, epochs=1, verbose=0)
    peak = status_kib("VmHWM")
    np.savez(out, *model.get_weights())
    print(json.dumps({"base_kib": base, "peak_kib": peak, "steps": int(model.optimizer.iterations),
                      "loss": history.history["loss"][0]}))
""")


def test_a_200k_row_csv_streams_into_fit(tmp_path):
    rows, features = 200_000, 24
    rng = np.random.default_rng(2024)
    # Values k/8 print exactly in a few characters and read back exactly as float32.
    x = (rng.integers(-40, 40, (rows, features)) / 8).astype(np.float32)
    y = (x[:, 0] + x[:, 1] > 0).astype(np.int64) + (x[:, 2] > 2).astype(np.int64)
    path = tmp_path / "big.csv"
    with open(path, "w") as f:
        f.write(",".join([f"f{j}" for j in range(features)] + ["label"]) + "\n")
        for start in range(0, rows, 20_000):
            block = np.concatenate([x[start:start + 20_000], y[start:start + 20_000, None]], axis=1)
            f.write("\n".join(",".join(f"{v:g}" for v in row) for row in block.tolist()) + "\n")
    size_mib = path.stat().st_size / 2**20
    in_memory_mib = (x.nbytes + y.nbytes) / 2**20
    assert size_mib > 20 and in_memory_mib > 15

    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    out = tmp_path / "weights.npz"
    result = subprocess.run([sys.executable, "-c", STREAM_SCRIPT, str(path), str(features), str(out)],
                            capture_output=True, text=True, timeout=600, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    grown_mib = (report["peak_kib"] - report["base_kib"]) / 1024
    # The pipeline holds a shuffle buffer of 2000 rows and a few batches: far less than the
    # file (~23 MiB of text) or its arrays (~19 MiB), let alone Python lists of its rows.
    assert grown_mib < 12, f"peak RSS grew by {grown_mib:.1f} MiB while streaming a {size_mib:.0f} MiB file"
    assert report["steps"] == rows // 250

    order = np.array([int(i) for i in Dataset.range(rows).shuffle(2000, seed=11)])
    engine.set_seed(0)
    ref = engine.Sequential([engine.Input((features,)), L.Dense(16, activation="relu"),
                             L.Dense(3, activation="softmax")])
    ref.compile(optimizer=engine.optimizers.Adam(learning_rate=1e-3), loss="sparse_categorical_crossentropy")
    history = ref.fit(x[order], y[order], batch_size=250, shuffle=False, verbose=0)
    streamed = np.load(out)
    for k, w in enumerate(ref.get_weights()):
        np.testing.assert_array_equal(streamed[f"arr_{k}"], w)
    assert report["loss"] == pytest.approx(history.history["loss"][0], rel=1e-6)
