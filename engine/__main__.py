"""Command line: `python -m engine demo` (the main job) and `python -m engine info`."""
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
    model.fit(x_train, y_train, epochs=args.epochs, batch_size=32, verbose=1)
    loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
    print(f"test accuracy: {accuracy:.4f} (loss {loss:.4f})")

    os.makedirs(args.output_dir, exist_ok=True)
    checkpoint = os.path.join(args.output_dir, "digits_cnn.engine")
    model.save(checkpoint)
    print(f"checkpoint: {checkpoint}")
    onnx_path = os.path.join(args.output_dir, "digits_cnn.onnx")
    engine.onnx.export(model, onnx_path)
    print(f"onnx model: {onnx_path}")

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


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m engine")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("info", help="print the build's version, CPU features, threads and CUDA devices")
    d = sub.add_parser("demo", help="train a CNN on the bundled digits, save, export ONNX, check it")
    d.add_argument("--epochs", type=int, default=15)
    d.add_argument("--seed", type=int, default=0)
    d.add_argument("--output-dir", default="engine-demo")
    args = parser.parse_args(argv)
    return {"info": info, "demo": demo}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
