"""A small Transformer encoder classifier on generated token sequences, trained a few epochs,
exported to ONNX and checked against onnxruntime (when it is installed).

The task: sequences of 16 ids from a vocabulary of 40; a sequence is class 1 when the "key"
token 1 appears before the "key" token 2 (both appear once), else class 0. Counting ids is
not enough: the model has to relate positions, which the positional embedding and
self-attention give it.

The model: token Embedding + positional Embedding, one encoder block (MultiHeadAttention,
residual Add, LayerNormalization, a ReLU feed-forward with its own residual and
normalization), GlobalAveragePooling1D and a softmax Dense.

    python examples/transformer_classifier.py [--epochs N] [--samples N] [--out DIR]
"""
import argparse
import tempfile

import numpy as np

import engine
from engine import layers as L
from onnx_check import check_onnx  # (examples/onnx_check.py)
from engine import ops

STEPS, VOCABULARY = 16, 40


def sequences(rng, n):
    """Ids 3..VOCABULARY-1 with the key tokens 1 and 2 placed once each at random steps."""
    x = rng.integers(3, VOCABULARY, (n, STEPS))
    labels = rng.integers(0, 2, n)
    for i, label in enumerate(labels):
        first, second = sorted(rng.choice(STEPS, 2, replace=False))
        x[i, first], x[i, second] = (1, 2) if label == 1 else (2, 1)
    return x.astype(np.int64), labels.astype(np.int64)


class PositionalEmbedding(L.Layer):
    """Token embeddings plus learned position embeddings (the book's PositionalEmbedding)."""

    def __init__(self, steps, vocabulary, dim, **kwargs):
        super().__init__(**kwargs)
        self.steps = steps
        self.tokens = L.Embedding(vocabulary, dim)
        self.positions = L.Embedding(steps, dim)

    def call(self, ids):
        # [batch, steps] ids 0, 1, ..., steps - 1 (the ops add in float32; ids are exact there)
        positions = ops.cast(ops.zeros_like(ops.cast(ids, "float32")) + np.arange(self.steps, dtype=np.float32),
                             "int64")
        return self.tokens(ids) + self.positions(positions)


def encoder_block(x, dim, heads, hidden):
    attended = L.MultiHeadAttention(num_heads=heads, key_dim=dim // heads)(x, x)
    x = L.LayerNormalization()(L.Add()([x, attended]))
    fed = L.Dense(dim)(L.Dense(hidden, activation="relu")(x))
    return L.LayerNormalization()(L.Add()([x, fed]))


def transformer(dim=32, heads=4, hidden=64):
    ids = engine.Input((STEPS,), dtype="int64")
    x = encoder_block(PositionalEmbedding(STEPS, VOCABULARY, dim)(ids), dim, heads, hidden)
    out = L.Dense(2, activation="softmax")(L.GlobalAveragePooling1D()(x))
    return engine.Model(ids, out, name="transformer_classifier")


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--out", default=None, help="folder for the ONNX file (default: a temporary one)")
    args = parser.parse_args(argv)
    engine.set_seed(42)
    rng = np.random.default_rng(0)
    x, y = sequences(rng, args.samples)
    model = transformer()
    model.compile(loss="sparse_categorical_crossentropy", optimizer=engine.optimizers.Adam(learning_rate=3e-3),
                  metrics=["accuracy"])
    history = model.fit(x, y, batch_size=32, epochs=args.epochs, validation_split=0.2, verbose=0)
    difference = check_onnx(model, x[:64], args.out or tempfile.mkdtemp(prefix="engine-examples-"))
    final = {k: round(v[-1], 4) for k, v in history.history.items()}
    print(f"{model.name}: {final}, max |engine - onnxruntime| = {difference}")
    return {"history": history.history, "onnxruntime_difference": difference}


if __name__ == "__main__":
    main()
