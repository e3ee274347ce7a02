"""The Keras 3 `keras.ops` names, on arrays and on symbolic tensors.

Each function is written once as the ONNX nodes it adds (see _symbolic.apply): inside a
layer's call(), a Lambda, or a loss or metric written as a function, the nodes join the
model's graph, so the computation trains (every node has its gradient), exports to ONNX and
runs in C++; on numpy arrays the same nodes run at once.
"""
import builtins
import math

import numpy as np

from engine.ops._symbolic import _DTYPES, apply, broadcast_shapes, dtype_name, shape_of

__all__ = [
    # elementwise
    "add", "subtract", "multiply", "divide", "true_divide", "power", "maximum", "minimum", "negative",
    "absolute", "abs", "exp", "log", "sqrt", "rsqrt", "square", "sign", "floor", "ceil", "sin", "cos",
    "erf", "reciprocal", "log1p", "expm1", "clip", "where", "full_like", "zeros_like", "ones_like",
    "tan", "arcsin", "arccos", "arctan", "sinh", "cosh", "arcsinh", "arccosh", "arctanh", "round", "mod",
    # activations
    "relu", "relu6", "sigmoid", "tanh", "softplus", "softsign", "elu", "selu", "leaky_relu", "gelu",
    "silu", "swish", "hard_sigmoid", "hard_silu", "hard_swish", "log_sigmoid", "mish", "softmax",
    "log_softmax",
    # comparisons and logic
    "equal", "not_equal", "less", "less_equal", "greater", "greater_equal", "logical_and", "logical_or",
    "logical_not",
    # linear algebra, reductions
    "matmul", "sum", "mean", "max", "min", "logsumexp", "var", "std", "norm",
    # shapes and types
    "reshape", "transpose", "expand_dims", "squeeze", "concatenate", "stack", "split", "take",
    "take_along_axis", "cumsum", "tile", "pad", "tril", "triu",
    "broadcast_to", "cast",
    "one_hot", "getitem", "convert_to_tensor", "convert_to_numpy", "shape",
]

_ONNX_TYPES = {"float32": 1, "int64": 7, "bool": 9}


# ---- building blocks ---------------------------------------------------------------------

def _node(op_type, **attrs):
    return lambda b, names: b.node(op_type, names, attrs=attrs)


def _same_shape(shape, *_):
    return shape


def _unary(function, op_type, x, **attrs):
    return apply(function, [x], _node(op_type, **attrs), _same_shape, (dtype_name(x),))


def _binary(function, op_type, x1, x2, dtype=None):
    first = x1 if not isinstance(x1, (bool, int, float)) else x2
    return apply(function, [x1, x2], _node(op_type), broadcast_shapes, (dtype or dtype_name(first),))


def _ints(b, values, name):
    return b.constant(np.asarray(values, dtype=np.int64), name)


def _axes(axis, rank, function):
    """Non-negative axes of a tensor of `rank` from an int, a sequence or None (all)."""
    if axis is None:
        return list(range(rank))
    axes = [axis] if isinstance(axis, (int, np.integer)) else list(axis)
    out = []
    for a in axes:
        if not -rank <= int(a) < rank:
            raise ValueError(f"{function}: axis {a} is out of range for rank {rank}")
        out.append(int(a) % rank)
    if len(set(out)) != len(out):
        raise ValueError(f"{function}: repeated axis in {axis}")
    return sorted(out)


# ---- elementwise --------------------------------------------------------------------------

def _define(name, make):
    fn = make(name)
    fn.__name__ = fn.__qualname__ = name
    globals()[name] = fn


# One ONNX node each: keras.ops name -> ONNX op type.
_UNARY = {
    "negative": "Neg", "absolute": "Abs", "exp": "Exp", "log": "Log", "sqrt": "Sqrt", "sign": "Sign",
    "floor": "Floor", "ceil": "Ceil", "sin": "Sin", "cos": "Cos", "erf": "Erf", "reciprocal": "Reciprocal",
    "relu": "Relu", "sigmoid": "Sigmoid", "tanh": "Tanh", "softplus": "Softplus", "softsign": "Softsign",
    "selu": "Selu",
}
_BINARY = {"add": "Add", "subtract": "Sub", "multiply": "Mul", "divide": "Div", "power": "Pow",
           "maximum": "Max", "minimum": "Min"}
_COMPARISONS = {"equal": "Equal", "less": "Less", "less_equal": "LessOrEqual", "greater": "Greater",
                "greater_equal": "GreaterOrEqual", "logical_and": "And", "logical_or": "Or"}

for _name, _op in _UNARY.items():
    _define(_name, lambda name, op=_op: lambda x: _unary(name, op, x))
for _name, _op in _BINARY.items():
    _define(_name, lambda name, op=_op: lambda x1, x2: _binary(name, op, x1, x2))
for _name, _op in _COMPARISONS.items():
    _define(_name, lambda name, op=_op: lambda x1, x2: _binary(name, op, x1, x2, "bool"))
# The trigonometric and hyperbolic functions: one ONNX node each.
for _name, _op in {"tan": "Tan", "arcsin": "Asin", "arccos": "Acos", "arctan": "Atan", "sinh": "Sinh",
                   "cosh": "Cosh", "arcsinh": "Asinh", "arccosh": "Acosh", "arctanh": "Atanh"}.items():
    _define(_name, lambda name, op=_op: lambda x: _unary(name, op, x))


def mod(x1, x2):
    """The remainder with the divisor's sign, as numpy's mod: ONNX Mod with fmod 0."""
    return _binary("mod", "Mod", x1, x2)


def round(x, decimals=0):  # noqa: A001 (keras.ops.round)
    """Halves to even, as numpy; `decimals` scales by 10**decimals around the rounding."""
    if decimals == 0:
        return _unary("round", "Round", x)
    scale = 10.0 ** decimals
    return divide(_unary("round", "Round", multiply(x, scale)), scale)  # noqa: F821


abs = absolute  # noqa: A001,F821 (keras.ops.abs)
true_divide = divide  # noqa: F821

def rsqrt(x):
    return reciprocal(sqrt(x))


def square(x):
    return apply("square", [x], lambda b, n: b.node("Mul", [n[0], n[0]]), _same_shape, (dtype_name(x),))


def log1p(x):
    return log(add(x, 1.0))


def expm1(x):
    return subtract(exp(x), 1.0)


def clip(x, x_min, x_max):
    """min(max(x, x_min), x_max) with scalar bounds (ONNX Clip)."""
    lo, hi = np.float32(x_min), np.float32(x_max)

    def emit(b, names):
        return b.node("Clip", [names[0], b.constant(np.array(lo), "clip_min"), b.constant(np.array(hi), "clip_max")])
    return apply("clip", [x], emit, _same_shape)


def full_like(x, fill_value, dtype=None):
    """A tensor of x's shape holding fill_value: Where(true, fill_value, x), x giving only
    the shape (ONNX has no shape-only fill without a run-time Shape)."""
    dtype = dtype or dtype_name(x)
    fill = np.asarray(fill_value, dtype=dtype)

    def emit(b, names):
        return b.node("Where", [b.constant(np.array(True), "full_like/true"), b.constant(fill, "full_like/fill"),
                                names[0]])
    return apply("full_like", [cast(x, dtype) if dtype != dtype_name(x) else x], emit, _same_shape, (dtype,))


def zeros_like(x, dtype=None):
    return full_like(x, 0, dtype)


def ones_like(x, dtype=None):
    return full_like(x, 1, dtype)


def where(condition, x1, x2):
    """x1 where condition holds, else x2 (numpy broadcasting; ONNX Where). A Python scalar
    branch takes the other branch's dtype."""
    scalar = (bool, int, float)
    dtype = dtype_name(x2 if isinstance(x1, scalar) and not isinstance(x2, scalar) else x1)
    x1, x2 = (np.asarray(v, _DTYPES[dtype]) if isinstance(v, scalar) else v for v in (x1, x2))
    if not isinstance(condition, scalar) and dtype_name(condition) != "bool":
        condition = cast(condition, "bool")
    return apply("where", [condition, x1, x2], _node("Where"), broadcast_shapes, (dtype,))


# ---- activations --------------------------------------------------------------------------

def relu6(x):
    return clip(x, 0.0, 6.0)


def elu(x, alpha=1.0):
    return _unary("elu", "Elu", x, alpha=float(alpha))


def leaky_relu(x, negative_slope=0.2):
    return _unary("leaky_relu", "LeakyRelu", x, alpha=float(negative_slope))


def gelu(x, approximate=True):
    """Keras's default is the tanh approximation; approximate=False is the exact erf form."""
    if approximate:
        inner = multiply(math.sqrt(2.0 / math.pi), add(x, multiply(0.044715, multiply(x, square(x)))))
        return multiply(multiply(0.5, x), add(1.0, tanh(inner)))
    return multiply(multiply(0.5, x), add(1.0, erf(multiply(x, 1.0 / math.sqrt(2.0)))))


def silu(x):
    return multiply(x, sigmoid(x))


swish = silu


def hard_sigmoid(x):
    """relu6(x + 3) / 6, Keras 3's definition (ONNX HardSigmoid with alpha 1/6, beta 0.5)."""
    return _unary("hard_sigmoid", "HardSigmoid", x, alpha=1.0 / 6.0, beta=0.5)


def hard_silu(x):
    return _unary("hard_silu", "HardSwish", x)


hard_swish = hard_silu


def log_sigmoid(x):
    return negative(softplus(negative(x)))


def mish(x):
    return multiply(x, tanh(softplus(x)))


def softmax(x, axis=-1):
    return _unary("softmax", "Softmax", x, axis=int(axis))


def log_softmax(x, axis=-1):
    return _unary("log_softmax", "LogSoftmax", x, axis=int(axis))


# ---- comparisons and logic ----------------------------------------------------------------

def not_equal(x1, x2):
    return logical_not(equal(x1, x2))


def logical_not(x):
    return apply("logical_not", [x], _node("Not"), _same_shape, ("bool",))


def cast(x, dtype):
    name = np.dtype(dtype).name if not isinstance(dtype, str) else dtype
    name = {"float": "float32", "int": "int64", "bool_": "bool"}.get(name, name)
    if name not in _ONNX_TYPES:
        raise TypeError(f"cast: dtype must be float32, int64 or bool, got {dtype!r}")
    return apply("cast", [x], _node("Cast", to=_ONNX_TYPES[name]), _same_shape, (name,))


# ---- linear algebra and reductions ----------------------------------------------------------

def _matmul_shape(a, b):
    if len(a) == 0 or len(b) == 0:
        raise ValueError("matmul: operands must have at least one dimension")
    a2 = (1,) + tuple(a) if len(a) == 1 else tuple(a)
    b2 = tuple(b) + (1,) if len(b) == 1 else tuple(b)
    if None not in (a2[-1], b2[-2]) and a2[-1] != b2[-2]:
        raise ValueError(f"matmul: shapes {tuple(a)} and {tuple(b)} do not align ({a2[-1]} != {b2[-2]})")
    out = broadcast_shapes(a2[:-2], b2[:-2]) + (a2[-2], b2[-1])
    if len(a) == 1:
        out = out[:-2] + out[-1:]
    if len(b) == 1:
        out = out[:-1]
    return out


def matmul(x1, x2):
    return apply("matmul", [x1, x2], _node("MatMul"), _matmul_shape)


def _reduction(function, op_type, x, axis, keepdims):
    rank = len(shape_of(x))
    axes = _axes(axis, rank, function)

    def emit(b, names):
        return b.node(op_type, [names[0], _ints(b, axes, f"{function}/axes")], attrs={"keepdims": int(keepdims)})

    def shape_rule(shape):
        if keepdims:
            return tuple(1 if i in axes else d for i, d in enumerate(shape))
        return tuple(d for i, d in enumerate(shape) if i not in axes)
    return apply(function, [x], emit, shape_rule, (dtype_name(x),))


def sum(x, axis=None, keepdims=False):  # noqa: A001 (keras.ops.sum)
    return _reduction("sum", "ReduceSum", x, axis, keepdims)


def mean(x, axis=None, keepdims=False):
    return _reduction("mean", "ReduceMean", x, axis, keepdims)


def max(x, axis=None, keepdims=False):  # noqa: A001 (keras.ops.max)
    return _reduction("max", "ReduceMax", x, axis, keepdims)


def min(x, axis=None, keepdims=False):  # noqa: A001 (keras.ops.min)
    return _reduction("min", "ReduceMin", x, axis, keepdims)


def logsumexp(x, axis=None, keepdims=False):
    return _reduction("logsumexp", "ReduceLogSumExp", x, axis, keepdims)


def var(x, axis=None, keepdims=False):
    """The biased variance (numpy's default, Keras's)."""
    centred = subtract(x, mean(x, axis=axis, keepdims=True))
    return mean(square(centred), axis=axis, keepdims=keepdims)


def std(x, axis=None, keepdims=False):
    return sqrt(var(x, axis=axis, keepdims=keepdims))


def norm(x, ord=None, axis=None, keepdims=False):  # noqa: A002 (keras.ops.norm)
    """The L2 norm (ord None or 2 over vectors, "fro" over all axes) or the L1 norm (ord 1)."""
    if ord in (None, 2, "fro", "euclidean"):
        return _reduction("norm", "ReduceL2", x, axis, keepdims)
    if ord == 1:
        return sum(absolute(x), axis=axis, keepdims=keepdims)
    raise ValueError(f"norm: ord must be None, 1, 2 or 'fro', got {ord!r}")


# ---- shapes and types ---------------------------------------------------------------------------

def _reshape_rule(newshape):
    def rule(shape):
        # None keeps the input's size on that axis (ONNX Reshape's 0).
        target = [shape[k] if d is None else d for k, d in enumerate(newshape)]
        known = all(d is not None for d in shape)
        if -1 in target:
            rest = math.prod(d for d in target if d not in (-1, None))
            if known:
                total = math.prod(shape)
                if rest == 0 or total % rest:
                    raise ValueError(f"reshape: cannot reshape {tuple(shape)} to {tuple(newshape)}")
                target[target.index(-1)] = total // rest
            else:
                target[target.index(-1)] = None
        elif known and math.prod(shape) != math.prod(target):
            raise ValueError(f"reshape: cannot reshape {tuple(shape)} to {tuple(newshape)}")
        return tuple(target)
    return rule


def reshape(x, newshape):
    """numpy's reshape; `newshape` includes the batch axis (-1 infers one size). A None,
    such as an axis of ops.shape(x) known only at run time, keeps x's size on that same
    axis: reshape(y, (-1, ops.shape(y)[1], heads, dim)) splits y's last axis whatever its
    steps."""
    newshape = (newshape,) if isinstance(newshape, (int, np.integer)) else tuple(newshape)
    newshape = tuple(None if d is None else int(d) for d in newshape)
    given = [d for d in newshape if d is not None]
    if any(d < -1 or d == 0 for d in given) or given.count(-1) > 1:
        raise ValueError(f"reshape: new shape must hold positive sizes and at most one -1, got {newshape}")
    rank = len(shape_of(x))
    if any(d is None and k >= rank for k, d in enumerate(newshape)):
        raise ValueError(f"reshape: a None in {newshape} keeps the input's size on its axis, but the input "
                         f"has only {rank} axes")
    spec = tuple(0 if d is None else d for d in newshape)

    def emit(b, names):
        return b.node("Reshape", [names[0], _ints(b, spec, "reshape/shape")])
    return apply("reshape", [x], emit, _reshape_rule(newshape), (dtype_name(x),))


def transpose(x, axes=None):
    rank = len(shape_of(x))
    perm = list(range(rank))[::-1] if axes is None else [int(a) % rank for a in axes]
    if sorted(perm) != list(range(rank)):
        raise ValueError(f"transpose: axes {axes} are not a permutation of {rank} axes")
    return apply("transpose", [x], _node("Transpose", perm=perm),
                 lambda s: tuple(s[p] for p in perm), (dtype_name(x),))


def expand_dims(x, axis):
    rank = len(shape_of(x)) + (1 if isinstance(axis, (int, np.integer)) else len(axis))
    axes = _axes(axis, rank, "expand_dims")

    def rule(shape):
        out, rest = [], iter(shape)
        for i in range(rank):
            out.append(1 if i in axes else next(rest))
        return tuple(out)
    return apply("expand_dims", [x], lambda b, n: b.node("Unsqueeze", [n[0], _ints(b, axes, "axes")]), rule,
                 (dtype_name(x),))


def squeeze(x, axis=None):
    shape = shape_of(x)
    axes = [i for i, d in enumerate(shape) if d == 1] if axis is None else _axes(axis, len(shape), "squeeze")
    for a in axes:
        if shape[a] not in (1, None):
            raise ValueError(f"squeeze: axis {a} of shape {tuple(shape)} has size {shape[a]}, not 1")
    return apply("squeeze", [x], lambda b, n: b.node("Squeeze", [n[0], _ints(b, axes, "axes")]),
                 lambda s: tuple(d for i, d in enumerate(s) if i not in axes), (dtype_name(x),))


def concatenate(xs, axis=0):
    xs = list(xs)
    rank = len(shape_of(xs[0]))
    a = _axes(axis, rank, "concatenate")[0]

    def rule(*shapes):
        if any(len(s) != rank for s in shapes):
            raise ValueError(f"concatenate: ranks differ: {[tuple(s) for s in shapes]}")
        sizes = [s[a] for s in shapes]
        out = list(shapes[0])
        out[a] = None if None in sizes else builtins.sum(sizes)
        return tuple(out)
    return apply("concatenate", xs, _node("Concat", axis=a), rule, (dtype_name(xs[0]),))


def stack(xs, axis=0):
    return concatenate([expand_dims(x, axis) for x in xs], axis=axis)


def split(x, indices_or_sections, axis=0):
    """numpy's split: a number of equal sections, or the indices where the pieces start."""
    shape = shape_of(x)
    a = _axes(axis, len(shape), "split")[0]
    size = shape[a]
    if size is None:
        raise ValueError("split: the split axis must have a known size")
    if isinstance(indices_or_sections, (int, np.integer)):
        n = int(indices_or_sections)
        if n <= 0 or size % n:
            raise ValueError(f"split: {size} does not divide into {n} equal sections")
        sizes = [size // n] * n
    else:
        bounds = [0] + [int(i) for i in indices_or_sections] + [size]
        sizes = [builtins.max(0, hi - lo) for lo, hi in zip(bounds, bounds[1:])]

    def emit(b, names):
        return b.node("Split", [names[0], _ints(b, sizes, "split/sizes")], n_outputs=len(sizes), attrs={"axis": a})

    def rule(s):
        return [tuple(k if i == a else d for i, d in enumerate(s)) for k in sizes]
    return apply("split", [x], emit, rule, (dtype_name(x),) * len(sizes))


def take(x, indices, axis=None):
    """numpy's take: the entries of x at integer `indices` along `axis` (ONNX Gather); with
    axis None, of x flattened."""
    if axis is None:
        x, axis = reshape(x, (-1,)), 0
    rank = len(shape_of(x))
    a = _axes(axis, rank, "take")[0]
    if not isinstance(indices, (np.ndarray, list, tuple, int, np.integer)) and dtype_name(indices) != "int64":
        raise TypeError(f"take: indices must be int64, got {dtype_name(indices)}")
    indices = np.asarray(indices, np.int64) if isinstance(indices, (list, tuple, int, np.integer)) else indices

    def rule(xs, ids):
        return tuple(xs[:a]) + tuple(ids) + tuple(xs[a + 1:])
    return apply("take", [x, indices], _node("Gather", axis=a), rule, (dtype_name(x),))


def cumsum(x, axis=None):
    """numpy's cumsum: running sums along `axis`, of x flattened when None (ONNX CumSum)."""
    if axis is None:
        x, axis = reshape(x, (-1,)), 0
    a = _axes(axis, len(shape_of(x)), "cumsum")[0]

    def emit(b, names):
        return b.node("CumSum", [names[0], _ints(b, a, "cumsum/axis")])
    return apply("cumsum", [x], emit, _same_shape, (dtype_name(x),))


def take_along_axis(x, indices, axis):
    """numpy's take_along_axis: out[..., i, ...] = x[..., indices[..., i, ...], ...] along
    `axis` (ONNX GatherElements). indices (int64) has x's rank; its other dims equal x's or
    are 1 (broadcast; such a dim of x must be known). Against a dim of x that is not known
    (the batch) the sizes are checked when the graph runs."""
    xs, ids = shape_of(x), shape_of(indices)
    a = _axes(axis, len(xs), "take_along_axis")[0]
    if dtype_name(indices) != "int64":
        raise TypeError(f"take_along_axis: indices must be int64, got {dtype_name(indices)}")
    if len(ids) != len(xs):
        raise ValueError(f"take_along_axis: indices {ids} and x {xs} differ in rank")
    repeats = []
    for d, (n, m) in enumerate(zip(xs, ids)):
        if d == a or n == m or (n is None and m != 1):
            repeats.append(1)
        elif m == 1 and n is not None:
            repeats.append(n)
        else:
            raise ValueError(f"take_along_axis: indices {ids} do not broadcast to x {xs} outside axis {a}")
    if any(r != 1 for r in repeats):
        indices = tile(indices, repeats)
    return apply("take_along_axis", [x, indices], _node("GatherElements", axis=a),
                 lambda x_shape, i_shape: tuple(i_shape), (dtype_name(x),))


def broadcast_to(x, shape):
    """x broadcast to `shape` (numpy's rule; ONNX Expand)."""
    target = tuple(int(d) for d in shape)

    def emit(b, names):
        return b.node("Expand", [names[0], _ints(b, target, "broadcast_to/shape")])
    return apply("broadcast_to", [x], emit, lambda s: broadcast_shapes(s, target), (dtype_name(x),))


def tile(x, repeats):
    """x repeated `repeats[i]` times along each axis i (ONNX Tile)."""
    shape = shape_of(x)
    repeats = [int(repeats)] if isinstance(repeats, (int, np.integer)) else [int(r) for r in repeats]
    if len(repeats) < len(shape):
        repeats = [1] * (len(shape) - len(repeats)) + repeats
    if len(repeats) > len(shape):
        raise ValueError(f"tile: {len(repeats)} repeats for a tensor of rank {len(shape)} (expand_dims first)")

    def emit(b, names):
        return b.node("Tile", [names[0], _ints(b, repeats, "tile/repeats")])
    return apply("tile", [x], emit, lambda s: tuple(None if d is None else d * r for d, r in zip(s, repeats)),
                 (dtype_name(x),))


_PAD_MODES = {"constant": "constant", "reflect": "reflect", "edge": "edge", "symmetric": None}


def pad(x, pad_width, mode="constant", constant_values=None):
    """numpy's pad: pad_width ((before, after) per axis, or one pair for all), mode
    "constant" (constant_values, default 0), "reflect" or "edge" (ONNX Pad)."""
    rank = len(shape_of(x))
    widths = np.broadcast_to(np.asarray(pad_width, np.int64), (rank, 2)).tolist()
    if _PAD_MODES.get(mode) is None:
        raise ValueError(f"pad: mode must be 'constant', 'reflect' or 'edge', got {mode!r}")
    if mode != "constant" and constant_values not in (None, 0):
        raise ValueError(f"pad: constant_values goes with mode='constant', not {mode!r}")
    value = np.asarray(0 if constant_values is None else constant_values, _DTYPES[dtype_name(x)])

    def emit(b, names):
        pads = _ints(b, [w[0] for w in widths] + [w[1] for w in widths], "pad/pads")
        inputs = [names[0], pads] + ([b.constant(value, "pad/value")] if mode == "constant" else [])
        return b.node("Pad", inputs, attrs={"mode": mode})

    def rule(s):
        return tuple(None if d is None else d + w[0] + w[1] for d, w in zip(s, widths))
    return apply("pad", [x], emit, rule, (dtype_name(x),))


def _trilu(function, x, k, upper):
    if len(shape_of(x)) < 2:
        raise ValueError(f"{function}: needs a tensor of rank >= 2, got shape {shape_of(x)}")

    def emit(b, names):
        return b.node("Trilu", [names[0], _ints(b, int(k), f"{function}/k")], attrs={"upper": int(upper)})
    return apply(function, [x], emit, _same_shape)


def tril(x, k=0):
    """x with the entries above the k-th diagonal of its last two axes zeroed (numpy's tril)."""
    return _trilu("tril", x, k, False)


def triu(x, k=0):
    """x with the entries below the k-th diagonal of its last two axes zeroed (numpy's triu)."""
    return _trilu("triu", x, k, True)

def one_hot(x, num_classes, axis=-1):
    """Float32 one-hot vectors of integer labels, on a new axis (Keras's default: last)."""
    classes = np.arange(int(num_classes), dtype=np.int64)
    rank = len(shape_of(x)) + 1
    a = _axes(axis, rank, "one_hot")[0]

    def emit(b, names):
        grid = classes.reshape([-1 if i == a else 1 for i in range(rank)])
        expanded = b.node("Unsqueeze", [names[0], _ints(b, [a], "one_hot/axis")])[0]
        hit = b.node("Equal", [expanded, b.constant(grid, "one_hot/classes")])[0]
        return b.node("Cast", [hit], attrs={"to": _ONNX_TYPES["float32"]})

    def rule(s):
        s = list(s)
        s.insert(a, int(num_classes))
        return tuple(s)
    return apply("one_hot", [x], emit, rule)


def getitem(x, key):
    """numpy basic indexing: integers, slices, ... and None (ONNX Slice, Squeeze, Unsqueeze)."""
    shape = shape_of(x)
    key = key if isinstance(key, tuple) else (key,)
    if builtins.sum([k is Ellipsis for k in key]) > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    used = len([k for k in key if k is not None and k is not Ellipsis])
    if used > len(shape):
        raise IndexError(f"too many indices for a tensor of rank {len(shape)}")
    expanded = []
    for k in key:
        if k is Ellipsis:
            expanded.extend([slice(None)] * (len(shape) - used))
        else:
            expanded.append(k)
    if Ellipsis not in key:
        expanded.extend([slice(None)] * (len(shape) - used))
    starts, ends, axes, steps, drop, insert = [], [], [], [], [], []
    out_shape, axis, position = [], 0, 0
    for k in expanded:
        if k is None:
            insert.append(position)
            out_shape.append(1)
            position += 1
            continue
        size = shape[axis]
        if isinstance(k, (int, np.integer)):
            k = int(k)
            if size is not None and not -size <= k < size:
                raise IndexError(f"index {k} is out of bounds for axis {axis} with size {size}")
            starts.append(k)
            ends.append(k + 1 if k != -1 else np.iinfo(np.int64).max)
            axes.append(axis)
            steps.append(1)
            drop.append(axis)
        elif isinstance(k, slice):
            if k != slice(None):
                step = 1 if k.step is None else int(k.step)
                if step == 0:
                    raise ValueError("slice step cannot be zero")
                big = np.iinfo(np.int64).max
                start = k.start if k.start is not None else (0 if step > 0 else big)
                stop = k.stop if k.stop is not None else (big if step > 0 else -big)
                starts.append(int(start))
                ends.append(int(stop))
                axes.append(axis)
                steps.append(step)
                size = None if size is None else len(range(*k.indices(size)))
            out_shape.append(size)
            position += 1
        else:
            raise TypeError(f"unsupported index {k!r}: integers, slices, ... and None are (for gathers, "
                            "use engine.ops.take)")
        axis += 1

    def emit(b, names):
        value = names[0]
        if axes:
            value = b.node("Slice", [value, _ints(b, starts, "starts"), _ints(b, ends, "ends"),
                                     _ints(b, axes, "axes"), _ints(b, steps, "steps")])[0]
        if drop:
            value = b.node("Squeeze", [value, _ints(b, drop, "axes")])[0]
        if insert:
            value = b.node("Unsqueeze", [value, _ints(b, insert, "axes")])[0]
        if value == names[0]:
            value = b.node("Identity", [value])[0]
        return [value]
    return apply("getitem", [x], emit, lambda s: tuple(out_shape), (dtype_name(x),))


def convert_to_tensor(x, dtype=None):
    """Arrays become engine dtypes (float32, int64, bool); symbolic tensors pass through."""
    from engine.ops._symbolic import as_array, is_symbolic

    if is_symbolic(x):
        return x if dtype is None else cast(x, dtype)
    arr = as_array(x)
    return arr if dtype is None else arr.astype(dtype)


def convert_to_numpy(x):
    return np.asarray(x)


class SymbolicShape(tuple):
    """The shape of a symbolic tensor (None where known only at run time), which remembers
    the tensor: engine.random.normal(ops.shape(x)) draws with x's run-time shape."""

    def __new__(cls, dims, tensor):
        shape = super().__new__(cls, dims)
        shape.tensor = tensor
        return shape


def shape(x):
    from engine.ops._symbolic import is_symbolic

    return SymbolicShape(shape_of(x), x) if is_symbolic(x) else tuple(shape_of(x))
