"""GEMM speed: the engine's packed kernel against numpy's matmul (OpenBLAS), 1 and 2 threads.

    PYTHONPATH=build/dev/python python benchmarks/gemm.py [--threads 1 2] [--quick]
                                                          [--isas avx2 avx512]

Each thread count runs in its own subprocess, because OpenBLAS reads its thread count from
the environment when numpy is imported. Every case is validated against numpy first, then
both sides are timed (the engine through a one-node Gemm graph, planned once, which also
copies C out; numpy with out=), taking the best of several repeated batches. Prints GFLOP/s
and ours/numpy. With --isas, the engine runs on each of those CPU kernel levels in turn
(engine._core.set_cpu_isa; batches interleaved) and each gets a column.

The "few cols" rows are the deep convolutions of a batch-1 ResNet lowered to GEMMs
(M = output channels, K = 9 x input channels, N = output pixels): they set the width below
which the engine multiplies without packing (kSmallCols in cpp/src/cpu/gemm_kernel.h).
"""
import argparse
import json
import os
import subprocess
import sys
import time

# Tuning overrides some machines export; they can slow OpenBLAS down considerably.
SLOW_OPENBLAS_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")

SQUARE = [128, 256, 512, 1024, 2048]
DENSE_IN, DENSE_OUT = 784, 300


def cases(quick):
    """(name, M, N, K, trans_a, trans_b)."""
    out = [(f"square {n}", n, n, n, False, False) for n in SQUARE if not (quick and n > 1024)]
    for batch in (32, 256):
        out += [
            (f"dense fwd  B{batch}: X@W", batch, DENSE_OUT, DENSE_IN, False, False),
            (f"dense dX   B{batch}: dY@W^T", batch, DENSE_IN, DENSE_OUT, False, True),
            (f"dense dW   B{batch}: X^T@dY", DENSE_IN, DENSE_OUT, batch, True, False),
        ]
    for M, K in ((512, 4608), (256, 2304)):
        out += [(f"few cols {M}x{K} N{n}", M, n, K, False, False) for n in (1, 2, 4, 8, 16, 32)
                if not (quick and n in (2, 8))]
    return out


def best_seconds(fns, flops):
    """Best per-call time of each of `fns` over 5 batches (interleaved), each long enough
    (~50 ms) to dwarf timer noise."""
    for fn in fns:
        fn()
    reps = max(1, int(2e9 / flops))
    best = [float("inf")] * len(fns)
    for _ in range(5):
        for i, fn in enumerate(fns):
            t0 = time.perf_counter()
            for _ in range(reps):
                fn()
            best[i] = min(best[i], (time.perf_counter() - t0) / reps)
    return best


def worker(threads, quick, isas):
    import numpy as np

    try:  # belt and braces next to the environment variables
        from threadpoolctl import threadpool_limits
        threadpool_limits(threads)
    except ImportError:
        pass
    import engine
    from engine import _core

    engine.set_num_threads(threads)
    rng = np.random.default_rng(0)
    rows = []
    for name, M, N, K, ta, tb in cases(quick):
        a = rng.standard_normal((K, M) if ta else (M, K)).astype(np.float32)
        b = rng.standard_normal((N, K) if tb else (K, N)).astype(np.float32)
        ref = np.empty((M, N), np.float32)
        a_op, b_op = (a.T if ta else a), (b.T if tb else b)
        graph = _core.Graph()
        graph.add_input("a", a.shape)
        graph.add_input("b", b.shape)
        graph.add_node("Gemm", ["a", "b"], ["c"], {"transA": int(ta), "transB": int(tb)})
        graph.add_output("c")
        executor = _core.Executor(graph)

        def ours():
            return executor.run([a, b])[0]

        def ours_on(isa):
            def run():
                _core.set_cpu_isa(isa)
                return ours()
            return run

        def theirs():
            np.matmul(a_op, b_op, out=ref)

        c = ours()
        exact = a_op.astype(np.float64) @ b_op.astype(np.float64)
        err = np.linalg.norm(c - exact) / np.linalg.norm(exact)
        if not err < 1e-4:
            raise SystemExit(f"{name}: engine result is wrong (relative error {err:.3g})")
        flops = 2.0 * M * N * K
        times = best_seconds([ours_on(isa) for isa in isas] + [theirs], flops)
        _core.set_cpu_isa("best")
        rows.append({"name": name, "threads": threads, "numpy": flops / times[-1] / 1e9,
                     "ours": [flops / t / 1e9 for t in times[:-1]]})
    print(json.dumps(rows))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--quick", action="store_true", help="skip the 2048 case")
    parser.add_argument("--isas", nargs="+", default=["best"],
                        help="CPU kernel levels to time the engine on (portable, avx2, avx512)")
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker is not None:
        worker(args.worker, args.quick, args.isas)
        return

    env = dict(os.environ)
    removed = [v for v in SLOW_OPENBLAS_VARS if env.pop(v, None) is not None]
    if removed:
        print(f"note: unset {', '.join(removed)} for the benchmark (they slow OpenBLAS)")
    rows = []
    for t in args.threads:
        env_t = dict(env, OPENBLAS_NUM_THREADS=str(t), OMP_NUM_THREADS=str(t),
                     MKL_NUM_THREADS=str(t))
        cmd = ([sys.executable, __file__, "--worker", str(t), "--isas"] + args.isas +
               (["--quick"] if args.quick else []))
        out = subprocess.run(cmd, env=env_t, check=True, capture_output=True, text=True).stdout
        rows += json.loads(out.strip().splitlines()[-1])

    import engine  # only for the header line
    print(f"engine {engine.__version__}, CPU kernels: {engine._core.cpu_features_string()}")
    ours = "".join(f" {'ours' if isa == 'best' else isa:>7} {'/numpy':>6}" for isa in args.isas)
    print(f"{'case':<28} {'thr':>3}{ours} {'numpy':>7}   (GFLOP/s)")
    for r in rows:
        cols = "".join(f" {g:>7.1f} {g / r['numpy']:>6.2f}" for g in r["ours"])
        print(f"{r['name']:<28} {r['threads']:>3}{cols} {r['numpy']:>7.1f}")


if __name__ == "__main__":
    main()
