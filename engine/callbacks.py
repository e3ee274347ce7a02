"""Training callbacks with Keras names, hooks and semantics.

The trainer calls the hooks of a :class:`CallbackList`. Callbacks use only this much of the
model: ``model.stop_training`` (bool), ``model.optimizer.learning_rate`` (float, settable),
``model.get_weights()`` / ``model.set_weights(list)``, ``model.save(path)`` and
``model.save_weights(path)``. Epoch and batch numbers are 0-based in every hook; file names
and messages show epochs 1-based, as Keras does. A hook's ``logs`` dict is shared by all the
callbacks of one call, so a value one callback adds (``learning_rate``) is seen by the next.
"""
import collections.abc
import csv
import inspect
import math
import os
import time
import warnings

import numpy as np


class Callback:
    """Base class: every hook does nothing. ``model`` and ``params`` (a dict such as
    ``{"epochs": 10, "steps": 57, "verbose": 1}``) are set by the trainer."""

    def __init__(self):
        self.model = None
        self.params = {}

    def set_params(self, params):
        self.params = params

    def set_model(self, model):
        self.model = model

    def on_train_begin(self, logs=None):
        pass

    def on_train_end(self, logs=None):
        pass

    def on_epoch_begin(self, epoch, logs=None):
        pass

    def on_epoch_end(self, epoch, logs=None):
        pass

    # on_batch_* are the older names of the training batch hooks; subclasses may override
    # either (as in Keras).
    def on_batch_begin(self, batch, logs=None):
        pass

    def on_batch_end(self, batch, logs=None):
        pass

    def on_train_batch_begin(self, batch, logs=None):
        self.on_batch_begin(batch, logs=logs)

    def on_train_batch_end(self, batch, logs=None):
        self.on_batch_end(batch, logs=logs)

    def on_test_begin(self, logs=None):
        pass

    def on_test_end(self, logs=None):
        pass

    def on_test_batch_begin(self, batch, logs=None):
        pass

    def on_test_batch_end(self, batch, logs=None):
        pass

    def on_predict_begin(self, logs=None):
        pass

    def on_predict_end(self, logs=None):
        pass

    def on_predict_batch_begin(self, batch, logs=None):
        pass

    def on_predict_batch_end(self, batch, logs=None):
        pass


_HOOKS = tuple(name for name in vars(Callback) if name.startswith("on_"))


class CallbackList(Callback):
    """Calls each hook on every callback, in order. With ``add_history`` a :class:`History`
    is appended unless one is already in the list; ``history`` is that callback."""

    def __init__(self, callbacks=None, add_history=False, model=None, **params):
        super().__init__()
        self.callbacks = list(callbacks or [])
        for cb in self.callbacks:
            if not isinstance(cb, Callback):
                raise TypeError(f"CallbackList: expected Callback objects, got "
                                f"{type(cb).__name__}")
        self.history = next((cb for cb in self.callbacks if isinstance(cb, History)), None)
        if self.history is None and add_history:
            self.history = History()
            self.callbacks.append(self.history)
        if model is not None:
            self.set_model(model)
        if params:
            self.set_params(params)

    def append(self, callback):
        self.callbacks.append(callback)
        if self.model is not None:
            callback.set_model(self.model)
        if self.params:
            callback.set_params(self.params)

    def set_params(self, params):
        super().set_params(params)
        for cb in self.callbacks:
            cb.set_params(params)

    def set_model(self, model):
        super().set_model(model)
        for cb in self.callbacks:
            cb.set_model(model)

    def __iter__(self):
        return iter(self.callbacks)


def _forward(hook):
    # Every callback of one call gets the same logs dict (a new one when none is given), so
    # values added by one callback reach the next; logs go positionally, as Keras passes them.
    if len(inspect.signature(getattr(Callback, hook)).parameters) == 3:   # self, index, logs
        def call_all(self, index, logs=None):
            logs = {} if logs is None else logs
            for cb in self.callbacks:
                getattr(cb, hook)(index, logs)
    else:
        def call_all(self, logs=None):
            logs = {} if logs is None else logs
            for cb in self.callbacks:
                getattr(cb, hook)(logs)
    call_all.__name__ = hook
    return call_all


for _hook in _HOOKS:
    setattr(CallbackList, _hook, _forward(_hook))


class History(Callback):
    """Records the logs of every epoch: ``history`` maps each key to its list of values
    and ``epoch`` lists the epoch numbers."""

    def __init__(self):
        super().__init__()
        self.history = {}
        self.epoch = []

    def on_train_begin(self, logs=None):
        self.epoch = []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)


# ------------------------------------------------------------ monitoring

_MAXIMIZED_PREFIXES = ("auc", "prc", "precision", "recall", "f1", "fbeta", "r2",
                       "true_positives", "true_negatives")


def _monitor_op(owner, monitor, mode):
    """np.greater when larger values of ``monitor`` are better, else np.less. "auto" decides
    by the name (without "val_"): accuracies, AUC, precision, recall and F-scores grow."""
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"{owner}: mode must be 'auto', 'min' or 'max', got {mode!r}")
    if mode == "auto":
        name = monitor[4:] if monitor.startswith("val_") else monitor
        mode = "max" if "acc" in name or name.startswith(_MAXIMIZED_PREFIXES) else "min"
    return np.greater if mode == "max" else np.less


def _monitored(owner, monitor, logs):
    value = (logs or {}).get(monitor)
    if value is None:
        warnings.warn(f"{owner} is conditioned on metric `{monitor}` which is not available. "
                      f"Available metrics are: {','.join(logs or {})}", stacklevel=3)
    return value


class EarlyStopping(Callback):
    """Stops training once ``monitor`` has not improved by more than ``min_delta`` for
    ``patience`` epochs.

    An epoch improves on the best so far when it beats it by more than ``min_delta``. The
    count of epochs since the last improvement restarts only when an improvement also beats
    ``baseline`` (when given), and training stops at an epoch without improvement once the
    count reaches ``patience`` (so patience 0 and 1 both stop at the first such epoch, as in
    Keras). Epochs before ``start_from_epoch`` are ignored. With ``restore_best_weights`` the
    weights of the best epoch are put back at the end of training (those of the first
    monitored epoch if none improved).
    """

    def __init__(self, monitor="val_loss", min_delta=0, patience=0, verbose=0, mode="auto",
                 baseline=None, restore_best_weights=False, start_from_epoch=0):
        super().__init__()
        self.monitor, self.patience, self.verbose = monitor, patience, verbose
        self.baseline, self.restore_best_weights = baseline, restore_best_weights
        self.start_from_epoch = start_from_epoch
        self.monitor_op = _monitor_op("EarlyStopping", monitor, mode)
        # Signed so that "current - min_delta beats best" reads the same in both directions.
        self.min_delta = abs(min_delta) * (1 if self.monitor_op is np.greater else -1)
        self._reset()

    def _reset(self):
        self.wait = 0
        self.stopped_epoch = 0
        self.best = None
        self.best_weights = None
        self.best_epoch = 0

    def on_train_begin(self, logs=None):
        self._reset()

    def _is_improvement(self, value, reference):
        return reference is None or bool(self.monitor_op(value - self.min_delta, reference))

    def on_epoch_end(self, epoch, logs=None):
        current = _monitored("Early stopping", self.monitor, logs)
        if current is None or epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights = self._weights()
            self.best_epoch = epoch
        self.wait += 1
        if self._is_improvement(current, self.best):
            self.best = current
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = self._weights()
            if self.baseline is None or self._is_improvement(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def _weights(self):
        # Copies: the model may hand out views of buffers that later steps overwrite.
        return [np.array(w, copy=True) for w in self.model.get_weights()]

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose > 0:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                print(f"Restoring model weights from the end of the best epoch: "
                      f"{self.best_epoch + 1}.")
            self.model.set_weights(self.best_weights)


class ModelCheckpoint(Callback):
    """Saves the model (``model.save``) or its weights (``model.save_weights``) after every
    epoch, or with ``save_best_only`` only when ``monitor`` improved on the best so far
    (and on ``initial_value_threshold`` when given).

    ``filepath`` may hold format fields: ``{epoch:02d}`` (1-based) and any key of the
    epoch's logs, e.g. ``"ckpt-{epoch:02d}-{val_loss:.3f}.onnx"``. Missing folders are made.
    """

    def __init__(self, filepath, monitor="val_loss", verbose=0, save_best_only=False,
                 save_weights_only=False, mode="auto", initial_value_threshold=None):
        super().__init__()
        self.filepath = os.fspath(filepath)
        self.monitor, self.verbose = monitor, verbose
        self.save_best_only, self.save_weights_only = save_best_only, save_weights_only
        self.monitor_op = _monitor_op("ModelCheckpoint", monitor, mode)
        if initial_value_threshold is not None:
            self.best = initial_value_threshold
        else:
            self.best = -np.inf if self.monitor_op is np.greater else np.inf

    def _file_path(self, epoch, logs):
        try:
            return self.filepath.format(**{**logs, "epoch": epoch + 1})
        except (KeyError, IndexError) as e:
            raise KeyError(f"ModelCheckpoint: cannot format filepath '{self.filepath}': no "
                           f"value for {e} among epoch, {', '.join(logs)}") from None

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        path = self._file_path(epoch, logs)
        if self.save_best_only:
            current = _monitored("ModelCheckpoint", self.monitor, logs)
            if current is None:
                return
            if not self.monitor_op(current, self.best):
                if self.verbose > 0:
                    print(f"\nEpoch {epoch + 1}: {self.monitor} did not improve from "
                          f"{self.best:.5f}")
                return
            if self.verbose > 0:
                print(f"\nEpoch {epoch + 1}: {self.monitor} improved from {self.best:.5f} to "
                      f"{current:.5f}, saving model to {path}")
            self.best = current
        folder = os.path.dirname(path)
        if folder:
            os.makedirs(folder, exist_ok=True)
        if self.save_weights_only:
            self.model.save_weights(path)
        else:
            self.model.save(path)


class ReduceLROnPlateau(Callback):
    """Multiplies the learning rate by ``factor`` (not below ``min_lr``) once ``monitor``
    has not improved by more than ``min_delta`` for ``patience`` epochs, then waits
    ``cooldown`` epochs before counting again. Adds ``learning_rate`` to the epoch's logs."""

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, verbose=0, mode="auto",
                 min_delta=1e-4, cooldown=0, min_lr=0.0):
        super().__init__()
        if not 0.0 < factor < 1.0:
            raise ValueError(f"ReduceLROnPlateau: factor must be in (0, 1), got {factor}")
        self.monitor, self.factor, self.patience, self.verbose = monitor, factor, patience, verbose
        self.min_delta, self.cooldown, self.min_lr = min_delta, cooldown, min_lr
        op = _monitor_op("ReduceLROnPlateau", monitor, mode)
        if op is np.greater:
            self.monitor_op = lambda a, b: a > b + self.min_delta
            self._worst = -np.inf
        else:
            self.monitor_op = lambda a, b: a < b - self.min_delta
            self._worst = np.inf
        self._reset()

    def _reset(self):
        self.best = self._worst
        self.wait = 0
        self.cooldown_counter = 0

    def on_train_begin(self, logs=None):
        self._reset()

    def in_cooldown(self):
        return self.cooldown_counter > 0

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        logs["learning_rate"] = float(self.model.optimizer.learning_rate)
        current = _monitored("Learning rate reduction", self.monitor, logs)
        if current is None:
            return
        if self.in_cooldown():
            self.cooldown_counter -= 1
            self.wait = 0
        if self.monitor_op(current, self.best):
            self.best = current
            self.wait = 0
        elif not self.in_cooldown():
            self.wait += 1
            if self.wait >= self.patience:
                old_lr = float(self.model.optimizer.learning_rate)
                # Compare in float32, the precision optimizers keep the rate in.
                if np.float32(old_lr) > np.float32(self.min_lr):
                    new_lr = max(old_lr * self.factor, self.min_lr)
                    self.model.optimizer.learning_rate = new_lr
                    if self.verbose > 0:
                        print(f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing learning rate "
                              f"to {new_lr}.")
                    self.cooldown_counter = self.cooldown
                    self.wait = 0


class LearningRateScheduler(Callback):
    """Sets the learning rate at the start of each epoch to ``schedule(epoch, lr)`` (or
    ``schedule(epoch)`` for a one-argument function), epoch 0-based. Adds ``learning_rate``
    to the epoch's logs."""

    def __init__(self, schedule, verbose=0):
        super().__init__()
        if not callable(schedule):
            raise TypeError(f"LearningRateScheduler: schedule must be callable, got "
                            f"{type(schedule).__name__}")
        self.schedule, self.verbose = schedule, verbose
        self._takes_lr = _positional_count(schedule) != 1

    def on_epoch_begin(self, epoch, logs=None):
        lr = float(self.model.optimizer.learning_rate)
        new_lr = self.schedule(epoch, lr) if self._takes_lr else self.schedule(epoch)
        if isinstance(new_lr, (bool, np.bool_)) or not isinstance(new_lr, (int, float, np.number)) \
                or not math.isfinite(new_lr) or new_lr < 0:
            raise ValueError(f"LearningRateScheduler: schedule({epoch}) must return a finite "
                             f"non-negative float, got {new_lr!r}")
        self.model.optimizer.learning_rate = float(new_lr)
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to "
                  f"{float(new_lr)}.")

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = float(self.model.optimizer.learning_rate)


def _positional_count(fn):
    """How many positional arguments ``fn`` accepts (2 when it cannot be told)."""
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return 2
    kinds = [p.kind for p in params]
    if inspect.Parameter.VAR_POSITIONAL in kinds:
        return 2
    return sum(k in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
               for k in kinds)


class CSVLogger(Callback):
    """Writes one row per epoch to a CSV file: ``epoch`` (0-based) then the log keys in
    sorted order, fixed by the first epoch. If that epoch has no ``val_`` keys, a ``val_``
    column is added for each key (filled with "NA" until validation runs), as Keras does.
    With ``append`` rows go after an existing file's, without a second header."""

    chief_only = True  # under engine.distribute.DataParallel, only rank 0 writes

    def __init__(self, filename, separator=",", append=False):
        super().__init__()
        self.filename, self.sep, self.append = os.fspath(filename), separator, append
        self.keys = None
        self.writer = None
        self.csv_file = None

    def on_train_begin(self, logs=None):
        self.append_header = True
        if self.append and os.path.exists(self.filename):
            with open(self.filename, newline="") as f:
                self.append_header = not f.readline()
        self.csv_file = open(self.filename, "a" if self.append else "w", newline="")
        self.keys = None
        self.writer = None

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.keys is None:
            self.keys = sorted(logs)
            if not any(k.startswith("val_") for k in self.keys):
                self.keys += ["val_" + k for k in self.keys]
        if self.writer is None:
            self.writer = csv.DictWriter(self.csv_file, fieldnames=["epoch"] + self.keys,
                                         delimiter=self.sep, lineterminator="\n")
            if self.append_header:
                self.writer.writeheader()
        row = {"epoch": epoch}
        row.update((k, _csv_value(logs.get(k, "NA"))) for k in self.keys)
        self.writer.writerow(row)
        self.csv_file.flush()

    def on_train_end(self, logs=None):
        if self.csv_file is not None:
            self.csv_file.close()
        self.csv_file = None
        self.writer = None


def _csv_value(value):
    if isinstance(value, str) or (isinstance(value, np.ndarray) and value.ndim == 0):
        return value
    if isinstance(value, collections.abc.Iterable):
        return f"[{', '.join(map(str, value))}]"
    return value


class TerminateOnNaN(Callback):
    """Stops training as soon as a batch's loss is NaN or infinite."""

    def on_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not np.all(np.isfinite(loss)):
            print(f"Batch {batch}: Invalid loss, terminating training")
            self.model.stop_training = True


class LambdaCallback(Callback):
    """A callback built from functions: ``LambdaCallback(on_epoch_end=lambda epoch, logs:
    ...)``. Any hook may be given; the others do nothing."""

    def __init__(self, **hooks):
        super().__init__()
        for name, fn in hooks.items():
            if name not in _HOOKS:
                raise ValueError(f"LambdaCallback: unknown hook {name!r}; hooks are "
                                 f"{', '.join(_HOOKS)}")
            if fn is not None:
                if not callable(fn):
                    raise TypeError(f"LambdaCallback: {name} must be callable")
                setattr(self, name, fn)


class TensorBoard(Callback):
    """Writes TensorBoard event files, as Keras's TensorBoard callback: view them with
    ``tensorboard --logdir LOG_DIR``.

    - ``LOG_DIR/train``: ``epoch_<name>`` for every training log of an epoch (loss, metrics)
      plus ``epoch_learning_rate``, at step = epoch (0-based); with ``update_freq`` an integer
      N (or "batch", N = 1), ``batch_<name>`` every N training batches, at step = the number
      of batches trained since fit began; with ``histogram_freq`` N, a histogram
      ``<weight name>/histogram`` of every weight every N epochs; with ``write_graph``, the
      model graph (the exported ONNX graph, converted by tensorboardX; needs the ``onnx``
      package, else a warning).
    - ``LOG_DIR/validation``: ``epoch_<name>`` for every ``val_<name>`` log, at step = epoch,
      and, with an integer ``update_freq``, ``evaluation_<name>_vs_iterations`` at step = the
      optimizer's iterations.

    Values are written as float32, TensorBoard's scalar type. The event files are written
    with tensorboardX (``pip install engine[tensorboard]``). ``profile_batch``,
    ``embeddings_freq`` and ``write_images`` exist for Keras compatibility; the engine has
    no profiler, embeddings projector or weight images, and refuses other values than
    their defaults."""

    chief_only = True  # under engine.distribute.DataParallel, only rank 0 writes

    _files_opened = 0

    def __init__(self, log_dir="logs", histogram_freq=0, write_graph=True, write_images=False,
                 write_steps_per_second=False, update_freq="epoch", profile_batch=0, embeddings_freq=0,
                 embeddings_metadata=None):
        super().__init__()
        try:
            import tensorboardX  # noqa: F401
        except ImportError:
            raise ImportError("TensorBoard: writing event files needs tensorboardX: "
                              "pip install tensorboardX (or the engine[tensorboard] extra)") from None
        self.log_dir = os.fspath(log_dir)
        if isinstance(histogram_freq, bool) or not isinstance(histogram_freq, int) or histogram_freq < 0:
            raise ValueError(f"TensorBoard: histogram_freq must be a non-negative integer, got {histogram_freq!r}")
        if update_freq == "batch":
            update_freq = 1
        if update_freq != "epoch" and (isinstance(update_freq, bool) or not isinstance(update_freq, int)
                                       or update_freq < 1):
            raise ValueError(f"TensorBoard: update_freq must be 'epoch', 'batch' or a positive integer, "
                             f"got {update_freq!r}")
        for name, value, default in (("profile_batch", profile_batch, 0), ("embeddings_freq", embeddings_freq, 0),
                                     ("write_images", write_images, False)):
            if value != default and not (name == "profile_batch" and value in (None, (0, 0))):
                raise ValueError(f"TensorBoard: {name}={value!r} is not supported by the engine; leave it at "
                                 f"{default!r}")
        self.histogram_freq = histogram_freq
        self.write_graph = bool(write_graph)
        self.write_steps_per_second = bool(write_steps_per_second)
        self.update_freq = update_freq
        self.embeddings_metadata = embeddings_metadata
        self._writers = {}
        self._global_train_batch = 0

    def _writer(self, run):
        # One writer per run folder, opened when first needed (a fit without validation
        # leaves no empty "validation" run behind).
        if run not in self._writers:
            from tensorboardX import SummaryWriter

            # tensorboardX names a file by the second it was opened and the host, so a second
            # fit in the same second would overwrite the first's file: a process id and a
            # counter (zero-padded, so the names sort in opening order) keep them apart.
            TensorBoard._files_opened += 1
            suffix = f".{os.getpid()}.{TensorBoard._files_opened:06d}.engine"
            self._writers[run] = SummaryWriter(logdir=os.path.join(self.log_dir, run), filename_suffix=suffix)
        return self._writers[run]

    def _close_writers(self):
        for writer in self._writers.values():
            writer.close()
        self._writers = {}

    def on_train_begin(self, logs=None):
        self._close_writers()
        self._global_train_batch = 0
        self._writer("train")
        if self.write_graph:
            self._write_graph()

    def _write_graph(self):
        import contextlib
        import io
        import tempfile

        try:
            import onnx  # noqa: F401
        except ImportError:
            warnings.warn("TensorBoard: the model graph was not written: converting it needs the onnx "
                          "package (pip install onnx)", stacklevel=3)
            return
        from engine import onnx as _onnx

        with tempfile.TemporaryDirectory(prefix="engine-tensorboard-") as folder:
            path = os.path.join(folder, "model.onnx")
            try:
                _onnx.export(self.model, path)
            except Exception as e:  # a graph that cannot be exported is no reason to stop training
                warnings.warn(f"TensorBoard: the model graph was not written: ONNX export failed: {e}",
                              stacklevel=3)
                return
            # tensorboardX prints every node name while converting: keep the console clean.
            with contextlib.redirect_stdout(io.StringIO()):
                self._writer("train").add_onnx_graph(path)

    def on_train_batch_begin(self, batch, logs=None):
        self._global_train_batch += 1
        if self.write_steps_per_second:
            self._batch_start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        if self.update_freq == "epoch" or self._global_train_batch % self.update_freq != 0:
            return
        writer = self._writer("train")
        step = self._global_train_batch
        for name, value in (logs or {}).items():
            if _is_scalar(value):
                writer.add_scalar("batch_" + name, float(value), step)
        if self.write_steps_per_second:
            elapsed = time.perf_counter() - self._batch_start
            if elapsed > 0:
                writer.add_scalar("batch_steps_per_second", 1.0 / elapsed, step)

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_start = time.perf_counter()
        self._epoch_first_batch = self._global_train_batch

    def on_epoch_end(self, epoch, logs=None):
        logs = dict(logs or {})
        train = {k: v for k, v in logs.items() if not k.startswith("val_") and _is_scalar(v)}
        val = {k[4:]: v for k, v in logs.items() if k.startswith("val_") and _is_scalar(v)}
        optimizer = getattr(self.model, "optimizer", None)
        if "learning_rate" not in train and optimizer is not None:
            train["learning_rate"] = float(optimizer.learning_rate)
        if self.write_steps_per_second:
            elapsed = time.perf_counter() - getattr(self, "_epoch_start", time.perf_counter())
            steps = self._global_train_batch - getattr(self, "_epoch_first_batch", 0)
            if elapsed > 0:
                train["steps_per_second"] = steps / elapsed
        writer = self._writer("train")
        for name, value in train.items():
            writer.add_scalar("epoch_" + name, float(value), epoch)
        if val:
            val_writer = self._writer("validation")
            for name, value in val.items():
                val_writer.add_scalar("epoch_" + name, float(value), epoch)
            if self.update_freq != "epoch" and optimizer is not None:
                for name, value in val.items():
                    val_writer.add_scalar(f"evaluation_{name}_vs_iterations", float(value),
                                          int(optimizer.iterations))
        if self.histogram_freq and epoch % self.histogram_freq == 0:
            for weight in self.model.weights:
                writer.add_histogram(weight.name.replace(":", "_") + "/histogram",
                                     np.asarray(weight.numpy(), dtype=np.float64), epoch)
        for w in self._writers.values():
            w.flush()

    def on_train_end(self, logs=None):
        self._close_writers()


def _is_scalar(value):
    return isinstance(value, (int, float, np.number)) and not isinstance(value, bool) or \
        (isinstance(value, np.ndarray) and value.size == 1)


__all__ = [
    "CSVLogger", "Callback", "CallbackList", "EarlyStopping", "History", "LambdaCallback",
    "LearningRateScheduler", "ModelCheckpoint", "ReduceLROnPlateau", "TensorBoard", "TerminateOnNaN",
]
