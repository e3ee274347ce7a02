"""Checks for the structural arguments of layers and inputs, with Keras's error types.

A value of the wrong kind (a string or None where a number goes) is a TypeError; a number
or a name that the argument does not allow (2.5 units, a negative stride, padding="full")
is a ValueError. Messages start with the layer class and the argument, so the error points
at the call that made it. Each check returns the normalised value.
"""
import math
import numbers
import operator

import numpy as np


def _owner(owner):
    return owner if isinstance(owner, str) else type(owner).__name__


def _fail(error, owner, name, expected, value):
    raise error(f"{_owner(owner)}: {name} must be {expected}, got {value!r}")


def _is_bool(value):
    return isinstance(value, (bool, np.bool_))


def integer(owner, name, value, minimum=None, maximum=None, expected=None, shown=None):
    """An int (numpy ints too). Floats, even 2.0, and bools are refused rather than
    truncated: a silent int(2.5) == 2 hides a mistake."""
    if expected is None:
        expected = "an integer" if minimum is None else f"an integer >= {minimum}"
        expected = expected if maximum is None else f"{expected} and <= {maximum}"
    shown = value if shown is None else shown
    if _is_bool(value):
        _fail(ValueError, owner, name, expected, shown)
    try:
        result = operator.index(value)
    except TypeError:
        _fail(ValueError if isinstance(value, numbers.Real) else TypeError, owner, name, expected, shown)
    if (minimum is not None and result < minimum) or (maximum is not None and result > maximum):
        _fail(ValueError, owner, name, expected, shown)
    return result


def positive_int(owner, name, value):
    return integer(owner, name, value, minimum=1, expected="positive (an integer >= 1)")


def int_tuple(owner, name, value, n=2):
    """Positive ints for n axes: one int for all of them, or a sequence of n (Keras's
    standardize_tuple)."""
    expected = f"positive (an integer >= 1, or a tuple of {n} of them)"
    if isinstance(value, (list, tuple)) or getattr(value, "ndim", 0) == 1:
        items = tuple(value)
        if len(items) != n:
            _fail(ValueError, owner, name, expected, value)
    else:
        items = (value,) * n
    return tuple(integer(owner, name, v, minimum=1, expected=expected, shown=value) for v in items)


def real(owner, name, value, low=-math.inf, high=math.inf, low_open=False, high_open=False):
    """A finite number in the interval [low, high], its ends open when asked."""
    expected = f"a finite number in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
    if _is_bool(value):
        _fail(ValueError, owner, name, expected, value)
    if not isinstance(value, numbers.Real):
        _fail(TypeError, owner, name, expected, value)
    result = float(value)
    inside = (low < result if low_open else low <= result) and (result < high if high_open else result <= high)
    if not (math.isfinite(result) and inside):  # NaN fails here too
        _fail(ValueError, owner, name, expected, value)
    return result


def boolean(owner, name, value):
    """True or False only: bool("False") is True, so strings and numbers are not guessed at."""
    if not _is_bool(value):
        _fail(TypeError, owner, name, "True or False", value)
    return bool(value)


def choice(owner, name, value, options):
    """One of the allowed names, in any case (Keras lower-cases padding)."""
    expected = "one of " + ", ".join(repr(o) for o in options)
    if not isinstance(value, str):
        _fail(TypeError, owner, name, expected, value)
    if value.lower() not in options:
        _fail(ValueError, owner, name, expected, value)
    return value.lower()


def sequence(owner, name, value, expected):
    """The items of a list or tuple (a 1-D array too)."""
    if not (isinstance(value, (list, tuple)) or getattr(value, "ndim", 0) == 1):
        _fail(TypeError, owner, name, expected, value)
    return tuple(value)


def shape(owner, name, value):
    """A shape without the batch axis: sizes >= 0 (as Keras, and ONNX graphs with empty
    dims), None where the size varies."""
    expected = "a tuple of non-negative integers or None"
    return tuple(None if d is None else integer(owner, name, d, minimum=0, expected=expected, shown=value)
                 for d in sequence(owner, name, value, expected))


def optional_name(owner, name, value):
    """None (a name is made up) or a non-empty string."""
    if value is None:
        return None
    if not isinstance(value, str):
        _fail(TypeError, owner, name, "a non-empty string or None", value)
    if not value:
        _fail(ValueError, owner, name, "a non-empty string or None", value)
    return value


def resolve(owner, name, get, value):
    """get(value) for registries (activations.get, initializers.get, ...), their errors
    prefixed with the layer class and the argument."""
    try:
        return get(value)
    except (TypeError, ValueError) as e:
        error = TypeError if isinstance(e, TypeError) else ValueError
        raise error(f"{_owner(owner)}: {name}: {e}") from None


def axes(owner, name, value):
    """An axis (int) or several (a list or tuple of distinct ints), as Keras's normalization
    layers take them; returned as given (an int stays an int, a sequence becomes a tuple)."""
    expected = "an integer or a tuple of distinct integers"
    if isinstance(value, (list, tuple)):
        items = tuple(integer(owner, name, v, expected=expected, shown=value) for v in value)
        if not items or len(set(items)) != len(items):
            _fail(ValueError, owner, name, expected, value)
        return items
    return integer(owner, name, value, expected=expected)


def resolve_axes(layer, name, value, rank):
    """Non-negative, sorted axes of a tensor of `rank` (the batch axis 0 excluded)."""
    items = value if isinstance(value, tuple) else (value,)
    out = []
    for a in items:
        if not -rank <= a < rank or a % rank == 0:
            raise ValueError(f"{layer.name}: {name} {value!r} is out of range for inputs of rank {rank} "
                             "(the batch axis 0 cannot be one)")
        out.append(a % rank)
    if len(set(out)) != len(out):
        raise ValueError(f"{layer.name}: {name} {value!r} names an axis twice for inputs of rank {rank}")
    return sorted(out)


def data_format(owner, value, default):
    """Keras's data_format: None means the engine's default for that layer family."""
    if value is None:
        return default
    return choice(owner, "data_format", value, ("channels_first", "channels_last"))


def random_seed(owner, value):
    """A seed for the random ops (carried as a float in ONNX, so below 2^24 to stay exact);
    None draws one from the engine's seed sequence."""
    from engine import _random

    if value is None:
        return _random.next_seed() % (1 << 24)
    return integer(owner, "seed", value, 0, (1 << 24) - 1, "an integer in [0, 2^24)")
