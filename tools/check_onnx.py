#!/usr/bin/env python
"""Runs an ONNX file in onnxruntime and through engine.onnx.load on the same random inputs
and prints the largest absolute difference per output.

    python tools/check_onnx.py MODEL.onnx [--batch N] [--seed S] [--rtol R] [--atol A]

Exits 1 when an output differs by more than atol + rtol * |onnxruntime's value|.
"""
import argparse
import sys

import numpy as np


def random_inputs(model, batch, rng):
    """Random values for the engine model's inputs (its symbolic batch dim set to `batch`)."""
    feeds = []
    for t in model.inputs:
        shape = tuple(batch if d is None else d for d in t.shape)
        if t.dtype == "int64":
            feeds.append(rng.integers(0, 2, shape).astype(np.int64))
        else:
            feeds.append(rng.standard_normal(shape).astype(np.float32))
    return feeds


def compare(path, model, batch=2, seed=0, rtol=1e-3, atol=1e-5, out=print):
    """Engine vs onnxruntime on `path`; returns True when every output is within tolerance."""
    import onnxruntime as ort

    rng = np.random.default_rng(seed)
    feeds = random_inputs(model, batch, rng)
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    ref = sess.run(None, {i.name: x for i, x in zip(sess.get_inputs(), feeds)})
    got = model.predict(feeds if len(feeds) > 1 else feeds[0], batch_size=batch)
    got = got if isinstance(got, list) else [got]
    ok = True
    for o, g, r in zip(sess.get_outputs(), got, ref):
        diff = float(np.max(np.abs(g - r))) if r.size else 0.0
        within = g.shape == r.shape and np.allclose(g, r, rtol=rtol, atol=atol)
        ok = ok and within
        out(f"{o.name}: shape {tuple(r.shape)} max abs difference {diff:.3g}"
            + ("" if within else f"  EXCEEDS rtol {rtol:g} / atol {atol:g}"))
    return ok


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("model")
    p.add_argument("--batch", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--rtol", type=float, default=1e-3)
    p.add_argument("--atol", type=float, default=1e-5)
    args = p.parse_args(argv)
    import engine.onnx

    model = engine.onnx.load(args.model)
    return 0 if compare(args.model, model, args.batch, args.seed, args.rtol, args.atol) else 1


if __name__ == "__main__":
    sys.exit(main())
