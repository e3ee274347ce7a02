"""The engine against onnxruntime and PyTorch (CPU) on six models, in one process.

    PYTHONPATH=build/dev/python python benchmarks/compare.py [--threads 1 2] [--models ...]
                                                             [--quick] [--no-training] [--busy]
                                                             [--omp-wait-policy passive]

Models (defined once in PyTorch; weights seeded):
  mlp         Flatten-Dense 784-300-100-10 (relu) on 1x28x28
  fashion     the book's Fashion-MNIST CNN: Conv 64@7x7, 2x Conv 128@3x3, 2x Conv 256@3x3,
              3 max pools, Dense 128-64-10 (relu; its dropout left out so that every
              contender does the same work)
  lenet5      LeNet-5: Conv 6@5x5 (same), avg pool, Conv 16@5x5, avg pool, Dense 120-84-10 (tanh)
  resnet18    ResNet-18 with BatchNorm on 3x64x64, 10 classes
  wide_deep   the book's Wide & Deep: inputs of 5 and 6 features, two Dense 30 (relu) on the
              second, concatenated with the first, Dense 1 (regression)
  dwsep       a depthwise-separable net on 3x32x32: Conv 32, four depthwise 3x3 + pointwise 1x1
              blocks with BatchNorm and relu (64, 128, 128, 256), global average pool, Dense 10

Each model is exported from PyTorch to ONNX (opset 17, batch axis dynamic); onnxruntime
(graph optimizations on, intra_op_num_threads = threads) runs that file, and the engine
imports it as a new user would (engine.onnx.load), so all three share the weights. Every
case is validated first (largest absolute difference of the outputs).

Inference: latency at batch 1 through model.predict (p50 and p90 of single calls), and
throughput at batches 64 and 256 (samples/s). Training (the engine through fit, PyTorch's
usual loop; cross-entropy on the logits, mean squared error for wide_deep): samples/s at
batches 32 and 128 with SGD (lr 0.01, momentum 0.9) and Adam (lr 1e-3).

Timing: after a warm-up, the contenders' rounds are interleaved (inference.py's
interleaved_times), medians reported. The header records the machine and its load. Ratios
are engine / peer in speed (> 1: the engine is faster), except batch-1 latency (engine time
/ peer time, < 1: the engine is faster). GFLOP/s counts the model's multiply-adds twice;
"% peak" is against numpy's SGEMM (1024^3) per thread on this machine, times the threads.

--busy keeps one more process spinning (pinned to no core) for the whole run: a machine whose
other work takes a core away. With threads 1 and 2, a last table gives each contender's speed
on 2 threads over its speed on 1 (below 1: the second thread costs more than it brings).
PyTorch's idle OpenMP threads spin after each of its calls and take the cores from the
contender timed next; --omp-wait-policy passive (see inference.py) makes them sleep.
"""
import argparse
import os
import sys
import tempfile
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from inference import apply_wait_policy, header, interleaved_times  # noqa: E402

MODELS = ("mlp", "fashion", "lenet5", "resnet18", "wide_deep", "dwsep")


# ---- the models, in PyTorch ----------------------------------------------------------------

def torch_models():
    import torch
    from torch import nn

    class BasicBlock(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.c1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.b1 = nn.BatchNorm2d(cout)
            self.c2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.b2 = nn.BatchNorm2d(cout)
            self.down = None
            if stride != 1 or cin != cout:
                self.down = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                          nn.BatchNorm2d(cout))

        def forward(self, x):
            y = torch.relu(self.b1(self.c1(x)))
            y = self.b2(self.c2(y))
            return torch.relu(y + (x if self.down is None else self.down(x)))

    def resnet18():
        layers = [nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(),
                  nn.MaxPool2d(3, 2, 1)]
        cin = 64
        for cout, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
            layers += [BasicBlock(cin, cout, stride), BasicBlock(cout, cout, 1)]
            cin = cout
        return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(512, 10))

    class WideDeep(nn.Module):
        def __init__(self):
            super().__init__()
            self.h1, self.h2, self.out = nn.Linear(6, 30), nn.Linear(30, 30), nn.Linear(35, 1)

        def forward(self, wide, deep):
            h = torch.relu(self.h2(torch.relu(self.h1(deep))))
            return self.out(torch.cat([wide, h], dim=1))

    def dwsep():
        layers = [nn.Conv2d(3, 32, 3, 1, 1, bias=False), nn.BatchNorm2d(32), nn.ReLU()]
        cin = 32
        for cout, stride in ((64, 1), (128, 2), (128, 1), (256, 2)):
            layers += [nn.Conv2d(cin, cin, 3, stride, 1, groups=cin, bias=False),
                       nn.BatchNorm2d(cin), nn.ReLU(),
                       nn.Conv2d(cin, cout, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]
            cin = cout
        return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, 10))

    relu, tanh = nn.ReLU, nn.Tanh
    return {
        "mlp": (lambda: nn.Sequential(nn.Flatten(), nn.Linear(784, 300), relu(), nn.Linear(300, 100),
                                      relu(), nn.Linear(100, 10)), [(1, 28, 28)], "ce"),
        "fashion": (lambda: nn.Sequential(
            nn.Conv2d(1, 64, 7, padding=3), relu(), nn.MaxPool2d(2),
            nn.Conv2d(64, 128, 3, padding=1), relu(), nn.Conv2d(128, 128, 3, padding=1), relu(),
            nn.MaxPool2d(2),
            nn.Conv2d(128, 256, 3, padding=1), relu(), nn.Conv2d(256, 256, 3, padding=1), relu(),
            nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(256 * 3 * 3, 128), relu(), nn.Linear(128, 64), relu(),
            nn.Linear(64, 10)), [(1, 28, 28)], "ce"),
        "lenet5": (lambda: nn.Sequential(
            nn.Conv2d(1, 6, 5, padding=2), tanh(), nn.AvgPool2d(2), nn.Conv2d(6, 16, 5), tanh(),
            nn.AvgPool2d(2), nn.Flatten(), nn.Linear(400, 120), tanh(), nn.Linear(120, 84), tanh(),
            nn.Linear(84, 10)), [(1, 28, 28)], "ce"),
        "resnet18": (resnet18, [(3, 64, 64)], "ce"),
        "wide_deep": (WideDeep, [(5,), (6,)], "mse"),
        "dwsep": (dwsep, [(3, 32, 32)], "ce"),
    }


def flops_per_sample(net, shapes):
    """2 x the multiply-adds of Conv2d and Linear layers for one sample."""
    import torch

    macs = [0]

    def hook(mod, inp, out):
        if isinstance(mod, torch.nn.Conv2d):
            macs[0] += out.numel() * mod.in_channels // mod.groups * mod.kernel_size[0] * mod.kernel_size[1]
        elif isinstance(mod, torch.nn.Linear):
            macs[0] += out.numel() * mod.in_features
    handles = [m.register_forward_hook(hook) for m in net.modules()]
    with torch.no_grad():
        net(*[torch.zeros((1,) + s) for s in shapes])
    for h in handles:
        h.remove()
    return 2.0 * macs[0]


# ---- contenders ------------------------------------------------------------------------------

class Case:
    """One model in the three runtimes."""

    def __init__(self, name, folder):
        import torch
        import onnxruntime as ort
        import engine

        make, self.shapes, self.loss = torch_models()[name]
        torch.manual_seed(0)
        self.net = make().eval()
        with torch.no_grad():  # non-trivial BatchNorm statistics
            for m in self.net.modules():
                if isinstance(m, torch.nn.BatchNorm2d):
                    m.running_mean.uniform_(-0.1, 0.1)
                    m.running_var.uniform_(0.5, 1.5)
        self.flops = flops_per_sample(self.net, self.shapes)
        names = [f"input_{k}" for k in range(len(self.shapes))]
        path = os.path.join(folder, f"{name}.onnx")
        torch.onnx.export(self.net, tuple(torch.zeros((2,) + s) for s in self.shapes), path,
                          input_names=names, output_names=["y"], opset_version=17, dynamo=False,
                          dynamic_axes={n: {0: "batch"} for n in names + ["y"]})
        self.path, self.names = path, names
        self.ort = ort
        self.model = engine.onnx.load(path)
        self.torch = torch

    def inputs(self, batch, seed=0):
        rng = np.random.default_rng(seed)
        return [rng.random((batch,) + s, dtype=np.float32) for s in self.shapes]

    def session(self, threads):
        so = self.ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        return self.ort.InferenceSession(self.path, so, providers=["CPUExecutionProvider"])

    def predictors(self, threads, xs):
        sess = self.session(threads)
        feed = dict(zip(self.names, xs))
        tx = [self.torch.from_numpy(x) for x in xs]

        def ours():
            return self.model.predict(xs if len(xs) > 1 else xs[0], batch_size=len(xs[0]))

        def theirs():
            return sess.run(None, feed)[0]

        def torch_fn():
            with self.torch.no_grad():
                return self.net(*tx).numpy()
        return {"engine": ours, "onnxruntime": theirs, "torch": torch_fn}

    def trainers(self, batch, opt, steps, seed=1):
        """One pass of `steps` batches: the engine through fit, PyTorch's loop."""
        import engine

        rng = np.random.default_rng(seed)
        n = batch * steps
        xs = [rng.random((n,) + s, dtype=np.float32) for s in self.shapes]
        y = (rng.integers(0, 10, n).astype(np.int64) if self.loss == "ce"
             else rng.standard_normal((n, 1)).astype(np.float32))
        model = engine.onnx.load(self.path)
        optimizer = (engine.optimizers.SGD(0.01, momentum=0.9) if opt == "sgd"
                     else engine.optimizers.Adam(1e-3, epsilon=1e-7))
        loss = (engine.losses.SparseCategoricalCrossentropy(from_logits=True)
                if self.loss == "ce" else "mse")
        model.compile(optimizer=optimizer, loss=loss)
        torch = self.torch
        net = torch_models()[self._name_of()][0]().train()
        topt = (torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9) if opt == "sgd"
                else torch.optim.Adam(net.parameters(), lr=1e-3, eps=1e-7))
        tloss = torch.nn.CrossEntropyLoss() if self.loss == "ce" else torch.nn.MSELoss()
        tx = [torch.from_numpy(x) for x in xs]
        ty = torch.from_numpy(y)

        def ours():
            model.fit(xs if len(xs) > 1 else xs[0], y, batch_size=batch, epochs=1, shuffle=False,
                      verbose=0)

        def theirs():
            for s in range(steps):
                sl = slice(s * batch, (s + 1) * batch)
                topt.zero_grad()
                tloss(net(*[t[sl] for t in tx]), ty[sl]).backward()
                topt.step()
        return {"engine": ours, "torch": theirs}

    def _name_of(self):
        return os.path.splitext(os.path.basename(self.path))[0]


def spin():
    """--busy: keeps one core busy until terminated."""
    while True:
        pass


def sgemm_gflops_per_thread():
    a = np.random.default_rng(0).random((1024, 1024), dtype=np.float32)
    a @ a
    t0 = time.perf_counter()
    reps = 0
    while time.perf_counter() - t0 < 0.5:
        a @ a
        reps += 1
    return 2 * 1024 ** 3 * reps / (time.perf_counter() - t0) / 1e9


# ---- the run -----------------------------------------------------------------------------------

def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    parser.add_argument("--budget", type=float, default=0.6, help="seconds per contender and case")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="3 rounds, 0.2 s per contender")
    parser.add_argument("--no-training", action="store_true")
    parser.add_argument("--busy", action="store_true",
                        help="keep one other process spinning during the run")
    parser.add_argument("--omp-wait-policy", choices=["active", "passive"],
                        help="run with this OMP_WAIT_POLICY (PyTorch's OpenMP threads)")
    args = parser.parse_args()
    apply_wait_policy(args.omp_wait_policy)
    if args.quick:
        args.rounds, args.budget = 3, 0.2
    busy = None
    if args.busy:
        import multiprocessing

        busy = multiprocessing.Process(target=spin, daemon=True)
        busy.start()
    try:
        return run(args, busy is not None)
    finally:
        if busy is not None:
            busy.terminate()
            busy.join()


def run(args, busy):
    import engine
    import onnxruntime
    import torch

    peak1 = sgemm_gflops_per_thread()
    header(f", onnxruntime {onnxruntime.__version__}, torch {torch.__version__}, "
           f"numpy SGEMM {peak1:.0f} GFLOP/s per thread"
           + (", one other process spinning (--busy)" if busy else ""))
    folder = tempfile.mkdtemp(prefix="engine-compare-")
    infer_rows, train_rows = [], []
    for name in args.models:
        case = Case(name, folder)
        xs = case.inputs(5)
        outs = {k: np.asarray(f()) for k, f in case.predictors(1, xs).items()}
        diff = max(float(np.max(np.abs(outs["engine"] - outs[k]))) for k in ("onnxruntime", "torch"))
        print(f"{name:10s} {case.flops / 1e6:8.1f} MFLOP/sample   max |engine - peer| {diff:.1e}")
        if diff > 1e-3 * max(1.0, float(np.max(np.abs(outs["torch"])))):
            sys.exit(f"{name}: the engine's outputs differ from the peers' by {diff}")
        for threads in args.threads:
            engine.set_num_threads(threads)
            torch.set_num_threads(threads)
            # Batch 1: single-call latencies, interleaved.
            fns = case.predictors(threads, case.inputs(1))
            lat = {k: [] for k in fns}
            for _ in range(max(30, int(args.budget * 300))):
                for k, f in fns.items():
                    t0 = time.perf_counter()
                    f()
                    lat[k].append(time.perf_counter() - t0)
            row = {"model": name, "threads": threads}
            for k in fns:
                row[f"b1 {k}"] = (np.percentile(lat[k], 50) * 1e3, np.percentile(lat[k], 90) * 1e3)
            for batch in (64, 256):
                times = interleaved_times(case.predictors(threads, case.inputs(batch)),
                                          args.budget, args.rounds)
                for k, t in times.items():
                    row[f"b{batch} {k}"] = batch / float(np.median(t))
            row["gflops"] = row["b256 engine"] * case.flops / 1e9
            row["peak"] = row["gflops"] / (peak1 * threads)
            infer_rows.append(row)
            if args.no_training:
                continue
            for batch in (32, 128):
                for opt in ("sgd", "adam"):
                    steps = 4 if case.flops * batch > 5e9 else 16
                    times = interleaved_times(case.trainers(batch, opt, steps), args.budget,
                                              args.rounds, warmup_calls=1)
                    sps = {k: batch * steps / float(np.median(t)) for k, t in times.items()}
                    train_rows.append({"model": name, "threads": threads, "batch": batch,
                                       "opt": opt, **sps,
                                       "gflops": sps["engine"] * 3 * case.flops / 1e9})
    print()
    print("Inference. b1: ms per call through predict, p50 (p90), ratio engine/peer in time "
          "(< 1: engine faster); b64/b256: samples/s, ratio engine/peer in speed (> 1: engine faster)")
    print(f"{'model':10s} T  {'b1 engine':>14s} {'ort':>14s} {'torch':>14s} {'/ort':>5s} {'/torch':>6s}"
          f" {'b64 eng':>9s} {'/ort':>5s} {'/torch':>6s} {'b256 eng':>9s} {'/ort':>5s} {'/torch':>6s}"
          f" {'GFLOP/s':>8s} {'%peak':>5s}")
    for r in infer_rows:
        b1 = lambda k: f"{r[f'b1 {k}'][0]:6.3f} ({r[f'b1 {k}'][1]:5.3f})"  # noqa: E731
        print(f"{r['model']:10s} {r['threads']}  {b1('engine'):>14s} {b1('onnxruntime'):>14s} "
              f"{b1('torch'):>14s} {r['b1 engine'][0] / r['b1 onnxruntime'][0]:5.2f} "
              f"{r['b1 engine'][0] / r['b1 torch'][0]:6.2f} "
              f"{r['b64 engine']:9.0f} {r['b64 engine'] / r['b64 onnxruntime']:5.2f} "
              f"{r['b64 engine'] / r['b64 torch']:6.2f} "
              f"{r['b256 engine']:9.0f} {r['b256 engine'] / r['b256 onnxruntime']:5.2f} "
              f"{r['b256 engine'] / r['b256 torch']:6.2f} {r['gflops']:8.1f} {100 * r['peak']:5.0f}")
    if 1 in args.threads and 2 in args.threads:
        print()
        print("Speed on 2 threads / speed on 1 (batch 1 from the p50 latencies; < 1: the second "
              "thread costs more than it brings)")
        print(f"{'model':10s} {'contender':12s} {'b1':>6s} {'b64':>6s} {'b256':>6s}")
        by = {(r["model"], r["threads"]): r for r in infer_rows}
        for name in args.models:
            one, two = by[(name, 1)], by[(name, 2)]
            for k in ("engine", "onnxruntime", "torch"):
                print(f"{name:10s} {k:12s} {one[f'b1 {k}'][0] / two[f'b1 {k}'][0]:6.2f} "
                      f"{two[f'b64 {k}'] / one[f'b64 {k}']:6.2f} "
                      f"{two[f'b256 {k}'] / one[f'b256 {k}']:6.2f}")
    if train_rows:
        print()
        print("Training through fit: samples/s, ratio engine/torch in speed (> 1: engine faster)")
        print(f"{'model':10s} T  {'batch':>5s} {'opt':>4s} {'engine':>9s} {'torch':>9s} {'ratio':>6s} {'GFLOP/s':>8s}")
        for r in train_rows:
            print(f"{r['model']:10s} {r['threads']}  {r['batch']:5d} {r['opt']:>4s} {r['engine']:9.0f} "
                  f"{r['torch']:9.0f} {r['engine'] / r['torch']:6.2f} {r['gflops']:8.1f}")
    print(f"\nload average at the end: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
