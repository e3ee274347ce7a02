"""Data-parallel scaling: 1 process x 1 thread against 2 processes x 1 thread (MPI).

    PYTHONPATH=build/dev/python python benchmarks/scaling.py [--rounds 3] [--steps 20]

Trains the book's Fashion-MNIST CNN (Conv 64@7x7, 2x Conv 128@3x3, 2x Conv 256@3x3, 3 max
pools, Dense 128-64-10) with Adam through model.fit, batch 32 per process, on generated
1x28x28 images: once in one process and once in two (`mpiexec -n 2`, engine.distribute
DataParallel, a global batch of 64), each with one thread, alternating for --rounds rounds
(medians reported). Prints the samples/s of each and their ratio, and for the two-process
runs the all-reduce time per step inside the training step (engine.distribute's
communicator, which includes waiting for the slower rank) against MPI's own Allreduce of
the same bytes (mpi4py, after a barrier).

Then the inputs of the cost model in benchmarks/SCALING.md: the parameter bytes and the
one-thread step time at batch 32 of the MLP, the CNN and ResNet-18 (3x64x64), and the
step time that a ring all-reduce would add at 8, 64 and 512 ranks on 25 and 100 Gbit/s
links: 2 (p - 1) / p x bytes / bandwidth + 2 (p - 1) x latency (5 us per message).

Worker mode (used by the above): `scaling.py --worker OUT.json` trains and writes its
numbers (rank 0).
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

BATCH = 32
LATENCY_S = 5e-6


def book_cnn(engine, L):
    return engine.Sequential([
        engine.Input((1, 28, 28)),
        L.Conv2D(64, 7, padding="same", activation="relu"), L.MaxPooling2D(2),
        L.Conv2D(128, 3, padding="same", activation="relu"), L.Conv2D(128, 3, padding="same", activation="relu"),
        L.MaxPooling2D(2),
        L.Conv2D(256, 3, padding="same", activation="relu"), L.Conv2D(256, 3, padding="same", activation="relu"),
        L.MaxPooling2D(2),
        L.Flatten(), L.Dense(128, activation="relu"), L.Dense(64, activation="relu"), L.Dense(10, activation="softmax")])


def mlp(engine, L):
    return engine.Sequential([engine.Input((1, 28, 28)), L.Flatten(), L.Dense(300, activation="relu"),
                              L.Dense(100, activation="relu"), L.Dense(10, activation="softmax")])


def resnet18(engine, L):
    """ResNet-18 (BasicBlocks 2-2-2-2, 64-512 channels, BatchNorm) on 3x64x64, 10 classes."""
    x = inputs = engine.Input((3, 64, 64))
    x = L.Activation("relu")(L.BatchNormalization()(L.Conv2D(64, 7, strides=2, padding="same", use_bias=False)(x)))
    x = L.MaxPooling2D(3, strides=2, padding="same")(x)
    for stage, channels in enumerate((64, 128, 256, 512)):
        for block in range(2):
            stride = 2 if stage > 0 and block == 0 else 1
            shortcut = x
            y = L.Conv2D(channels, 3, strides=stride, padding="same", use_bias=False)(x)
            y = L.Activation("relu")(L.BatchNormalization()(y))
            y = L.BatchNormalization()(L.Conv2D(channels, 3, padding="same", use_bias=False)(y))
            if stride != 1 or shortcut.shape[1] != channels:
                shortcut = L.BatchNormalization()(L.Conv2D(channels, 1, strides=stride, use_bias=False)(shortcut))
            x = L.Activation("relu")(L.Add()([y, shortcut]))
    x = L.Dense(10, activation="softmax")(L.GlobalAveragePooling2D()(x))
    return engine.Model(inputs, x)


MODELS = {"mlp": (mlp, (1, 28, 28)), "cnn": (book_cnn, (1, 28, 28)), "resnet18": (resnet18, (3, 64, 64))}


def data(shape, n, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n,) + shape, dtype=np.float32), rng.integers(0, 10, n).astype(np.int64)


def compiled(name, strategy=None):
    import engine
    from engine import layers as L

    engine.set_seed(0)
    build, shape = MODELS[name]
    if strategy is None:
        model = build(engine, L)
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    else:
        with strategy.scope():
            model = build(engine, L)
            model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    return model, shape


def worker(out, steps):
    import engine

    engine.set_num_threads(1)
    strategy = engine.distribute.DataParallel()
    model, shape = compiled("cnn", strategy)
    x, y = data(shape, BATCH * strategy.size * steps)
    model.fit(x[:BATCH * strategy.size * 2], y[:BATCH * strategy.size * 2], batch_size=BATCH, verbose=0)  # warm-up
    comm = strategy.communicator
    if strategy.size > 1:
        comm.allreduce_calls, comm.allreduce_bytes, comm.allreduce_seconds = 0, 0, 0.0
    strategy.barrier()
    start = time.perf_counter()
    model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0, shuffle=False)
    strategy.barrier()
    seconds = time.perf_counter() - start
    result = {"ranks": strategy.size, "samples_per_s": len(x) / seconds, "steps": steps}
    if strategy.size > 1:
        result["allreduce_ms_per_step"] = 1e3 * comm.allreduce_seconds / steps
        arena = comm.allreduce_bytes // max(comm.allreduce_calls, 1)
        buffer = np.ones(sum(int(np.prod(w.shape)) for w in model.trainable_weights) + 2, np.float32)
        from mpi4py import MPI
        times = []
        for _ in range(20):
            comm.comm.Barrier()
            t = time.perf_counter()
            comm.comm.Allreduce(MPI.IN_PLACE, buffer, op=MPI.SUM)
            times.append(time.perf_counter() - t)
        result["mpi_allreduce_ms"] = 1e3 * statistics.median(times)
        result["allreduce_bytes"] = buffer.nbytes
        result["arena_bytes_per_call"] = arena
    if strategy.is_chief:
        with open(out, "w") as f:
            json.dump(result, f)


def mpiexec_prefix():
    mpiexec = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    mpiexec = mpiexec if os.path.exists(mpiexec) else shutil.which("mpiexec")
    if mpiexec is None:
        sys.exit("scaling.py: no mpiexec (pip install '.[distributed]')")
    version = subprocess.run([mpiexec, "--version"], capture_output=True, text=True).stdout
    extra = ["--oversubscribe", "-x", "PYTHONPATH", "-x", "OMP_NUM_THREADS"] if "Open MPI" in version else []
    return [mpiexec, "-n", "2"] + extra


def run(prefix, steps, folder):
    out = os.path.join(folder, "result.json")
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1", OMP_NUM_THREADS="1")
    subprocess.run(prefix + [sys.executable, os.path.abspath(__file__), "--worker", out, "--steps", str(steps)],
                   check=True, env=env)
    with open(out) as f:
        return json.load(f)


def step_seconds(name, steps=3):
    import engine

    engine.set_num_threads(1)
    model, shape = compiled(name)
    x, y = data(shape, BATCH * (steps + 1))
    model.fit(x[:BATCH], y[:BATCH], batch_size=BATCH, verbose=0)
    start = time.perf_counter()
    model.fit(x[BATCH:], y[BATCH:], batch_size=BATCH, verbose=0, shuffle=False)
    params = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    return (time.perf_counter() - start) / steps, params


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=20, help="timed steps per run")
    parser.add_argument("--worker", metavar="OUT")
    args = parser.parse_args()
    if args.worker:
        return worker(args.worker, args.steps)

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from inference import header

    header()
    two = mpiexec_prefix()
    singles, pairs = [], []
    with tempfile.TemporaryDirectory() as folder:
        for _ in range(args.rounds):
            singles.append(run([], args.steps, folder))
            pairs.append(run(two, args.steps, folder))
    one = statistics.median(r["samples_per_s"] for r in singles)
    both = statistics.median(r["samples_per_s"] for r in pairs)
    ours = statistics.median(r["allreduce_ms_per_step"] for r in pairs)
    mpi = statistics.median(r["mpi_allreduce_ms"] for r in pairs)
    print(f"\nbook CNN, Adam, batch {BATCH} per process, {args.steps} steps, median of {args.rounds} rounds")
    print("| processes x threads | samples/s | speed-up |")
    print("|---|---|---|")
    print(f"| 1 x 1 | {one:,.0f} | 1.00 |")
    print(f"| 2 x 1 | {both:,.0f} | {both / one:.2f} |")
    print(f"\nall-reduce of {pairs[0]['allreduce_bytes'] / 1e6:.2f} MB per step: {ours:.2f} ms inside the step "
          f"(waiting for the other rank included) against {mpi:.2f} ms for MPI's Allreduce alone")

    print(f"\none-thread step at batch {BATCH}, and the time a ring all-reduce adds per step "
          f"(latency {LATENCY_S * 1e6:.0f} us per message)")
    print("| model | parameters | MB | step (ms) | link | 8 ranks | 64 ranks | 512 ranks |")
    print("|---|---|---|---|---|---|---|---|")
    for name in MODELS:
        seconds, params = step_seconds(name)
        nbytes = 4 * params
        for gbit in (25, 100):
            cells = []
            for p in (8, 64, 512):
                ring = 2 * (p - 1) / p * nbytes / (gbit * 1e9 / 8) + 2 * (p - 1) * LATENCY_S
                cells.append(f"{ring * 1e3:.1f} ms ({seconds / (seconds + ring):.0%})")
            print(f"| {name} | {params:,} | {nbytes / 1e6:.1f} | {seconds * 1e3:.0f} | {gbit} Gbit/s | "
                  + " | ".join(cells) + " |")
    print("(in brackets: the efficiency step / (step + all-reduce) without overlap)")


if __name__ == "__main__":
    main()
