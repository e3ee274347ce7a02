# Elementwise activations. Included by _core.pyx.
from ops_activation cimport Activation, ActivationAttrs
cimport ops_activation as act

cdef ActivationAttrs _activation_attrs(Activation op, alpha, gamma):
    cdef ActivationAttrs attrs = act.activation_default_attrs(op)
    if alpha is not None:
        attrs.alpha = alpha
    if gamma is not None:
        attrs.gamma = gamma
    return attrs


def activation_forward(str name, x, alpha=None, gamma=None):
    """y = f(x) for the ONNX activation `name` ("Relu", "Elu", ...)."""
    cdef Activation op = act.activation_from_name(name.encode())
    cdef ActivationAttrs attrs = _activation_attrs(op, alpha, gamma)
    cdef Tensor tx = as_tensor(x, name + ": x")
    cdef Tensor ty
    with nogil:
        ty = act.activation_forward(op, tx, attrs)
    return to_numpy(ty)


def activation_backward(str name, dy, x, y=None, alpha=None, gamma=None):
    """dx = dy * f'(x); `y` (the forward output) saves recomputing it."""
    cdef Activation op = act.activation_from_name(name.encode())
    cdef ActivationAttrs attrs = _activation_attrs(op, alpha, gamma)
    cdef Tensor tdy = as_tensor(dy, name + "_backward: dy")
    cdef Tensor tx = as_tensor(x, name + "_backward: x")
    cdef Tensor ty
    if y is not None:
        ty = as_tensor(y, name + "_backward: y")
    cdef Tensor tdx
    with nogil:
        tdx = act.activation_backward(op, tdy, tx, ty, attrs)
    return to_numpy(tdx)
