"""The layer contract (Keras): __init__ stores config, build(input_shape) creates weights,
emit() writes the layer's ONNX nodes into a graph, compute_output_shape() gives shapes.

Weights live in core memory from the moment they are created: a Variable's value is a
numpy view of a core-owned buffer, and graphs bind that same memory, so a model's
parameters are never copied between Python and the core.
"""
import collections
import re

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


class Variable:
    """A weight: a name, a trainable flag and a float32 value held in core memory.

    On the CPU, `value` is the live core buffer. A variable placed on a GPU (a model
    compiled with device="cuda") lives in device memory: `value` and `numpy()` then return
    host copies, and `assign()` is the way to change it."""

    def __init__(self, name, value, trainable=True, regularizer=None, constraint=None):
        self.name = name
        self.trainable = bool(trainable)
        self.regularizer = regularizer  # adds a penalty to the training loss
        self.constraint = constraint    # applied after each update
        self._value = _core._owned_array(np.asarray(value, dtype=np.float32))
        self._device_array = None       # a _core.DeviceArray when placed on a GPU

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
        """The live core buffer as a numpy view (writes reach the model); for a variable on
        a GPU, a host copy of its current value."""
        if self._device_array is not None:
            self._device_array.read_into(self._value)
        return self._value

    def numpy(self):
        """A copy of the current value."""
        return self.value.copy()

    def assign(self, value):
        value = np.asarray(value)
        if value.shape != self._value.shape:
            raise ValueError(f"variable {self.name!r}: cannot assign shape {value.shape} to {self._value.shape}")
        self._value[...] = value
        if self._device_array is not None:
            self._device_array.assign(self._value)

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

    layer.activation = _args.resolve(layer, "activation", _activations.get, activation)
    layer.use_bias = _args.boolean(layer, "use_bias", use_bias)
    layer.kernel_initializer = _args.resolve(layer, "kernel_initializer", _initializers.get, kernel_initializer)
    layer.bias_initializer = _args.resolve(layer, "bias_initializer", _initializers.get, bias_initializer)
    layer.weight_options = WeightOptions(layer, kernel_regularizer, bias_regularizer, kernel_constraint,
                                         bias_constraint)


class KerasTensor:
    """A symbolic tensor of the functional API: a shape (None = batch) and its history."""

    def __init__(self, shape, dtype="float32", layer=None, call_index=0, output_index=0, name=None):
        self.shape = tuple(shape)
        self.dtype = dtype
        self._layer = layer
        self._call_index = call_index
        self._output_index = output_index
        self.name = name

    @property
    def ndim(self):
        return len(self.shape)

    @property
    def layer_name(self):
        """The name of the layer that produced this tensor (keys outputs in logs and dicts)."""
        return self._layer.name if self._layer is not None else self.name

    def __repr__(self):
        return f"<KerasTensor shape={self.shape} dtype={self.dtype}>"


class LayerCall:
    """One application of a layer to symbolic inputs; `listed` records whether they came as
    a list, which decides the form of the shapes given to compute_output_shape."""

    def __init__(self, layer, inputs, outputs, listed):
        self.layer = layer
        self.inputs = inputs
        self.outputs = outputs
        self.listed = listed


def _flatten(x):
    if isinstance(x, (list, tuple)):
        return list(x)
    return [x]


class Layer:
    def __init__(self, name=None, trainable=True, input_shape=None, dtype="float32", **kwargs):
        if kwargs:
            raise TypeError(f"{type(self).__name__}: unexpected arguments {sorted(kwargs)}")
        self.name = _args.optional_name(self, "name", name) or unique_name(_snake(type(self).__name__))
        self._trainable = _args.boolean(self, "trainable", trainable)
        self.built = False
        self._weights = []
        self._calls = []
        self._input_shape_arg = None if input_shape is None else _args.shape(self, "input_shape", input_shape)
        # Accepted for Keras compatibility; every layer computes in float32.
        if dtype is not None and dtype != "float32" and dtype is not np.float32:
            raise ValueError(f"{type(self).__name__}: dtype must be 'float32', got {dtype!r}")
        self.dtype = "float32"

    # --- weights ---------------------------------------------------------------------
    def add_weight(self, name, shape, initializer="glorot_uniform", trainable=True,
                   regularizer=None, constraint=None):
        init = _initializers.get(initializer)
        value = np.asarray(init(tuple(shape)), dtype=np.float32)
        if value.shape != tuple(shape):
            raise ValueError(f"{self.name}: initializer for {name!r} returned shape {value.shape}, expected {tuple(shape)}")
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

    @property
    def weights(self):
        return list(self._weights)

    @property
    def trainable_weights(self):
        return [w for w in self._weights if w.trainable and self._trainable]

    @property
    def non_trainable_weights(self):
        return [w for w in self._weights if not (w.trainable and self._trainable)]

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

    def get_weights(self):
        """Copies of the weights, in creation order (Keras order)."""
        return [w.numpy() for w in self._weights]

    def set_weights(self, weights):
        weights = list(weights)
        if len(weights) != len(self._weights):
            raise ValueError(f"{self.name}: expected {len(self._weights)} weight arrays, got {len(weights)}")
        for var, value in zip(self._weights, weights):
            value = np.asarray(value)
            if value.shape != var.shape:
                raise ValueError(f"{self.name}: weight {var.name!r} has shape {var.shape}, got {value.shape}")
        for var, value in zip(self._weights, weights):
            var.assign(value)

    def count_params(self):
        return int(sum(int(np.prod(w.shape)) for w in self._weights))

    # --- the contract subclasses fill in -------------------------------------------------
    def build(self, input_shape):
        self.built = True

    def compute_output_shape(self, input_shape):
        return input_shape

    def emit(self, builder, inputs, input_shapes):
        """Adds this layer's nodes reading value names `inputs`; returns output value names."""
        raise TypeError(f"{type(self).__name__} cannot be placed in a graph: it defines no emit()")

    def get_config(self):
        return {"name": self.name, "trainable": self.trainable}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    # --- calling ---------------------------------------------------------------------
    def _check_inputs(self, inputs):
        """Hook: raise ValueError when the symbolic inputs do not suit this layer."""

    def __call__(self, inputs, training=None):
        flat = _flatten(inputs)
        if all(isinstance(t, KerasTensor) for t in flat):
            return self._call_symbolic(inputs, flat)
        if any(isinstance(t, KerasTensor) for t in flat):
            raise TypeError(f"{self.name}: mix of symbolic and concrete inputs")
        return self._call_eager(inputs, flat, training)

    def _call_symbolic(self, inputs, flat):
        self._check_inputs(flat)
        shapes = [t.shape for t in flat]
        arg = shapes if isinstance(inputs, (list, tuple)) else shapes[0]
        if not self.built:
            self.build(arg)
            self.built = True
        out_shapes = self.compute_output_shape(arg)
        multi = isinstance(out_shapes, list)
        out_shapes = out_shapes if multi else [out_shapes]
        index = len(self._calls)
        outputs = [KerasTensor(s, layer=self, call_index=index, output_index=i) for i, s in enumerate(out_shapes)]
        self._calls.append(LayerCall(self, flat, outputs, isinstance(inputs, (list, tuple))))
        return outputs if multi else outputs[0]

    def _call_eager(self, inputs, flat, training):
        from engine.models import Input, Model  # models builds on layers

        arrays = [np.asarray(a, dtype=np.float32) if np.asarray(a).dtype.kind == "f" else np.asarray(a) for a in flat]
        sym = [Input(shape=a.shape[1:], dtype=str(a.dtype)) for a in arrays]
        out = self(sym if isinstance(inputs, (list, tuple)) else sym[0])
        model = Model(sym, out)
        result = model._run(arrays, training=bool(training))
        return result if isinstance(out, list) else result[0]

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}>"


class GraphBuilder:
    """Writes layers into a core graph: unique value names, parameters bound zero-copy."""

    def __init__(self, device="cpu"):
        self.graph = _core.Graph()
        self.device = device  # where float constants go (the parameters' device)
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

    def add_output(self, name):
        self.graph.add_output(name)
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
                self.graph.bind_initializer(name, var.value, trainable)
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

    def parameters(self):
        """(graph name, Variable) for every bound parameter."""
        return list(self._params.values())
