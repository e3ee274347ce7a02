"""Inference of the small image-family exports (tests/data/zoo) against onnxruntime (CPU).

    PYTHONPATH=build/dev/python python benchmarks/zoo.py [--models mobilenet_v2 vit]
                                                         [--batches 1 64] [--threads 1]

Each model is the same ONNX file for both: loaded with engine.onnx.load and with an
onnxruntime InferenceSession (intra_op_num_threads = the thread count, sequential
execution). Every case is validated first (relative difference of the logits), then timed
in interleaved rounds of back-to-back calls through the engine's executor (no Python
batching) and through onnxruntime. Reported: median per-call time over the rounds in ms,
and the ratio engine/onnxruntime (< 1: the engine is faster).
"""
import argparse
import os
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

ZOO = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data", "zoo")


def timed_rounds(fns, rounds=7, budget=2.0):
    """Median seconds per call of each fn, rounds interleaved."""
    times = [[] for _ in fns]
    for fn in fns:  # warm-up
        fn()
    for _ in range(rounds):
        for k, fn in enumerate(fns):
            calls, start = 0, time.perf_counter()
            while time.perf_counter() - start < budget / rounds / len(fns) or calls == 0:
                fn()
                calls += 1
            times[k].append((time.perf_counter() - start) / calls)
    return [float(np.median(t)) for t in times]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", nargs="+", default=["mobilenet_v2", "vit"])
    p.add_argument("--batches", nargs="+", type=int, default=[1, 64])
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--budget", type=float, default=2.0, help="seconds per case")
    args = p.parse_args(argv)

    import engine
    import onnxruntime as ort

    engine.set_num_threads(args.threads)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = args.threads
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    print(f"{'model':14} {'batch':>5} {'engine ms':>10} {'ort ms':>8} {'ratio':>6}  rel.diff")
    for name in args.models:
        path = os.path.join(ZOO, name + ".onnx")
        model = engine.onnx.load(path)
        sess = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
        feed = sess.get_inputs()[0].name
        for batch in args.batches:
            x = np.random.default_rng(batch).standard_normal((batch, 3, 32, 32)).astype(np.float32)
            run = model._get_executor().run
            ours = run([x])[0]
            (ref,) = sess.run(None, {feed: x})
            diff = np.linalg.norm(ours - ref) / np.linalg.norm(ref)
            t_ours, t_ort = timed_rounds([lambda: run([x]), lambda: sess.run(None, {feed: x})],
                                         budget=args.budget)
            print(f"{name:14} {batch:5d} {t_ours * 1e3:10.3f} {t_ort * 1e3:8.3f} "
                  f"{t_ours / t_ort:6.2f}  {diff:.1e}")


if __name__ == "__main__":
    main()
