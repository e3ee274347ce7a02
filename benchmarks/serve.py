"""Serving under load: `python -m engine serve` (dynamic batching) against onnxruntime behind
the same ASGI app, one request at a time per worker (no batching).

    PYTHONPATH=build/dev/python python benchmarks/serve.py [--models mlp cnn] [--clients 32]
                                                           [--seconds 10] [--threads 2] [--api tfs|v2]

Models: the book's MLP (Dense 784-300-100-10) and CNN (Conv2D(32)-MaxPool-Conv2D(64)-MaxPool-
Dense(128)-Dense(10) on 1x28x28), as in benchmarks/inference.py, exported once to ONNX; both
servers load that same file. The engine server is `python -m engine serve FILE --threads T
--max-batch B --batch-timeout-ms MS`. The onnxruntime server is the same starlette app
(engine.serving.serve with an onnxruntime session as the model and batching off): each
request runs session.run on its own, W at once on a thread pool (W = --ort-workers, default
T, intra_op_num_threads = --ort-intra-threads, default 1, so the two servers use the same
cores).

Load: --clients connections (HTTP/1.1 keep-alive, a small asyncio client in this process:
each sends a request of one image, waits for the answer, sends the next) for --seconds per
server, in --rounds turns (engine, onnxruntime, engine, ...), so that load from other
processes on a shared machine hits both alike. The requests are TF Serving JSON rows
(`--api tfs`, the default) or KServe v2 binary tensors (`--api v2`: no JSON numbers to
parse). Reported per server: requests/s, p50 and p99 latency (client side, request sent to
answer read), errors (non-200 answers; the script fails if any), and the histogram of rows
per model call from the server's /metrics. Before the load, answers of both servers are
checked against model.predict and onnxruntime computed here.

Everything shares the machine: the client, the server's event loop and the model's threads
compete for the same cores, as they would on a small serving host.
"""
import argparse
import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from inference import build_model, cpu_name, input_shape  # noqa: E402


# --- the onnxruntime server (run as a subprocess of this script) ------------------------------
def ort_loader(intra_threads):
    def load(path, version=1):
        import onnxruntime as ort
        from engine.serving import Servable, TensorSpec

        options = ort.SessionOptions()
        options.intra_op_num_threads = intra_threads
        options.inter_op_num_threads = 1
        session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
        dtypes = {"tensor(float)": "float32", "tensor(int64)": "int64"}

        def spec(t):
            return TensorSpec(t.name, dtypes[t.type], tuple(d if isinstance(d, int) else None for d in t.shape))

        inputs = [spec(t) for t in session.get_inputs()]
        outputs = [spec(t) for t in session.get_outputs()]
        names = [t.name for t in inputs]

        def predict(arrays):
            return session.run(None, dict(zip(names, arrays)))

        servable = Servable(inputs, outputs, predict, version=version, platform="onnxruntime", source=path)
        predict([np.zeros((1,) + s.shape[1:], s.dtype) for s in inputs])
        return servable

    return load


def serve_onnxruntime(args):
    from engine import serving

    return serving.serve(args.serve_onnxruntime, name=args.name, port=0, batching=False,
                         workers=args.ort_workers, loader=ort_loader(args.ort_intra_threads),
                         log_level="warning")


# --- servers ------------------------------------------------------------------------------------
class Server:
    def __init__(self, cmd, tmp, label):
        self.label = label
        self.log = open(os.path.join(tmp, f"{label}.log"), "w+")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self.log, text=True)
        line = self.proc.stdout.readline()  # the announcement, once loaded and listening
        match = re.search(r"at http://([^:\s]+):(\d+)", line)
        if not match:
            self.proc.kill()
            self.proc.wait()
            self.log.seek(0)
            message = self.log.read()
            self.stop()
            raise RuntimeError(f"{label} did not start: {line}{message}")
        self.host, self.port = match.group(1), int(match.group(2))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()
        self.log.close()


# --- the load generator ---------------------------------------------------------------------
async def _request(reader, writer, raw, with_headers=False):
    writer.write(raw)
    status = int((await reader.readline()).split()[1])
    length, header_length = 0, None
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b""):
            break
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"inference-header-content-length":
            header_length = int(value)
    body = await reader.readexactly(length)
    return (status, body, header_length) if with_headers else (status, body)


def _raw(host, path, body, header_length=None):
    extra = "" if header_length is None else f"Inference-Header-Content-Length: {header_length}\r\n"
    return (f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n{extra}"
            f"Content-Length: {len(body)}\r\n\r\n").encode() + body


def requests_for(api, kind, input_name, xs, host):
    """The raw HTTP requests, one image each: TF Serving JSON rows, or KServe v2 binary tensors."""
    if api == "tfs":
        return [_raw(host, f"/v1/models/{kind}:predict", json.dumps({"instances": x.tolist()}).encode())
                for x in xs]
    out = []
    for x in xs:
        header = json.dumps({"inputs": [{"name": input_name, "shape": list(x.shape), "datatype": "FP32",
                                         "parameters": {"binary_data_size": x.nbytes}}],
                             "parameters": {"binary_data_output": True}}).encode()
        out.append(_raw(host, f"/v2/models/{kind}/infer", header + x.tobytes(), len(header)))
    return out


def answer(api, body, headers_length):
    if api == "tfs":
        return np.array(json.loads(body)["predictions"], np.float32)
    header = json.loads(body[:headers_length])
    out = header["outputs"][0]
    return np.frombuffer(body[headers_length:], "<f4").reshape(out["shape"])


async def _load(host, port, raws, clients, seconds):
    loop = asyncio.get_running_loop()
    latencies, errors = [], [0]
    deadline = loop.time() + seconds

    async def client(k):
        reader, writer = await asyncio.open_connection(host, port)
        i = k
        try:
            while loop.time() < deadline:
                t0 = time.perf_counter()
                status, _ = await _request(reader, writer, raws[i % len(raws)])
                latencies.append(time.perf_counter() - t0)
                if status != 200:
                    errors[0] += 1
                i += clients
        finally:
            writer.close()

    start = time.perf_counter()
    await asyncio.gather(*(client(k) for k in range(clients)))
    elapsed = time.perf_counter() - start
    return np.array(latencies), errors[0], elapsed


async def _predict(host, port, raw, api):
    reader, writer = await asyncio.open_connection(host, port)
    try:
        status, body, header_length = await _request(reader, writer, raw, with_headers=True)
    finally:
        writer.close()
    if status != 200:
        raise RuntimeError(f"status {status}: {body[:200]!r}")
    return answer(api, body, header_length)


def _metrics(host, port):
    async def get():
        reader, writer = await asyncio.open_connection(host, port)
        try:
            writer.write(f"GET /metrics HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
            status = int((await reader.readline()).split()[1])
            length = 0
            while True:
                line = await reader.readline()
                if line in (b"\r\n", b""):
                    break
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            return (await reader.readexactly(length)).decode() if status == 200 else ""
        finally:
            writer.close()
    return asyncio.run(get())


def batch_histogram(text):
    """{upper bound: model calls with that many rows or fewer} of engine_serve_batch_size."""
    cumulative = []
    for m in re.finditer(r'engine_serve_batch_size_bucket\{[^}]*le="([^"]+)"\} (\d+)', text):
        cumulative.append((m.group(1), int(m.group(2))))
    out, previous = [], 0
    for le, c in cumulative:
        if c - previous:
            out.append(f"<={le}: {c - previous}")
        previous = c
    calls = re.search(r"engine_serve_batch_size_count\{[^}]*\} (\d+)", text)
    rows = re.search(r"engine_serve_batch_size_sum\{[^}]*\} ([\d.e+]+)", text)
    mean = float(rows.group(1)) / max(int(calls.group(1)), 1) if calls and rows else float("nan")
    return ", ".join(out), mean


def run_case(kind, args, tmp):
    import engine
    import onnxruntime as ort

    model = build_model(kind)
    path = os.path.join(tmp, f"{kind}.onnx")
    engine.onnx.export(model, path)
    imported = engine.onnx.load(path)
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    xs = rng.standard_normal((64, 1) + input_shape(kind)).astype(np.float32)

    env_py = [sys.executable]
    servers = {
        "engine": [*env_py, "-m", "engine", "serve", path, "--port", "0", "--name", kind,
                   "--threads", str(args.threads), "--max-batch", str(args.max_batch),
                   "--batch-timeout-ms", str(args.batch_timeout_ms), "--log-level", "warning"],
        "onnxruntime": [*env_py, os.path.abspath(__file__), "--serve-onnxruntime", path, "--name", kind,
                        "--ort-workers", str(args.ort_workers), "--ort-intra-threads", str(args.ort_intra_threads)],
    }
    started = {}
    try:
        for label, cmd in servers.items():
            started[label] = Server(cmd, tmp, f"{kind}-{label}")
        raws, cross = {}, {}
        for label, server in started.items():
            raws[label] = requests_for(args.api, kind, session.get_inputs()[0].name, xs, server.host)
            # Validation: a few answers against model.predict (engine) and onnxruntime.
            for k in range(4):
                got = asyncio.run(_predict(server.host, server.port, raws[label][k], args.api))
                want = imported.predict(xs[k]) if label == "engine" else \
                    session.run(None, {session.get_inputs()[0].name: xs[k]})[0]
                diff = float(np.max(np.abs(got - want)))
                if diff > 1e-5:
                    raise RuntimeError(f"{kind} {label}: answer differs from the model by {diff}")
            theirs = session.run(None, {session.get_inputs()[0].name: xs[0]})[0]
            got = asyncio.run(_predict(server.host, server.port, raws[label][0], args.api))
            cross[label] = float(np.max(np.abs(got - theirs)))
        # The servers take turns (rounds of seconds/rounds each), so that load from other
        # processes on a shared machine hits both alike.
        runs = {label: ([], 0, 0.0) for label in started}
        for _ in range(args.rounds):
            for label, server in started.items():
                lat, errors, elapsed = asyncio.run(_load(server.host, server.port, raws[label], args.clients,
                                                         args.seconds / args.rounds))
                old = runs[label]
                runs[label] = (old[0] + [lat], old[1] + errors, old[2] + elapsed)
        rows = {}
        for label, server in started.items():
            lats, errors, elapsed = runs[label]
            lat = np.concatenate(lats)
            hist, mean = batch_histogram(_metrics(server.host, server.port))
            rows[label] = dict(rps=len(lat) / elapsed, p50=np.percentile(lat, 50) * 1e3,
                               p99=np.percentile(lat, 99) * 1e3, errors=errors, n=len(lat), hist=hist, mean=mean,
                               cross=cross[label])
            print(f"{kind:4s} {label:12s} {rows[label]['rps']:8.0f} req/s  p50 {rows[label]['p50']:6.2f} ms  "
                  f"p99 {rows[label]['p99']:6.2f} ms  errors {errors}  mean batch {mean:.1f}  "
                  f"(|answer - onnxruntime| {cross[label]:.1e})", flush=True)
            print(f"     batch sizes: {hist}", flush=True)
    finally:
        for server in started.values():
            server.stop()
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", nargs="+", default=["mlp", "cnn"], choices=["mlp", "cnn", "cnn_bn", "lenet"])
    parser.add_argument("--api", choices=["tfs", "v2"], default="tfs",
                        help="tfs: TF Serving JSON rows (default); v2: KServe v2 binary tensors")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=10.0, help="load per server, in all rounds")
    parser.add_argument("--rounds", type=int, default=5, help="the servers take turns, this many times")
    parser.add_argument("--threads", type=int, default=2, help="the engine server's --threads")
    parser.add_argument("--max-batch", type=int, default=64)
    parser.add_argument("--batch-timeout-ms", type=float, default=2.0)
    parser.add_argument("--ort-workers", type=int, help="onnxruntime server: requests run at once (default --threads)")
    parser.add_argument("--ort-intra-threads", type=int, default=1, help="onnxruntime: intra_op_num_threads")
    parser.add_argument("--serve-onnxruntime", help=argparse.SUPPRESS)
    parser.add_argument("--name", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.ort_workers is None:
        args.ort_workers = args.threads
    if args.serve_onnxruntime:
        return serve_onnxruntime(args)

    import onnxruntime as ort

    import engine

    print(f"{cpu_name()}, {os.cpu_count()} cores; engine {engine.__version__}, onnxruntime {ort.__version__}")
    print(f"{args.clients} clients for {args.seconds:g} s per server, {args.api} requests of one image; engine --threads {args.threads} "
          f"--max-batch {args.max_batch} --batch-timeout-ms {args.batch_timeout_ms:g}; onnxruntime "
          f"{args.ort_workers} workers x {args.ort_intra_threads} intra-op threads, no batching", flush=True)
    results = {}
    failed = False
    with tempfile.TemporaryDirectory() as tmp:
        for kind in args.models:
            results[kind] = run_case(kind, args, tmp)
            failed |= any(r["errors"] for r in results[kind].values())
    print()
    print("| model | server | req/s | p50 ms | p99 ms | errors | mean batch | rows per model call |")
    print("|---|---|---:|---:|---:|---:|---:|---|")
    for kind, rows in results.items():
        for label, r in rows.items():
            print(f"| {kind} | {label} | {r['rps']:,.0f} | {r['p50']:.2f} | {r['p99']:.2f} | {r['errors']} | "
                  f"{r['mean']:.1f} | {r['hist']} |")
    print()
    for kind, rows in results.items():
        e, o = rows["engine"], rows["onnxruntime"]
        print(f"{kind}: engine / onnxruntime requests/s {e['rps'] / o['rps']:.2f}x, p99 {e['p99'] / o['p99']:.2f}x "
              "(req/s > 1 and p99 < 1: the engine server is better)")
    if failed:
        print("FAILED: some requests got errors")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
