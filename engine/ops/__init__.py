"""The functional low-level API: one function per kernel, numpy arrays in and out.

Conventions:
- Inputs are float32 (int64 for labels/indices) numpy arrays, C-contiguous; other dtypes
  raise TypeError, non-contiguous arrays ValueError. Outputs are new float32 arrays.
- Images are NCHW; attributes follow ONNX (`strides`, `pads` as [top, left, bottom, right],
  `dilations`, `group`, `auto_pad`).
- `<op>_backward(dy, <forward inputs>..., <attributes>)` returns the gradients of the
  forward inputs, in their order (a tuple when there are several).
"""
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
