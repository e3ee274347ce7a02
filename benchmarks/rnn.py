"""LSTM throughput: the engine's LSTM layer against PyTorch's nn.LSTM (CPU), one process.

    PYTHONPATH=build/dev/python python benchmarks/rnn.py [--batch 64] [--steps 50] [--units 128]
                  [--features 32] [--rounds 5] [--budget 1.0] [--threads 1]

The same sequence-to-vector model in both: LSTM(units) over [batch, steps, features], then
Dense(1), mean squared error, SGD. Times, as medians over interleaved rounds of back-to-back
calls (inference.py's interleaved_times: PyTorch's idle OpenMP threads spin after each of its
calls and take the second core from a call timed right after), of one inference call
(`predict` on one batch; torch under no_grad) and one training step (`train_on_batch`;
torch: zero_grad, forward, loss, backward, step). The engine's LSTM is
one ONNX LSTM node (every step and the backpropagation through time in C++: a GEMM for all
steps' inputs, one recurrent GEMM and one elementwise cell update per step), against
PyTorch's fused kernel. Prints ms per call and torch / engine (> 1: the engine is faster).
"""
import argparse
import statistics

import numpy as np
from inference import interleaved_times


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--units", type=int, default=128)
    parser.add_argument("--features", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--budget", type=float, default=1.0, help="seconds per contender and case")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    import torch

    import engine
    from engine import layers as L

    engine.set_num_threads(args.threads)
    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((args.batch, args.steps, args.features)).astype(np.float32)
    y = rng.standard_normal((args.batch, 1)).astype(np.float32)

    model = engine.Sequential([engine.Input((args.steps, args.features)), L.LSTM(args.units), L.Dense(1)])
    model.compile(loss="mse", optimizer=engine.optimizers.SGD(learning_rate=1e-3))

    class TorchModel(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = torch.nn.LSTM(args.features, args.units, batch_first=True)
            self.out = torch.nn.Linear(args.units, 1)

        def forward(self, inputs):
            return self.out(self.lstm(inputs)[0][:, -1])

    reference = TorchModel()
    optimizer = torch.optim.SGD(reference.parameters(), lr=1e-3)
    tx, ty = torch.from_numpy(x), torch.from_numpy(y)

    def torch_predict():
        with torch.no_grad():
            reference(tx)

    def torch_step():
        optimizer.zero_grad()
        torch.nn.functional.mse_loss(reference(tx), ty).backward()
        optimizer.step()

    cases = {"predict": (lambda: model.predict(x, batch_size=args.batch), torch_predict),
             "train step": (lambda: model.train_on_batch(x, y), torch_step)}
    print(f"LSTM({args.units}) over [{args.batch}, {args.steps}, {args.features}], {args.threads} thread(s)")
    print("| case | engine ms | torch ms | torch / engine |\n|---|---|---|---|")
    for name, (mine, theirs) in cases.items():
        times = interleaved_times({"engine": mine, "torch": theirs}, args.budget, args.rounds)
        e, t = statistics.median(times["engine"]) * 1e3, statistics.median(times["torch"]) * 1e3
        print(f"| {name} | {e:.1f} | {t:.1f} | {t / e:.2f} |")


if __name__ == "__main__":
    main()
