"""engine.callbacks.TensorBoard: the event files `fit` writes, read back with TensorBoard's
own event reader (tensorboard.backend.event_processing)."""
import os

import numpy as np
import pytest

import engine
from engine import layers as L

pytest.importorskip("tensorboardX", reason="the TensorBoard callback writes with tensorboardX")
event_accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator",
                                        reason="the events are read back with TensorBoard's reader")


def read_run(folder):
    acc = event_accumulator.EventAccumulator(str(folder), size_guidance={
        event_accumulator.SCALARS: 0, event_accumulator.HISTOGRAMS: 0, event_accumulator.GRAPH: 1})
    acc.Reload()
    return acc


def scalars(acc, tag):
    events = acc.Scalars(tag)
    return [e.step for e in events], [e.value for e in events]


def small_model():
    engine.set_seed(4)
    model = engine.Sequential([engine.Input((5,)), L.Dense(8, activation="relu", name="hidden"),
                               L.Dense(3, activation="softmax", name="probs")])
    model.compile(optimizer=engine.optimizers.Adam(learning_rate=0.02), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


def data(rng, n):
    x = rng.standard_normal((n, 5)).astype(np.float32)
    return x, (x[:, 0] > 0).astype(np.int64) + (x[:, 1] > 0.5).astype(np.int64)


def test_fit_writes_scalars_histograms_and_the_graph(tmp_path, rng):
    x, y = data(rng, 70)
    xv, yv = data(rng, 30)
    model = small_model()
    batch_logs, weights_at_epoch_end = [], []
    # Listed after TensorBoard: sees the same logs, after it wrote them.
    probe = engine.callbacks.LambdaCallback(
        on_train_batch_end=lambda batch, logs: batch_logs.append(dict(logs)),
        on_epoch_end=lambda epoch, logs: weights_at_epoch_end.append(
            {w.name: w.numpy().copy() for w in model.weights}))
    board = engine.callbacks.TensorBoard(log_dir=tmp_path, update_freq=2, histogram_freq=1, write_graph=True)
    history = model.fit(x, y, batch_size=16, epochs=3, validation_data=(xv, yv), callbacks=[board, probe],
                        verbose=0).history
    assert sorted(os.listdir(tmp_path)) == ["train", "validation"]
    train, val = read_run(tmp_path / "train"), read_run(tmp_path / "validation")

    f32 = lambda values: [float(np.float32(v)) for v in values]  # TensorBoard keeps float32
    assert scalars(train, "epoch_loss") == ([0, 1, 2], f32(history["loss"]))
    assert scalars(train, "epoch_accuracy") == ([0, 1, 2], f32(history["accuracy"]))
    assert scalars(train, "epoch_learning_rate") == ([0, 1, 2], f32([0.02] * 3))
    assert scalars(val, "epoch_loss") == ([0, 1, 2], f32(history["val_loss"]))
    assert scalars(val, "epoch_accuracy") == ([0, 1, 2], f32(history["val_accuracy"]))
    # 5 batches per epoch, 15 in all: every second one, numbered from 1 across epochs.
    steps = list(range(2, 16, 2))
    assert scalars(train, "batch_loss") == (steps, f32([batch_logs[s - 1]["loss"] for s in steps]))
    assert scalars(train, "batch_accuracy") == (steps, f32([batch_logs[s - 1]["accuracy"] for s in steps]))
    iterations = [5, 10, 15]
    assert scalars(val, "evaluation_loss_vs_iterations") == (iterations, f32(history["val_loss"]))

    tags = train.Tags()["histograms"]
    assert sorted(tags) == sorted(f"{w.name}/histogram" for w in model.weights)
    for w in model.weights:
        events = train.Histograms(f"{w.name}/histogram")
        assert [e.step for e in events] == [0, 1, 2]
        for epoch, e in enumerate(events):
            value = weights_at_epoch_end[epoch][w.name].astype(np.float64)
            h = e.histogram_value
            assert h.num == value.size
            assert h.min == value.min() and h.max == value.max()
            assert h.sum == pytest.approx(value.sum(), rel=1e-9, abs=1e-9)
            assert sum(h.bucket) == value.size

    pytest.importorskip("onnx", reason="the graph is converted from ONNX")
    graph = train.Graph()
    ops = [node.op for node in graph.node]
    assert ops.count("Gemm") == 2 and "Relu" in ops and "Softmax" in ops


def test_epoch_updates_only_and_a_second_fit(tmp_path, rng):
    x, y = data(rng, 40)
    model = small_model()
    board = engine.callbacks.TensorBoard(log_dir=str(tmp_path), write_graph=False)
    first = model.fit(x, y, epochs=2, callbacks=[board], verbose=0).history
    second = model.fit(x, y, epochs=4, initial_epoch=2, callbacks=[board], verbose=0).history
    assert os.listdir(tmp_path) == ["train"]  # no validation data: no validation run
    train = read_run(tmp_path / "train")
    assert "batch_loss" not in train.Tags()["scalars"]
    assert not train.Tags()["histograms"] and not train.Tags()["graph"]
    steps, values = scalars(train, "epoch_loss")
    assert steps == [0, 1, 2, 3]
    assert values == [float(np.float32(v)) for v in first["loss"] + second["loss"]]


def test_learning_rate_changes_are_logged(tmp_path, rng):
    x, y = data(rng, 32)
    model = small_model()
    schedule = engine.callbacks.LearningRateScheduler(lambda epoch: 0.1 / (epoch + 1))
    board = engine.callbacks.TensorBoard(log_dir=tmp_path, write_graph=False)
    model.fit(x, y, epochs=3, callbacks=[schedule, board], verbose=0)
    _, values = scalars(read_run(tmp_path / "train"), "epoch_learning_rate")
    assert values == [float(np.float32(0.1 / k)) for k in (1, 2, 3)]


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="update_freq"):
        engine.callbacks.TensorBoard(tmp_path, update_freq=0)
    with pytest.raises(ValueError, match="histogram_freq"):
        engine.callbacks.TensorBoard(tmp_path, histogram_freq=-1)
    with pytest.raises(ValueError, match="profile_batch"):
        engine.callbacks.TensorBoard(tmp_path, profile_batch=(2, 4))
