"""Command line: `python -m engine demo` (the main job), `python -m engine info` and
`python -m engine serve MODEL` (predictions over HTTP)."""
import argparse
import os
import sys
import time

import numpy as np

import engine
from engine import _core


def info(args) -> int:
    print(f"engine {engine.__version__}")
    print(f"cpu kernels: {_core.cpu_features_string()}")
    print(f"threads: {engine.get_num_threads()}")
    if engine.cuda.is_available():
        print(f"cuda: {engine.cuda.device_count()} device(s), gemm {engine.cuda.gemm()}")
    else:
        print(f"cuda: not available: {engine.cuda.unavailable_reason()}")
    return 0


def digits_cnn():
    from engine import layers as L

    return engine.Sequential([
        engine.Input((1, 8, 8), name="image"),
        L.Conv2D(32, 3, padding="same", activation="relu"),
        L.BatchNormalization(),
        L.Conv2D(32, 3, padding="same", activation="relu"),
        L.MaxPool2D(2),
        L.Conv2D(64, 3, padding="same", activation="relu"),
        L.BatchNormalization(),
        L.MaxPool2D(2),
        L.Flatten(),
        L.Dropout(0.4),
        L.Dense(10, activation="softmax", name="digit"),
    ], name="digits_cnn")


def demo(args) -> int:
    """Train a CNN on the bundled digits, save it, export ONNX, check it with onnxruntime."""
    start = time.time()
    engine.set_seed(args.seed)
    (x_train, y_train), (x_test, y_test) = engine.datasets.load_digits()
    print(f"digits: {len(x_train)} training and {len(x_test)} test images of 1x8x8 (NCHW)")
    model = digits_cnn()
    model.summary()
    steps = args.epochs * int(np.ceil(len(x_train) / 32))
    schedule = engine.schedules.CosineDecay(3e-3, decay_steps=steps)
    model.compile(optimizer=engine.optimizers.Adam(learning_rate=schedule),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x_train, y_train, epochs=args.epochs, batch_size=32, verbose=1)
    loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
    print(f"test accuracy: {accuracy:.4f} (loss {loss:.4f})")

    os.makedirs(args.output_dir, exist_ok=True)
    checkpoint = os.path.join(args.output_dir, "digits_cnn.engine")
    model.save(checkpoint)
    print(f"checkpoint: {checkpoint}")
    onnx_path = os.path.join(args.output_dir, "digits_cnn.onnx")
    engine.onnx.export(model, onnx_path)
    print(f"onnx model: {onnx_path}")
    if args.plot:
        try:
            curves = os.path.join(args.output_dir, "digits_curves.png")
            engine.utils.plot_history(history, curves)
            graph = os.path.join(args.output_dir, "digits_cnn.png")
            engine.utils.plot_model(model, graph, show_shapes=True, dpi=100)
            print(f"plots: {curves}, {graph}")
        except ImportError as e:
            print(f"the plots were skipped: {e}")

    ok = accuracy >= 0.97
    if not ok:
        print("FAILED: test accuracy is below 0.97")
    try:
        import onnxruntime as ort
    except ImportError:
        print("onnxruntime is not installed: the ONNX check was skipped "
              "(pip install onnxruntime, or install the package with the [demo] extra)")
    else:
        session = ort.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
        theirs = session.run(None, {session.get_inputs()[0].name: x_test})[0]
        ours = model.predict(x_test, batch_size=len(x_test))
        diff = float(np.max(np.abs(theirs - ours)))
        same = float(np.mean(theirs.argmax(1) == ours.argmax(1)))
        agree = np.allclose(ours, theirs, rtol=1e-3, atol=1e-5)
        print(f"onnxruntime {ort.__version__}: max |difference| {diff:.2e}, same predicted class "
              f"for {same:.2%} of test images -> {'OK' if agree else 'MISMATCH'}")
        ok = ok and agree
    print(f"done in {time.time() - start:.1f} s")
    return 0 if ok else 1


def serve(args) -> int:
    """Serve a model over HTTP (TF Serving REST and KServe v2) until SIGTERM or Ctrl-C."""
    try:
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as e:
        print(f"python -m engine serve needs starlette and uvicorn ({e}): pip install \"engine[serve]\"",
              file=sys.stderr)
        return 2
    for flag, value, least in (("--max-batch", args.max_batch, 1), ("--threads", args.threads, 1),
                               ("--port", args.port, 0)):
        if value is not None and value < least:
            print(f"python -m engine serve: {flag} must be at least {least}, got {value}", file=sys.stderr)
            return 2
    for flag, value in (("--batch-timeout-ms", args.batch_timeout_ms), ("--poll-seconds", args.poll_seconds),
                        ("--max-body-mb", args.max_body_mb)):
        if not value >= 0:
            print(f"python -m engine serve: {flag} must not be negative, got {value}", file=sys.stderr)
            return 2
    from engine import serving

    try:
        return serving.serve(args.model, name=args.name, host=args.host, port=args.port,
                             max_batch=args.max_batch, batch_timeout_ms=args.batch_timeout_ms,
                             threads=args.threads, poll_seconds=args.poll_seconds,
                             max_body_mb=args.max_body_mb, graceful_timeout_s=args.graceful_timeout,
                             log_level=args.log_level)
    except (OSError, ValueError, TypeError, RuntimeError) as e:
        # A model that does not load or a port that is taken: say which, without a traceback.
        print(f"python -m engine serve: {e}", file=sys.stderr)
        return 1


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m engine")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("info", help="print the build's version, CPU features, threads and CUDA devices")
    d = sub.add_parser("demo", help="train a CNN on the bundled digits, save, export ONNX, check it")
    d.add_argument("--epochs", type=int, default=15)
    d.add_argument("--seed", type=int, default=0)
    d.add_argument("--output-dir", default="engine-demo")
    d.add_argument("--plot", action="store_true",
                   help="also draw the learning curves and the layer graph as PNG files (needs matplotlib)")
    s = sub.add_parser("serve", help="serve a model over HTTP (TF Serving REST and KServe v2 APIs) "
                                     "with dynamic batching")
    s.add_argument("model", help="an ONNX file, an engine checkpoint, or a folder of numbered versions "
                                 "(1/, 2/, ...: the highest is served, new ones are picked up)")
    s.add_argument("--port", type=int, default=8501, help="0 picks a free port (default 8501)")
    s.add_argument("--host", default="127.0.0.1", help="address to listen on (0.0.0.0: every interface)")
    s.add_argument("--name", help="the model's name in the URLs (default: the file or folder name)")
    s.add_argument("--max-batch", type=int, default=64, help="rows per merged model call (default 64)")
    s.add_argument("--batch-timeout-ms", type=float, default=2.0,
                   help="how long the oldest queued request waits for others to join it (default 2)")
    s.add_argument("--threads", type=int, help="threads of the model's computations (default: all cores)")
    s.add_argument("--poll-seconds", type=float, default=1.0,
                   help="how often a version folder is checked for new versions (0: never)")
    s.add_argument("--max-body-mb", type=float, default=64.0, help="largest request body, MiB (default 64)")
    s.add_argument("--graceful-timeout", type=float, default=30.0,
                   help="seconds to finish the requests in flight at shutdown (default 30)")
    s.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])
    args = parser.parse_args(argv)
    return {"info": info, "demo": demo, "serve": serve}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
