"""Input pipeline overlap: an epoch of `fit` fed by a pipeline whose `map` costs about as
much as the training step.

    PYTHONPATH=build/dev/python python benchmarks/data.py [--batches 60] [--threads 1]

The map is numpy work on the batch (elementwise ufuncs, which release the GIL), calibrated
so that one call takes as long as one training step of the model. Cases, each a full epoch:

- `sequential`: the pipeline without prefetch or map threads, consumed in the training
  thread, one `train_on_batch` after the other (map, step, map, step, ...);
- `fit`: the same pipeline given to `fit`, which reads the next batch on its own
  background thread while the step runs;
- `fit + map(2) + prefetch`: `map(num_parallel_calls=2)` and `prefetch(2)` in the pipeline;
- `fit + DataLoader(2 workers)`: a PyTorch DataLoader with two worker processes doing the
  same map, given to `fit` (skipped without torch).

With the overlap working, the epoch costs max(map, step) per batch instead of map + step:
the ratio to `sequential` approaches 0.5 (the bar is 0.6). Every case first checks that it
trains to the same weights as `sequential` (the map is deterministic). The computing map
needs free cores: with every core busy (see the load average printed), threads only share
them; `--wait` makes the map wait instead, as input read from a disk or a network does.
"""
import argparse
import os
import statistics
import sys
import time

import numpy as np

import engine
from engine import layers as L
from engine.data import Dataset


def build(features, seed=0):
    engine.set_seed(seed)
    model = engine.Sequential([engine.Input((features,)), L.Dense(512, activation="relu"),
                               L.Dense(512, activation="relu"), L.Dense(10, activation="softmax")])
    model.compile(optimizer=engine.optimizers.SGD(learning_rate=0.01), loss="sparse_categorical_crossentropy")
    return model


def make_map(rounds, wait=0.0):
    def augment(x, y):
        if wait:
            time.sleep(wait)  # --wait: a map that waits (a disk, a network) instead of computing
            return x, y
        z = x
        for _ in range(rounds):
            z = np.sin(z) * np.float32(0.5) + x
        return z.astype(np.float32), y
    return augment


def timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def calibrate(model, x, y, batch_size):
    """(seconds per step, rounds of the map that take as long)."""
    xb, yb = x[:batch_size], y[:batch_size]
    for _ in range(3):
        model.train_on_batch(xb, yb)
    step = statistics.median(timed(lambda: model.train_on_batch(xb, yb)) for _ in range(15))
    rounds = 10
    for _ in range(3):  # scale the rounds until one call of the map takes one step's time
        took = statistics.median(timed(lambda: make_map(rounds)(xb, yb)) for _ in range(7))
        rounds = max(1, round(rounds * step / took))
    return step, rounds


class TorchBatches:
    """A map-style dataset of whole batches (DataLoader(batch_size=None)), the same map."""

    def __init__(self, x, y, batch_size, rounds, wait):
        self.x, self.y, self.batch_size, self.fn = x, y, batch_size, make_map(rounds, wait)

    def __len__(self):
        return len(self.x) // self.batch_size

    def __getitem__(self, i):
        s = slice(i * self.batch_size, (i + 1) * self.batch_size)
        return self.fn(self.x[s], self.y[s])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batches", type=int, default=60)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--features", type=int, default=512)
    parser.add_argument("--threads", type=int, default=1, help="the engine's kernel threads")
    parser.add_argument("--repeats", type=int, default=3, help="epochs timed per case (the median is shown)")
    parser.add_argument("--wait", action="store_true",
                        help="the map sleeps for a step's time instead of computing (I/O-bound input); "
                             "shows the overlap on a machine whose cores are busy with other work")
    args = parser.parse_args(argv)
    engine.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    n = args.batches * args.batch_size
    x = rng.standard_normal((n, args.features)).astype(np.float32)
    y = rng.integers(0, 10, n)
    step, rounds = calibrate(build(args.features), x, y, args.batch_size)
    augment = make_map(rounds, step if args.wait else 0.0)
    map_time = statistics.median(timed(lambda: augment(x[:args.batch_size], y[:args.batch_size]))
                                 for _ in range(9))
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"{os.cpu_count()} cores (load average {load:.1f}), engine threads {args.threads}; {args.batches} "
          f"batches of {args.batch_size}x{args.features}; step {step * 1e3:.1f} ms, map {map_time * 1e3:.1f} ms "
          f"({'waiting' if args.wait else f'{rounds} rounds'})")

    plain = Dataset.from_tensor_slices((x, y)).batch(args.batch_size).map(augment)
    fast = Dataset.from_tensor_slices((x, y)).batch(args.batch_size).map(augment, num_parallel_calls=2).prefetch(2)

    def sequential(model):
        for xb, yb in plain:
            model.train_on_batch(xb, yb)

    cases = [("sequential", sequential),
             ("fit", lambda m: m.fit(plain, epochs=1, verbose=0)),
             ("fit + map(2) + prefetch", lambda m: m.fit(fast, epochs=1, verbose=0))]
    try:
        import torch  # noqa: F401
        from torch.utils.data import DataLoader
    except ImportError:
        print("torch is not installed: the DataLoader case is skipped")
    else:
        torch.set_num_threads(1)
        loader = DataLoader(TorchBatches(x, y, args.batch_size, rounds, step if args.wait else 0.0), batch_size=None, num_workers=2,
                            persistent_workers=True)
        cases.append(("fit + DataLoader(2 workers)", lambda m: m.fit(loader, epochs=1, verbose=0)))

    reference = build(args.features)
    sequential(reference)
    expected = reference.get_weights()
    results = {}
    for name, run in cases:
        model = build(args.features)
        run(model)  # warm-up epoch, and the check
        for a, b in zip(model.get_weights(), expected):
            if not np.allclose(a, b, rtol=1e-5, atol=1e-6):
                sys.exit(f"{name}: the weights differ from the sequential run's")
        times = []
        for _ in range(args.repeats):
            model = build(args.features)
            times.append(timed(lambda: run(model)))
        results[name] = statistics.median(times)
    base = results["sequential"]
    print("\n| case | epoch s | ms/batch | / sequential |\n|---|---|---|---|")
    for name, t in results.items():
        print(f"| {name} | {t:.3f} | {t / args.batches * 1e3:.1f} | {t / base:.2f} |")
    print(f"\nideal with full overlap: max(map, step) / (map + step) = "
          f"{max(map_time, step) / (map_time + step):.2f}")


if __name__ == "__main__":
    main()
