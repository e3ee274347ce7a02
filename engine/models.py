"""Input, Model (functional), Sequential and clone_model.

A model is a graph of layer calls. When it first runs, its layers write their ONNX nodes
into a core graph (parameters bound to their core memory, no copies), and a core executor
plans and runs it: a forward pass is one call into C++ with the GIL released.
"""
import numpy as np

from engine import _core
from engine.layers import _args
from engine.layers.base import (GraphBuilder, KerasTensor, Layer, Trace, _computed_from, carry_output_masks,
                               emit_calls, order_calls, trace_call, trace_for, unique_name, unique_weights)
from engine.ops._symbolic import _DTYPES
from engine.trainer import TrainerMixin


class InputLayer(Layer):
    _is_input_layer = True

    def __init__(self, shape, dtype="float32", name=None):
        super().__init__(name=_args.optional_name("Input", "name", name) or unique_name("input_layer"))
        self.shape = (None,) + _args.shape("Input", "shape", shape)
        if dtype not in ("float32", "int64", "bool"):
            raise TypeError(f"Input: dtype must be 'float32', 'int64' or 'bool', got {dtype!r}")
        self.input_dtype = dtype
        self.output = KerasTensor(self.shape, dtype, layer=self, call_index=0, output_index=0, name=self.name)
        self.built = True

    def get_config(self):
        return {"name": self.name, "shape": self.shape[1:], "dtype": self.input_dtype}


def Input(shape, batch_size=None, name=None, dtype="float32"):
    """A symbolic model input; `shape` excludes the batch dimension (NCHW for images)."""
    layer = InputLayer(shape, dtype=dtype, name=name)
    if batch_size is not None:
        layer.shape = (_args.positive_int("Input", "batch_size", batch_size),) + layer.shape[1:]
        layer.output.shape = layer.shape
    return layer.output


def _data_dtype(array):
    """The Input dtype for data like `array`: int64 for integers (token ids), else float32."""
    return "int64" if array.dtype.kind in "iu" else "float32"


def _as_list(x):
    return list(x) if isinstance(x, (list, tuple)) else [x]


class Model(TrainerMixin, Layer):
    """The functional model: Model(inputs, outputs), any number of each."""

    _device = "cpu"

    def __init__(self, inputs=None, outputs=None, name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        self._traces = None  # a subclassed model's call(), traced: {mode: Trace}
        self._model_losses = []  # scalars from add_loss on a functional model, computed from its inputs
        self._forget_executors()
        # The inference and training executors read the same weights: a training step on one
        # waits for inference calls on the other, and the reverse (many threads may call).
        self._parameter_lock = _core.ParameterLock()
        if inputs is not None or outputs is not None:
            self._init_graph(inputs, outputs)

    # --- structure -------------------------------------------------------------------
    def _init_graph(self, inputs, outputs):
        self._single_input = not isinstance(inputs, (list, tuple))
        self._single_output = not isinstance(outputs, (list, tuple))
        self.inputs = _as_list(inputs)
        self.outputs = _as_list(outputs)
        for t in self.inputs + self.outputs:
            if not isinstance(t, KerasTensor):
                raise TypeError(f"Model: inputs and outputs must be symbolic tensors from engine.Input, got {t!r}")
        for t in self.inputs:
            if not isinstance(t._layer, InputLayer):
                raise ValueError(f"Model: every input must come from engine.Input(), got {t!r}")
        self._graph_calls = self._order_calls()
        layers = []
        for t in self.inputs:
            layers.append(t._layer)
        for call in self._graph_calls:
            if call.layer not in layers:
                layers.append(call.layer)
        self._layers = layers
        self._forget_executors()
        self.built = True

    def _forget_executors(self):
        """Executors are rebuilt on their next use (the graph or the device changed)."""
        self._executor = None
        self._trainable_key = None
        self._training_executor = None
        self._train_executor = None
        self._evaluation_executor = None
        self._mode_dependence = None
        self._loss_mask_cache = {}  # the masks the losses read (see TrainerMixin._loss_masks)

    def _build_from_call(self, shapes, dtypes):
        """A subclassed model's graph: call() traced on Inputs of these shapes (batch
        included), once per mode when it takes `training`."""
        inputs = [Input(tuple(s[1:]), dtype=d) for s, d in zip(shapes, dtypes)]
        traces = trace_call(self, len(inputs) > 1, shapes, dtypes, inputs=inputs)
        first = trace_for(traces, False)
        self._init_graph(inputs[0] if len(inputs) == 1 else inputs,
                         first.outputs[0] if first.single else first.outputs)
        self._traces = traces
        for trace in traces.values():
            for call in trace.calls:
                if call.layer not in self._layers:
                    self._layers.append(call.layer)

    def build(self, input_shape):
        """Builds a subclassed model for inputs of `input_shape` (batch included; a list of
        shapes for several inputs)."""
        if not self._computes_with_call():
            super().build(input_shape)
            return
        listed = isinstance(input_shape, (list, tuple)) and input_shape and \
            all(isinstance(s, (list, tuple)) for s in input_shape)
        shapes = [tuple(s) for s in input_shape] if listed else [tuple(input_shape)]
        self._build_from_call(shapes, ["float32"] * len(shapes))
        self._apply_pending_compile()

    def _builds_on_data(self):
        """Whether the model's graph waits for its first data (or build()): a subclassed
        model's, or a Sequential's without an Input."""
        return getattr(self, "inputs", None) is None and self._computes_with_call()

    def _first_arrays(self, x):
        """The arrays of x's first batch, which a model builds on."""
        from engine.data import Dataset

        if isinstance(x, Dataset):  # re-iterable: its first batch gives the shapes
            first = next(iter(x.take(1)), None)
            if first is None:
                raise ValueError(f"{self.name}: the dataset is empty; the model cannot be built from it")
            x = first[0] if isinstance(first, tuple) else first
        if not isinstance(x, (np.ndarray, list, tuple, dict)):
            raise ValueError(f"{self.name}: a model without an Input builds on its first arrays; before "
                             "training on a generator or another one-pass source, call "
                             "model.build(input_shape) or call the model on one batch")
        return [np.asarray(a) for a in (x.values() if isinstance(x, dict) else _as_list(x))]

    def _ensure_built(self, x):
        """Builds a subclassed model on its first data (Keras builds on the first call)."""
        if not self._builds_on_data():
            return
        arrays = self._first_arrays(x)
        self._build_from_call([a.shape for a in arrays], [_data_dtype(a) for a in arrays])
        self._apply_pending_compile()

    def _apply_pending_compile(self):
        pending = self.__dict__.pop("_pending_compile", None)
        if pending is not None:
            self.compile(**pending)

    def _order_calls(self):
        """Layer calls from the inputs to the outputs, in dependency order."""
        return order_calls(self.inputs, self.outputs, "Model")

    @property
    def layers(self):
        return list(self._layers)

    def get_layer(self, name=None, index=None):
        if index is not None:
            return self._layers[index]
        for layer in self._layers:
            if layer.name == name:
                return layer
        raise ValueError(f"no layer named {name!r}; layers: {[l.name for l in self._layers]}")

    def _weight_holders(self):
        """The layers whose weights are the model's: itself (weights a subclassed model made
        with add_weight, layers it holds in attributes), then those its graph calls."""
        return [self] + [layer for layer in getattr(self, "_layers", []) if layer is not self]

    @property
    def weights(self):
        return unique_weights(w for holder in self._weight_holders()
                              for w in (Layer.weights.fget(holder) if holder is self else holder.weights))

    @property
    def trainable_weights(self):
        if not self.trainable:
            return []
        return unique_weights(w for holder in self._weight_holders()
                              for w in (Layer.trainable_weights.fget(holder) if holder is self
                                        else holder.trainable_weights))

    @property
    def non_trainable_weights(self):
        ids = {id(w) for w in self.trainable_weights}
        return [w for w in self.weights if id(w) not in ids]

    # --- the core graph --------------------------------------------------------------------
    def compute_output_shape(self, input_shape):
        """Keras's functional rule: the given input shapes flow through the layer calls, so
        sizes left open (None) in the model's inputs come out as a real call makes them."""
        listed = isinstance(input_shape, (list, tuple)) and len(input_shape) > 0 and \
            all(isinstance(s, (list, tuple)) for s in input_shape)
        shapes = self._output_shapes(list(input_shape) if listed else [input_shape])
        return shapes[0] if self._single_output else shapes

    def _output_shapes(self, input_shapes):
        if len(input_shapes) != len(self.inputs):
            raise ValueError(f"{self.name}: expects {len(self.inputs)} input shape(s), got {len(input_shapes)}")
        shapes = {id(t): tuple(s) for t, s in zip(self.inputs, input_shapes)}
        for call in self._graph_calls:
            args = [shapes[id(t)] for t in call.inputs]
            if call.traces is not None:  # traced: its shapes, with this batch size
                outs = [(args[0][0],) + tuple(t.shape[1:]) if t.shape and t.shape[0] is None else t.shape
                        for t in call.outputs]
            else:
                outs = call.layer.compute_output_shape(args if call.listed else args[0])
            for t, shape in zip(call.outputs, outs if isinstance(outs, list) else [outs]):
                shapes[id(t)] = tuple(shape)
        return [shapes[id(t)] for t in self.outputs]

    def emit(self, b, inputs, input_shapes):
        """Writes this model's layers into `b` (models nest as layers)."""
        if self._traces is not None:
            return trace_for(self._traces, b.training).emit(b, inputs)
        if not (b.collect_losses and self._model_losses):
            return emit_calls(b, self.inputs, inputs, self._graph_calls, self.outputs)
        losses = self._model_losses
        calls = order_calls(self.inputs, self.outputs + losses, self.name)
        names = emit_calls(b, self.inputs, inputs, calls, self.outputs + losses)
        b.added_losses.extend(names[len(self.outputs):])
        return names[:len(self.outputs)]

    def _add_model_loss(self, loss):
        """add_loss on a functional model: a scalar computed from its inputs."""
        if self._traces is not None or getattr(self, "inputs", None) is None:
            super()._add_model_loss(loss)
        order_calls(self.inputs, [loss], self.name)  # fails unless computed from the inputs
        self._model_losses.append(loss)
        self._forget_executors()

    @property
    def device(self):
        """Where the model's parameters and computations live ("cpu", "cuda:0", ...)."""
        return self._device

    def to(self, device):
        """Moves the model's weights to `device` ("cpu", "cuda", "cuda:N") for predict,
        evaluate and fit; returns the model."""
        from engine import cuda as _cuda

        self._place(_cuda.resolve_device(device))
        return self

    def _place(self, device):
        """Moves every weight to `device`; executors are rebuilt on their next use."""
        if device == self._device:
            return
        # The states stateful layers carry are no weights, but live with them.
        held = [layer for holder in self._weight_holders() for layer in holder._layers_within()]
        states = [v for layer in held for v in getattr(layer, "_state_variables", ())]
        for w in unique_weights(list(self.weights) + states):
            w._place(device)
        self._device = device
        self._forget_executors()

    def _output_masks(self, training=False):
        """The symbolic masks the outputs carry (None for an output without one, or with a
        mask not computed from the inputs); a subclassed model's are those of its call()
        traced in mode `training`."""
        inputs, outputs = self._mask_source(training)
        return [t._keras_mask if t._keras_mask is not None and _computed_from(inputs, t._keras_mask)
                else None for t in outputs]

    def _mask_source(self, training):
        """(inputs, outputs) of the tensors the graph is written from."""
        if self._traces is None:
            return self.inputs, self.outputs
        trace = trace_for(self._traces, training)
        return trace.inputs, trace.outputs[:len(trace.outputs) - len(trace.mask_of)]

    def _emit_with_masks(self, b, names, masks):
        """emit(), writing the given output masks too: (output names, mask names). The masks
        come from the same layer calls as the outputs (an Embedding's mask read by an LSTM
        and by the loss is one value)."""
        inputs, outputs = self._mask_source(b.training)
        wanted = [m for m in masks if m is not None]
        if self._traces is not None:
            losses = trace_for(self._traces, b.training).losses if b.collect_losses else []
        else:
            losses = list(self._model_losses) if b.collect_losses else []
        targets = list(outputs) + wanted + losses
        values = emit_calls(b, inputs, names, order_calls(inputs, targets, self.name), targets)
        b.added_losses.extend(values[len(outputs) + len(wanted):])
        found = iter(values[len(outputs):len(outputs) + len(wanted)])
        return values[:len(outputs)], [None if m is None else next(found) for m in masks]

    def _build_graph(self, training=False, collect_losses=False, masks=None):
        """The model's core graph: (builder, input names, output names), and with `masks`
        (symbolic masks per output, None where not wanted) the names of those masks too."""
        b = GraphBuilder(device=self._device, training=training, collect_losses=collect_losses,
                         trainable_ids={id(w) for w in self.trainable_weights})
        input_names = []
        for t in self.inputs:
            name = b.unique(t._layer.name)
            b.add_input(name, t.shape, t.dtype)
            input_names.append(name)
        mask_names = None
        if masks is not None and any(m is not None for m in masks):
            outputs, mask_names = self._emit_with_masks(b, input_names, masks)
        else:
            outputs = self.emit(b, input_names, [t.shape for t in self.inputs])
        output_names = []
        for k, (name, t) in enumerate(zip(outputs, self.outputs)):
            if name in input_names or name in output_names:
                name = b.node("Identity", [name], name=f"output_{k}")[0]
            b.add_output(name, t.dtype)
            output_names.append(name)
        if masks is not None:
            return b, input_names, output_names, mask_names or [None] * len(output_names)
        return b, input_names, output_names

    def _trainable_state(self):
        trainable = {id(w) for w in self.trainable_weights}
        return tuple(id(w) in trainable for w in self.weights)

    def _mode_dependent(self):
        """Whether a call() that takes `training` branches on it somewhere in the model: the
        training-mode graph then differs from the inference one."""
        def dependent(calls):
            for call in calls:
                if call.traces is not None:
                    if len(call.traces) > 1 or any(dependent(t.calls) for t in call.traces.values()):
                        return True
                elif isinstance(call.layer, Model) and call.layer._mode_dependent():
                    return True
            return False

        if self._mode_dependence is None:
            self._mode_dependence = (self._traces is not None and len(self._traces) > 1) or \
                dependent(self._graph_calls if self._traces is None else
                          [c for t in self._traces.values() for c in t.calls])
        return self._mode_dependence

    def _get_executor(self, inference_only=False, training=False):
        """The executor of the current graph. Which weights are trainable changes the graph
        (gradients, frozen layers) but not what inference computes, so inference calls skip
        that check, a walk over every weight, while an executor exists. A model whose call()
        branches on `training` runs training-mode calls on a graph traced in that mode."""
        if training and self._mode_dependent():
            if self._training_executor is None:
                builder, _, _ = self._build_graph(training=True)
                self._training_executor = _core.Executor(builder.graph, self._parameter_lock)
            return self._training_executor
        if inference_only and self._executor is not None:
            return self._executor
        key = self._trainable_state()
        if self._executor is None or key != self._trainable_key:
            builder, self._input_names, self._output_names = self._build_graph()
            self._builder = builder
            self._executor = _core.Executor(builder.graph, self._parameter_lock)
            self._trainable_key = key
        return self._executor

    def _prepare_inputs(self, x):
        self._ensure_built(x)
        if isinstance(x, dict):
            missing = [t._layer.name for t in self.inputs if t._layer.name not in x]
            if missing:
                raise ValueError(f"{self.name}: missing inputs {missing}")
            arrays = [x[t._layer.name] for t in self.inputs]
        else:
            arrays = _as_list(x) if not self._single_input or isinstance(x, (list, tuple)) else [x]
        if len(arrays) != len(self.inputs):
            raise ValueError(f"{self.name}: expects {len(self.inputs)} input(s), got {len(arrays)}")
        out = []
        for t, a in zip(self.inputs, arrays):
            a = np.asarray(a)
            want = _DTYPES[t.dtype]
            if a.dtype != want:
                if t.dtype == "float32" and a.dtype.kind in "fiu":
                    a = a.astype(np.float32)
                elif t.dtype == "int64" and a.dtype.kind in "iu":
                    a = a.astype(np.int64)
                else:
                    raise TypeError(f"{self.name}: input {t._layer.name!r} must be {t.dtype}, got {a.dtype}")
            out.append(np.ascontiguousarray(a))
        return out

    # Per output, the numpy type it is returned in where it differs from the engine's (an
    # imported ONNX graph's int32 or float16 outputs, say); None: as computed.
    _declared_output_dtypes = None

    def _run(self, arrays, training=False):
        if arrays and all(a.ndim > 0 and a.shape[0] == 0 for a in arrays):
            outs = self._empty_outputs(arrays, training)
        else:
            outs = self._get_executor(inference_only=not training, training=training).run(list(arrays), training)
        if self._declared_output_dtypes:
            outs = [o if d is None else o.astype(d) for o, d in zip(outs, self._declared_output_dtypes)]
        return outs

    def _empty_outputs(self, arrays, training):
        """The outputs for zero samples. They come from the layers' shape rules applied to the
        inputs' real shapes, not from the core: some kernels cannot size an empty batch (a
        Reshape with -1), and a training-mode run would feed empty batch statistics into
        BatchNormalization's moving averages. Where the rules do not give an empty output of
        known shape (an imported ONNX graph keeps the shapes it was exported with, and its
        outputs need not follow the batch), the core runs."""
        for t, a in zip(self.inputs, arrays):
            if a.ndim != len(t.shape) or any(d is not None and d != k for d, k in zip(t.shape[1:], a.shape[1:])):
                raise ValueError(f"{self.name}: input {t._layer.name!r} expects shape {t.shape}, got {a.shape}")
        shapes = self._output_shapes([a.shape for a in arrays])
        # The layers' rules give shapes, not dtypes: with int64 inputs the core decides.
        if any(shape[:1] != (0,) or None in shape for shape in shapes) or any(a.dtype != np.float32 for a in arrays):
            return self._get_executor().run(list(arrays), training)
        return [np.zeros(shape, np.float32) for shape in shapes]

    # --- calling -----------------------------------------------------------------------
    def __call__(self, inputs, training=None, mask=None):
        flat = _as_list(inputs)
        if all(isinstance(t, KerasTensor) for t in flat):
            if mask is not None and not isinstance(mask, (KerasTensor, list, tuple)):
                raise TypeError(f"{self.name}: the mask of symbolic inputs must be symbolic, got "
                                f"{type(mask).__name__}")
            return self._call_symbolic(inputs, flat, training, mask)
        if mask is not None:  # on arrays: through a model that takes the mask as an input
            if isinstance(mask, (list, tuple)):
                raise TypeError(f"{self.name}: on arrays, mask= takes one array (the first input's mask)")
            return self._call_eager(inputs, flat, training, mask)
        outs = self._run(self._prepare_inputs(inputs), training=bool(training))
        return outs[0] if self._single_output else outs

    def _call_symbolic(self, inputs, flat, training=None, mask=None):
        """A model called inside another passes masks both ways, as Keras's functional
        models do: the masks its inputs carry reach the layers inside, and its outputs carry
        the masks the layers inside give them."""
        if self._computes_with_call():  # subclassed: its call() is traced as a layer's is
            if isinstance(mask, (list, tuple)):
                raise TypeError(f"{self.name}: mask= takes one symbolic mask, given to call() as `mask`")
            if not self.built:
                self._build_from_call([(None,) + tuple(t.shape[1:]) for t in flat], [t.dtype for t in flat])
                pending = self.__dict__.pop("_pending_compile", None)
                if pending is not None:
                    self.compile(**pending)
            return super()._call_symbolic(inputs, flat, training, mask)
        if mask is not None:
            raise NotImplementedError(f"{self.name}: mask= on a functional model called on symbolic "
                                      "tensors; give the inputs their masks with the layers that make "
                                      "them (Embedding(mask_zero=True), Masking) instead")
        in_masks = [t._keras_mask for t in flat]
        if all(m is None for m in in_masks) and all(t._keras_mask is None for t in self.outputs):
            return super()._call_symbolic(inputs, flat, training, mask)
        if not self.built:
            self.build([t.shape for t in flat] if len(flat) > 1 else flat[0].shape)
        present = [m is not None for m in in_masks]

        def replay(*placeholders):
            xs, masks = list(placeholders[:len(flat)]), iter(placeholders[len(flat):])
            for x, has in zip(xs, present):
                x._keras_mask = next(masks) if has else None
            return self._replay(xs)

        operands = flat + [m for m in in_masks if m is not None]
        traces = {None: Trace(replay, [t.shape for t in operands], [t.dtype for t in operands], self.name)}
        masked_outputs = carry_output_masks(traces)
        outputs = _as_list(self._record_call(inputs, operands, training, traces, listed=len(flat) > 1))
        call = self._calls[-1]
        call.input_masks = len(operands) - len(flat)
        call.output_mask_of = masked_outputs
        for k, m in zip(masked_outputs, call.outputs[len(outputs):]):
            outputs[k]._keras_mask = m
        return outputs[0] if self._single_output else outputs

    def _replay(self, xs, layer_for=lambda layer: layer):
        """This model's layer calls again, on symbolic tensors `xs` for its inputs, with the
        call arguments each call had: through the same layers (the same weights; masks the
        tensors carry reach the layers), or the ones `layer_for` gives (clone_model)."""
        tensors = {id(t): x for t, x in zip(self.inputs, xs)}
        for call in self._graph_calls:
            args = [tensors[id(t)] for t in call.own_inputs]  # (the masks they carry are found again)
            kwargs = dict(call.kwargs)
            if call.masked:
                kwargs["mask"] = tensors[id(call.inputs[len(args)])]
            if call.training is not None:
                kwargs["training"] = call.training
            out = _as_list(layer_for(call.layer)(args if call.listed else args[0], **kwargs))
            for t, nt in zip(call.own_outputs, out):
                tensors[id(t)] = nt
            for k, t in zip(call.output_mask_of, call.outputs[len(call.own_outputs):]):
                tensors[id(t)] = out[k]._keras_mask  # a mask made inside the call
        return [tensors[id(t)] for t in self.outputs]

    def predict(self, x, batch_size=32, verbose=0, steps=None):
        """Outputs for `x`, computed `batch_size` samples at a time (inference mode). `x` may
        also be a dataset or another source of batches (`steps` of them at most)."""
        executor = self._executor
        if executor is not None and type(batch_size) is int and not self._declared_output_dtypes:
            arrays = self._ready_batch(x, batch_size)
            if arrays is not None:
                # One batch that needs no conversion: straight to the executor (batch-1
                # latency is mostly this path's overhead).
                outs = executor.run(arrays, False)
                return outs[0] if self._single_output else list(outs)
        if self._is_batch_source(x):
            self._ensure_built(x)
            return self._predict_source(x, steps)
        arrays = self._prepare_inputs(x)
        n = arrays[0].shape[0]
        if any(a.shape[0] != n for a in arrays):
            raise ValueError(f"{self.name}: inputs have different numbers of samples {[a.shape[0] for a in arrays]}")
        batch_size = 32 if batch_size is None else _args.positive_int(self, "batch_size", batch_size)
        if 0 < n <= batch_size:  # one call; its outputs are fresh arrays
            outs = self._run(arrays)
            return outs[0] if self._single_output else list(outs)
        chunks = [[] for _ in self.outputs]
        # Zero samples still make one (empty) call: it gives the outputs' shapes.
        for start in range(0, max(n, 1), batch_size):
            outs = self._run([a[start:start + batch_size] for a in arrays])
            for k, o in enumerate(outs):
                chunks[k].append(o)
        results = [np.concatenate(c, axis=0) for c in chunks]
        return results[0] if self._single_output else results

    def _ready_batch(self, x, batch_size):
        """x as the executor's inputs when it is one batch of at most `batch_size` samples of
        C-contiguous arrays of the inputs' dtypes (an array, or a list or tuple of them in
        the inputs' order); else None."""
        arrays = [x] if type(x) is np.ndarray else x if type(x) in (list, tuple) else None
        if arrays is None or len(arrays) != len(self.inputs) or (type(x) is np.ndarray and not self._single_input):
            return None
        n = None
        for a, t in zip(arrays, self.inputs):
            # (dtype.name builds a string in Python: 2 us, more than the rest of the call)
            if (type(a) is not np.ndarray or a.dtype != _DTYPES[t.dtype] or a.ndim == 0
                    or not a.flags.c_contiguous or (n is not None and len(a) != n)):
                return None
            n = len(a)
        return list(arrays) if 0 < n <= batch_size else None

    def _gradients(self, x, seed, output_index=0, training=False):
        """Gradients of sum(output * seed) w.r.t. the inputs and the trainable weights.

        Returns (one array per model input, {id(Variable): array}). The building block of
        custom training loops; also used by the tests' gradient checks."""
        executor = self._get_executor()
        arrays = self._prepare_inputs(x)
        seed = np.ascontiguousarray(seed, dtype=np.float32)
        grads = executor.gradients(arrays, self._output_names[output_index], seed, training)
        inputs = [grads.get(name) for name in self._input_names]
        params = {id(var): grads[name] for name, var in self._builder.parameters() if name in grads}
        return inputs, params

    def _write(self, fn, *args, **kwargs):
        """Runs a file write; in data-parallel training (engine.distribute) rank 0 writes
        and the other ranks wait for it."""
        strategy = getattr(self, "_strategy", None)
        if strategy is None or strategy.size == 1:
            return fn(*args, **kwargs)
        return strategy.run_on_chief(fn, *args, **kwargs)

    def save(self, path):
        """One checkpoint file: architecture, weights, optimizer and random state (atomic)."""
        from engine import saving

        self._write(saving.save_model, self, path)

    def export_onnx(self, path, opset=17):
        """The inference graph as an ONNX file (see engine.onnx.export)."""
        from engine import onnx

        return self._write(onnx.export, self, path, opset=opset)

    def save_weights(self, path):
        from engine import saving

        self._write(saving.save_weights, self, path)

    def load_weights(self, path):
        from engine import saving

        saving.load_weights(self, path)

    def executor_stats(self):
        """Plans made and bytes planned by the core executor (for tests and tuning)."""
        return self._get_executor().stats()

    # --- display -----------------------------------------------------------------------
    def summary(self, print_fn=print, line_length=72):
        if getattr(self, "inputs", None) is None:
            raise ValueError(f"{self.name}: the model is not built yet; call build(input_shape) or call it "
                             "on data first")
        from engine.ops._symbolic import Operation

        rows = []
        for layer in self._layers:
            if isinstance(layer, Operation):  # ops on tensors (masks, engine.ops calls): not layers (Keras)
                continue
            if isinstance(layer, InputLayer):
                shape = layer.shape
            else:
                outs = [c.own_outputs for c in layer._calls if c in self._graph_calls]
                shape = outs[0][0].shape if outs and len(outs[0]) == 1 else [o.shape for o in outs[0]] if outs else "?"
            rows.append((f"{layer.name} ({type(layer).__name__})", str(shape), f"{layer.count_params():,}"))
        widths = [max(len("Layer (type)"), *(len(r[0]) for r in rows)) + 2,
                  max(len("Output Shape"), *(len(r[1]) for r in rows)) + 2,
                  max(len("Param #"), *(len(r[2]) for r in rows))]
        rule = "─" * sum(widths)
        lines = [f'Model: "{self.name}"', rule,
                 "Layer (type)".ljust(widths[0]) + "Output Shape".ljust(widths[1]) + "Param #".rjust(widths[2]),
                 "═" * sum(widths)]
        for r in rows:
            lines.append(r[0].ljust(widths[0]) + r[1].ljust(widths[1]) + r[2].rjust(widths[2]))
        lines.append(rule)
        total = self.count_params()
        trainable = int(sum(int(np.prod(w.shape)) for w in self.trainable_weights))
        lines += [f" Total params: {total:,}", f" Trainable params: {trainable:,}",
                  f" Non-trainable params: {total - trainable:,}", rule]
        for line in lines:
            print_fn(line)

    def get_config(self):
        return {"name": self.name, "layers": [
            {"class_name": type(l).__name__, "config": l.get_config()} for l in self._layers]}


class Sequential(Model):
    """A stack of single-input, single-output layers."""

    def __init__(self, layers=None, name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        self._stack = []
        self._input = None
        self._sizes_from_data = False  # the Input was made from data (build on first call)
        if layers is not None and not isinstance(layers, (list, tuple)):
            raise TypeError(f"Sequential: layers must be a list of layers, got {layers!r}")
        for layer in layers or []:
            self.add(layer)

    def add(self, layer):
        if isinstance(layer, KerasTensor):
            if self._stack or self._input is not None:
                raise ValueError(f"{self.name}: an Input must come first")
            self._input = layer
            return
        if not isinstance(layer, Layer):
            raise TypeError(f"{self.name}: can only add layers, got {layer!r}")
        if self._input is None and not self._stack:
            if layer._input_shape_arg is not None:
                self._input = Input(layer._input_shape_arg)
            elif isinstance(layer, Model) and len(getattr(layer, "inputs", ())) == 1:
                # A model as the first layer (an encoder) brings its input.
                first = layer.inputs[0]
                self._input = Input(tuple(first.shape[1:]), dtype=first.dtype)
        self._stack.append(layer)
        self._forget_executors()
        if self._input is not None:
            self._rebuild()

    def pop(self):
        if not self._stack:
            raise ValueError(f"{self.name}: no layer to pop")
        self._stack.pop()
        if self._input is not None and self._stack:
            self._rebuild()

    def _rebuild(self):
        x = self._input
        for layer in self._stack:
            x = layer(x)
        self._init_graph(self._input, x)

    def build(self, input_shape, dtype="float32"):
        if self._input is None:
            self._input = Input(tuple(input_shape)[1:], dtype=dtype)
            self._rebuild()
            self._apply_pending_compile()

    def _builds_on_data(self):
        return self._input is None

    def _ensure_built(self, x):
        """Without an Input, the first data builds the model (as Keras); data of other
        sizes later (sequences of another length) build it again with those axes known
        only at run time, on the same weights."""
        if self._input is None:
            first = self._first_arrays(x)[0]
            self.build(first.shape, _data_dtype(first))
            self._sizes_from_data = True
        elif self._sizes_from_data and isinstance(x, np.ndarray):
            known = self._input.shape[1:]
            if len(known) == x.ndim - 1 and any(k is not None and k != n for k, n in zip(known, x.shape[1:])):
                self._input = Input(tuple(None if k != n else k for k, n in zip(known, x.shape[1:])),
                                    dtype=self._input.dtype)
                self._rebuild()

    def __call__(self, inputs, training=None):
        if not isinstance(inputs, KerasTensor):
            self._ensure_built(inputs)
        return super().__call__(inputs, training)

    def predict(self, x, batch_size=32, verbose=0, steps=None):
        if type(x) is np.ndarray or not self._is_batch_source(x):
            self._ensure_built(x)
        return super().predict(x, batch_size, verbose, steps)

    @property
    def layers(self):
        return list(self._stack)

    def summary(self, print_fn=print, line_length=72):
        if self._input is None:
            raise ValueError(f"{self.name}: the model is not built; give the first layer an Input or call build()")
        super().summary(print_fn, line_length)


def clone_model(model):
    """A model with the same architecture and freshly initialised weights (as Keras)."""
    mapping = {}

    from engine.ops._symbolic import Operation

    def clone_layer(layer):
        if isinstance(layer, Operation):  # no weights: the same nodes apply to the clone's tensors
            return layer
        if id(layer) not in mapping:
            config = layer.get_config()
            config.pop("name", None)
            mapping[id(layer)] = type(layer)(**config)
        return mapping[id(layer)]

    if isinstance(model, Sequential):
        new = Sequential(name=unique_name(model.name))
        if model._input is not None:
            new.add(Input(model._input.shape[1:], dtype=model._input.dtype))
        for layer in model._stack:
            new.add(clone_layer(layer))
        return new
    new_inputs = [Input(t.shape[1:], dtype=t.dtype) for t in model.inputs]
    outputs = model._replay(new_inputs, clone_layer)
    return Model(new_inputs if not model._single_input else new_inputs[0],
                 outputs if not model._single_output else outputs[0])


def load_model(path, compile=True, custom_objects=None):
    """keras.models.load_model: engine.saving.load_model."""
    from engine import saving  # saving builds models

    return saving.load_model(path, compile=compile, custom_objects=custom_objects)
