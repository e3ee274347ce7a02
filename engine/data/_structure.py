"""Nested elements: tuples and dicts are structure, everything else is a leaf (a numpy
array, a numpy scalar or a string), as in tf.data. Lists are leaves: `[1, 2, 3]` is one
array, as tf.data converts it."""
import numpy as np


def is_structure(x):
    return isinstance(x, (tuple, dict))


def to_leaf(value, what="element"):
    """A numpy array (or numpy scalar) for one leaf of an element."""
    if isinstance(value, (np.ndarray, np.generic)):
        return value
    if isinstance(value, str):
        return np.str_(value)
    if isinstance(value, bytes):
        return np.bytes_(value)
    # Tensors of other frameworks (a PyTorch DataLoader's batches, tf tensors).
    if not hasattr(value, "__array__") and hasattr(value, "numpy"):
        value = value.numpy()
    try:
        out = np.asarray(value)
    except Exception as e:
        raise TypeError(f"{what}: cannot turn {type(value).__name__} into a numpy array ({e})") from None
    if out.dtype == object:
        raise TypeError(f"{what}: {type(value).__name__} values are not arrays (numpy made an object "
                        f"array of them); return numbers, arrays, strings, tuples or dicts")
    return out


def normalize(element, what="element"):
    """The element with every leaf a numpy array; tuples (namedtuples kept) and dicts kept."""
    if isinstance(element, tuple):
        items = [normalize(e, what) for e in element]
        return type(element)(*items) if hasattr(element, "_fields") else tuple(items)
    if isinstance(element, dict):
        return type(element)((k, normalize(v, what)) for k, v in element.items())
    return to_leaf(element, what)


def flatten(element):
    if isinstance(element, tuple):
        return [leaf for e in element for leaf in flatten(e)]
    if isinstance(element, dict):
        return [leaf for k in element for leaf in flatten(element[k])]
    return [element]


def map_structure(fn, first, *rest):
    """fn over corresponding leaves of elements with the same structure."""
    if isinstance(first, tuple):
        for r in rest:
            if not isinstance(r, tuple) or len(r) != len(first):
                raise ValueError(f"elements have different structures: {_describe(first)} and {_describe(r)}")
        items = [map_structure(fn, *parts) for parts in zip(first, *rest)]
        return type(first)(*items) if hasattr(first, "_fields") else tuple(items)
    if isinstance(first, dict):
        for r in rest:
            if not isinstance(r, dict) or list(r) != list(first):
                raise ValueError(f"elements have different structures: {_describe(first)} and {_describe(r)}")
        return type(first)((k, map_structure(fn, first[k], *(r[k] for r in rest))) for k in first)
    for r in rest:
        if is_structure(r):
            raise ValueError(f"elements have different structures: {_describe(first)} and {_describe(r)}")
    return fn(first, *rest)


def _describe(x):
    if isinstance(x, tuple):
        return "(" + ", ".join(_describe(e) for e in x) + (",)" if len(x) == 1 else ")")
    if isinstance(x, dict):
        return "{" + ", ".join(f"{k!r}: {_describe(v)}" for k, v in x.items()) + "}"
    return "array"


def call_with_element(fn, element):
    """tf.data's calling convention: a tuple element is spread over the arguments, any other
    element (a dict, an array) is one argument."""
    if isinstance(element, tuple) and not hasattr(element, "_fields"):
        return fn(*element)
    return fn(element)
