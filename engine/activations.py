"""Activation names (Keras) and the graph nodes that compute them.

An activation is a name ("relu", ...), None/"linear", or a function of one tensor written
with engine.ops (the functions below, or the user's own): a function is traced into the
layer's nodes. The functions here are also usable directly: engine.activations.relu(x).
"""
from engine.ops import _keras

# name -> (ONNX op type, attributes). Keras defaults: the `leaky_relu` activation function
# uses negative_slope 0.2 (the LeakyReLU layer's default is 0.3).
_ACTIVATIONS = {
    "relu": ("Relu", {}),
    "leaky_relu": ("LeakyRelu", {"alpha": 0.2}),
    "elu": ("Elu", {"alpha": 1.0}),
    "selu": ("Selu", {"alpha": 1.6732632423543772, "gamma": 1.0507009873554805}),
    "sigmoid": ("Sigmoid", {}),
    "tanh": ("Tanh", {}),
    "softplus": ("Softplus", {}),
    "softsign": ("Softsign", {}),
    "softmax": ("Softmax", {"axis": -1}),
    "exponential": ("Exp", {}),
    "hard_sigmoid": ("HardSigmoid", {"alpha": 1.0 / 6.0, "beta": 0.5}),
    "hard_silu": ("HardSwish", {}),
    "hard_swish": ("HardSwish", {}),
}

# Activations made of several nodes: written with engine.ops.
_COMPOSED = {
    "gelu": _keras.gelu,
    "silu": _keras.silu,
    "swish": _keras.silu,
    "mish": _keras.mish,
    "relu6": _keras.relu6,
    "log_sigmoid": _keras.log_sigmoid,
}

relu = _keras.relu
leaky_relu = _keras.leaky_relu
elu = _keras.elu
selu = _keras.selu
sigmoid = _keras.sigmoid
tanh = _keras.tanh
softplus = _keras.softplus
softsign = _keras.softsign
softmax = _keras.softmax
exponential = _keras.exp
hard_sigmoid = _keras.hard_sigmoid
hard_silu = hard_swish = _keras.hard_silu
gelu = _keras.gelu
silu = swish = _keras.silu
mish = _keras.mish
relu6 = _keras.relu6
log_sigmoid = _keras.log_sigmoid


def linear(x):
    return x


# The functions above given as objects map back to their names (configs stay names).
_NAMES_OF_FUNCTIONS = {id(fn): name for name, fn in [
    ("relu", relu), ("leaky_relu", leaky_relu), ("elu", elu), ("selu", selu), ("sigmoid", sigmoid),
    ("tanh", tanh), ("softplus", softplus), ("softsign", softsign), ("softmax", softmax),
    ("exponential", exponential), ("hard_sigmoid", hard_sigmoid), ("hard_silu", hard_silu),
    ("gelu", gelu), ("silu", silu), ("mish", mish), ("relu6", relu6), ("log_sigmoid", log_sigmoid),
    ("linear", linear)]}


def get(identifier):
    """The activation function for a name, a function or None (Keras's activations.get)."""
    key = normalize(identifier)
    if key is None:
        return linear
    if not isinstance(key, str):
        return key
    return _COMPOSED.get(key) or globals()[key]


def normalize(identifier):
    """The normalised activation name for a name or None ("linear" and None mean identity);
    a function of one tensor passes through (the engine's own map back to their names)."""
    if identifier is None:
        return None
    if callable(identifier) and not isinstance(identifier, str):
        name = _NAMES_OF_FUNCTIONS.get(id(identifier))
        return identifier if name is None else normalize(name)
    if not isinstance(identifier, str):
        raise TypeError(f"activation must be a name or a function, got {identifier!r}")
    key = identifier.lower()
    if key == "linear":
        return None
    if key not in _ACTIVATIONS and key not in _COMPOSED:
        from engine import saving

        custom = saving.get_registered_object(identifier)
        if callable(custom):  # a function saved by name (load_model's custom_objects)
            return custom
        known = sorted(set(_ACTIVATIONS) | set(_COMPOSED))
        raise ValueError(f"unknown activation {identifier!r}; known: linear, {', '.join(known)}")
    return key


def serialize(activation):
    """The config form: a name, or a function's name (load it back with custom_objects)."""
    return activation if activation is None or isinstance(activation, str) else activation.__name__


def emit(builder, name, x, node_name, shape=None):
    """Adds the activation's nodes after value `x` (of `shape`, needed for functions);
    returns the output value name."""
    key = normalize(name)
    if key is None:
        return x
    if isinstance(key, str) and key in _ACTIVATIONS:
        op_type, attrs = _ACTIVATIONS[key]
        return builder.node(op_type, [x], attrs=attrs, name=node_name)[0]
    from engine.layers.base import Trace

    fn = _COMPOSED[key] if isinstance(key, str) else key
    if shape is None:
        raise ValueError(f"{node_name}: the activation function needs the shape of its input")
    return Trace(fn, [shape], ["float32"], node_name).emit(builder, [x])[0]
