"""The CUDA backend against PyTorch on the same GPU, in one process (tools/gpu_check.sh runs it).

    python benchmarks/cuda.py [--quick]

- SGEMM: C = A B for square sizes on device-resident operands, the engine's own kernel and
  cuBLAS (when it loads) through MatMul, PyTorch's torch.matmul (TF32 off everywhere).
  GFLOP/s, median of repeats.
- Training step: the digits CNN of `python -m engine demo`, widened (64x1x28x28 inputs,
  Adam), one `train_on_batch` per step on CUDA, against the same layers in PyTorch on CUDA
  (zero_grad, forward, loss, backward, step). Samples/s.
- Inference: predict of that CNN at batch 256 against torch.no_grad() forward.
The engine's times include copying the batch to the device and the results back (what a
user's call costs); PyTorch's include a synchronize. Ratios engine/torch > 1: the engine is
faster.
"""
import argparse
import statistics
import time

import numpy as np

import engine
from engine import _core
from engine import layers as L


def median_time(fn, repeats, sync=lambda: None):
    fn()
    sync()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def torch_or_none():
    try:
        import torch
    except ImportError:
        return None
    if not torch.cuda.is_available():
        return None
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    return torch


def gemm_rows(torch, sizes, repeats):
    rows = []
    gemms = ["own"]
    try:
        engine.cuda.set_gemm("cublas")
        gemms.append("cublas")
    except ValueError:
        pass
    rng = np.random.default_rng(0)
    for n in sizes:
        a = rng.standard_normal((n, n)).astype(np.float32)
        b = rng.standard_normal((n, n)).astype(np.float32)
        flops = 2.0 * n ** 3
        da, db = _core.DeviceArray(a, "cuda"), _core.DeviceArray(b, "cuda")
        row = {"size": n}
        for which in gemms:
            engine.cuda.set_gemm(which)
            # Operands and result stay on the device.
            t = median_time(lambda: _core.run_op("MatMul", [da, db], device_outputs=True),
                            repeats, engine.cuda.synchronize)
            row[which] = flops / t / 1e9
        if torch is not None:
            ta, tb = torch.from_numpy(a).cuda(), torch.from_numpy(b).cuda()
            t = median_time(lambda: torch.matmul(ta, tb), repeats, torch.cuda.synchronize)
            row["torch"] = flops / t / 1e9
        rows.append(row)
    engine.cuda.set_gemm("auto")
    return rows


def cnn():
    return engine.Sequential([
        engine.Input((1, 28, 28)),
        L.Conv2D(64, 3, padding="same", activation="relu"), L.BatchNormalization(),
        L.Conv2D(64, 3, padding="same", activation="relu"), L.MaxPool2D(2),
        L.Conv2D(128, 3, padding="same", activation="relu"), L.BatchNormalization(), L.MaxPool2D(2),
        L.Flatten(), L.Dense(128, activation="relu"), L.Dense(10, activation="softmax"),
    ])


def torch_cnn(torch):
    nn = torch.nn
    return nn.Sequential(
        nn.Conv2d(1, 64, 3, padding=1), nn.ReLU(), nn.BatchNorm2d(64, eps=1e-3),
        nn.Conv2d(64, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(64, 128, 3, padding=1), nn.ReLU(), nn.BatchNorm2d(128, eps=1e-3), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(128 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, 10)).cuda()


def model_rows(torch, steps, batch):
    rng = np.random.default_rng(1)
    x = rng.random((batch, 1, 28, 28), dtype=np.float32)
    y = rng.integers(0, 10, batch).astype(np.int64)
    engine.set_seed(0)
    model = cnn()
    model.compile(optimizer=engine.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy",
                  device="cuda")
    rows = []
    t = median_time(lambda: model.train_on_batch(x, y), steps)
    row = {"what": f"train step, batch {batch}", "engine": batch / t}
    big = rng.random((256, 1, 28, 28), dtype=np.float32)
    ti = median_time(lambda: model.predict(big, batch_size=256), steps)
    irow = {"what": "predict, batch 256", "engine": 256 / ti}
    if torch is not None:
        net = torch_cnn(torch)
        opt = torch.optim.Adam(net.parameters(), lr=1e-3, eps=1e-7)
        loss_fn = torch.nn.CrossEntropyLoss()

        def torch_step():
            xb, yb = torch.from_numpy(x).cuda(), torch.from_numpy(y).cuda()
            opt.zero_grad()
            loss = loss_fn(net(xb), yb)
            loss.backward()
            opt.step()
            return loss.item()
        row["torch"] = batch / median_time(torch_step, steps, torch.cuda.synchronize)
        net.eval()

        def torch_predict():
            with torch.no_grad():
                return net(torch.from_numpy(big).cuda()).softmax(1).cpu()
        irow["torch"] = 256 / median_time(torch_predict, steps, torch.cuda.synchronize)
    rows += [row, irow]
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if not engine.cuda.is_available():
        print(f"no GPU: {engine.cuda.unavailable_reason()}")
        return 0
    torch = torch_or_none()
    sizes = [512, 2048] if args.quick else [512, 1024, 2048, 4096]
    print("SGEMM GFLOP/s (TF32 off)")
    for row in gemm_rows(torch, sizes, 5 if args.quick else 10):
        print("  " + "  ".join(f"{k} {v:.0f}" if k != "size" else f"n={v}" for k, v in row.items()))
    print("digits-style CNN on 1x28x28, samples/s")
    for row in model_rows(torch, 10 if args.quick else 30, 64):
        ratio = f"  engine/torch {row['engine'] / row['torch']:.2f}" if "torch" in row else ""
        torch_part = f"  torch {row['torch']:.0f}" if "torch" in row else ""
        print(f"  {row['what']}: engine {row['engine']:.0f}{torch_part}{ratio}")
    stats = engine.cuda.memory_stats()
    print(f"memory: {stats}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
