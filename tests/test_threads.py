"""One model, many threads: predict from several Python threads at once (a web server's
usual shape) gives exactly the single-threaded results. Plans are immutable and every call
takes its own buffers, so nothing is shared but the parameters. Training while other
threads predict is safe: the model's executors share one parameter lock, so a training step
never overlaps an inference call. The threads run in a subprocess so that a crash fails
this test instead of killing the suite."""
import os
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent("""
    import threading
    import time
    import numpy as np
    import engine
    from engine import layers as L

    rng = np.random.default_rng(7)
    mlp = engine.Sequential([engine.Input((13,)), L.Dense(33, activation="relu"),
                             L.Dense(7, activation="softmax")])
    cnn = engine.Sequential([engine.Input((3, 9, 9)), L.Conv2D(8, 3, use_bias=False),
                             L.BatchNormalization(), L.Activation("relu"), L.MaxPool2D(2),
                             L.Flatten(), L.Dense(5)])
    bn = next(layer for layer in cnn.layers if isinstance(layer, L.BatchNormalization))
    # Moving statistics far from the defaults, so that the folded Conv+BN weights matter.
    bn.set_weights([rng.uniform(0.5, 2, 8), rng.standard_normal(8),
                    rng.standard_normal(8), rng.uniform(0.5, 2, 8)])
    cases = []
    for model, shape in ((mlp, (13,)), (cnn, (3, 9, 9))):
        for n in (1, 3, 8, 17):
            x = rng.standard_normal((n,) + shape).astype(np.float32)
            cases.append((model, x, model.predict(x, verbose=0)))
    errors = []

    deadline = time.monotonic() + 3.0  # a few seconds of 4 threads calling at once

    def worker(seed):
        order = np.random.default_rng(seed)
        calls = 0
        while time.monotonic() < deadline or calls < 60:
            calls += 1
            model, x, want = cases[order.integers(len(cases))]
            got = model.predict(x, batch_size=len(x), verbose=0)
            if not np.array_equal(got, want):
                errors.append(f"max difference {np.abs(got - want).max()}")

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[:5]
    print("ok", len(cases))
""")


TRAIN_WHILE_PREDICTING = textwrap.dedent("""
    import threading
    import numpy as np
    import engine
    from engine import layers as L

    rng = np.random.default_rng(3)
    engine.set_seed(3)
    model = engine.Sequential([engine.Input((3, 8, 8)), L.Conv2D(6, 3), L.BatchNormalization(),
                               L.Activation("relu"), L.Flatten(), L.Dense(4, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    x = rng.standard_normal((96, 3, 8, 8)).astype(np.float32)
    y = rng.integers(0, 4, 96)
    probe = x[:5]
    errors, done = [], threading.Event()

    def trainer():
        try:
            model.fit(x, y, epochs=4, batch_size=8, verbose=0)
        except Exception as e:  # reported below
            errors.append(repr(e))
        done.set()

    def predictor(seed):
        order = np.random.default_rng(seed)
        calls = 0
        while not done.is_set() or calls < 20:
            n = int(order.integers(1, 6))
            got = model.predict(probe[:n], batch_size=n, verbose=0)
            # Whatever step it saw, a prediction is a set of probability rows.
            if got.shape != (n, 4) or not np.all(np.isfinite(got)) or \\
                    not np.allclose(got.sum(axis=1), 1, atol=1e-5):
                errors.append(f"bad prediction {got}")
            calls += 1

    threads = [threading.Thread(target=trainer)] + \\
        [threading.Thread(target=predictor, args=(k,)) for k in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[:5]
    # Afterwards every thread sees the trained weights, exactly (the same call in another
    # thread gives the same bits; other batch sizes may take other GEMM paths: 1 ulp).
    want = model.predict(probe, verbose=0)
    seen = []
    other = threading.Thread(target=lambda: seen.append(model.predict(probe, verbose=0)))
    other.start()
    other.join()
    assert np.array_equal(seen[0], want)
    np.testing.assert_allclose(model.predict(probe, batch_size=2, verbose=0), want, rtol=1e-5, atol=1e-7)
    print("ok")
""")


def run_script(script):
    # Run from the tests folder, so that `import engine` finds the installed engine (or the
    # one on PYTHONPATH), never the sources of the checkout.
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=300, cwd=os.path.dirname(os.path.abspath(__file__)))


def test_concurrent_predict_matches_single_threaded():
    result = run_script(SCRIPT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "ok 8"


def test_training_while_other_threads_predict():
    result = run_script(TRAIN_WHILE_PREDICTING)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "ok"
