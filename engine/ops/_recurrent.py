"""RNN, LSTM and GRU as single ops (ONNX semantics): every step of a sequence, forwards,
backwards or both, in one node whose backward runs through time in C++. Named onnx_* because
keras.ops.lstm and keras.ops.gru take Keras's weight layout and a different signature."""
import numpy as np

from engine.ops._keras import cast, expand_dims, tile, where
from engine.ops._symbolic import apply, dtype_name

__all__ = ["onnx_rnn", "onnx_lstm", "onnx_gru", "mask_lengths", "shift_steps", "store_state"]

_OUTPUTS = {"RNN": 2, "LSTM": 3, "GRU": 2}


def _recurrent(op, x, w, r, b, sequence_lens, initial_h, extra, hidden_size, direction, activations,
               clip, layout, attrs):
    attrs = {"hidden_size": int(hidden_size), "direction": direction, "layout": int(layout), **attrs}
    if activations is not None:
        attrs["activations"] = list(activations)
    if clip is not None:
        attrs["clip"] = float(clip)
    operands = [x, w, r, b, sequence_lens, initial_h, *extra]
    while operands[-1] is None:
        operands.pop()
    n_out = _OUTPUTS[op]

    def shape_rule(x_shape, *_):
        d = 2 if direction == "bidirectional" else 1
        if layout:
            batch, steps = x_shape[0], x_shape[1]
            ys, state = (batch, steps, d, hidden_size), (batch, d, hidden_size)
        else:
            steps, batch = x_shape[0], x_shape[1]
            ys, state = (steps, d, batch, hidden_size), (d, batch, hidden_size)
        return [ys] + [state] * (n_out - 1)

    return apply(op.lower(), operands, lambda bld, names: bld.node(op, names, n_out, attrs=attrs),
                 shape_rule, ("float32",) * n_out)


def onnx_rnn(x, w, r, b=None, sequence_lens=None, initial_h=None, *, hidden_size, direction="forward",
        activations=None, clip=None, layout=0):
    """ONNX RNN: h_t = f(x_t W^T + h_{t-1} R^T + Wb + Rb). x [T, B, I] (layout 1: [B, T, I]),
    w [D, H, I], r [D, H, H], b [D, 2H]; returns [Y, Y_h]."""
    return _recurrent("RNN", x, w, r, b, sequence_lens, initial_h, (), hidden_size, direction,
                      activations, clip, layout, {})


def onnx_lstm(x, w, r, b=None, sequence_lens=None, initial_h=None, initial_c=None, p=None, *, hidden_size,
         direction="forward", activations=None, clip=None, layout=0):
    """ONNX LSTM, gates in ONNX's order i, o, f, c: w [D, 4H, I], r [D, 4H, H], b [D, 8H],
    p [D, 3H] peepholes; returns [Y, Y_h, Y_c]."""
    return _recurrent("LSTM", x, w, r, b, sequence_lens, initial_h, (initial_c, p), hidden_size,
                      direction, activations, clip, layout, {})


def onnx_gru(x, w, r, b=None, sequence_lens=None, initial_h=None, *, hidden_size, direction="forward",
        activations=None, clip=None, layout=0, linear_before_reset=0):
    """ONNX GRU, gates z, r, h: w [D, 3H, I], r [D, 3H, H], b [D, 6H]; linear_before_reset 1
    applies the reset gate after the recurrent product (Keras's reset_after). Returns [Y, Y_h]."""
    return _recurrent("GRU", x, w, r, b, sequence_lens, initial_h, (), hidden_size, direction,
                      activations, clip, layout, {"linear_before_reset": int(linear_before_reset)})


def mask_lengths(mask, starts=False):
    """The number of True steps of each row of a [batch, steps] bool mask: the sequence_lens of
    right-padded sequences. A row with a False step before a True one is an error when the
    graph runs (a length cannot describe it). starts=True returns (lengths, starts), starts
    the number of False steps before each row's True ones: rows may then pad before their
    data too, as long as their True steps are one run. Exported to ONNX as ReduceSum (and
    ArgMax) of Cast(mask), without the check."""
    def shape_rule(shape):
        if len(shape) != 2:
            raise ValueError(f"mask_lengths: mask must be [batch, steps], got shape {shape}")
        return [(shape[0],), (shape[0],)] if starts else (shape[0],)

    n = 2 if starts else 1
    return apply("mask_lengths", [mask],
                 lambda bld, names: bld.node("MaskLengths", names, n, domain="engine"), shape_rule,
                 ("int64",) * n)


def shift_steps(x, starts, back=False):
    """x [batch, steps, ...] with each row's steps rotated left by its `starts` ([batch]
    int64): row b's step starts[b] comes first (back=True undoes it). One GatherElements."""
    steps = x.shape[1]
    t = np.arange(steps, dtype=np.float32)[None, :]
    offset = expand_dims(cast(starts, "float32"), 1)  # exact: step counts are small integers
    index = t - offset if back else t + offset
    index = cast(where(index < 0, index + steps, where(index >= steps, index - steps, index)), "int64")
    for axis in range(2, len(x.shape)):
        index = tile(expand_dims(index, axis), (1,) * axis + (x.shape[axis],))

    return apply("shift_steps", [x, index],
                 lambda bld, names: bld.node("GatherElements", names, 1, attrs={"axis": 1}),
                 lambda x_shape, _: x_shape, (dtype_name(x),))


def store_state(x, value, variable):
    """x, passed through; once the graph's run is done (inference runs too), `value` is
    copied into `variable` (a non-trainable weight of value's shape): how a stateful layer's
    final states start its next call. No gradient flows into value. ONNX export drops it."""
    def shape_rule(x_shape, value_shape, variable_shape):
        if tuple(value_shape) != tuple(variable_shape):
            raise ValueError(f"store_state: value {value_shape} and variable {variable_shape} differ in shape")
        return x_shape

    return apply("store_state", [x, value, variable],
                 lambda bld, names: bld.node("StoreState", names, 1, domain="engine"), shape_rule,
                 (dtype_name(x),))
