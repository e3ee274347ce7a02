"""The book's sequence models and a mobile-style convolutional net on generated data, each
trained a few epochs, exported to ONNX and checked against onnxruntime:

- an LSTM forecaster of the next value of noisy sine series (50 steps);
- a WaveNet-style stack of causal dilated Conv1D layers with a GRU on top;
- an Embedding + bidirectional GRU sentiment classifier of integer "reviews" of several
  lengths, padded and masked (Embedding(mask_zero=True));
- a MobileNet-style net of DepthwiseConv2D + 1x1 convolutions with ReLU6, and a
  SeparableConv2D, on small images.

    python examples/sequences_and_mobile_nets.py [--epochs N] [--samples N] [--out DIR]
"""
import argparse
import os
import tempfile

import numpy as np

import engine
from engine import layers as L


def series(rng, n, steps):
    t = np.arange(steps + 1)
    phase = rng.uniform(0, 2 * np.pi, (n, 1))
    freq = rng.uniform(0.2, 0.5, (n, 1))
    values = np.sin(freq * t + phase) + 0.05 * rng.standard_normal((n, steps + 1))
    return values[:, :steps, None].astype(np.float32), values[:, steps:].astype(np.float32)


def reviews(rng, n, steps=20, vocabulary=100):
    """Ids 1..vocabulary-1 of 5 to `steps` words, padded after the words with id 0;
    "positive" reviews use more ids from the upper half."""
    labels = rng.integers(0, 2, n)
    low = rng.integers(1, vocabulary // 2, (n, steps))
    high = rng.integers(vocabulary // 2, vocabulary, (n, steps))
    mix = rng.random((n, steps)) < np.where(labels[:, None] == 1, 0.7, 0.3)
    words = np.arange(steps)[None, :] < rng.integers(5, steps + 1, (n, 1))
    return np.where(words, np.where(mix, high, low), 0).astype(np.int64), labels.astype(np.int64)


def images(rng, n):
    """Two classes: a bright square in the top-left or the bottom-right quarter."""
    labels = rng.integers(0, 2, n)
    x = rng.standard_normal((n, 3, 16, 16)).astype(np.float32) * 0.3
    for i, label in enumerate(labels):
        rows = slice(0, 8) if label == 0 else slice(8, 16)
        x[i, :, rows, rows] += 1.0
    return x, labels.astype(np.int64)


def models():
    forecaster = engine.Sequential([engine.Input((50, 1)), L.LSTM(20), L.Dense(1)], name="lstm_forecaster")
    wavenet = engine.Sequential([engine.Input((50, 1))] + [
        L.Conv1D(16, 2, padding="causal", dilation_rate=rate, activation="relu") for rate in (1, 2, 4, 8)
    ] + [L.GRU(16), L.Dense(1)], name="wavenet_gru")
    # mask_zero: the GRUs skip the padding (id 0) in both directions.
    sentiment = engine.Sequential([engine.Input((20,), dtype="int64"), L.Embedding(100, 16, mask_zero=True),
                                   L.Bidirectional(L.GRU(16)), L.Dense(1, activation="sigmoid")],
                                  name="embedding_gru")
    mobile = engine.Sequential([
        engine.Input((3, 16, 16)), L.Conv2D(8, 3, strides=2, padding="same", activation="relu6"),
        L.DepthwiseConv2D(3, padding="same", activation="relu6"), L.Conv2D(16, 1, activation="relu6"),
        L.SeparableConv2D(16, 3, strides=2, padding="same", activation="relu6"),
        L.GlobalAveragePooling2D(), L.Dense(2, activation="softmax")], name="mobile_net")
    return forecaster, wavenet, sentiment, mobile


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--out", default=None, help="folder for the ONNX files (default: a temporary one)")
    args = parser.parse_args(argv)
    import onnxruntime as ort

    engine.set_seed(42)
    rng = np.random.default_rng(0)
    forecaster, wavenet, sentiment, mobile = models()
    x_series, y_series = series(rng, args.samples, 50)
    x_text, y_text = reviews(rng, args.samples)
    x_images, y_images = images(rng, args.samples // 4)
    jobs = [(forecaster, x_series, y_series, "mse", []), (wavenet, x_series, y_series, "mse", []),
            (sentiment, x_text, y_text, "binary_crossentropy", ["accuracy"]),
            (mobile, x_images, y_images, "sparse_categorical_crossentropy", ["accuracy"])]
    out = args.out or tempfile.mkdtemp(prefix="engine-examples-")
    results = {}
    for model, x, y, loss, metrics in jobs:
        model.compile(loss=loss, optimizer=engine.optimizers.Adam(learning_rate=0.01), metrics=metrics)
        history = model.fit(x, y, batch_size=64, epochs=args.epochs, validation_split=0.1, verbose=0)
        path = os.path.join(out, f"{model.name}.onnx")
        model.export_onnx(path)
        session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        sample = x[:64]
        difference = float(np.abs(session.run(None, {session.get_inputs()[0].name: sample})[0]
                                  - model.predict(sample)).max())
        results[model.name] = {"history": history.history, "onnxruntime_difference": difference}
        final = {k: round(v[-1], 4) for k, v in history.history.items()}
        print(f"{model.name}: {final}, max |engine - onnxruntime| = {difference:.1e}")
    return results


if __name__ == "__main__":
    main()
