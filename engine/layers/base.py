"""The layer contract (Keras): __init__ stores config, build(input_shape) creates weights,
emit() writes the layer's ONNX nodes into a graph, compute_output_shape() gives shapes.

Weights live in core memory from the moment they are created: a Variable's value is a
numpy view of a core-owned buffer, and graphs bind that same memory, so a model's
parameters are never copied between Python and the core.
"""
import collections
import inspect
import re
import threading

import numpy as np

from engine import _core
from engine import constraints as _constraints
from engine import initializers as _initializers
from engine import regularizers as _regularizers
from engine.layers import _args

_name_counts = collections.defaultdict(int)


def _snake(name):
    """Keras's layer-name rule: Conv2D -> conv2d, BatchNormalization -> batch_normalization."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def unique_name(base):
    """Keras-style unique names: dense, dense_1, dense_2, ..."""
    n = _name_counts[base]
    _name_counts[base] += 1
    return base if n == 0 else f"{base}_{n}"


class SymbolicOperators:
    """Python's operators on symbolic tensors and weights, as engine.ops functions (each
    adds graph nodes). Comparisons other than == and != too: those two keep their identity
    meaning, as tensors are kept in sets and compared by identity; use ops.equal."""

    __array_priority__ = 100  # numpy array OP tensor defers to the tensor's reflected operator

    def __add__(self, other): return _ops().add(self, other)
    def __radd__(self, other): return _ops().add(other, self)
    def __sub__(self, other): return _ops().subtract(self, other)
    def __rsub__(self, other): return _ops().subtract(other, self)
    def __mul__(self, other): return _ops().multiply(self, other)
    def __rmul__(self, other): return _ops().multiply(other, self)
    def __truediv__(self, other): return _ops().divide(self, other)
    def __rtruediv__(self, other): return _ops().divide(other, self)
    def __pow__(self, other): return _ops().power(self, other)
    def __rpow__(self, other): return _ops().power(other, self)
    def __matmul__(self, other): return _ops().matmul(self, other)
    def __rmatmul__(self, other): return _ops().matmul(other, self)
    def __neg__(self): return _ops().negative(self)
    def __pos__(self): return self
    def __abs__(self): return _ops().absolute(self)
    def __lt__(self, other): return _ops().less(self, other)
    def __le__(self, other): return _ops().less_equal(self, other)
    def __gt__(self, other): return _ops().greater(self, other)
    def __ge__(self, other): return _ops().greater_equal(self, other)
    def __invert__(self): return _ops().logical_not(self)
    def __and__(self, other): return _ops().logical_and(self, other)
    def __or__(self, other): return _ops().logical_or(self, other)
    def __getitem__(self, key): return _ops().getitem(self, key)


def _ops():
    from engine import ops  # ops build on layers

    return ops


class Variable(SymbolicOperators):
    """A weight: a name, a trainable flag and a float32 value held in core memory.

    On the CPU, `value` is a read-only view of the live core buffer (it follows training);
    `assign()` is the way to change it, so that what the core keeps computed from weights
    between calls (transformed convolution weights) is computed again. A variable placed on
    a GPU (a model compiled with device="cuda") lives in device memory: `value` and
    `numpy()` then return host copies."""

    def __init__(self, name, value, trainable=True, regularizer=None, constraint=None):
        self.name = name
        self.trainable = bool(trainable)
        self.regularizer = regularizer  # adds a penalty to the training loss
        self.constraint = constraint    # applied after each update
        self._value = _core._owned_array(np.asarray(value, dtype=np.float32))  # the writable buffer
        self._device_array = None       # a _core.DeviceArray when placed on a GPU
        self._view = None

    @property
    def shape(self):
        return self._value.shape

    @property
    def dtype(self):
        return self._value.dtype

    @property
    def device(self):
        return "cpu" if self._device_array is None else self._device_array.device

    @property
    def value(self):
        """The live core buffer as a read-only numpy view; for a variable on a GPU, a host
        copy of its current value."""
        self._writable()  # a GPU copy read in
        if self._view is None:
            self._view = self._value.view()
            self._view.flags.writeable = False
        return self._view

    def _writable(self):
        """The buffer itself, current (a GPU copy read in), for the core updates that write
        it in place; whoever writes it calls _core.parameters_changed() (the core's optimizer
        does)."""
        if self._device_array is not None:
            self._device_array.read_into(self._value)
        return self._value

    def numpy(self):
        """A copy of the current value."""
        return self.value.copy()

    def __array__(self, dtype=None, copy=None):
        return np.asarray(self.value, dtype=dtype)

    def assign(self, value):
        value = np.asarray(value)
        if value.shape != self._value.shape:
            raise ValueError(f"variable {self.name!r}: cannot assign shape {value.shape} to {self._value.shape}")
        self._value[...] = value
        if self._device_array is not None:
            self._device_array.assign(self._value)
        _core.parameters_changed()

    def _place(self, device):
        """Moves the value to `device` ("cpu", "cuda:0", ...), keeping it."""
        if device == self.device:
            return
        if self._device_array is not None:
            self._device_array.read_into(self._value)
            self._device_array = None
        if device != "cpu":
            self._device_array = _core.DeviceArray(self._value, device)

    def __repr__(self):
        return f"<Variable {self.name} shape={self.shape} trainable={self.trainable}>"


class WeightOptions:
    """The kernel/bias regularizer and constraint arguments of Dense and Conv2D."""

    def __init__(self, owner, kernel_regularizer=None, bias_regularizer=None, kernel_constraint=None,
                 bias_constraint=None):
        self.kernel_regularizer = _args.resolve(owner, "kernel_regularizer", _regularizers.get, kernel_regularizer)
        self.bias_regularizer = _args.resolve(owner, "bias_regularizer", _regularizers.get, bias_regularizer)
        self.kernel_constraint = _args.resolve(owner, "kernel_constraint", _constraints.get, kernel_constraint)
        self.bias_constraint = _args.resolve(owner, "bias_constraint", _constraints.get, bias_constraint)

    def get_config(self):
        return {"kernel_regularizer": _regularizers.serialize(self.kernel_regularizer),
                "bias_regularizer": _regularizers.serialize(self.bias_regularizer),
                "kernel_constraint": _constraints.serialize(self.kernel_constraint),
                "bias_constraint": _constraints.serialize(self.bias_constraint)}


def set_kernel_layer_arguments(layer, activation, use_bias, kernel_initializer, bias_initializer,
                               kernel_regularizer, bias_regularizer, kernel_constraint, bias_constraint):
    """Checks the arguments Dense and the convolutions share and sets them on `layer`."""
    from engine import activations as _activations

    layer.activation = _args.resolve(layer, "activation", _activations.normalize, activation)
    layer.use_bias = _args.boolean(layer, "use_bias", use_bias)
    layer.kernel_initializer = _args.resolve(layer, "kernel_initializer", _initializers.get, kernel_initializer)
    layer.bias_initializer = _args.resolve(layer, "bias_initializer", _initializers.get, bias_initializer)
    layer.weight_options = WeightOptions(layer, kernel_regularizer, bias_regularizer, kernel_constraint,
                                         bias_constraint)


class KerasTensor(SymbolicOperators):
    """A symbolic tensor of the functional API: a shape (None = batch) and its history."""

    def __init__(self, shape, dtype="float32", layer=None, call_index=0, output_index=0, name=None):
        self.shape = tuple(shape)
        self.dtype = dtype
        self._layer = layer
        self._call_index = call_index
        self._output_index = output_index
        self.name = name
        # Keras's mask of the steps ([batch, steps] bool, True: a step to use), set by the
        # layer that made this tensor (Layer.compute_mask), or None.
        self._keras_mask = None

    @property
    def ndim(self):
        return len(self.shape)

    @property
    def layer_name(self):
        """The name of the layer that produced this tensor (keys outputs in logs and dicts)."""
        return self._layer.name if self._layer is not None else self.name

    def __bool__(self):
        raise TypeError("a symbolic tensor has no truth value: Python `if`, `and` and `or` on it cannot "
                        "become graph nodes; use engine.ops.where, and take `training` as an argument "
                        "of call() to branch on the mode")

    def __repr__(self):
        return f"<KerasTensor shape={self.shape} dtype={self.dtype}>"



class LayerCall:
    """One application of a layer to symbolic inputs; `listed` records whether they came as
    a list, which decides the form of the shapes given to compute_output_shape.

    `training` is the mode the caller fixed (True/False), or None: the mode of the graph
    being built. A layer that computes with call() keeps what call() did as traces, one per
    mode when call() takes `training`."""

    def __init__(self, layer, inputs, outputs, listed, training=None, traces=None):
        self.layer = layer
        self.inputs = inputs
        self.outputs = outputs
        self.listed = listed
        self.training = training
        self.traces = traces
        self.kwargs = {}  # call arguments a layer keeps with its call (saved with the model)
        # The inputs proper come first; then, with `masked`, the mask given to the call
        # (mask=); then the input_masks masks the inputs carried, which a replay finds again
        # on the tensors. Each output after the layer's own is the mask of the output that
        # output_mask_of lists for it (a mask computed inside call() or a nested model).
        self.masked = False
        self.input_masks = 0
        self.output_mask_of = []

    @property
    def own_inputs(self):
        """The inputs proper, without the masks that travel with them."""
        return self.inputs[:len(self.inputs) - self.input_masks - int(self.masked)]

    @property
    def own_outputs(self):
        """The outputs proper, without the masks that travel with them."""
        return self.outputs[:len(self.outputs) - len(self.output_mask_of)]

    def emit(self, b, args, masks=True):
        """Adds this call's nodes reading value names `args`; returns its output names (None
        for the masks after its own outputs without `masks`)."""
        if self.traces is not None:
            mode = self.training if self.training is not None else b.training
            return trace_for(self.traces, mode).emit(b, args, masks)
        saved, b.call_training = b.call_training, self.training
        try:
            outs = self.layer.emit(b, args, [t.shape for t in self.inputs])
        finally:
            b.call_training = saved
        if len(outs) != len(self.outputs):
            raise RuntimeError(f"{self.layer.name}: emitted {len(outs)} outputs, expected {len(self.outputs)}")
        return outs


def _flatten(x):
    if isinstance(x, (list, tuple)):
        return list(x)
    return [x]


def order_calls(inputs, outputs, owner):
    """The layer calls leading from symbolic `inputs` to `outputs`, in dependency order."""
    order, seen, visiting = [], set(), set()
    leaves = {id(t) for t in inputs}

    def visit(t):
        if id(t) in leaves:
            return
        layer = t._layer
        if layer is None:
            raise ValueError(f"{owner}: {t!r} is not computed from the inputs (a symbolic tensor from "
                             "elsewhere, such as another model's Input, was used)")
        if getattr(layer, "_is_input_layer", False):
            raise ValueError(f"{owner}: output depends on input {layer.name!r}, which is not among the inputs")
        call = layer._calls[t._call_index]
        if id(call) in seen:
            return
        if id(call) in visiting:
            raise ValueError(f"{owner}: the layer graph has a cycle")
        visiting.add(id(call))
        for x in call.inputs:
            visit(x)
        visiting.discard(id(call))
        seen.add(id(call))
        order.append(call)

    for t in outputs:
        visit(t)
    return order


def emit_calls(b, inputs, names, calls, outputs):
    """Writes `calls` (ordered) into builder `b`, `inputs` being the values named `names`;
    returns the names of `outputs`. A call's masks that no later call reads are left out."""
    needed = {id(t) for t in outputs}
    wants_masks = {}
    for call in reversed(calls):
        wants_masks[id(call)] = any(id(t) in needed for t in call.outputs[len(call.own_outputs):])
        needed.update(id(t) for t in call.inputs)
    table = {id(t): n for t, n in zip(inputs, names)}
    for call in calls:
        outs = call.emit(b, [table[id(t)] for t in call.inputs], masks=wants_masks[id(call)])
        for t, n in zip(call.outputs, outs):
            table[id(t)] = n
    return [table[id(t)] for t in outputs]


class _TraceStack(threading.local):
    """The traces this thread is recording, innermost last (add_loss reaches the innermost)."""

    def __init__(self):
        self.traces = []


_tracing = _TraceStack()


def tracing():
    """Whether this thread is tracing a function (a layer's call(), a Lambda, a loss)."""
    return bool(_tracing.traces)


class Trace:
    """A Python function run once on symbolic placeholders: the layer calls and engine.ops it
    made, replayed into any graph. This is how call(), Lambda, and losses, metrics and
    activations written as functions become graph nodes. Scalars given to add_loss while it
    runs join the training loss wherever the trace is replayed."""

    def __init__(self, fn, shapes, dtypes, owner, inputs=None):
        self.inputs = inputs or [KerasTensor(s, d, name=f"{owner}/input_{i}")
                                 for i, (s, d) in enumerate(zip(shapes, dtypes))]
        self.losses = []
        _tracing.traces.append(self)
        try:
            result = fn(*self.inputs)
        finally:
            _tracing.traces.pop()
        self.single = not isinstance(result, (list, tuple))
        self.outputs = _flatten(result)
        for t in self.outputs:
            if not isinstance(t, KerasTensor):
                raise TypeError(f"{owner}: must return symbolic tensors computed with engine.ops, layers or "
                                f"operators on its inputs, got {type(t).__name__} (numpy and other libraries "
                                "run once while tracing and cannot become graph nodes)")
        self.owner = owner
        self.mask_of = []  # outputs appended by add_output_masks are the masks of these outputs
        self._order()

    def _order(self):
        self.calls = order_calls(self.inputs, self.outputs, self.owner)
        self.loss_calls = (order_calls(self.inputs, self.outputs + self.losses, self.owner) if self.losses
                           else self.calls)

    def add_output_masks(self, which):
        """Appends the masks that outputs `which` carry as outputs of their own, so that a
        mask computed inside call() reaches the layers after it."""
        real = len(self.outputs) - len(self.mask_of)
        self.outputs = self.outputs[:real] + [self.outputs[k]._keras_mask for k in which]
        self.mask_of = list(which)
        self._order()

    def reads(self, placeholder):
        """Whether the replayed calls (or the outputs) use `placeholder`."""
        used = {id(t) for t in self.outputs + self.losses}
        used.update(id(t) for call in self.loss_calls + self.calls for t in call.inputs)
        return id(placeholder) in used

    def drop_inputs(self, positions):
        """Forgets the placeholders at `positions` (ones that nothing reads)."""
        self.inputs = [t for i, t in enumerate(self.inputs) if i not in positions]

    def emit(self, b, names, masks=True):
        """The names of the outputs (None for the masks appended by add_output_masks,
        without `masks`); with `b.collect_losses`, the added losses' names join
        `b.added_losses`."""
        outputs = self.outputs
        calls, loss_calls = self.calls, self.loss_calls
        if self.mask_of and not masks:  # only what the outputs proper need
            outputs = self.outputs[:len(self.outputs) - len(self.mask_of)]
            calls = order_calls(self.inputs, outputs, self.owner)
            loss_calls = order_calls(self.inputs, outputs + self.losses, self.owner) if self.losses else calls
        gap = [None] * (len(self.outputs) - len(outputs))
        if not (b.collect_losses and self.losses):
            return emit_calls(b, self.inputs, names, calls, outputs) + gap
        values = emit_calls(b, self.inputs, names, loss_calls, outputs + self.losses)
        b.added_losses.extend(values[len(outputs):])
        return values[:len(outputs)] + gap


def trace_call(layer, listed, shapes, dtypes, training=None, inputs=None, with_mask=False, carried=()):
    """layer.call traced on placeholders (or the given symbolic `inputs`): {mode: Trace},
    one per mode when call() takes `training` and the caller fixed none, else one.

    The placeholders are the inputs; with `with_mask`, then the mask given to the call; then
    one per True in `carried`: the mask that input carries, attached to its placeholder as
    `_keras_mask` so the layers inside call() take it as they would outside. A call() that
    takes `mask` gets the given one, else the carried ones (a list for listed inputs, as
    Keras 3 gives); one that takes none finds the given mask on its (first) input, as a
    functional model's inputs carry the masks given to it."""
    pass_training = _accepts_training(layer.call)
    pass_mask = _accepts_mask(layer.call)
    modes = [training] if training is not None or not pass_training else [False, True]
    n = len(shapes) - int(with_mask) - sum(bool(c) for c in carried)
    traces = {}
    for mode in modes:
        def fn(*placeholders, mode=mode):
            xs, rest = list(placeholders[:n]), list(placeholders[n:])
            given = rest.pop(0) if with_mask else None
            masks = iter(rest)
            for x, has in zip(xs, carried):
                x._keras_mask = next(masks) if has else None
            kwargs = {}
            if with_mask and pass_mask:
                kwargs["mask"] = given
            elif with_mask:  # call() takes no mask: the given one is the one its input carries
                xs[0]._keras_mask = given
            elif pass_mask and (any(carried) or listed):
                kwargs["mask"] = [x._keras_mask for x in xs] if listed else xs[0]._keras_mask
            if pass_training:
                kwargs["training"] = mode
            return layer.call(xs if listed else xs[0], **kwargs)
        traces[mode] = Trace(fn, shapes, dtypes, layer.name, inputs=inputs)
    return traces


def _computed_from(inputs, tensor):
    """Whether `tensor` is computed from `inputs` alone (a mask that is not, such as one set
    by hand on a tensor from elsewhere, cannot come out of a call)."""
    try:
        order_calls(inputs, [tensor], "mask")
    except ValueError:
        return False
    return True


def carry_output_masks(traces):
    """Makes the masks that call()'s outputs carry (in every mode) outputs of the traces too;
    returns the indices of the outputs they belong to."""
    which = None
    for trace in traces.values():
        here = {k for k, t in enumerate(trace.outputs) if t._keras_mask is not None and
                _computed_from(trace.inputs, t._keras_mask)}
        which = here if which is None else which & here
    which = sorted(which or ())
    if which:
        for trace in traces.values():
            trace.add_output_masks(which)
    return which


def trace_for(traces, mode):
    """The trace of `mode`, or the only one when call() does not depend on it."""
    return traces[mode] if mode in traces else next(iter(traces.values()))


def unique_weights(weights):
    """Each weight once, in first-seen order (a weight may be reached through several layers)."""
    out, seen = [], set()
    for w in weights:
        if id(w) not in seen:
            seen.add(id(w))
            out.append(w)
    return out


def _plain(value):
    if value is None or isinstance(value, (bool, int, float, str)):
        return True
    if isinstance(value, (list, tuple)):
        return all(_plain(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain(v) for k, v in value.items())
    return False


def _accepts_training(fn):
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return "training" in params or any(p.kind == p.VAR_KEYWORD for p in params.values())


def _accepts_mask(fn):
    try:
        return "mask" in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False


class Layer:
    """Subclasses either write their nodes directly (`emit`, the built-in layers) or compose
    engine.ops and other layers in `call()`, traced on symbolic tensors as Keras does.

    Masks follow Keras: a layer's output carries compute_mask(inputs, mask) as its mask
    (`_keras_mask`), which by default is the input's mask where the layer supports masking
    (`supports_masking`: it works step by step, as Dense does) and None otherwise; an output
    that carries a mask made inside call() keeps it. A call() that takes `mask` gets the mask
    its input carries (a list for a list of inputs), or the one given to __call__; the layers
    inside call() see the masks its inputs carry."""

    supports_masking = False

    def __new__(cls, *args, **kwargs):
        # The constructor's arguments: the config of a user's class without get_config (Keras
        # 3 does the same), so it saves and loads by its class alone.
        layer = super().__new__(cls)
        layer.__dict__["_constructor_arguments"] = (args, kwargs)
        return layer

    def __init__(self, name=None, trainable=True, input_shape=None, dtype="float32", **kwargs):
        if kwargs:
            raise TypeError(f"{type(self).__name__}: unexpected arguments {sorted(kwargs)}")
        self._sublayers = []  # layers held in attributes, whose weights are also this layer's
        self._weights = []
        self._calls = []
        self.name = _args.optional_name(self, "name", name) or unique_name(_snake(type(self).__name__))
        self._trainable = _args.boolean(self, "trainable", trainable)
        self.built = False
        self._input_shape_arg = None if input_shape is None else _args.shape(self, "input_shape", input_shape)
        # Accepted for Keras compatibility; every layer computes in float32.
        if dtype is not None and dtype != "float32" and dtype is not np.float32:
            raise ValueError(f"{type(self).__name__}: dtype must be 'float32', got {dtype!r}")
        self.dtype = "float32"

    def __setattr__(self, name, value):
        # Keras tracks the layers and weights a layer keeps in its attributes.
        tracked = self.__dict__.get("_sublayers")
        if tracked is not None and not name.startswith("_"):
            items = value if isinstance(value, (list, tuple)) else [value]
            for item in items:
                if isinstance(item, Layer) and item is not self and all(item is not l for l in tracked):
                    tracked.append(item)
                elif isinstance(item, Variable) and all(item is not w for w in self._weights):
                    self._weights.append(item)
        object.__setattr__(self, name, value)

    # --- weights ---------------------------------------------------------------------
    def add_weight(self, shape=None, initializer=None, dtype=None, trainable=True, regularizer=None,
                   constraint=None, name=None):
        """A new weight of this layer (Keras 3's argument order; tf.keras's `add_weight(name,
        shape, ...)` with the name first is also accepted)."""
        if isinstance(shape, str):  # the older order: name first
            shape, initializer, name = initializer, dtype, shape
            dtype = None
        if dtype is not None and dtype != "float32" and dtype is not np.float32:
            raise ValueError(f"{self.name}: weights are float32, got dtype {dtype!r}")
        shape = () if shape is None else tuple(int(d) for d in shape)
        name = name or f"variable_{len(self._weights)}"
        init = _initializers.get("glorot_uniform" if initializer is None else initializer)
        value = np.asarray(init(shape), dtype=np.float32)
        if value.shape != shape:
            raise ValueError(f"{self.name}: initializer for {name!r} returned shape {value.shape}, expected {shape}")
        var = Variable(f"{self.name}/{name}", value, trainable, _regularizers.get(regularizer),
                       _constraints.get(constraint))
        self._weights.append(var)
        return var

    @property
    def trainable(self):
        return self._trainable

    @trainable.setter
    def trainable(self, value):
        self._trainable = _args.boolean(self, "trainable", value)

    def _layers_within(self):
        """This layer and the layers it holds, each once."""
        out, stack = [], [self]
        while stack:
            layer = stack.pop()
            if all(layer is not l for l in out):
                out.append(layer)
                stack.extend(reversed(layer._sublayers))
        return out

    @property
    def weights(self):
        return unique_weights(w for layer in self._layers_within() for w in layer._weights)

    @property
    def trainable_weights(self):
        if not self._trainable:
            return []
        return unique_weights([w for w in self._weights if w.trainable] +
                              [w for layer in self._sublayers for w in layer.trainable_weights])

    @property
    def non_trainable_weights(self):
        trainable = {id(w) for w in self.trainable_weights}
        return [w for w in self.weights if id(w) not in trainable]

    # Keras 3's names for the same lists.
    @property
    def variables(self):
        return self.weights

    @property
    def trainable_variables(self):
        return self.trainable_weights

    @property
    def non_trainable_variables(self):
        return self.non_trainable_weights

    @property
    def losses(self):
        """The weight regularization penalties of this layer (or model) at the current
        weights, one float per regularized weight, as Keras's `layer.losses` lists them."""
        return [float(w.regularizer(w.value)) for w in self.weights
                if getattr(w, "regularizer", None) is not None]

    def add_loss(self, loss):
        """Adds a scalar computed in call() (with engine.ops on its tensors) to the training
        loss of any model this layer is part of: activity regularization, auxiliary losses."""
        if not isinstance(loss, KerasTensor):
            raise TypeError(f"{self.name}: add_loss takes a symbolic tensor computed in call() with "
                            f"engine.ops, got {type(loss).__name__}")
        if loss.shape != ():
            loss = _ops().sum(loss)
        if _tracing.traces:
            _tracing.traces[-1].losses.append(loss)
        else:
            self._add_model_loss(loss)

    def _add_model_loss(self, loss):
        raise ValueError(f"{self.name}: add_loss is for use inside call(), while the layer is traced (or on a "
                         "functional model, with a tensor computed from its inputs)")

    def get_weights(self):
        """Copies of the weights, in creation order (Keras order)."""
        return [w.numpy() for w in self.weights]

    def set_weights(self, weights):
        weights = list(weights)
        mine = self.weights
        if len(weights) != len(mine):
            raise ValueError(f"{self.name}: expected {len(mine)} weight arrays, got {len(weights)}")
        for var, value in zip(mine, weights):
            if np.shape(value) != var.shape:
                raise ValueError(f"{self.name}: weight {var.name!r} has shape {var.shape}, got {np.shape(value)}")
        for var, value in zip(mine, weights):
            var.assign(value)

    def count_params(self):
        return int(sum(int(np.prod(w.shape)) for w in self.weights))

    @property
    def input_shape(self):
        """The input shape of the layer's first call (a list for several inputs)."""
        if not self._calls:
            raise AttributeError(f"{self.name} has not been called yet, so it has no input_shape")
        shapes = [t.shape for t in self._calls[0].own_inputs]
        return shapes if self._calls[0].listed else shapes[0]

    @property
    def output_shape(self):
        if not self._calls:
            raise AttributeError(f"{self.name} has not been called yet, so it has no output_shape")
        shapes = [t.shape for t in self._calls[0].own_outputs]
        return shapes[0] if len(shapes) == 1 else shapes

    # --- the contract subclasses fill in -------------------------------------------------
    def build(self, input_shape):
        self.built = True

    def compute_output_shape(self, input_shape):
        return input_shape

    def compute_mask(self, inputs, mask=None):
        """The mask of the outputs (symbolic, or None) for inputs carrying `mask`."""
        return mask if self.supports_masking else None

    def emit(self, builder, inputs, input_shapes):
        """Adds this layer's nodes reading value names `inputs`; returns output value names."""
        raise TypeError(f"{type(self).__name__} cannot be placed in a graph: it defines neither call() nor emit()")

    def call(self, inputs, training=None):
        """The layer's computation on symbolic tensors. A built-in layer's is its own nodes (see
        emit); `super().call(x, training=True)` in a subclass runs them in that mode."""
        flat = _flatten(inputs)
        if not all(isinstance(t, KerasTensor) for t in flat):
            return self(inputs, training=training)
        return self._record_call(inputs, flat, training, None)

    def get_config(self):
        config = {"name": self.name, "trainable": self.trainable}
        if not type(self).__module__.startswith("engine."):
            config.update(self._constructor_config())
        return config

    def _constructor_config(self):
        """The arguments a user's class was built with, by parameter name."""
        args, kwargs = self.__dict__.get("_constructor_arguments", ((), {}))
        try:
            bound = inspect.signature(type(self).__init__).bind(self, *args, **kwargs)
        except TypeError:
            return {}
        config = {}
        for name, value in list(bound.arguments.items())[1:]:
            kind = bound.signature.parameters[name].kind
            values = value if kind == inspect.Parameter.VAR_KEYWORD else {name: value}
            if kind == inspect.Parameter.VAR_POSITIONAL:
                raise NotImplementedError(f"{type(self).__name__}: *args in __init__ cannot be saved; "
                                          "define get_config()")
            for key, item in values.items():
                if not _plain(item):
                    raise NotImplementedError(
                        f"{type(self).__name__}: argument {key!r} ({type(item).__name__}) is not a plain "
                        "value (number, string, list, dict); define get_config() to save this class")
                config[key] = item
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    # --- calling ---------------------------------------------------------------------
    def _check_inputs(self, inputs):
        """Hook: raise ValueError when the symbolic inputs do not suit this layer."""

    def _computes_with_call(self):
        return type(self).call is not Layer.call

    def __call__(self, inputs, training=None, mask=None):
        flat = _flatten(inputs)
        if all(isinstance(t, KerasTensor) for t in flat):
            if mask is not None and not isinstance(mask, KerasTensor):
                raise TypeError(f"{self.name}: the mask of symbolic inputs must be symbolic, got "
                                f"{type(mask).__name__}")
            return self._call_symbolic(inputs, flat, training, mask)
        if any(isinstance(t, KerasTensor) for t in flat):
            raise TypeError(f"{self.name}: mix of symbolic and concrete inputs")
        if mask is None:  # (the form the layers that override _call_eager take)
            return self._call_eager(inputs, flat, training)
        return self._call_eager(inputs, flat, training, mask)

    def _call_symbolic(self, inputs, flat, training=None, mask=None):
        self._check_inputs(flat)
        listed = isinstance(inputs, (list, tuple))
        shapes = [t.shape for t in flat]
        arg = shapes if listed else shapes[0]
        given = mask
        if mask is None and not listed:
            mask = flat[0]._keras_mask
        if not self.built:
            self.build(arg)
            self.built = True
        if not self._computes_with_call():
            outputs = self._record_call(inputs, flat, training, None)
        else:
            # call() sees what it would see in Keras 3: the given mask as `mask`, and the
            # masks its inputs carry on its placeholders (for the layers inside it); the masks
            # its outputs carry come out with them.
            with_mask = given is not None
            carried = [t._keras_mask is not None for t in flat]
            operands = (flat + ([given] if with_mask else []) +
                        [t._keras_mask for t in flat if t._keras_mask is not None])
            traces = trace_call(self, listed, [t.shape for t in operands], [t.dtype for t in operands],
                                training, with_mask=with_mask, carried=carried)
            mask_of = carry_output_masks(traces)
            # Carried masks nothing inside read are no inputs of the call (nor graph nodes).
            first_mask = len(flat) + int(with_mask)
            unused = {i for i in range(first_mask, len(operands))
                      if not any(trace.reads(trace.inputs[i]) for trace in traces.values())}
            if unused:
                for trace in traces.values():
                    trace.drop_inputs(unused)
                operands = [t for i, t in enumerate(operands) if i not in unused]
            outputs = self._record_call(inputs, operands, training, traces, listed=listed)
            call = self._calls[-1]
            call.masked = with_mask
            call.input_masks = len(operands) - first_mask
            call.output_mask_of = mask_of
            if mask_of:
                real = call.own_outputs
                for k, m in zip(mask_of, call.outputs[len(real):]):
                    real[k]._keras_mask = m
        if mask is None and listed and any(t._keras_mask is not None for t in flat):
            mask = [t._keras_mask for t in flat]  # (for compute_mask; call() takes one input's mask)
        self._set_output_masks(inputs, outputs, mask)
        return outputs

    def _set_output_masks(self, inputs, outputs, mask):
        """Keras 3: outputs that already carry a mask (one computed inside call()) keep it;
        the others carry compute_mask's."""
        outs = _flatten(outputs)
        if all(t._keras_mask is not None for t in outs):
            return
        if mask is None and type(self).compute_mask is Layer.compute_mask:
            return
        masks = self.compute_mask(inputs, mask)
        masks = _flatten(masks) if isinstance(masks, (list, tuple)) else [masks] + [None] * (len(outs) - 1)
        for t, m in zip(outs, masks):
            if t._keras_mask is None:
                t._keras_mask = m

    def _record_call(self, inputs, flat, training, traces, listed=None):
        listed = isinstance(inputs, (list, tuple)) if listed is None else listed
        real = None
        if traces is not None:
            first = next(iter(traces.values()))
            out_shapes = [t.shape for t in first.outputs]
            dtypes = [t.dtype for t in first.outputs]
            multi = not first.single
            real = len(first.outputs) - len(first.mask_of)  # (the masks after them are not returned)
        else:
            shapes = [t.shape for t in flat]
            out_shapes = self.compute_output_shape(shapes if listed else shapes[0])
            multi = isinstance(out_shapes, list)
            out_shapes = out_shapes if multi else [out_shapes]
            dtypes = self._output_dtypes([t.dtype for t in flat], len(out_shapes))
        index = len(self._calls)
        outputs = [KerasTensor(s, d, layer=self, call_index=index, output_index=i)
                   for i, (s, d) in enumerate(zip(out_shapes, dtypes))]
        self._calls.append(LayerCall(self, flat, outputs, listed, training, traces))
        if real is not None:
            outputs = outputs[:real]
        return outputs if multi else outputs[0]

    def _output_dtypes(self, input_dtypes, n):
        return ["float32"] * n

    def _call_eager(self, inputs, flat, training, mask=None):
        from engine.models import Input, Model  # models builds on layers

        if mask is not None:
            flat = flat + [np.asarray(mask, dtype=bool)]
        arrays = [np.asarray(a, dtype=np.float32) if np.asarray(a).dtype.kind == "f" else np.asarray(a) for a in flat]
        sym = [Input(shape=a.shape[1:], dtype=str(a.dtype)) for a in arrays]
        sym_mask = sym.pop() if mask is not None else None
        out = self(sym if isinstance(inputs, (list, tuple)) else sym[0], mask=sym_mask)
        if mask is not None:
            sym.append(sym_mask)
        model = Model(sym, out)
        result = model._run(arrays, training=bool(training))
        return result if isinstance(out, list) else result[0]

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}>"


class GraphBuilder:
    """Writes layers into a core graph: unique value names, parameters bound zero-copy."""

    def __init__(self, device="cpu", training=False, collect_losses=False, trainable_ids=None):
        self.graph = _core.Graph()
        self.device = device  # where float constants go (the parameters' device)
        self.training = training  # the mode call() is traced in where the caller fixed none
        self.call_training = None  # the mode fixed by the call being emitted (None: the graph's)
        self.collect_losses = collect_losses  # emit add_loss terms (the training graph does)
        self.added_losses = []
        self.trainable_ids = trainable_ids  # ids of the weights that train (None: their own flags)
        self._used = set()
        self._params = {}
        self.producers = {}  # value name -> (op_type, input names): lets losses fuse
        self.constants = {}  # name -> array of the non-parameter initializers
        self.nodes = []      # every node added, as dicts (ONNX export rewrites this list)
        self.inputs = []     # (name, shape, dtype)
        self.outputs = []

    def add_input(self, name, shape, dtype="float32"):
        self.graph.add_input(name, shape, dtype)
        self.inputs.append((name, tuple(shape), dtype))

    def add_output(self, name, dtype="float32"):
        self.graph.add_output(name, dtype)
        self.outputs.append(name)


    def unique(self, base):
        name = base
        k = 1
        while name in self._used:
            name = f"{base}_{k}"
            k += 1
        self._used.add(name)
        return name

    def node(self, op_type, inputs, n_outputs=1, attrs=None, name=None, domain=""):
        node_name = self.unique(name or op_type.lower())
        outputs = [self.unique(f"{node_name}:{i}" if n_outputs > 1 else node_name) for i in range(n_outputs)]
        self.graph.add_node(op_type, list(inputs), outputs, attrs or {}, name=node_name, domain=domain)
        self.nodes.append({"op_type": op_type, "inputs": list(inputs), "outputs": outputs,
                           "attrs": dict(attrs or {}), "name": node_name, "domain": domain})
        for out in outputs:
            self.producers[out] = (op_type, list(inputs))
        return outputs

    def param(self, var, trainable):
        """The graph name of a Variable, bound to its core memory (no copy)."""
        key = id(var)
        if key not in self._params:
            name = self.unique(var.name)
            if var._device_array is not None:
                self.graph.bind_device_initializer(name, var._device_array, trainable)
            else:
                self.graph.bind_initializer(name, var._value, trainable)
            self._params[key] = (name, var)
        return self._params[key][0]

    def constant(self, array, name):
        cname = self.unique(name)
        array = np.asarray(array)
        # Float constants join the parameters on their device; int64 ones (shapes, axes)
        # are read while planning and stay on the host.
        device = self.device if array.dtype == np.float32 else None
        self.graph.set_initializer(cname, array, False, device)
        self.constants[cname] = np.asarray(array)
        return cname

    def weight(self, var):
        """The graph name of a weight read by an engine.ops call (trainable as the model says)."""
        trainable = var.trainable if self.trainable_ids is None else id(var) in self.trainable_ids
        return self.param(var, trainable)

    def parameters(self):
        """(graph name, Variable) for every bound parameter."""
        return list(self._params.values())
