"""compile / fit / evaluate / train_on_batch / value_and_grad for engine models.

A compiled model owns a second core graph: the model's graph plus, for each output with a
loss, a target input and the loss nodes, combined into one scalar "loss" value. One
training step is one call into C++ (forward, loss, backward, gradient clipping and the
optimizer update); Python drives epochs, batching, callbacks and metrics.

The loss of a batch is sum_i(sample_weight_i * loss_i) / batch_size for each output (Keras's
"sum_over_batch_size"), times its loss weight, summed over the outputs. An output that carries
a mask (Keras 3) has a loss per position of the mask and the mean over its valid positions,
sum_p(sample_weight_n(p) * mask_p * loss_p) / sum_p(mask_p); the mask also comes out of the
graph for the metrics (see engine.losses and engine.metrics).
"""
import math
import sys
import time

import numpy as np

from engine import _random
from engine import activations as _activations
from engine import callbacks as _callbacks
from engine import distribute as _distribute
from engine import losses as _losses
from engine import metrics as _metrics
from engine.data import _adapter as _data
from engine import optimizers as _optimizers
from engine.layers import _args

LOSS = "loss"


def _as_list(x):
    return list(x) if isinstance(x, (list, tuple)) else [x]


def _require_samples(model, n, what):
    """An empty batch would still step the optimizer (its iteration count, Adam's moments)
    and report a loss of 0 or NaN."""
    if n == 0:
        raise ValueError(f"{model.name}: {what} has 0 samples; it needs at least one")


def _per_output(model, value, what):
    """Normalises a loss / metrics / weights spec to one entry per model output."""
    names = [t.layer_name for t in model.outputs]
    n = len(model.outputs)
    if isinstance(value, dict):
        unknown = set(value) - set(names)
        if unknown:
            raise ValueError(f"compile: {what} names unknown outputs {sorted(unknown)}; outputs: {names}")
        return [value.get(name) for name in names]
    lists = what in ("metrics", "weighted_metrics")  # a list of metrics for every output, or one per output
    if isinstance(value, (list, tuple)) and not lists:
        if len(value) != n:
            raise ValueError(f"compile: {what} has {len(value)} entries for {n} outputs")
        return list(value)
    if lists and isinstance(value, (list, tuple)) and n > 1 and \
            all(isinstance(v, (list, tuple)) for v in value):
        if len(value) != n:
            raise ValueError(f"compile: {what} has {len(value)} lists for {n} outputs")
        return list(value)
    return [value] * n


class _Progress:
    """Keras-like progress output: a bar per epoch (verbose=1) or one line (verbose=2)."""

    def __init__(self, verbose, steps):
        self.verbose = verbose
        self.steps = steps
        self.tty = sys.stdout.isatty()
        self.start = time.time()
        self.last = 0.0

    @staticmethod
    def _format(logs):
        return " - ".join(f"{k}: {v:.4f}" for k, v in logs.items() if isinstance(v, (int, float)))

    def update(self, step, logs):
        if self.verbose != 1 or not self.tty:
            return
        now = time.time()
        if now - self.last < 0.1 and step != self.steps:
            return
        self.last = now
        elapsed = now - self.start
        width = 20
        if self.steps:
            done = int(width * step / self.steps)
            eta = elapsed / max(step, 1) * (self.steps - step)
            bar = "━" * done + "─" * (width - done)
            text = f"\r{step}/{self.steps} {bar} {eta:.0f}s - {self._format(logs)}"
        else:
            text = f"\r{step} steps - {elapsed:.0f}s - {self._format(logs)}"
        sys.stdout.write(text + " " * 4)
        sys.stdout.flush()

    def finish(self, step, logs):
        if self.verbose == 0:
            return
        elapsed = time.time() - self.start
        per_step = elapsed / max(step, 1) * 1000
        line = f"{step}/{self.steps or step} - {elapsed:.0f}s {per_step:.0f}ms/step - {self._format(logs)}"
        if self.verbose == 1 and self.tty:
            sys.stdout.write("\r" + line + " " * 8 + "\n")
        else:
            print(line)
        sys.stdout.flush()


class _Batches:
    """Batches of (inputs, targets, sample weights) from arrays or from an iterable (an
    engine.data.Dataset, a generator, a PyTorch DataLoader, a PyDataset-like object), whose
    next batch is read and converted on a background thread while the current step runs.
    close() stops that thread; fit, evaluate and predict call it when they end."""

    def __init__(self, model, x, y, sample_weight, batch_size, shuffle, class_weight, steps, what,
                 convert=None, strategy=None):
        self.model = model
        self.strategy = strategy
        self.steps = None if steps is None else _args.positive_int(model, "steps", steps)
        self.class_weight = class_weight
        self.what = what
        if _is_iterable_source(x):
            if y is not None:
                raise ValueError(f"{what}: pass the targets inside the batches when x is a dataset, "
                                 "generator or iterable (y must be None)")
            if sample_weight is not None:
                raise ValueError(f"{what}: pass sample weights inside the batches, as (x, y, sample_weight), "
                                 "when x is a dataset, generator or iterable")
            self.arrays = None
            self.source = _data.SourceBatches(x, self.steps, convert or self._from_tuple, what)
            if self.steps is None:
                self.steps = _data.source_length(x)
            return
        self.source = None
        self.inputs = model._prepare_inputs(x)
        n = self.inputs[0].shape[0]
        _require_samples(model, n, what)
        self.targets = model._prepare_targets(y, n) if y is not None else None
        self.sample_weight = None if sample_weight is None else np.asarray(sample_weight, np.float32).reshape(-1)
        if self.sample_weight is not None and self.sample_weight.shape[0] != n:
            raise ValueError(f"sample_weight has {self.sample_weight.shape[0]} values for {n} samples")
        self.n = n
        self.batch_size = 32 if batch_size is None else _args.positive_int(model, "batch_size", batch_size)
        self.shuffle = shuffle
        self.arrays = True
        if steps is None:
            ranks = 1 if strategy is None else strategy.size
            self.steps = math.ceil(n / (self.batch_size * ranks))

    def epoch(self):
        if self.source is not None:
            yield from self.source.epoch()
            return
        order = _random.generator().permutation(self.n) if self.shuffle else np.arange(self.n)
        for step in range(self.steps):
            idx = order[step * self.batch_size:(step + 1) * self.batch_size]
            if idx.size == 0:
                break
            if not self.shuffle:
                idx = slice(idx[0], idx[-1] + 1)
            yield self._rows(idx)

    def shards(self):
        """(xs, ys, sw, samples): this rank's part of each global batch under a DataParallel
        strategy (engine.distribute), or the whole batch. With arrays a global batch holds
        batch_size rows per rank, in an order rank 0 draws; a batch from a source is the
        global batch. A rank whose part is empty gets the batch's first row and samples 0,
        so that it still takes part in the step's all-reduce."""
        strategy = self.strategy
        if strategy is None:
            for xs, ys, sw in self.epoch():
                yield xs, ys, sw, xs[0].shape[0]
            return
        if self.source is not None:
            for xs, ys, sw in self.source.epoch():
                start, stop = strategy.shard(xs[0].shape[0])
                rows = slice(start, stop) if stop > start else slice(0, 1)
                yield ([a[rows] for a in xs], None if ys is None else [t[rows] for t in ys],
                       None if sw is None else sw[rows], stop - start)
            return
        size = self.batch_size * strategy.size
        order = np.arange(self.n)
        if self.shuffle:
            drawn = _random.generator().permutation(self.n) if strategy.is_chief else order
            order = strategy.broadcast(drawn.astype(np.int64))
        for step in range(self.steps):
            batch = order[step * size:(step + 1) * size]
            if batch.size == 0:
                break
            start, stop = strategy.shard(batch.size)
            idx = batch[start:stop] if stop > start else batch[:1]
            yield (*self._rows(idx), stop - start)

    def _rows(self, idx):
        """(xs, ys, sw) of the arrays' rows idx (indices or a slice)."""
        xs = [a[idx] for a in self.inputs]
        ys = None if self.targets is None else [t[idx] for t in self.targets]
        sw = None if self.sample_weight is None else self.sample_weight[idx]
        return xs, ys, sw

    def close(self):
        if self.source is not None:
            self.source.close()

    def _from_tuple(self, batch):
        # Lists too: a PyTorch DataLoader collates (x, y) into [x, y].
        if not isinstance(batch, (tuple, list)) or len(batch) not in (2, 3):
            got = f"a {type(batch).__name__} of {len(batch)}" if isinstance(batch, (tuple, list)) \
                else f"{type(batch).__name__}"
            raise ValueError(f"{self.what}: each batch must be a tuple (x, y) or (x, y, sample_weight), got {got}")
        x, y = batch[0], batch[1]
        sw = batch[2] if len(batch) == 3 else None
        xs = self.model._prepare_inputs(x)
        n = xs[0].shape[0]
        _require_samples(self.model, n, f"a batch of {self.what}")
        ys = self.model._prepare_targets(y, n)
        return xs, ys, None if sw is None else np.asarray(sw, np.float32).reshape(-1)


def _is_iterable_source(x):
    return _data.is_source(x)


class TrainerMixin:
    """The training half of engine.Model."""

    compiled = False

    def compile(self, optimizer="rmsprop", loss=None, loss_weights=None, metrics=None, device=None,
                weighted_metrics=None):
        """Keras's compile: an optimizer (name or instance), a loss per output (name, Loss,
        list or dict by output name), optional loss weights and metrics. `device` ("cpu",
        "cuda", "cuda:N"; default: where the model is, the CPU unless moved with `to`) is
        where the parameters, optimizer state and every step live."""
        from engine import cuda as _cuda

        device = self._device if device is None else _cuda.resolve_device(device)
        self._strategy = _distribute.current() or getattr(self, "_strategy", None)
        if loss is None:
            raise ValueError("compile: a loss is required")
        if self._builds_on_data():
            # A model not built yet: the outputs the losses attach to come with its first data
            # (Keras builds then too).
            self._pending_compile = dict(optimizer=optimizer, loss=loss, loss_weights=loss_weights,
                                         metrics=metrics, device=device, weighted_metrics=weighted_metrics)
            self.optimizer = _optimizers.get(optimizer)
            self._pending_compile["optimizer"] = self.optimizer
            self.compiled = True
            return
        self.optimizer = _optimizers.get(optimizer)
        self._loss_objects = [None if l is None else _losses.get(l) for l in _per_output(self, loss, "loss")]
        if all(l is None for l in self._loss_objects):
            raise ValueError("compile: every output's loss is None")
        weights = [1.0] * len(self.outputs) if loss_weights is None else _per_output(self, loss_weights, "loss_weights")
        self._loss_weights = [1.0 if w is None else float(w) for w in weights]
        self._metric_specs = _per_output(self, metrics, "metrics") if metrics is not None else [None] * len(self.outputs)
        self._weighted_metric_specs = (_per_output(self, weighted_metrics, "weighted_metrics")
                                       if weighted_metrics is not None else [None] * len(self.outputs))
        self._compile_config = {"optimizer": _optimizers.serialize(self.optimizer),
                                "loss": [None if l is None else {"class_name": type(l).__name__, "config": l.get_config()}
                                         for l in self._loss_objects],
                                "loss_weights": self._loss_weights,
                                "metrics": metrics, "weighted_metrics": weighted_metrics}
        self._place(device)
        self._train_executor = None
        self._train_key = None
        self.compiled = True
        self.stop_training = False

    # --- the training graph ----------------------------------------------------------------
    def _target_spec(self, k):
        loss = self._loss_objects[k]
        shape = tuple(self.outputs[k].shape)
        if isinstance(loss, _losses.SparseCategoricalCrossentropy):
            if self._loss_masks()[k] is not None or self._classes_last(k):  # a label per position
                return shape[:-1], "int64"
            return (shape[0],) + shape[2:], "int64"
        return shape, loss.target_dtype

    def _classes_last(self, k):
        """Whether the cross-entropy of output k takes its classes on the last axis, one loss
        per position before it: a prediction of rank 3 or more whose last layer works on the
        last axis (Dense, TimeDistributed, a softmax over the last axis), as a sequence tagger
        or a character model ends. Convolutions' outputs keep the classes on axis 1 (NCHW)."""
        from engine import layers as L

        loss = self._loss_objects[k]
        if len(self.outputs[k].shape) < 3 or \
                not isinstance(loss, (_losses.SparseCategoricalCrossentropy, _losses.CategoricalCrossentropy)):
            return False
        layer = getattr(self.outputs[k], "_layer", None)
        while isinstance(layer, L.TimeDistributed):
            layer = layer.layer
        if isinstance(layer, L.Dense):
            return True
        if isinstance(layer, L.Softmax):
            rank = len(self.outputs[k].shape)
            return isinstance(layer.axis, int) and layer.axis % rank == rank - 1
        # The engine's softmax activation is over the last axis.
        return isinstance(layer, L.Activation) and _activations.serialize(layer.activation) == "softmax"

    def _loss_masks(self, training=False):
        """The symbolic mask of each output with a loss, None for the others (and for
        outputs that carry none): Keras 3 computes the loss and the mean metrics of a masked
        prediction over its valid positions. The loss is taken per position of the mask, over
        the prediction's last axis, so the mask must have the prediction's shape without it."""
        cache = self.__dict__.setdefault("_loss_mask_cache", {})
        key = (bool(training), tuple(l is None for l in self._loss_objects))
        if key in cache:  # (read for every batch's targets: the walk over the graph is done once)
            return list(cache[key])
        masks = self._output_masks(training)
        for k, (mask, loss) in enumerate(zip(masks, self._loss_objects)):
            if mask is None or loss is None:
                masks[k] = None
                continue
            shape, mask_shape = tuple(self.outputs[k].shape), tuple(mask.shape)
            if not _losses._compatible(mask_shape, shape[:-1]):
                raise ValueError(f"{self.name}: output {self.outputs[k].layer_name!r} of shape {shape} carries "
                                 f"a mask of shape {mask_shape}; a masked loss needs the mask to have the "
                                 "output's shape without its last axis, one value per position")
        cache[key] = list(masks)
        return masks

    def _build_training_graph(self, training=True):
        masks = self._loss_masks(training)
        b, input_names, output_names, mask_names = self._build_graph(training=training, collect_losses=True,
                                                                     masks=masks)
        weight = b.unique("sample_weight")
        b.add_input(weight, [-1], "float32")
        target_names, terms = [], []
        output_terms = []  # (log name, value): each output's own loss, before its loss weight
        for k, (out, loss) in enumerate(zip(output_names, self._loss_objects)):
            if loss is None:
                continue
            shape, dtype = self._target_spec(k)
            target = b.unique(f"target_{k}")
            b.add_input(target, shape, dtype)
            target_names.append(target)
            if mask_names[k] is None and self._classes_last(k):
                term = loss.graph_positions_loss(b, out, target, (self.outputs[k].shape, shape), dtype, weight)
            elif mask_names[k] is None:
                per_sample = loss.graph_loss(b, out, target, (self.outputs[k].shape, shape), dtype)
                # sum_i w_i * loss_i, with w already divided by the batch size.
                term = b.node("MatMul", [per_sample, weight], name=f"{loss.name}_{k}/weighted")[0]
            else:
                term = loss.graph_masked_loss(b, out, target, (self.outputs[k].shape, shape), dtype, weight,
                                              mask_names[k], masks[k].shape)
            output_terms.append((f"{self.outputs[k].layer_name}_loss", term))
            if self._loss_weights[k] != 1.0:
                lw = b.constant(np.array(self._loss_weights[k], np.float32), f"loss_weight_{k}")
                term = b.node("Mul", [term, lw], name=f"{loss.name}_{k}/scaled")[0]
            terms.append(term)
        trainable = {id(v) for v in self.trainable_weights}
        for name, var in b.parameters():
            if var.regularizer is not None and id(var) in trainable:
                penalty = var.regularizer.emit(b, name, var.shape, f"{var.name}/regularizer")
                if penalty is not None:
                    terms.append(penalty)
        terms.extend(b.added_losses)  # add_loss() in the layers' call()
        total = terms[0]
        for t in terms[1:]:
            total = b.node("Add", [total, t], name="loss/sum")[0]
        total = b.node("Identity", [total], name=LOSS)[0]
        # With several losses, Keras also reports each output's: graph outputs before the total.
        self._output_loss_names = [name for name, _ in output_terms] if len(output_terms) > 1 else []
        for _, term in output_terms if self._output_loss_names else []:
            b.add_output(term)
        # The masks of masked outputs come out too, after the losses, for the metrics.
        self._mask_slots = {}
        for k, name in enumerate(mask_names):
            if name is not None:
                if name in input_names:
                    name = b.node("Identity", [name], name=f"output_mask_{k}")[0]
                self._mask_slots[k] = len(b.outputs)  # its place among the fetched values
                b.add_output(name, "bool")
        b.add_output(total)
        return b, input_names, output_names, target_names, weight, total

    def _get_train_executor(self, training=True):
        """The executor of the training graph. A model whose call() branches on `training`
        evaluates on the same graph traced in inference mode."""
        from engine import _core

        if not self.compiled:
            raise RuntimeError(f"{self.name}: call compile() before training or evaluating")
        if not training and self._mode_dependent():
            if self._evaluation_executor is None:
                b = self._build_training_graph(training=False)[0]
                self._evaluation_executor = _core.Executor(b.graph, self._parameter_lock)
            return self._evaluation_executor
        key = self._trainable_state()
        if self._train_executor is None or key != self._train_key:
            b, _, outs, targets, weight, total = self._build_training_graph()
            ex = _core.Executor(b.graph, self._parameter_lock)
            names = {id(var): name for name, var in b.parameters()}
            self._train_variables = [v for v in self.trainable_weights if id(v) in names]
            self._constrained = [v for v in self._train_variables if v.constraint is not None]
            ex.set_optimizer(self.optimizer.core, [names[id(v)] for v in self._train_variables])
            group = self._data_parallel()
            if group is not None:
                ex.set_communicator(group.communicator)
            self._train_executor, self._train_key, self._train_names = ex, key, names
            self._train_outputs, self._train_loss = outs, total
            # The outputs, then each output's loss (several losses) and the masks of masked outputs.
            self._train_fetch = outs + list(b.outputs[len(outs):-1])
        return self._train_executor

    def _prepare_targets(self, y, n):
        with_loss = [k for k, l in enumerate(self._loss_objects) if l is not None]
        names = [self.outputs[k].layer_name for k in with_loss]
        if isinstance(y, dict):
            missing = [nm for nm in names if nm not in y]
            if missing:
                raise ValueError(f"{self.name}: missing targets for outputs {missing}")
            ys = [y[nm] for nm in names]
        elif isinstance(y, (list, tuple)) and len(self.outputs) > 1:
            if len(y) == len(self.outputs):
                ys = [y[k] for k in with_loss]
            elif len(y) == len(with_loss):
                ys = list(y)
            else:
                raise ValueError(f"{self.name}: expected {len(with_loss)} target arrays, got {len(y)}")
        elif isinstance(y, (list, tuple)) and len(y) == 1 and isinstance(y[0], np.ndarray):
            ys = [y[0]]
        else:
            ys = [y]
        out = []
        for k, t in zip(with_loss, ys):
            shape, dtype = self._target_spec(k)
            arr = np.asarray(t)
            if dtype == "int64":
                if arr.dtype.kind == "f" and np.all(arr == np.round(arr)):
                    arr = arr.astype(np.int64)
                if arr.dtype.kind not in "iu":
                    raise TypeError(f"{self.name}: {self._loss_objects[k].name} needs integer class labels, got {arr.dtype}")
                arr = arr.astype(np.int64)
                if arr.ndim == len(shape) + 1 and arr.shape[-1] == 1:
                    arr = arr.reshape(arr.shape[:-1])
            else:
                arr = arr.astype(np.float32)
                if arr.ndim == len(shape) - 1:
                    arr = arr.reshape(arr.shape + (1,))
            if arr.shape[0] != n:
                raise ValueError(f"{self.name}: {arr.shape[0]} targets for {n} samples")
            if arr.ndim != len(shape) or any(s is not None and s != d for s, d in zip(shape[1:], arr.shape[1:])):
                raise ValueError(f"{self.name}: targets for output {k} must have shape "
                                 f"{('N',) + tuple(shape[1:])}, got {arr.shape}")
            out.append(np.ascontiguousarray(arr))
        return out

    def _batch_weights(self, ys, sw, n):
        w = np.ones(n, np.float32) if sw is None else np.asarray(sw, np.float32)
        if self._class_weight is not None:
            labels = ys[0]
            cls = labels if labels.ndim == 1 else (labels.argmax(-1) if labels.shape[-1] > 1 else (labels[:, 0] > 0.5))
            w = w * np.array([self._class_weight.get(int(c), 1.0) for c in cls.reshape(-1)], np.float32)
        return np.ascontiguousarray(w / n, dtype=np.float32)

    def _make_metrics(self, ys_example=None):
        """(output index, log name, metric) of the compiled `metrics`, which ignore sample
        weights as in Keras 3, then of `weighted_metrics`, which use them (their objects
        marked `_weighted`; a name taken by an unweighted metric gets "weighted_")."""
        metrics = []
        for specs, weighted in ((self._metric_specs, False),
                                (getattr(self, "_weighted_metric_specs", None) or [], True)):
            for k, spec in enumerate(specs):
                if spec is None or self._loss_objects[k] is None:
                    continue
                for item in _as_list(spec):
                    shape, _ = self._target_spec(k)
                    m = _metrics.resolve_accuracy(item, self._loss_objects[k], self.outputs[k].shape, shape)
                    prefix = f"{self.outputs[k].layer_name}_" if len(self.outputs) > 1 else ""
                    name = prefix + m.name
                    if weighted and any(name == taken for _, taken, _ in metrics):
                        name = prefix + "weighted_" + m.name
                    m._weighted = weighted
                    metrics.append((k, name, m))
        return metrics

    def _data_parallel(self):
        """The DataParallel strategy this model was compiled under, when it has several
        ranks; the first call also gives every rank rank 0's weights."""
        strategy = getattr(self, "_strategy", None)
        if strategy is None or strategy.size == 1:
            return None
        if not getattr(self, "_replicas_synchronized", False):
            strategy.synchronize_weights(self)
            self._replicas_synchronized = True
        return strategy

    def _loss_ks(self):
        return [k for k, l in enumerate(self._loss_objects) if l is not None]

    # --- fit ---------------------------------------------------------------------------------
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, class_weight=None,
            sample_weight=None, initial_epoch=0, steps_per_epoch=None, validation_steps=None,
            validation_batch_size=None):
        """Keras's fit. Returns a History whose `history` maps loss/metric names to lists.

        `x` may be arrays, or a source of (x, y[, sample_weight]) batches: an
        engine.data.Dataset, a generator, a PyTorch DataLoader or a PyDataset-like object;
        so may `validation_data`. With `steps_per_epoch` (needed for an endless dataset) one
        pass over the source continues across epochs; `validation_steps` caps validation."""
        self._ensure_built(x)
        group = self._data_parallel()
        executor = self._get_train_executor()
        verbose = 1 if verbose == "auto" else int(verbose)
        if group is not None and not group.is_chief:
            verbose = 0
            callbacks = [cb for cb in callbacks or [] if not getattr(cb, "chief_only", False)]
        if validation_split and validation_data is None:
            if _is_iterable_source(x):
                raise ValueError("validation_split needs array inputs")
            if not 0.0 < validation_split < 1.0:
                raise ValueError(f"validation_split must be in (0, 1), got {validation_split}")
            xs = self._prepare_inputs(x)
            n = xs[0].shape[0]
            split = int(n * (1.0 - validation_split))
            if not 0 < split < n:
                raise ValueError(f"{self.name}: {n} samples cannot be split into training and validation "
                                 f"data with validation_split={validation_split}: one part would be empty")
            ys = self._prepare_targets(y, n)
            validation_data = ([a[split:] for a in xs], [t[split:] for t in ys])
            x = [a[:split] for a in xs]
            y = [t[:split] for t in ys] if len(ys) > 1 or len(self.outputs) > 1 else ys[0][:split]
            if sample_weight is not None:
                sample_weight = np.asarray(sample_weight)[:split]
            if len(xs) == 1 and self._single_input:
                x = x[0]
        self._class_weight = None if class_weight is None else {int(k): float(v) for k, v in class_weight.items()}
        data = _Batches(self, x, y, sample_weight, batch_size, shuffle, class_weight, steps_per_epoch,
                        "the data given to fit", strategy=group)
        # Prepared (and checked) now, so that bad validation data fails before any training.
        validation = None if validation_data is None else self._validation_batches(
            validation_data, batch_size if validation_batch_size is None else validation_batch_size,
            validation_steps, group)
        # Sources read ahead on a thread: closing them stops and joins it, however fit ends.
        try:
            return self._fit_epochs(executor, data, validation, epochs, verbose, callbacks, initial_epoch)
        finally:
            data.close()
            if validation is not None:
                validation.close()

    def _fit_epochs(self, executor, data, validation, epochs, verbose, callbacks, initial_epoch):
        cbs = _callbacks.CallbackList(callbacks, add_history=True, model=self,
                                      epochs=epochs, steps=data.steps, verbose=verbose)
        metrics = self._make_metrics()
        loss_tracker = _metrics.Mean(name="loss")
        output_trackers = self._output_loss_trackers()
        self.stop_training = False
        cbs.on_train_begin()
        logs = {}
        for epoch in range(initial_epoch, epochs):
            if verbose:
                print(f"Epoch {epoch + 1}/{epochs}")
            for m in [loss_tracker] + output_trackers + [m for _, _, m in metrics]:
                m.reset_state()
            cbs.on_epoch_begin(epoch)
            progress = _Progress(verbose, data.steps)
            step = 0
            for xs, ys, sw, n in data.shards():
                cbs.on_train_batch_begin(step)
                weights = self._batch_weights(ys, sw, xs[0].shape[0])
                self.optimizer.update_learning_rate()
                executor.set_step(self.optimizer.iterations)
                try:
                    loss, outs = executor.train_step(xs + [weights] + ys, self._train_loss,
                                                     fetch=self._train_fetch, samples=n)
                except FloatingPointError as e:  # a finite loss with non-finite gradients
                    raise FloatingPointError(f"{self.name}: at epoch {epoch + 1}, batch {step + 1}, {e} "
                                             "(lower the learning rate, clip gradients, or check the "
                                             "data for huge values)") from None
                batch_logs = {"loss": float(loss)}
                if not math.isfinite(loss):
                    cbs.on_train_batch_end(step, batch_logs)
                    if self.stop_training:
                        break
                    raise FloatingPointError(
                        f"{self.name}: the loss became {loss} at epoch {epoch + 1}, batch {step + 1}; "
                        "training stopped before applying this batch's update (lower the learning rate, "
                        "clip gradients, or check the data for NaN/inf)")
                _optimizers.apply_constraints(self._constrained)
                loss_tracker.update_state(loss, sample_weight=n)
                if n:
                    self._update_output_losses(output_trackers, outs, n)
                    self._update_metrics(metrics, ys, outs, sw)
                logs = self._logs(loss_tracker, output_trackers, metrics)
                cbs.on_train_batch_end(step, dict(logs))
                step += 1
                progress.update(step, logs)
                if self.stop_training:
                    break
            if step == 0 and not self.stop_training:
                raise ValueError(f"{self.name}: the training data produced no batches")
            if data.strategy is not None:
                data.strategy.reduce_metrics([loss_tracker] + output_trackers + [m for _, _, m in metrics])
                data.strategy.average_state(self)
            logs = self._logs(loss_tracker, output_trackers, metrics)
            if validation is not None and not self.stop_training:
                val = self._evaluate_batches(validation)
                logs.update({f"val_{k}": v for k, v in val.items()})
            progress.finish(step, logs)
            cbs.on_epoch_end(epoch, logs)
            if self.stop_training:
                break
        cbs.on_train_end(logs)
        self.history = cbs.history
        return cbs.history

    def _update_metrics(self, metrics, ys, outs, sw):
        """outs: the fetched values (see _train_fetch); an output with a mask carries it to
        the metrics, as Keras's outputs do."""
        ks = self._loss_ks()
        slots = getattr(self, "_mask_slots", {})
        for k, _, m in metrics:
            y_pred = outs[k] if k not in slots else _metrics._with_mask(outs[k], outs[slots[k]])
            m.update_state(ys[ks.index(k)], y_pred, sample_weight=sw if m._weighted else None)

    def _output_loss_trackers(self):
        """A mean per output loss (models with several losses; Keras logs "<output>_loss")."""
        return [_metrics.Mean(name=name) for name in self._output_loss_names]

    def _update_output_losses(self, trackers, values, n):
        """values: the model's outputs followed by each output's loss (see _train_fetch)."""
        for tracker, value in zip(trackers, values[len(self.outputs):]):
            tracker.update_state(float(np.asarray(value).reshape(-1)[0]), sample_weight=n)

    @staticmethod
    def _logs(loss_tracker, output_trackers, metrics):
        logs = {"loss": float(loss_tracker.result())}
        for tracker in output_trackers:
            logs[tracker.name] = float(tracker.result())
        for _, name, m in metrics:
            logs[name] = float(m.result())
        return logs

    # --- evaluate ------------------------------------------------------------------------------
    def _validation_batches(self, data, batch_size, steps=None, strategy=None):
        if _is_iterable_source(data):
            return _Batches(self, data, None, None, batch_size, False, None, steps, "validation_data",
                            strategy=strategy)
        if not (isinstance(data, tuple) and len(data) in (2, 3)):
            raise ValueError("validation_data must be a tuple (x, y) or (x, y, sample_weight), or a dataset")
        sw = data[2] if len(data) == 3 else None
        return _Batches(self, data[0], data[1], sw, batch_size, False, None, steps, "validation_data",
                        strategy=strategy)

    def _evaluate(self, x, y, batch_size, sample_weight, what="the data given to evaluate", steps=None):
        data = _Batches(self, x, y, sample_weight, batch_size, False, None, steps, what,
                        strategy=self._data_parallel())
        try:
            return self._evaluate_batches(data)
        finally:
            data.close()

    def _evaluate_batches(self, data):
        executor = self._get_train_executor(training=False)
        saved_class_weight = getattr(self, "_class_weight", None)
        self._class_weight = None
        try:
            metrics = self._make_metrics()
            # Metric objects given to compile keep state: each evaluation starts afresh.
            for _, _, m in metrics:
                m.reset_state()
            tracker = _metrics.Mean(name="loss")
            output_trackers = self._output_loss_trackers()
            for xs, ys, sw, n in data.shards():
                if data.strategy is not None and not n:
                    continue  # a rank with no rows of this batch
                results = executor.run(xs + [self._batch_weights(ys, sw, n)] + ys, False)
                outs, loss = results[:-1], float(results[-1])
                tracker.update_state(loss, sample_weight=n)
                self._update_output_losses(output_trackers, outs, n)
                self._update_metrics(metrics, ys, outs, sw)
            if data.strategy is not None:
                data.strategy.reduce_metrics([tracker] + output_trackers + [m for _, _, m in metrics])
            if tracker.count == 0:
                raise ValueError(f"{self.name}: no data to evaluate")
            return self._logs(tracker, output_trackers, metrics)
        finally:
            self._class_weight = saved_class_weight

    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None, steps=None,
                 callbacks=None, return_dict=False):
        """Loss and metrics over the data (inference mode). A scalar loss when there are no
        metrics, else [loss, metric...], or a dict with return_dict=True. `x` may be a
        dataset or another source of (x, y[, sample_weight]) batches; `steps` caps the
        number of batches."""
        self._ensure_built(x)
        logs = self._evaluate(x, y, batch_size, sample_weight, steps=steps)
        if verbose and verbose != "auto":
            print(" - ".join(f"{k}: {v:.4f}" for k, v in logs.items()))
        if return_dict:
            return logs
        values = list(logs.values())
        return values[0] if len(values) == 1 else values

    # --- predict from a dataset -----------------------------------------------------------------
    _is_batch_source = staticmethod(_is_iterable_source)

    def _predict_inputs(self, batch):
        """The input arrays of one batch for predict: Keras reads an (x,), (x, y) or
        (x, y, sample_weight) tuple (or list) as x plus ignored targets, anything else as x."""
        if isinstance(batch, (tuple, list)) and not isinstance(batch, np.ndarray):
            if not 1 <= len(batch) <= 3:
                raise ValueError(f"{self.name}: a batch given to predict must be x or a tuple (x,), (x, y) "
                                 f"or (x, y, sample_weight); got a {type(batch).__name__} of {len(batch)}")
            batch = batch[0]
        xs = self._prepare_inputs(batch)
        if any(a.shape[0] != xs[0].shape[0] for a in xs):
            raise ValueError(f"{self.name}: inputs have different numbers of samples {[a.shape[0] for a in xs]}")
        return xs

    def _predict_source(self, x, steps=None):
        """predict over a dataset or another source of batches: the outputs of every batch,
        concatenated."""
        data = _Batches(self, x, None, None, None, False, None, steps, "the data given to predict",
                        convert=self._predict_inputs)
        chunks = [[] for _ in self.outputs]
        try:
            for xs in data.epoch():
                for k, o in enumerate(self._run(xs)):
                    chunks[k].append(o)
        finally:
            data.close()
        if not chunks[0]:
            raise ValueError(f"{self.name}: the data given to predict produced no batches")
        results = [np.concatenate(c, axis=0) for c in chunks]
        return results[0] if self._single_output else results

    # --- single batches and custom loops ---------------------------------------------------------
    def train_on_batch(self, x, y, sample_weight=None, class_weight=None):
        self._ensure_built(x)
        executor = self._get_train_executor()
        self._class_weight = None if class_weight is None else {int(k): float(v) for k, v in class_weight.items()}
        xs = self._prepare_inputs(x)
        _require_samples(self, xs[0].shape[0], "the batch given to train_on_batch")
        ys = self._prepare_targets(y, xs[0].shape[0])
        self.optimizer.update_learning_rate()
        executor.set_step(self.optimizer.iterations)
        loss, _ = executor.train_step(xs + [self._batch_weights(ys, sample_weight, xs[0].shape[0])] + ys,
                                      self._train_loss, samples=xs[0].shape[0])
        if not math.isfinite(loss):
            raise FloatingPointError(f"{self.name}: the loss became {loss}; the update was not applied")
        _optimizers.apply_constraints(self._constrained)
        return float(loss)

    def test_on_batch(self, x, y, sample_weight=None):
        self._ensure_built(x)
        return self._evaluate(x, y, np.asarray(_as_list(x)[0]).shape[0], sample_weight,
                              "the data given to test_on_batch")["loss"]

    def predict_on_batch(self, x):
        """The outputs for one batch `x`, in one call (inference mode)."""
        outs = self._run(self._prepare_inputs(x))
        return outs[0] if self._single_output else list(outs)

    def value_and_grad(self, x, y, sample_weight=None, training=True):
        """(loss, gradients) for one batch, the gradients aligned with model.trainable_weights.

        For custom training loops: `optimizer.apply_gradients(zip(grads, model.trainable_weights))`.
        The loss is the compiled one (compile first)."""
        self._ensure_built(x)
        executor = self._get_train_executor()
        self._class_weight = None
        xs = self._prepare_inputs(x)
        _require_samples(self, xs[0].shape[0], "the batch given to value_and_grad")
        ys = self._prepare_targets(y, xs[0].shape[0])
        inputs = xs + [self._batch_weights(ys, sample_weight, xs[0].shape[0])] + ys
        loss, grads = executor.value_and_gradients(inputs, self._train_loss, np.ones((), np.float32), training)
        loss = float(loss)
        return loss, [grads.get(self._train_names.get(id(v))) for v in self.trainable_weights]
