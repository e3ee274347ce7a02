"""RNN, LSTM and GRU as single ops (ONNX semantics): every step of a sequence, forwards,
backwards or both, in one node whose backward runs through time in C++. Named onnx_* because
keras.ops.lstm and keras.ops.gru take Keras's weight layout and a different signature."""
from engine.ops._symbolic import apply, dtype_name

__all__ = ["onnx_rnn", "onnx_lstm", "onnx_gru", "store_state"]

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
