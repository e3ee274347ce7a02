"""Zero samples: predict (and calling a model) return empty arrays of the shape a real call
would give, also where the inputs' spatial sizes are None; fit, evaluate and the single-batch
methods refuse empty data with a clear error and change nothing."""
import numpy as np
import pytest

import engine
from engine import callbacks as cbs
from engine import layers as L


def randn(rng, *shape):
    return rng.standard_normal(shape).astype(np.float32)


def open_size_cnn():
    """Spatial sizes None: the output shape is known only once an input is given."""
    inputs = engine.Input((1, None, None))
    x = L.Conv2D(4, 3, strides=2, activation="relu")(inputs)
    x = L.BatchNormalization()(x)
    return engine.Model(inputs, L.MaxPool2D(2)(x))


def open_size_classifier():
    inputs = engine.Input((1, None, None))
    x = L.Conv2D(4, 3, padding="same")(inputs)
    x = L.GlobalAveragePooling2D()(x)
    return engine.Model(inputs, L.Dense(3, activation="softmax")(x))


@pytest.mark.parametrize("height,width", [(5, 5), (9, 12), (16, 7)])
def test_predict_zero_samples_with_open_spatial_sizes(rng, height, width):
    for model in (open_size_cnn(), open_size_classifier()):
        real = model.predict(randn(rng, 2, 1, height, width))
        empty = model.predict(np.zeros((0, 1, height, width), np.float32))
        assert empty.shape == (0,) + real.shape[1:] and empty.dtype == real.dtype == np.float32
        called = model(np.zeros((0, 1, height, width), np.float32))
        assert called.shape == empty.shape


def test_zero_samples_where_the_core_cannot_size_an_empty_batch(rng):
    # A Reshape with -1 cannot infer its size from zero elements; the shape rules can.
    model = engine.Sequential([engine.Input((3, 4, 4)), L.Reshape((3, -1)), L.Flatten(), L.Dense(2)])
    x = randn(rng, 3, 3, 4, 4)
    assert model.predict(x[:0]).shape == (0,) + model.predict(x).shape[1:] == (0, 2)


def test_zero_samples_multi_input_multi_output_and_int_inputs(rng):
    image = engine.Input((2, None, None), name="image")
    extra = engine.Input((5,), name="extra")
    features = L.GlobalAveragePooling2D()(L.Conv2D(3, 3)(image))
    joined = L.Concatenate()([features, L.Dense(4)(extra)])
    model = engine.Model([image, extra], [L.Dense(2)(joined), L.Conv2D(1, 1)(image)])
    xs = {"image": randn(rng, 2, 2, 6, 8), "extra": randn(rng, 2, 5)}
    real = model.predict(xs)
    empty = model.predict({k: v[:0] for k, v in xs.items()})
    assert [e.shape for e in empty] == [(0,) + r.shape[1:] for r in real] == [(0, 2), (0, 1, 6, 8)]
    ids = engine.Input((3,), dtype="int64")
    passthrough = engine.Model(ids, L.Identity()(ids))
    out = passthrough.predict(np.zeros((0, 3), np.int64))
    assert out.shape == (0, 3) and out.dtype == np.int64


def test_zero_samples_in_training_mode_leave_batch_norm_alone(rng):
    model = open_size_cnn()
    model(randn(rng, 4, 1, 9, 9), training=True)  # moving statistics away from their start
    before = model.get_weights()
    out = model(np.zeros((0, 1, 9, 9), np.float32), training=True)
    assert out.shape == (0,) + model.predict(randn(rng, 1, 1, 9, 9)).shape[1:]
    for a, b in zip(model.get_weights(), before):
        np.testing.assert_array_equal(a, b)


def test_sequential_built_by_its_first_empty_predict(rng):
    model = engine.Sequential([L.Conv2D(2, 3), L.Flatten()])
    empty = model.predict(np.zeros((0, 1, 6, 5), np.float32))
    assert empty.shape == (0,) + model.predict(randn(rng, 1, 1, 6, 5)).shape[1:] == (0, 24)


def test_zero_samples_of_the_wrong_shape_are_refused():
    with pytest.raises(ValueError, match=r"input 'image' expects shape \(None, 1, None, None\), got \(0, 2, 5, 5\)"):
        model = open_size_classifier()
        model.inputs[0]._layer.name = "image"
        model.predict(np.zeros((0, 2, 5, 5), np.float32))
    with pytest.raises(ValueError, match=r"expects shape \(None, 1, None, None\), got \(0, 1, 5\)"):
        open_size_classifier().predict(np.zeros((0, 1, 5), np.float32))


def compiled_classifier():
    model = open_size_classifier()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


class Recorder(cbs.Callback):
    def __init__(self):
        super().__init__()
        self.events = []

    def on_train_begin(self, logs=None):
        self.events.append("train_begin")


@pytest.mark.parametrize("call,message", [
    (lambda m, x, y: m.fit(x[:0], y[:0], verbose=0, callbacks=[Recorder()]), "the data given to fit has 0 samples"),
    (lambda m, x, y: m.fit(x, y, validation_data=(x[:0], y[:0]), verbose=0),
     "validation_data has 0 samples"),
    (lambda m, x, y: m.fit(x[:3], y[:3], validation_split=0.9, verbose=0), "3 samples cannot be split"),
    (lambda m, x, y: m.fit(iter([(x[:0], y[:0])]), verbose=0), "a batch of the data given to fit has 0 samples"),
    (lambda m, x, y: m.evaluate(x[:0], y[:0]), "the data given to evaluate has 0 samples"),
    (lambda m, x, y: m.train_on_batch(x[:0], y[:0]), "the batch given to train_on_batch has 0 samples"),
    (lambda m, x, y: m.test_on_batch(x[:0], y[:0]), "the data given to test_on_batch has 0 samples"),
    (lambda m, x, y: m.value_and_grad(x[:0], y[:0]), "the batch given to value_and_grad has 0 samples"),
], ids=["fit", "validation-data", "split-leaves-no-training", "generator", "evaluate",
        "train-on-batch", "test-on-batch", "value-and-grad"])
def test_training_and_evaluating_refuse_zero_samples(rng, call, message):
    model = compiled_classifier()
    x = randn(rng, 6, 1, 5, 5)
    y = rng.integers(0, 3, 6)
    before = model.get_weights()
    with pytest.raises(ValueError, match=message):
        call(model, x, y)
    # Nothing moved: no optimizer step, no weight or moving-statistics change.
    assert model.optimizer.iterations == 0
    for a, b in zip(model.get_weights(), before):
        np.testing.assert_array_equal(a, b)


def test_fit_refuses_empty_data_before_any_callback_runs(rng):
    model = compiled_classifier()
    recorder = Recorder()
    with pytest.raises(ValueError, match="0 samples"):
        model.fit(np.zeros((0, 1, 5, 5), np.float32), np.zeros((0,), np.int64), callbacks=[recorder], verbose=0)
    assert recorder.events == []
    # The same model still trains on real data afterwards.
    history = model.fit(randn(rng, 4, 1, 5, 5), rng.integers(0, 3, 4), epochs=1, verbose=0)
    assert len(history.history["loss"]) == 1 and model.optimizer.iterations == 1
