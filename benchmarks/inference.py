"""Forward-pass latency: the engine against onnxruntime and PyTorch (CPU) on the same weights.

    PYTHONPATH=build/dev/python python benchmarks/inference.py [--threads 1 2] [--batches 1 64]
                                                               [--models mlp cnn cnn_bn] [--quick]

Models: the MLP Dense 784-300-100-10 (relu, softmax), a CNN on 1x28x28 images
Conv2D(32,3,same,relu)-MaxPool-Conv2D(64,3,same,relu)-MaxPool-Flatten-Dense(128,relu)-
Dense(10,softmax), and the same CNN with Conv(no bias)-BatchNormalization-ReLU blocks.

Everything runs in this one process. The engine model is exported with engine.onnx.export
and loaded into onnxruntime (intra_op_num_threads = the thread count, sequential
execution); PyTorch gets the same weights copied into an equivalent nn.Sequential
(torch.set_num_threads). Every case is validated first (max abs difference of the
probabilities), then timed. The engine is timed twice: through model.predict(x,
batch_size=len(x)) and through the raw executor call model._get_executor().run([x]),
so the Python overhead of predict shows separately.

Threads: the engine runs its loops on its own pool, whose idle workers sleep after a few
microseconds. PyTorch uses OpenMP: with libgomp's default wait policy its idle threads
spin, and on a machine loaded by other processes every parallel region waits for a
descheduled thread, so its 2-thread times explode (100x seen). --omp-wait-policy passive
re-runs the script with OMP_WAIT_POLICY=passive.

Timing: after a warm-up, each contender is timed in rounds of back-to-back calls (each
round ~budget/rounds seconds); the rounds of all contenders are interleaved so that load
from other processes hits them alike. Reported: median and best per-call time over the
rounds, in ms, and ratios engine/peer (< 1: the engine is faster).
"""
import argparse
import os
import sys
import tempfile
import time

# numpy is only a helper here: keep its OpenBLAS from parking spinning threads on the cores.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

MODELS = ("mlp", "cnn", "cnn_bn", "lenet")


# --- models -------------------------------------------------------------------------------
def build_model(kind, seed=0):
    """The engine model `kind` with seeded weights (BatchNormalization statistics made
    non-trivial so that inference actually exercises them)."""
    import engine
    from engine import layers as L

    engine.set_seed(seed)
    if kind == "mlp":
        model = engine.Sequential([engine.Input((784,)), L.Dense(300, activation="relu"),
                                   L.Dense(100, activation="relu"), L.Dense(10, activation="softmax")])
    elif kind == "cnn":
        model = engine.Sequential([
            engine.Input((1, 28, 28)),
            L.Conv2D(32, 3, padding="same", activation="relu"), L.MaxPool2D(),
            L.Conv2D(64, 3, padding="same", activation="relu"), L.MaxPool2D(),
            L.Flatten(), L.Dense(128, activation="relu"), L.Dense(10, activation="softmax")])
    elif kind == "cnn_bn":
        model = engine.Sequential([
            engine.Input((1, 28, 28)),
            L.Conv2D(32, 3, padding="same", use_bias=False), L.BatchNormalization(),
            L.Activation("relu"), L.MaxPool2D(),
            L.Conv2D(64, 3, padding="same", use_bias=False), L.BatchNormalization(),
            L.Activation("relu"), L.MaxPool2D(),
            L.Flatten(), L.Dense(128, activation="relu"), L.Dense(10, activation="softmax")])
        rng = np.random.default_rng(seed + 1)
        for layer in model.layers:
            if isinstance(layer, L.BatchNormalization):
                c = layer.gamma.shape
                layer.gamma.assign(rng.uniform(0.5, 1.5, c).astype(np.float32))
                layer.beta.assign(rng.uniform(-0.2, 0.2, c).astype(np.float32))
                layer.moving_mean.assign(rng.uniform(-0.1, 0.1, c).astype(np.float32))
                layer.moving_variance.assign(rng.uniform(0.5, 2.0, c).astype(np.float32))
    elif kind == "lenet":  # LeNet-5: tanh and average pooling
        model = engine.Sequential([
            engine.Input((1, 28, 28)),
            L.Conv2D(6, 5, padding="same", activation="tanh"), L.AvgPool2D(2),
            L.Conv2D(16, 5, activation="tanh"), L.AvgPool2D(2),
            L.Flatten(), L.Dense(120, activation="tanh"), L.Dense(84, activation="tanh"),
            L.Dense(10, activation="softmax")])
    else:
        raise ValueError(f"unknown model {kind!r}")
    return model


def input_shape(kind):
    return (784,) if kind == "mlp" else (1, 28, 28)


def torch_model(model, logits=False):
    """An nn.Sequential computing what the engine Sequential `model` computes, with copies of
    its weights. logits=True drops a final softmax (for CrossEntropyLoss)."""
    import torch
    from torch import nn
    from engine import layers as L

    def activation(name):
        if name is None:
            return []
        if name == "relu":
            return [nn.ReLU()]
        if name == "tanh":
            return [nn.Tanh()]
        if name == "softmax":
            return [nn.Softmax(dim=-1)]
        raise ValueError(f"torch_model: activation {name!r} not mapped")

    def tensor(a):
        return torch.from_numpy(np.array(a, np.float32, copy=True))

    mods = []
    for layer in model.layers:
        if isinstance(layer, L.Dense):
            w = layer.kernel.numpy()
            lin = nn.Linear(w.shape[0], w.shape[1], bias=layer.use_bias)
            lin.weight.data = tensor(w.T)
            if layer.use_bias:
                lin.bias.data = tensor(layer.bias.numpy())
            mods += [lin] + activation(layer.activation)
        elif isinstance(layer, L.Conv2D):
            w = layer.kernel.numpy()
            if layer.padding == "same":
                kh, kw = layer.kernel_size
                if kh % 2 == 0 or kw % 2 == 0 or layer.strides != (1, 1):
                    raise ValueError("torch_model: only odd kernels with stride 1 for padding='same'")
                pad = (kh // 2, kw // 2)
            else:
                pad = (0, 0)
            conv = nn.Conv2d(w.shape[1] * layer.groups, w.shape[0], layer.kernel_size, layer.strides, pad,
                             layer.dilation_rate, layer.groups, bias=layer.use_bias)
            conv.weight.data = tensor(w)
            if layer.use_bias:
                conv.bias.data = tensor(layer.bias.numpy())
            mods += [conv] + activation(layer.activation)
        elif isinstance(layer, L.MaxPool2D):
            if layer.padding != "valid":
                raise ValueError("torch_model: only padding='valid' pools")
            mods.append(nn.MaxPool2d(layer.pool_size, layer.strides))
        elif isinstance(layer, L.AvgPool2D):
            if layer.padding != "valid":
                raise ValueError("torch_model: only padding='valid' pools")
            mods.append(nn.AvgPool2d(layer.pool_size, layer.strides))
        elif isinstance(layer, L.BatchNormalization):
            bn = nn.BatchNorm2d(layer.gamma.shape[0], eps=layer.epsilon, momentum=1.0 - layer.momentum)
            bn.weight.data = tensor(layer.gamma.numpy())
            bn.bias.data = tensor(layer.beta.numpy())
            bn.running_mean.data = tensor(layer.moving_mean.numpy())
            bn.running_var.data = tensor(layer.moving_variance.numpy())
            mods.append(bn)
        elif isinstance(layer, L.Activation):
            mods += activation(layer.activation)
        elif isinstance(layer, L.Flatten):
            mods.append(nn.Flatten())
        else:
            raise ValueError(f"torch_model: layer {type(layer).__name__} not mapped")
    if logits:
        if not isinstance(mods[-1], nn.Softmax):
            raise ValueError("torch_model: logits=True needs a model ending in softmax")
        mods = mods[:-1]
    return nn.Sequential(*mods)


# --- timing -------------------------------------------------------------------------------
def interleaved_times(fns, budget_s, rounds, warmup_calls=3):
    """{name: [per-call seconds of each round]}: every fn warmed up, then `rounds` rounds in
    which each fn runs back to back for about budget_s / rounds seconds (at least once)."""
    per_call = {}
    for name, fn in fns.items():
        fn()
        t0 = time.perf_counter()
        n = 0
        while n < warmup_calls or time.perf_counter() - t0 < 0.05:
            fn()
            n += 1
        per_call[name] = (time.perf_counter() - t0) / n
    reps = {name: max(1, int(budget_s / rounds / t)) for name, t in per_call.items()}
    out = {name: [] for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            for _ in range(reps[name]):
                fn()
            out[name].append((time.perf_counter() - t0) / reps[name])
    return out


def apply_wait_policy(policy):
    """Re-executes this script with OMP_WAIT_POLICY=policy for PyTorch's OpenMP threads
    (libgomp reads it only when it loads)."""
    if policy and os.environ.get("OMP_WAIT_POLICY", "").lower() != policy:
        env = dict(os.environ, OMP_WAIT_POLICY=policy)
        os.execve(sys.executable, [sys.executable] + sys.argv, env)


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


def header(extra=""):
    import engine

    policy = os.environ.get("OMP_WAIT_POLICY", "unset")
    print(f"engine {engine.__version__} ({engine._core.cpu_features_string()}), {cpu_name()}, "
          f"{os.cpu_count()} logical CPUs, load average {os.getloadavg()[0]:.2f}, "
          f"OMP_WAIT_POLICY {policy}{extra}")


# --- the benchmark ------------------------------------------------------------------------
def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 64])
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    parser.add_argument("--rounds", type=int, default=7, help="timed rounds per contender")
    parser.add_argument("--budget", type=float, default=0.4, help="seconds per contender and case")
    parser.add_argument("--quick", action="store_true", help="3 rounds, 0.1 s per contender")
    parser.add_argument("--omp-wait-policy", choices=["active", "passive"],
                        help="run with this OMP_WAIT_POLICY (passive: PyTorch's idle OpenMP threads "
                             "sleep instead of spinning, much faster on a loaded machine)")
    args = parser.parse_args()
    apply_wait_policy(args.omp_wait_policy)
    if args.quick:
        args.rounds, args.budget = 3, 0.1

    import onnxruntime as ort
    import torch

    import engine

    torch.set_num_interop_threads(1)
    header(f", onnxruntime {ort.__version__}, torch {torch.__version__}")
    rng = np.random.default_rng(0)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for kind in args.models:
            model = build_model(kind)
            path = os.path.join(tmp, f"{kind}.onnx")
            engine.onnx.export(model, path)
            tmodel = torch_model(model).eval()
            executor = model._get_executor()
            for threads in args.threads:
                engine.set_num_threads(threads)
                torch.set_num_threads(threads)
                so = ort.SessionOptions()
                so.intra_op_num_threads = threads
                so.inter_op_num_threads = 1
                so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
                sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
                feed = sess.get_inputs()[0].name
                for batch in args.batches:
                    x = rng.random((batch,) + input_shape(kind), dtype=np.float32)
                    xt = torch.from_numpy(x)

                    def torch_call():
                        with torch.inference_mode():
                            return tmodel(xt)

                    fns = {
                        "predict": lambda: model.predict(x, batch_size=len(x)),
                        "run": lambda: executor.run([x], False),
                        "ort": lambda: sess.run(None, {feed: x}),
                        "torch": torch_call,
                    }
                    ours = fns["predict"]().copy()
                    raw = fns["run"]()[0].copy()
                    diffs = {"run": np.abs(raw - ours).max(),
                             "ort": np.abs(fns["ort"]()[0] - ours).max(),
                             "torch": np.abs(torch_call().numpy() - ours).max()}
                    case = f"{kind} B{batch} T{threads}"
                    print(f"{case:<16} max |engine - peer|: run {diffs['run']:.1e}  "
                          f"onnxruntime {diffs['ort']:.1e}  torch {diffs['torch']:.1e}", flush=True)
                    if max(diffs.values()) > 1e-4:
                        raise SystemExit(f"{case}: outputs disagree ({diffs})")
                    times = interleaved_times(fns, args.budget, args.rounds)
                    rows.append((kind, batch, threads,
                                 {k: (float(np.median(v)), min(v)) for k, v in times.items()}))

    print()
    print("ms per call, median (best) over rounds; ratios are engine median / peer median "
          "(< 1: engine faster)")
    cols = ("predict", "run", "ort", "torch")
    print(f"{'model':<7} {'B':>3} {'T':>2} " + " ".join(f"{c:>15}" for c in
          ("engine predict", "engine run", "onnxruntime", "torch")) +
          f" {'run/ort':>8} {'run/torch':>9} {'pred/ort':>8} {'pred/torch':>10}")
    for kind, batch, threads, t in rows:
        cells = " ".join(f"{t[c][0] * 1e3:>7.3f} ({t[c][1] * 1e3:>6.3f})" for c in cols)
        r = lambda a, b: t[a][0] / t[b][0]  # noqa: E731
        print(f"{kind:<7} {batch:>3} {threads:>2} {cells} {r('run', 'ort'):>8.2f} {r('run', 'torch'):>9.2f} "
              f"{r('predict', 'ort'):>8.2f} {r('predict', 'torch'):>10.2f}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
