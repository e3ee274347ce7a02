"""Activation names (Keras) and the graph nodes that compute them."""

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
    "softmax": ("Softmax", {"axis": -1}),
}


def get(identifier):
    """The normalised activation name for a name or None ("linear" and None mean identity)."""
    if identifier is None:
        return None
    if not isinstance(identifier, str):
        raise TypeError(f"activation must be a name, got {identifier!r}")
    key = identifier.lower()
    if key == "linear":
        return None
    if key not in _ACTIVATIONS:
        raise ValueError(f"unknown activation {identifier!r}; known: linear, {', '.join(sorted(_ACTIVATIONS))}")
    return key


def emit(builder, name, x, node_name):
    """Adds the activation's node after value `x`; returns the output value name."""
    key = get(name)
    if key is None:
        return x
    op_type, attrs = _ACTIVATIONS[key]
    return builder.node(op_type, [x], attrs=attrs, name=node_name)[0]
