"""engine.ops: the Keras 3 `keras.ops` functions, and one low-level function per kernel.

The Keras names (`add`, `exp`, `mean`, `where`, `reshape`, ...; see _keras.py) take numpy
arrays, scalars, layer weights or symbolic tensors. On arrays they compute at once; on
symbolic tensors (inside a layer's call(), a Lambda, a loss or metric function) they add
nodes to the model's graph, so what they compute trains, exports to ONNX and runs in C++.

The low-level functions follow ONNX: inputs are float32 (int64 for labels/indices) numpy
arrays, C-contiguous; other dtypes raise TypeError, non-contiguous arrays ValueError.
Outputs are new arrays. Images are NCHW; attributes follow ONNX (`strides`, `pads` as [top,
left, bottom, right], `dilations`, `group`, `auto_pad`). `<op>_backward(dy, <forward
inputs>..., <attributes>)` returns the gradients of the forward inputs, in their order (a
tuple when there are several). Where a name is both (`add`, `relu`, `softmax`, `clip`,
`matmul`, `transpose`, `reshape`, `sum`, ...), numpy arrays take the low-level function
(and its dtype rules) and symbolic tensors, weights or scalars the Keras one.
"""
import functools as _functools
import inspect as _inspect

import numpy as _np

from engine.ops._activation import *  # noqa: F401,F403
from engine.ops._gemm import *  # noqa: F401,F403
from engine.ops._conv import *  # noqa: F401,F403
from engine.ops._pool import *  # noqa: F401,F403
from engine.ops._elementwise import *  # noqa: F401,F403
from engine.ops._softmax import *  # noqa: F401,F403
from engine.ops._losses import *  # noqa: F401,F403
from engine.ops._shape import *  # noqa: F401,F403
from engine.ops._lrn import *  # noqa: F401,F403
from engine.ops._sum import *  # noqa: F401,F403
from engine.ops._squeeze import *  # noqa: F401,F403
from engine.ops._recurrent import *  # noqa: F401,F403
from engine.ops import _keras


def _arrays(n):
    return lambda args: len(args) >= n and all(isinstance(a, (_np.ndarray, _np.generic)) for a in args[:n])


# When a shared name's call is the low-level one: its data arguments are numpy arrays. `sum`'s
# low-level form is a list of arrays (ONNX Sum); leaky_relu's only when `alpha=` is given, so
# arrays take Keras's default slope (0.2).
_LOW_LEVEL_CALL = {
    "add": _arrays(2), "matmul": _arrays(2), "leaky_relu": lambda args: False,
    "sum": lambda args: len(args) > 0 and isinstance(args[0], (list, tuple)),
}


def _either(low_level, keras_op, is_low_level_call):
    """One name for both: the low-level function for its own calls (arrays as data, or
    arguments only it has, such as `perm=` or `alpha=`), the Keras one otherwise."""
    keras_params = _inspect.signature(keras_op).parameters

    @_functools.wraps(keras_op)
    def op(*args, **kwargs):
        own = len(args) > len(keras_params) or any(k not in keras_params for k in kwargs)
        if own or is_low_level_call(args):
            return low_level(*args, **kwargs)
        return keras_op(*args, **kwargs)
    return op


def _export_keras_names():
    for name in _keras.__all__:
        keras_op = getattr(_keras, name)
        low_level = globals().get(name)
        globals()[name] = keras_op if low_level is None else \
            _either(low_level, keras_op, _LOW_LEVEL_CALL.get(name, _arrays(1)))


_export_keras_names()
