"""A custom training loop (the book's chapter on custom training): gradients from the
model, the update from an optimizer, metrics by hand, a learning-rate schedule.

    python examples/custom_training_loop.py [--epochs N]
"""
import argparse

import numpy as np

import engine
from engine import layers as L


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=5)
    args = parser.parse_args(argv)
    engine.set_seed(42)
    (x_train, y_train), (x_test, y_test) = engine.datasets.load_digits()

    model = engine.Sequential([
        engine.Input((1, 8, 8)),
        L.Flatten(),
        L.Dense(64, activation="elu", kernel_initializer="he_normal",
                kernel_regularizer=engine.regularizers.L2(1e-4)),
        L.Dense(10, activation="softmax"),
    ])
    # compile() fixes the loss whose gradients value_and_grad returns; the updates below
    # come from our own optimizer.
    model.compile(loss="sparse_categorical_crossentropy", optimizer="sgd")
    batch_size = 32
    steps = int(np.ceil(len(x_train) / batch_size))
    schedule = engine.schedules.ExponentialDecay(0.01, decay_steps=steps, decay_rate=0.8)
    optimizer = engine.optimizers.Nadam(learning_rate=schedule)
    accuracy = engine.metrics.SparseCategoricalAccuracy()
    mean_loss = engine.metrics.Mean()
    rng = np.random.default_rng(0)

    for epoch in range(1, args.epochs + 1):
        order = rng.permutation(len(x_train))
        for step in range(steps):
            idx = order[step * batch_size:(step + 1) * batch_size]
            loss, grads = model.value_and_grad(x_train[idx], y_train[idx])
            optimizer.apply_gradients(zip(grads, model.trainable_weights))
            mean_loss.update_state(loss)
        accuracy.update_state(y_test, model.predict(x_test))
        print(f"epoch {epoch}/{args.epochs}: loss {mean_loss.result():.4f}, "
              f"test accuracy {accuracy.result():.4f}, learning rate {optimizer.learning_rate:.5f}")
        mean_loss.reset_state()
        accuracy.reset_state()
    return model


if __name__ == "__main__":
    main()
