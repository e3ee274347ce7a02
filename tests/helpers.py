"""Shared numerics for the tests: relative errors, float64 finite differences, inputs."""
import numpy as np

# Tolerances from the project's numerics rules (float32 kernels vs float64 references).
ELEMENTWISE_RTOL = 1e-5
REDUCTION_RTOL = 1e-4


def randn(rng, *shape, scale=1.0):
    """float32 normal values (never all zeros)."""
    return (rng.standard_normal(shape) * scale).astype(np.float32)


def away_from(rng, shape, kinks=(0.0,), margin=0.05, scale=1.0):
    """float32 values kept `margin` away from the kinks of a piecewise function."""
    x = rng.standard_normal(shape) * scale
    for k in kinks:
        near = np.abs(x - k) < margin
        x[near] = k + np.where(x[near] >= k, margin, -margin) * 2
    return x.astype(np.float32)


def rel_error(out, ref):
    out = np.asarray(out, dtype=np.float64)
    ref = np.asarray(ref, dtype=np.float64)
    denom = max(np.linalg.norm(ref), 1e-30)
    return np.linalg.norm(out - ref) / denom


def assert_close(out, ref, rtol=REDUCTION_RTOL, what="output"):
    """Same shape, all finite, and ||out - ref|| / ||ref|| under rtol (NaN never passes)."""
    out = np.asarray(out)
    ref = np.asarray(ref)
    assert out.shape == ref.shape, f"{what}: shape {out.shape} != reference {ref.shape}"
    assert np.all(np.isfinite(out)), f"{what}: non-finite values"
    err = rel_error(out, ref)
    assert err < rtol, f"{what}: relative error {err:.3g} >= {rtol:g}"


def numeric_grads(f, inputs, dy, eps=1e-6):
    """Central differences of L = sum(f(*inputs) * dy) in float64 for every input.

    `f` is a float64 numpy implementation of the forward pass; returns one gradient per
    input, each with that input's shape.
    """
    inputs = [np.array(x, dtype=np.float64) for x in inputs]
    dy = np.asarray(dy, dtype=np.float64)
    grads = []
    for x in inputs:
        g = np.zeros_like(x)
        flat, gflat = x.reshape(-1), g.reshape(-1)
        for i in range(flat.size):
            old = flat[i]
            flat[i] = old + eps
            up = np.sum(f(*inputs) * dy)
            flat[i] = old - eps
            down = np.sum(f(*inputs) * dy)
            flat[i] = old
            gflat[i] = (up - down) / (2 * eps)
        grads.append(g)
    return grads


def run_onnx_in_engine(model_proto, inputs):
    """Outputs of an ONNX model (a ModelProto) run by the engine on `inputs` in graph input
    order, through engine.onnx.InferenceSession (onnxruntime's API) with the inputs as given.
    How the ONNX backend node tests run here and in tools/onnx_backend_report.py."""
    import engine

    session = engine.onnx.InferenceSession(model_proto.SerializeToString())
    names = [i.name for i in session.get_inputs()]
    return tuple(session.run(None, dict(zip(names, inputs))))
