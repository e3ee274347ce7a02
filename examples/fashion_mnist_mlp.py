"""The book's first Keras classifier: an MLP on Fashion-MNIST (784-300-100-10).

    python examples/fashion_mnist_mlp.py [--data DIR] [--epochs N]

DIR holds the four Fashion-MNIST IDX files (train-images-idx3-ubyte.gz, ...). Without them
the script trains on synthetic images of the same shape, so it always runs.
"""
import argparse

import numpy as np

import engine
from engine import layers as L

CLASS_NAMES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
               "Sneaker", "Bag", "Ankle boot"]


def load(data_dir, rng):
    try:
        return engine.datasets.load_fashion_mnist(data_dir), True
    except FileNotFoundError as e:
        print(f"{e}\n-> using synthetic 28x28 images instead")
    # Ten classes, each a noisy copy of its own random template: learnable, like the real thing.
    templates = rng.random((10, 1, 28, 28)).astype(np.float32)

    def make(n):
        y = rng.integers(0, 10, n)
        x = np.clip(templates[y] + 0.35 * rng.standard_normal((n, 1, 28, 28)), 0, 1).astype(np.float32)
        return x, y.astype(np.int64)

    return (make(3600), make(600)), False


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default=None)
    parser.add_argument("--epochs", type=int, default=10)
    args = parser.parse_args(argv)
    engine.set_seed(42)
    ((x_train_full, y_train_full), (x_test, y_test)), real = load(args.data, np.random.default_rng(0))
    n_valid = 5000 if real else 600
    x_train, y_train = x_train_full[:-n_valid], y_train_full[:-n_valid]
    x_valid, y_valid = x_train_full[-n_valid:], y_train_full[-n_valid:]

    model = engine.Sequential([
        engine.Input((1, 28, 28)),
        L.Flatten(),
        L.Dense(300, activation="relu"),
        L.Dense(100, activation="relu"),
        L.Dense(10, activation="softmax"),
    ])
    model.summary()
    model.compile(loss="sparse_categorical_crossentropy", optimizer=engine.optimizers.SGD(learning_rate=0.01),
                  metrics=["accuracy"])
    history = model.fit(x_train, y_train, epochs=args.epochs, validation_data=(x_valid, y_valid), verbose=2)
    loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
    print(f"test accuracy {accuracy:.4f}")
    probabilities = model.predict(x_test[:3]).round(2)
    print("first predictions:", [CLASS_NAMES[i] for i in probabilities.argmax(axis=1)])
    return history


if __name__ == "__main__":
    main()
