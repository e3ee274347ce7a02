"""Elementwise activations and their gradients (ONNX semantics)."""
from engine import _core

__all__ = [
    "relu", "relu_backward", "leaky_relu", "leaky_relu_backward", "elu", "elu_backward",
    "selu", "selu_backward", "sigmoid", "sigmoid_backward", "tanh", "tanh_backward",
    "softplus", "softplus_backward",
]


def relu(x):
    return _core.activation_forward("Relu", x)


def relu_backward(dy, x, y=None):
    return _core.activation_backward("Relu", dy, x, y)


def leaky_relu(x, alpha=0.01):
    """ONNX LeakyRelu (alpha defaults to ONNX's 0.01; Keras's LeakyReLU layer passes 0.3)."""
    return _core.activation_forward("LeakyRelu", x, alpha=alpha)


def leaky_relu_backward(dy, x, y=None, alpha=0.01):
    return _core.activation_backward("LeakyRelu", dy, x, y, alpha=alpha)


def elu(x, alpha=1.0):
    return _core.activation_forward("Elu", x, alpha=alpha)


def elu_backward(dy, x, y=None, alpha=1.0):
    return _core.activation_backward("Elu", dy, x, y, alpha=alpha)


def selu(x, alpha=None, gamma=None):
    """ONNX Selu; alpha and gamma default to the self-normalising constants."""
    return _core.activation_forward("Selu", x, alpha=alpha, gamma=gamma)


def selu_backward(dy, x, y=None, alpha=None, gamma=None):
    return _core.activation_backward("Selu", dy, x, y, alpha=alpha, gamma=gamma)


def sigmoid(x):
    return _core.activation_forward("Sigmoid", x)


def sigmoid_backward(dy, x, y=None):
    return _core.activation_backward("Sigmoid", dy, x, y)


def tanh(x):
    return _core.activation_forward("Tanh", x)


def tanh_backward(dy, x, y=None):
    return _core.activation_backward("Tanh", dy, x, y)


def softplus(x):
    return _core.activation_forward("Softplus", x)


def softplus_backward(dy, x, y=None):
    return _core.activation_backward("Softplus", dy, x, y)
