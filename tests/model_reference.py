"""float64 numpy implementations of the layers, to check whole models against.

`reference_forward(model, inputs, weights)` walks the model's layer calls and evaluates
each with the numpy definitions below, using `weights` (a dict Variable-id -> float64
array) so finite differences can perturb any parameter.
"""
import numpy as np
from scipy.special import expit, softmax

from engine import layers as L
from engine.models import InputLayer


def conv2d(x, w, b, strides, pads, dilations, group):
    n, c, h, wd = x.shape
    oc, cg, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pads[0], pads[2]), (pads[1], pads[3])))
    oh = (h + pads[0] + pads[2] - ((kh - 1) * dilations[0] + 1)) // strides[0] + 1
    ow = (wd + pads[1] + pads[3] - ((kw - 1) * dilations[1] + 1)) // strides[1] + 1
    y = np.zeros((n, oc, oh, ow))
    ocg = oc // group
    for g in range(group):
        xs = xp[:, g * cg:(g + 1) * cg]
        for i in range(kh):
            for j in range(kw):
                patch = xs[:, :, i * dilations[0]: i * dilations[0] + strides[0] * (oh - 1) + 1: strides[0],
                           j * dilations[1]: j * dilations[1] + strides[1] * (ow - 1) + 1: strides[1]]
                y[:, g * ocg:(g + 1) * ocg] += np.einsum("nchw,oc->nohw", patch, w[g * ocg:(g + 1) * ocg, :, i, j])
    if b is not None:
        y += b[None, :, None, None]
    return y


def pool2d(x, kind, k, s, pads):
    n, c, h, w = x.shape
    fill = -np.inf if kind == "max" else 0.0
    xp = np.pad(x, ((0, 0), (0, 0), (pads[0], pads[2]), (pads[1], pads[3])), constant_values=fill)
    ones = np.pad(np.ones((h, w)), ((pads[0], pads[2]), (pads[1], pads[3])))
    oh = (h + pads[0] + pads[2] - k[0]) // s[0] + 1
    ow = (w + pads[1] + pads[3] - k[1]) // s[1] + 1
    y = np.zeros((n, c, oh, ow))
    for i in range(oh):
        for j in range(ow):
            win = xp[:, :, i * s[0]:i * s[0] + k[0], j * s[1]:j * s[1] + k[1]]
            if kind == "max":
                y[:, :, i, j] = win.max(axis=(2, 3))
            else:
                count = ones[i * s[0]:i * s[0] + k[0], j * s[1]:j * s[1] + k[1]].sum()
                y[:, :, i, j] = win.sum(axis=(2, 3)) / count
    return y


def activation(name, x):
    if name is None:
        return x
    return {
        "relu": lambda v: np.maximum(v, 0),
        "leaky_relu": lambda v: np.where(v >= 0, v, 0.2 * v),
        "elu": lambda v: np.where(v > 0, v, np.expm1(np.minimum(v, 0))),
        "selu": lambda v: 1.0507009873554805 * np.where(v > 0, v, 1.6732632423543772 * np.expm1(np.minimum(v, 0))),
        "sigmoid": expit,
        "tanh": np.tanh,
        "softplus": lambda v: np.logaddexp(0, v),
        "softmax": lambda v: softmax(v, axis=-1),
    }[name](x)


def layer_forward(layer, xs, shapes, W, training=False):
    """One layer in float64; W maps id(Variable) -> array."""
    p = lambda var: W[id(var)]  # noqa: E731
    x = xs[0]
    if isinstance(layer, L.Dense):
        y = x @ p(layer.kernel) + (p(layer.bias) if layer.use_bias else 0)
        return activation(layer.activation, y)
    if isinstance(layer, L.Conv2D):
        from engine.layers.conv import resolve_padding
        pads = resolve_padding(layer, layer.padding, shapes[0], layer.kernel_size, layer.strides, layer.dilation_rate)
        y = conv2d(x, p(layer.kernel), p(layer.bias) if layer.use_bias else None, layer.strides, pads,
                   layer.dilation_rate, layer.groups)
        return activation(layer.activation, y)
    if isinstance(layer, L.Activation):
        return activation(layer.activation, x)
    if isinstance(layer, L.LeakyReLU):
        return np.where(x >= 0, x, layer.negative_slope * x)
    if isinstance(layer, (L.MaxPool2D, L.AvgPool2D)):
        pads = layer._pads(shapes[0])
        return pool2d(x, "max" if isinstance(layer, L.MaxPool2D) else "avg", layer.pool_size, layer.strides, pads)
    if isinstance(layer, L.GlobalAveragePooling2D):
        y = x.mean(axis=(2, 3), keepdims=layer.keepdims)
        return y
    if isinstance(layer, L.Flatten):
        return x.reshape(x.shape[0], -1)
    if isinstance(layer, L.Reshape):
        return x.reshape((x.shape[0],) + layer.target_shape)
    if isinstance(layer, (L.Dropout, L.Identity)):
        return x
    if isinstance(layer, L.BatchNormalization):
        axes = (0,) + tuple(range(2, x.ndim))
        shape = (1, -1) + (1,) * (x.ndim - 2)
        if training:
            mean, var = x.mean(axis=axes), x.var(axis=axes)
        else:
            mean, var = p(layer.moving_mean), p(layer.moving_variance)
        xhat = (x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + layer.epsilon)
        return xhat * p(layer.gamma).reshape(shape) + p(layer.beta).reshape(shape)
    if isinstance(layer, L.Add):
        return sum(xs[1:], xs[0])
    if isinstance(layer, L.Concatenate):
        return np.concatenate(xs, axis=layer.axis)
    raise TypeError(f"no reference for {type(layer).__name__}")


def reference_forward(model, inputs, W=None, training=False):
    """float64 outputs of `model` (a list, one per model output)."""
    if W is None:
        W = {id(v): v.value.astype(np.float64) for v in model.weights}
    values = {id(t): np.asarray(a, dtype=np.float64) for t, a in zip(model.inputs, inputs)}
    for call in model._graph_calls:
        xs = [values[id(t)] for t in call.inputs]
        shapes = [t.shape for t in call.inputs]
        if isinstance(call.layer, InputLayer):
            continue
        if hasattr(call.layer, "_calls") and hasattr(call.layer, "_order_calls"):
            outs = reference_forward(call.layer, xs, W, training)
        else:
            outs = [layer_forward(call.layer, xs, shapes, W, training)]
        for t, y in zip(call.outputs, outs):
            values[id(t)] = y
    return [values[id(t)] for t in model.outputs]
