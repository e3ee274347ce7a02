"""Keras 3 behaviour the book's programs rely on: fresh dropout masks on every training-mode
call (MC Dropout), Keras's variable lists and `losses`, and layer aliases."""
import numpy as np

import engine
from engine import layers as L
from helpers import assert_close


def mc_model():
    engine.set_seed(5)
    return engine.Sequential([
        engine.Input((8,)),
        L.Dense(16, activation="relu", kernel_regularizer=engine.regularizers.L2(0.01)),
        L.Dropout(0.5),
        L.Dense(3, activation="softmax", bias_regularizer=engine.regularizers.L1(0.02)),
    ])


def test_training_mode_calls_draw_fresh_dropout_masks_that_replay_from_the_seed(rng):
    x = rng.standard_normal((20, 8)).astype(np.float32)
    model = mc_model()
    samples = np.stack([model(x, training=True) for _ in range(30)])
    # MC Dropout: the averaged predictions have spread, and each call differs.
    assert samples.std(axis=0).mean() > 1e-3
    assert not np.array_equal(samples[0], samples[1])
    # The same seed gives the same sequence of masks.
    again = mc_model()
    for expected in samples[:5]:
        assert np.array_equal(again(x, training=True), expected)
    # Inference calls are deterministic and drop nothing: they equal the expectation of
    # the dropped units (inverted dropout), not any sample.
    assert np.array_equal(model(x), model(x))
    assert np.array_equal(model.predict(x), model(x))


def test_variable_lists_and_regularization_losses():
    model = mc_model()
    assert model.variables == model.weights
    assert model.trainable_variables == model.trainable_weights
    assert model.non_trainable_variables == model.non_trainable_weights == []
    dense1, _, dense2 = model.layers
    w1 = dense1.kernel.numpy().astype(np.float64)
    b2 = dense2.bias.numpy().astype(np.float64)
    expected = [0.01 * np.square(w1).sum(), 0.02 * np.abs(b2).sum()]
    assert np.allclose(model.losses, expected, rtol=1e-12)
    assert np.allclose(dense1.losses, expected[:1], rtol=1e-12)
    dense1.trainable = False
    assert dense1.trainable_variables == [] and len(dense1.non_trainable_variables) == 2
    assert len(model.trainable_variables) == 2


def test_global_avg_pool_2d_is_the_keras_alias(rng):
    x = rng.standard_normal((2, 3, 5, 7)).astype(np.float32)
    model = engine.Sequential([engine.Input((3, 5, 7)), L.GlobalAvgPool2D()])
    assert L.GlobalAvgPool2D is L.GlobalAveragePooling2D
    assert_close(model.predict(x), x.astype(np.float64).mean(axis=(2, 3)), 1e-6)
