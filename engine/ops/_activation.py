"""Elementwise activations and their gradients (ONNX semantics)."""
from engine.ops._run import backward, forward

__all__ = [
    "relu", "relu_backward", "leaky_relu", "leaky_relu_backward", "elu", "elu_backward",
    "selu", "selu_backward", "sigmoid", "sigmoid_backward", "tanh", "tanh_backward",
    "softplus", "softplus_backward",
]


def _forward(op_type, x, **attrs):
    return forward(op_type, [x], ("x",), attrs)


def _backward(op_type, dy, x, y, **attrs):
    """dx = dy * f'(x); `y`, the forward output, saves recomputing it."""
    outputs = [y] if y is not None else None
    return backward(op_type, [x], ("x",), dy, attrs, outputs=outputs, state=[])[0]


def relu(x):
    return _forward("Relu", x)


def relu_backward(dy, x, y=None):
    return _backward("Relu", dy, x, y)


def leaky_relu(x, alpha=0.01):
    """ONNX LeakyRelu (alpha defaults to ONNX's 0.01; Keras's LeakyReLU layer passes 0.3)."""
    return _forward("LeakyRelu", x, alpha=alpha)


def leaky_relu_backward(dy, x, y=None, alpha=0.01):
    return _backward("LeakyRelu", dy, x, y, alpha=alpha)


def elu(x, alpha=1.0):
    return _forward("Elu", x, alpha=alpha)


def elu_backward(dy, x, y=None, alpha=1.0):
    return _backward("Elu", dy, x, y, alpha=alpha)


def selu(x, alpha=None, gamma=None):
    """ONNX Selu; alpha and gamma default to the self-normalising constants."""
    return _forward("Selu", x, alpha=alpha, gamma=gamma)


def selu_backward(dy, x, y=None, alpha=None, gamma=None):
    return _backward("Selu", dy, x, y, alpha=alpha, gamma=gamma)


def sigmoid(x):
    return _forward("Sigmoid", x)


def sigmoid_backward(dy, x, y=None):
    return _backward("Sigmoid", dy, x, y)


def tanh(x):
    return _forward("Tanh", x)


def tanh_backward(dy, x, y=None):
    return _backward("Tanh", dy, x, y)


def softplus(x):
    return _forward("Softplus", x)


def softplus_backward(dy, x, y=None):
    return _backward("Softplus", dy, x, y)
