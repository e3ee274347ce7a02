"""Callbacks driven by a scripted loop over a fake model (the interface the trainer gives)."""
import csv
import math
import warnings

import numpy as np
import pytest

from engine import callbacks as cbs


class FakeOptimizer:
    def __init__(self, lr):
        self.learning_rate = lr


class FakeModel:
    """Weights are one array holding the epoch number they were 'trained' to."""

    def __init__(self, lr=0.1):
        self.stop_training = False
        self.optimizer = FakeOptimizer(lr)
        self.weights = [np.zeros(3), np.zeros(2)]
        self.saved = []

    def get_weights(self):
        return self.weights          # live arrays, as a model may return: callbacks must copy

    def set_weights(self, weights):
        for w, v in zip(self.weights, weights):
            w[...] = v

    def save(self, path):
        self.saved.append(("model", path))

    def save_weights(self, path):
        self.saved.append(("weights", path))


def run(callbacks, epoch_logs, model=None, batch_logs=None):
    """The trainer's loop: epochs (stopping when asked) with scripted logs. Returns the
    model and the epochs that ran."""
    model = model or FakeModel()
    cl = cbs.CallbackList(callbacks, add_history=True, model=model, epochs=len(epoch_logs))
    cl.on_train_begin()
    ran = []
    for epoch, logs in enumerate(epoch_logs):
        cl.on_epoch_begin(epoch)
        for w in model.weights:
            w[...] = epoch + 1                 # a training epoch changes the weights in place
        for batch, blogs in enumerate((batch_logs or {}).get(epoch, [])):
            cl.on_train_batch_begin(batch)
            cl.on_train_batch_end(batch, dict(blogs))
            if model.stop_training:
                break
        cl.on_epoch_end(epoch, dict(logs))
        ran.append(epoch)
        if model.stop_training:
            break
    cl.on_train_end()
    return model, ran, cl.history


def losses(*values, key="val_loss"):
    return [{key: v} for v in values]


def test_history_and_hooks_order():
    calls = []
    lam = cbs.LambdaCallback(on_train_begin=lambda logs: calls.append("train_begin"),
                             on_epoch_end=lambda epoch, logs: calls.append(("epoch", epoch)),
                             on_batch_end=lambda batch, logs: calls.append(("batch", batch)),
                             on_train_end=lambda logs: calls.append("train_end"))
    model, ran, history = run([lam], [{"loss": 3.0, "val_loss": 4.0}, {"loss": 2.0}],
                              batch_logs={0: [{"loss": 1.0}] * 2})
    assert calls == ["train_begin", ("batch", 0), ("batch", 1), ("epoch", 0), ("epoch", 1),
                     "train_end"]
    assert history.epoch == [0, 1]
    assert history.history == {"loss": [3.0, 2.0], "val_loss": [4.0]}
    assert lam.model is model and lam.params == {"epochs": 2}
    with pytest.raises(ValueError, match="unknown hook 'on_epoch_finish'"):
        cbs.LambdaCallback(on_epoch_finish=print)


def test_callback_list_keeps_a_given_history():
    h = cbs.History()
    cl = cbs.CallbackList([h], add_history=True)
    assert cl.history is h and len(cl.callbacks) == 1
    with pytest.raises(TypeError, match="expected Callback objects"):
        cbs.CallbackList([print])


@pytest.mark.parametrize("patience, expected_stop", [(0, 3), (1, 3), (2, 4), (4, 6), (5, None)])
def test_early_stopping_patience(patience, expected_stop):
    # Best at epoch 2 (0-based); stops after `patience` further epochs without improvement
    # (patience=0 also stops at the first one, as in Keras).
    vals = [5.0, 4.0, 3.0, 3.5, 3.2, 3.1, 3.3]
    es = cbs.EarlyStopping(patience=patience)
    model, ran, _ = run([es], losses(*vals))
    if expected_stop is None:
        assert ran == list(range(len(vals))) and not model.stop_training
    else:
        assert ran[-1] == expected_stop and es.stopped_epoch == expected_stop
        assert model.stop_training
    assert es.best == 3.0 and es.best_epoch == 2


def test_early_stopping_restores_best_weights():
    es = cbs.EarlyStopping(monitor="val_accuracy", patience=2, restore_best_weights=True)
    model, ran, _ = run([es], losses(0.5, 0.8, 0.7, 0.75, 0.9, key="val_accuracy"))
    assert ran == [0, 1, 2, 3]                   # mode auto: accuracy is maximised
    for w in model.weights:
        np.testing.assert_array_equal(w, 2.0)    # weights after epoch 1 (0-based)
    # Without restoring, the last weights stay.
    model, _, _ = run([cbs.EarlyStopping(monitor="val_accuracy", patience=2)],
                      losses(0.5, 0.8, 0.7, 0.75, key="val_accuracy"))
    np.testing.assert_array_equal(model.weights[0], 4.0)


def test_early_stopping_restores_at_end_even_without_stopping():
    es = cbs.EarlyStopping(patience=10, restore_best_weights=True)
    model, ran, _ = run([es], losses(3.0, 1.0, 2.0))
    assert ran == [0, 1, 2] and es.stopped_epoch == 0
    np.testing.assert_array_equal(model.weights[0], 2.0)


def test_early_stopping_min_delta():
    # Improvements of 0.05 do not count with min_delta=0.1.
    es = cbs.EarlyStopping(patience=2, min_delta=0.1)
    _, ran, _ = run([es], losses(1.0, 0.95, 0.9, 0.85, 0.8))
    assert ran == [0, 1, 2] and es.best == 1.0
    es = cbs.EarlyStopping(monitor="auc", patience=1, min_delta=-0.1)   # sign is ignored
    _, ran, _ = run([es], losses(0.5, 0.55, 0.7, key="auc"))
    assert ran == [0, 1] and es.best == 0.5


def test_early_stopping_baseline():
    # Improving without reaching the baseline does not restart the count: the first epoch
    # without improvement stops training once `patience` epochs have passed.
    vals = (1.0, 0.9, 0.8, 0.7, 0.75, 0.6)
    es = cbs.EarlyStopping(patience=3, baseline=0.5)
    _, ran, _ = run([es], losses(*vals))
    assert ran == [0, 1, 2, 3, 4] and es.best == 0.7
    _, ran, _ = run([cbs.EarlyStopping(patience=3)], losses(*vals))
    assert ran == [0, 1, 2, 3, 4, 5]
    # Once the baseline is beaten the count restarts.
    es = cbs.EarlyStopping(patience=2, baseline=0.5)
    _, ran, _ = run([es], losses(1.0, 0.4, 0.45, 0.3, 0.35, 0.36, 0.2))
    assert ran == [0, 1, 2, 3, 4, 5] and es.best == 0.3


def test_early_stopping_start_from_epoch():
    es = cbs.EarlyStopping(patience=1, start_from_epoch=3, restore_best_weights=True)
    model, ran, _ = run([es], losses(0.1, 0.2, 0.3, 0.9, 0.8, 0.85, 0.95))
    # Epochs 0-2 are ignored, so the best is epoch 4's 0.8 and epoch 5 stops training.
    assert ran == [0, 1, 2, 3, 4, 5] and es.best == 0.8
    np.testing.assert_array_equal(model.weights[0], 5.0)


def test_early_stopping_warns_on_missing_monitor():
    es = cbs.EarlyStopping(monitor="val_loss", patience=0)
    with pytest.warns(UserWarning, match="`val_loss` which is not available. Available metrics "
                                         "are: loss"):
        model, ran, _ = run([es], losses(1.0, 2.0, key="loss"))
    assert ran == [0, 1] and not model.stop_training
    with pytest.raises(ValueError, match="mode must be"):
        cbs.EarlyStopping(mode="biggest")


@pytest.mark.parametrize("monitor, op", [
    ("val_loss", np.less), ("loss", np.less), ("val_accuracy", np.greater),
    ("sparse_categorical_accuracy", np.greater), ("val_acc", np.greater), ("auc", np.greater),
    ("val_precision", np.greater), ("recall_1", np.greater), ("val_mae", np.less),
    ("mean_squared_error", np.less)])
def test_auto_mode_from_monitor_name(monitor, op):
    assert cbs.EarlyStopping(monitor=monitor).monitor_op is op
    assert cbs.ModelCheckpoint("m", monitor=monitor).monitor_op is op
    assert cbs.EarlyStopping(monitor=monitor, mode="max").monitor_op is np.greater


def test_reduce_lr_on_plateau_patience_cooldown_min_lr():
    rl = cbs.ReduceLROnPlateau(factor=0.5, patience=2, cooldown=2, min_lr=0.03)
    model = FakeModel(lr=0.2)
    seen = []
    record = cbs.LambdaCallback(on_epoch_end=lambda e, logs: seen.append(
        (logs["learning_rate"], model.optimizer.learning_rate)))
    vals = [1.0] * 7 + [0.5] + [0.6] * 5
    _, _, history = run([rl, record], losses(*vals), model=model)
    lr_logged, lr_after = zip(*seen)
    # Epoch 0 sets best; 1, 2 wait -> reduce after epoch 2 (0.2 -> 0.1); 3 is cooldown; the
    # cooldown ends at the start of 4, which waits (Keras counts it); 5 waits -> 0.05; 6 is
    # cooldown; 7 improves; 8, 9 wait -> 0.025 clipped to min_lr 0.03; 10 cooldown; 11, 12
    # wait but the rate is already at min_lr.
    np.testing.assert_allclose(lr_after, [0.2, 0.2, 0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.05,
                                          0.03, 0.03, 0.03, 0.03])
    # logs carry the rate of the epoch that just ran (before any reduction), seen by History.
    np.testing.assert_allclose(lr_logged, [0.2, 0.2, 0.2, 0.1, 0.1, 0.1, 0.05, 0.05, 0.05,
                                           0.05, 0.03, 0.03, 0.03])
    assert history.history["learning_rate"] == list(lr_logged)
    # Without cooldown the second reduction comes one epoch earlier.
    model, _, _ = run([cbs.ReduceLROnPlateau(factor=0.5, patience=2)], losses(*vals[:5]),
                      model=FakeModel(lr=0.2))
    assert model.optimizer.learning_rate == pytest.approx(0.05)
    # At min_lr nothing more happens.
    rl = cbs.ReduceLROnPlateau(factor=0.5, patience=1, min_lr=0.03)
    model, _, _ = run([rl], losses(1.0, 1.0, 1.0, 1.0), model=FakeModel(lr=0.03))
    assert model.optimizer.learning_rate == 0.03


def test_reduce_lr_on_plateau_min_delta_and_mode():
    rl = cbs.ReduceLROnPlateau(monitor="val_accuracy", factor=0.1, patience=1, min_delta=0.05)
    model, _, _ = run([rl], losses(0.5, 0.53, 0.6, key="val_accuracy"), model=FakeModel(lr=1.0))
    # 0.53 is not 0.05 better than 0.5 -> reduce after epoch 1; 0.6 improves.
    assert model.optimizer.learning_rate == pytest.approx(0.1)
    with pytest.raises(ValueError, match="factor must be in"):
        cbs.ReduceLROnPlateau(factor=1.0)
    with pytest.warns(UserWarning, match="Learning rate reduction is conditioned"):
        run([cbs.ReduceLROnPlateau()], losses(1.0, key="loss"))


def test_learning_rate_scheduler():
    two = cbs.LearningRateScheduler(lambda epoch, lr: lr * 0.5 if epoch >= 2 else lr)
    model, _, history = run([two], losses(1, 1, 1, 1), model=FakeModel(lr=0.8))
    assert history.history["learning_rate"] == [0.8, 0.8, 0.4, 0.2]
    assert model.optimizer.learning_rate == 0.2
    one = cbs.LearningRateScheduler(lambda epoch: 0.1 / (epoch + 1))
    _, _, history = run([one], losses(1, 1, 1))
    np.testing.assert_allclose(history.history["learning_rate"], [0.1, 0.05, 0.1 / 3])
    for bad in ("0.1", float("nan"), -1.0, None):
        with pytest.raises(ValueError, match=r"schedule\(0\) must return"):
            run([cbs.LearningRateScheduler(lambda epoch, lr, bad=bad: bad)], losses(1))


def test_model_checkpoint_every_epoch_formats_path(tmp_path):
    pattern = str(tmp_path / "ck" / "m-{epoch:02d}-{val_loss:.2f}.onnx")
    mc = cbs.ModelCheckpoint(pattern)
    model, _, _ = run([mc], losses(0.5, 0.25))
    assert model.saved == [("model", str(tmp_path / "ck" / "m-01-0.50.onnx")),
                           ("model", str(tmp_path / "ck" / "m-02-0.25.onnx"))]
    assert (tmp_path / "ck").is_dir()                    # the folder is made for the model
    with pytest.raises(KeyError, match="no value for 'acc'"):
        run([cbs.ModelCheckpoint("m-{acc}.onnx")], losses(0.5))


def test_model_checkpoint_save_best_only():
    mc = cbs.ModelCheckpoint("best-{epoch}.w", save_best_only=True, save_weights_only=True)
    model, _, _ = run([mc], losses(0.9, 0.7, 0.8, 0.6, 0.6))
    assert model.saved == [("weights", "best-1.w"), ("weights", "best-2.w"),
                           ("weights", "best-4.w")]
    mc = cbs.ModelCheckpoint("acc.onnx", monitor="val_accuracy", save_best_only=True,
                             initial_value_threshold=0.6)
    model, _, _ = run([mc], losses(0.5, 0.7, 0.65, 0.71, key="val_accuracy"))
    assert model.saved == [("model", "acc.onnx")] * 2 and mc.best == 0.71
    with pytest.warns(UserWarning, match="ModelCheckpoint is conditioned on metric `val_loss`"):
        model, _, _ = run([cbs.ModelCheckpoint("m", save_best_only=True)], losses(1, key="loss"))
    assert model.saved == []


def test_csv_logger(tmp_path):
    path = tmp_path / "log.csv"
    logs = [{"loss": 0.5, "accuracy": 0.75}, {"loss": 0.25, "accuracy": 0.875}]
    run([cbs.CSVLogger(path)], logs)
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    # Sorted keys, and val_ columns prepared for validation that has not run yet.
    assert rows == [["epoch", "accuracy", "loss", "val_accuracy", "val_loss"],
                    ["0", "0.75", "0.5", "NA", "NA"], ["1", "0.875", "0.25", "NA", "NA"]]
    # Appending adds rows without a second header; another separator.
    run([cbs.CSVLogger(path, append=True)], logs[:1])
    assert path.read_text().splitlines()[-1] == "0,0.75,0.5,NA,NA"
    assert path.read_text().count("epoch") == 1
    run([cbs.CSVLogger(path, separator=";")], [{"loss": 1.0, "val_loss": 2.0, "f": [1, 2]}])
    assert path.read_text().splitlines() == ["epoch;f;loss;val_loss", '0;[1, 2];1.0;2.0']


def test_terminate_on_nan_stops_mid_epoch(capsys):
    batches = {0: [{"loss": 1.0}] * 3, 1: [{"loss": 1.0}, {"loss": math.nan}, {"loss": 1.0}]}
    seen = []
    count = cbs.LambdaCallback(on_train_batch_end=lambda b, logs: seen.append(b))
    model, ran, _ = run([cbs.TerminateOnNaN(), count], losses(1, 1, 1), batch_logs=batches)
    assert model.stop_training and ran == [0, 1] and seen == [0, 1, 2, 0, 1]
    assert "Batch 1: Invalid loss, terminating training" in capsys.readouterr().out
    model, ran, _ = run([cbs.TerminateOnNaN()], losses(1, 1),
                        batch_logs={0: [{"loss": math.inf}]})
    assert model.stop_training and ran == [0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model, ran, _ = run([cbs.TerminateOnNaN()], losses(1, 1), batch_logs={0: [{"acc": 1}]})
    assert not model.stop_training and ran == [0, 1]
