"""One model, many threads: predict from several Python threads at once (a web server's
usual shape) gives exactly the single-threaded results. Plans are immutable and every call
takes its own buffers, so nothing is shared but the parameters. The threads run in a
subprocess so that a crash fails this test instead of killing the suite."""
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent("""
    import threading
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

    def worker(seed):
        order = np.random.default_rng(seed)
        for _ in range(60):
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


def test_concurrent_predict_matches_single_threaded():
    result = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "ok 8"
