"""SimpleRNN, LSTM and GRU over [batch, steps, features] (Keras's layout), and Bidirectional.

Each layer's call() is one ONNX RNN / LSTM / GRU node (engine.ops.onnx_lstm, ...): the core
runs every step and backpropagates through time in C++, and the model exports to ONNX as that
node. Its weights are converted on the way in (a transpose, and for LSTM the gates reordered to
ONNX's i, o, f, c), so the layer keeps Keras's weights and checkpoints. Activations the op does
not have (anything but tanh, sigmoid and relu) fall back to unrolling the cell over the steps
with engine.ops. The number of steps may be unknown until run time (Input((None, features))),
except where the cell is unrolled (those activations, unroll=True, recurrent_dropout while
training), which needs it when the layer is built. Weights follow Keras: kernel
[features, gates * units], recurrent_kernel [units, gates * units], gates in Keras's order
(LSTM i, f, c, o; GRU z, r, h); GRU's bias is [2, 3 * units] with reset_after=True (the
default; the recurrent bias applied inside the reset gate) and [3 * units] without.

Masks (Keras's: from Embedding(mask_zero=True), Masking, or mask= in the call), of any
pattern, become the op's sequence_lens: each row's unmasked steps are moved to the front
in order and the outputs moved back (engine.ops.take_along_axis). The outputs follow
Keras's RNN: a masked step leaves the states as they were and outputs the carried hidden
state (as Keras's JAX and NumPy backends; TensorFlow's outputs zeros before the first
unmasked step, which differs with a nonzero initial state), or zeros with
zero_output_for_mask=True (which Bidirectional sets when it returns sequences); the
output mask is the input's with return_sequences, else none.

stateful=True (a fixed batch size) starts each call from the final states of the one
before, kept in non-trainable variables outside the weights (engine.ops.store_state
writes them once the run is done, predict included); reset_state() zeros them. dropout
multiplies the inputs by one mask per sequence and feature while training (Keras 3's
cells share it between the steps and the gates); recurrent_dropout multiplies h_{t-1} by
one mask per sequence and unit where the recurrent products read it (the carried state
stays whole), which the fused op lacks: training then runs the cell unrolled.
"""
import numpy as np

from engine import activations as _activations
from engine import constraints as _constraints
from engine import initializers as _initializers
from engine import ops
from engine import regularizers as _regularizers
from engine.layers import _args
from engine.layers.base import Layer, Variable
from engine.layers.core import Dense
from engine.layers.regularization import _keep_mask


def _step_order(mask, backwards):
    """How the fused op runs a masked sequence (any mask, holes included): each row's
    unmasked steps moved to the front, in order, and run as sequence_lens; a masked step
    leaves the states as they are, so its output is the carried hidden state: that of the
    last unmasked step before it (after it, backwards), or the initial state where there is
    none. Returns int64 (lengths [batch], source [batch, steps]: the step each front
    position reads, shown [batch, steps]: the front position whose output each step shows)
    and shown_valid [batch, steps] bool (False where the initial state shows)."""
    kept = ops.cast(mask, "float32")
    count = ops.cumsum(kept, axis=1)  # unmasked steps <= t (exact in float32)
    lengths = ops.sum(kept, axis=1)
    front = ops.where(mask, count - 1.0, -1.0)  # where an unmasked step goes; -1 for the others
    if mask.shape[1] is None:  # 0, 1, ... over the steps there are at run time
        positions = ops.cumsum(ops.ones_like(kept), axis=1)[:1] - 1.0
    else:
        positions = np.arange(mask.shape[1], dtype=np.float32)[None]
    goes = ops.cast(ops.equal(ops.expand_dims(front, 1), ops.expand_dims(positions, -1)), "float32")  # [b, front, t]
    source = ops.sum(goes * ops.expand_dims(positions, 1), axis=-1)
    shown = count - kept if backwards else count - 1.0
    shown_valid = ops.less(shown, ops.expand_dims(lengths, 1)) if backwards else ops.greater_equal(shown, 0.0)
    shown = ops.where(shown_valid, shown, 0.0)
    return (ops.cast(lengths, "int64"), ops.cast(source, "int64"), ops.cast(shown, "int64"), shown_valid)


class _Recurrent(Layer):
    gates = 1

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal", bias_initializer="zeros",
                 kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None,
                 kernel_constraint=None, recurrent_constraint=None, bias_constraint=None,
                 return_sequences=False, return_state=False, go_backwards=False, zero_output_for_mask=False,
                 stateful=False, dropout=0.0, recurrent_dropout=0.0, seed=None, unroll=False, **kwargs):
        super().__init__(**kwargs)
        self.stateful = _args.boolean(self, "stateful", stateful)
        self.unroll = _args.boolean(self, "unroll", unroll)
        self.dropout = _args.real(self, "dropout", dropout, low=0.0, high=1.0, high_open=True)
        self.recurrent_dropout = _args.real(self, "recurrent_dropout", recurrent_dropout, low=0.0, high=1.0,
                                            high_open=True)
        self.seed = _args.random_seed(self, seed)
        self.units = _args.positive_int(self, "units", units)
        self.activation = engine_activation(self, "activation", activation)
        self.recurrent_activation = engine_activation(self, "recurrent_activation", recurrent_activation)
        self.use_bias = _args.boolean(self, "use_bias", use_bias)
        self.return_sequences = _args.boolean(self, "return_sequences", return_sequences)
        self.return_state = _args.boolean(self, "return_state", return_state)
        self.go_backwards = _args.boolean(self, "go_backwards", go_backwards)
        self.zero_output_for_mask = _args.boolean(self, "zero_output_for_mask", zero_output_for_mask)
        self._weight_specs = {
            name: (_args.resolve(self, f"{name}_initializer", _initializers.get, init),
                   _args.resolve(self, f"{name}_regularizer", _regularizers.get, reg),
                   _args.resolve(self, f"{name}_constraint", _constraints.get, con))
            for name, init, reg, con in (
                ("kernel", kernel_initializer, kernel_regularizer, kernel_constraint),
                ("recurrent", recurrent_initializer, recurrent_regularizer, recurrent_constraint),
                ("bias", bias_initializer, bias_regularizer, bias_constraint))}

    def _weight(self, name, spec, shape):
        init, reg, con = self._weight_specs[spec]
        return self.add_weight(name=name, shape=shape, initializer=init, regularizer=reg, constraint=con)

    def build(self, input_shape):
        if len(input_shape) != 3 or input_shape[2] is None:
            raise ValueError(f"{self.name}: expects [batch, steps, features] with known features, "
                             f"got shape {input_shape}")
        n = self.gates * self.units
        self.kernel = self._weight("kernel", "kernel", (input_shape[2], n))
        self.recurrent_kernel = self._weight("recurrent_kernel", "recurrent", (self.units, n))
        self.bias = self._weight("bias", "bias", self._bias_shape()) if self.use_bias else None
        if self.stateful:
            if input_shape[0] is None:
                raise ValueError(f"{self.name}: stateful=True needs a fixed batch size (the states of one batch "
                                 "start the next): give the input one, Input(shape, batch_size=...); got shape "
                                 f"{input_shape}")
            # Not weights (Keras): kept out of get_weights and saving, in the graph as
            # non-trainable parameters that engine.StoreState overwrites after each call.
            zeros = np.zeros((input_shape[0], self.units), np.float32)
            self._state_variables = [Variable(f"{self.name}/state_{k}", zeros, trainable=False)
                                     for k in range(self._states)]
        self.built = True

    @property
    def states(self):
        """The stateful layer's current states (copies), [h] or [h, c]; None unless stateful."""
        return [v.numpy() for v in self._state_variables] if self.stateful and self.built else None

    def reset_state(self):
        """Zeros the states of a stateful layer (the next call starts afresh)."""
        if self.stateful and self.built:
            for v in self._state_variables:
                v.assign(np.zeros(v.shape, np.float32))

    reset_states = reset_state  # Keras's older name

    def _bias_shape(self):
        return (self.gates * self.units,)

    supports_masking = True

    def compute_mask(self, inputs, mask=None):
        output_mask = mask if self.return_sequences else None
        return [output_mask] + [None] * self._states if self.return_state else output_mask

    def call(self, inputs, initial_state=None, mask=None, training=False):
        stored = self.stateful and initial_state is None
        if stored:
            initial_state = self._state_variables
        result, states = self._run(inputs, initial_state, mask, training)
        if stored:  # the final states start the next call
            for variable, final in zip(self._state_variables, states):
                result = ops.store_state(result, final, variable)
        return [result] + states if self.return_state else result

    def _run(self, inputs, initial_state, mask, training):
        """(the output, the final states)."""
        if training and self.dropout > 0:
            # Keras: one mask per sequence and feature, shared by the steps and the gates.
            keep = _keep_mask(inputs, self.dropout, (1,), self.seed)
            inputs = ops.where(keep, inputs * (1.0 / (1.0 - self.dropout)), 0.0)
        activations = self._onnx_activations()
        if mask is not None and mask.dtype != "bool":
            mask = ops.cast(mask, "bool")
        if training and self.recurrent_dropout > 0:  # the op has no dropout on h: the cell unrolled
            return self._unrolled(inputs, initial_state, mask, self._recurrent_keep(inputs))
        if activations is None or self.unroll:
            return self._unrolled(inputs, initial_state, mask)
        lens = None
        if mask is not None:  # each row's unmasked steps moved to the front: sequence_lens
            lens, source, shown, shown_valid = _step_order(mask, self.go_backwards)
            inputs = ops.take_along_axis(inputs, ops.expand_dims(source, -1), axis=1)
        # onnxruntime runs only layout 0 ([steps, batch, features]): transposes keep the
        # exported node portable.
        x = ops.transpose(inputs, (1, 0, 2))
        states = None if initial_state is None else [ops.expand_dims(s, 0) for s in initial_state]
        outputs = self._fused(x, self._onnx_weights(), states, activations,
                              "reverse" if self.go_backwards else "forward", lens)
        last = [ops.squeeze(s, 0) for s in outputs[1:]]  # [1, batch, units] -> [batch, units]
        if self.return_sequences:
            result = ops.transpose(ops.squeeze(outputs[0], 1), (1, 0, 2))
            if mask is not None:  # back in place, masked steps showing the carried state
                result = ops.take_along_axis(result, ops.expand_dims(shown, -1), axis=1)
                initial = 0.0 if initial_state is None else ops.expand_dims(initial_state[0], 1)
                result = ops.where(ops.expand_dims(shown_valid, -1), result, initial)
                if self.zero_output_for_mask:
                    result = ops.where(ops.expand_dims(mask, -1), result, 0.0)
            if self.go_backwards:  # Keras lists the outputs in the order they were computed
                result = result[:, ::-1, :]
        else:
            result = last[0]
            if mask is not None and self.zero_output_for_mask:  # the last step's output
                step = mask[:, :1] if self.go_backwards else mask[:, -1:]
                result = ops.where(step, result, 0.0)
        return result, last

    def _onnx_activations(self):
        """The ONNX names of the op's activations, or None when the op has no such activation."""
        names = {"tanh": "Tanh", "sigmoid": "Sigmoid", "relu": "Relu"}
        act = names.get(_activations.serialize(self.activation))
        recurrent = names.get(_activations.serialize(self.recurrent_activation))
        if act is None or recurrent is None:
            return None
        return {1: [act], 2: [recurrent, act], 3: [recurrent, act, act]}[self._onnx_activation_count]

    def _onnx_order(self):
        """Where ONNX's gate rows come from in Keras's gate columns: None when the orders
        agree (all but LSTM)."""
        return None

    def _onnx_weights(self):
        """W [1, G*U, F], R [1, G*U, U] and B [1, 2*G*U] (or None) from Keras's weights."""
        order = self._onnx_order()

        def rows(kernel):  # [F, G*U] -> [1, G*U, F]; reordered by one gather of 2-D indices
            if order is None:
                return ops.expand_dims(ops.transpose(kernel), 0)
            return ops.take(ops.transpose(kernel), order[None], axis=0)

        w, r = rows(self.kernel), rows(self.recurrent_kernel)
        if not self.use_bias:
            return w, r, None
        if len(self._bias_shape()) == 2:  # GRU's input and recurrent biases: ONNX's Wb, Rb
            return w, r, ops.reshape(self.bias, (1, 6 * self.units))
        bias = self.bias if order is None else ops.take(self.bias, order, axis=0)
        zeros = np.zeros(self.gates * self.units, np.float32)  # Keras has one bias: Rb = 0
        return w, r, ops.expand_dims(ops.concatenate([bias, zeros], axis=0), 0)

    def _recurrent_keep(self, inputs):
        """recurrent_dropout's mask: one draw per sequence and unit, for every step (its own
        seed, next to the inputs' one)."""
        return _keep_mask(self._initial_state(inputs)[0], self.recurrent_dropout, (), (self.seed + 1) % (1 << 24))

    def _unrolled(self, inputs, initial_state, mask=None, recurrent_keep=None):
        steps = inputs.shape[1]
        if steps is None:
            why = ("recurrent_dropout while training" if recurrent_keep is not None else "unroll=True" if self.unroll
                   else "an activation other than tanh, sigmoid and relu")
            raise ValueError(f"{self.name}: {why} unrolls the cell over the steps, so the number of steps must be "
                             f"known: give the input a fixed number of steps, Input((steps, {inputs.shape[2]})); got "
                             f"shape {inputs.shape}")
        # The input's share of every step at once: one [batch * steps, features] product.
        projected = ops.matmul(inputs, self.kernel)
        recurrent_bias = None
        if self.use_bias:
            two_biases = len(self._bias_shape()) == 2  # GRU with reset_after: input and recurrent
            projected = projected + (self.bias[0] if two_biases else self.bias)
            recurrent_bias = self.bias[1] if two_biases else None
        state = self._initial_state(inputs) if initial_state is None else list(initial_state)
        outputs = []
        order = range(steps - 1, -1, -1) if self.go_backwards else range(steps)
        for t in order:
            h_rec = state[0]  # what the recurrent products read: with recurrent_dropout, dropped
            if recurrent_keep is not None:
                h_rec = ops.where(recurrent_keep, h_rec * (1.0 / (1.0 - self.recurrent_dropout)), 0.0)
            output, new_state = self.step(projected[:, t, :], state, recurrent_bias, h_rec)
            if mask is not None:  # any mask here: a masked step keeps the states
                keep = mask[:, t:t + 1]
                output = ops.where(keep, output, 0.0 if self.zero_output_for_mask else state[0])
                new_state = [ops.where(keep, new, old) for new, old in zip(new_state, state)]
            state = new_state
            outputs.append(output)
        return ops.stack(outputs, axis=1) if self.return_sequences else outputs[-1], state

    def _initial_state(self, inputs):
        # Zeros of [batch, units] that follow the run-time batch size.
        zeros = ops.zeros_like(inputs[:, 0, :1])
        return [ops.tile(zeros, (1, self.units)) for _ in range(self._states)]

    _states = 1

    def _gate(self, z, k):
        return z[:, k * self.units:(k + 1) * self.units]

    def get_config(self):
        config = {**super().get_config(), "units": self.units,
                  "activation": _activations.serialize(self.activation),
                  "recurrent_activation": _activations.serialize(self.recurrent_activation),
                  "use_bias": self.use_bias, "return_sequences": self.return_sequences,
                  "return_state": self.return_state, "go_backwards": self.go_backwards,
                  "zero_output_for_mask": self.zero_output_for_mask, "stateful": self.stateful,
                  "dropout": self.dropout, "recurrent_dropout": self.recurrent_dropout, "seed": self.seed,
                  "unroll": self.unroll}
        for name, (_, reg, con) in self._weight_specs.items():
            config[f"{name}_regularizer"] = _regularizers.serialize(reg)
            config[f"{name}_constraint"] = _constraints.serialize(con)
        return config


def engine_activation(layer, name, value):
    """The activation as a function (recurrent cells call it on tensors)."""
    return _activations.get(_args.resolve(layer, name, _activations.normalize, value))


class SimpleRNN(_Recurrent):
    """h_t = activation(x_t W + h_{t-1} U + b)."""

    _onnx_activation_count = 1

    def __init__(self, units, activation="tanh", **kwargs):
        super().__init__(units, activation=activation, **kwargs)

    def _fused(self, x, weights, states, activations, direction, lens):
        return ops.onnx_rnn(x, *weights, lens, None if states is None else states[0], hidden_size=self.units,
                            direction=direction, activations=activations)

    def step(self, x, state, recurrent_bias, h_rec):
        h = self.activation(x + ops.matmul(h_rec, self.recurrent_kernel))
        return h, [h]


class LSTM(_Recurrent):
    """Keras's LSTM: gates i, f, c, o; c_t = f c_{t-1} + i g, h_t = o activation(c_t)."""

    gates, _states, _onnx_activation_count = 4, 2, 3

    def __init__(self, units, unit_forget_bias=True, **kwargs):
        super().__init__(units, **kwargs)
        self.unit_forget_bias = _args.boolean(self, "unit_forget_bias", unit_forget_bias)

    def build(self, input_shape):
        super().build(input_shape)
        if self.use_bias and self.unit_forget_bias:  # Keras starts the forget gate's bias at 1
            value = self.bias.numpy()
            value[self.units:2 * self.units] += 1.0
            self.bias.assign(value)

    def _onnx_order(self):
        # Keras's i, f, c, o blocks as ONNX's i, o, f, c.
        u = self.units
        return np.concatenate([np.arange(k * u, (k + 1) * u) for k in (0, 3, 1, 2)]).astype(np.int64)

    def _fused(self, x, weights, states, activations, direction, lens):
        h0, c0 = (None, None) if states is None else states
        return ops.onnx_lstm(x, *weights, lens, h0, c0, hidden_size=self.units, direction=direction,
                             activations=activations)

    def step(self, x, state, recurrent_bias, h_rec):
        c = state[1]
        z = x + ops.matmul(h_rec, self.recurrent_kernel)
        i = self.recurrent_activation(self._gate(z, 0))
        f = self.recurrent_activation(self._gate(z, 1))
        g = self.activation(self._gate(z, 2))
        o = self.recurrent_activation(self._gate(z, 3))
        c = f * c + i * g
        h = o * self.activation(c)
        return h, [h, c]

    def get_config(self):
        return {**super().get_config(), "unit_forget_bias": self.unit_forget_bias}


class GRU(_Recurrent):
    """Keras's GRU: z, r, h~; h_t = z h_{t-1} + (1 - z) h~. With reset_after (the Keras 3
    default) the reset gate multiplies the recurrent term after its product and bias;
    without, it multiplies h_{t-1} before (the book's equations)."""

    gates, _onnx_activation_count = 3, 2

    def __init__(self, units, reset_after=True, **kwargs):
        super().__init__(units, **kwargs)
        self.reset_after = _args.boolean(self, "reset_after", reset_after)

    def _bias_shape(self):
        return (2, 3 * self.units) if self.reset_after else (3 * self.units,)

    def _fused(self, x, weights, states, activations, direction, lens):
        # reset_after is ONNX's linear_before_reset (the reset gate after R's product).
        return ops.onnx_gru(x, *weights, lens, None if states is None else states[0], hidden_size=self.units,
                            direction=direction, activations=activations,
                            linear_before_reset=int(self.reset_after))

    def step(self, x, state, recurrent_bias, h_rec):
        h = state[0]
        u = self.units
        if self.reset_after:
            recurrent = ops.matmul(h_rec, self.recurrent_kernel)
            if recurrent_bias is not None:
                recurrent = recurrent + recurrent_bias
            z = self.recurrent_activation(self._gate(x, 0) + self._gate(recurrent, 0))
            r = self.recurrent_activation(self._gate(x, 1) + self._gate(recurrent, 1))
            candidate = self.activation(self._gate(x, 2) + r * self._gate(recurrent, 2))
        else:
            zr = ops.matmul(h_rec, self.recurrent_kernel[:, :2 * u])
            z = self.recurrent_activation(self._gate(x, 0) + zr[:, :u])
            r = self.recurrent_activation(self._gate(x, 1) + zr[:, u:])
            candidate = self.activation(self._gate(x, 2) + ops.matmul(r * h_rec, self.recurrent_kernel[:, 2 * u:]))
        h = z * h + (1.0 - z) * candidate  # the undropped h_{t-1}
        return h, [h]

    def get_config(self):
        return {**super().get_config(), "reset_after": self.reset_after}


class Bidirectional(Layer):
    """A recurrent layer run forwards and (a copy) backwards; merge_mode concat, sum, ave or
    mul joins their outputs."""

    def __init__(self, layer, merge_mode="concat", backward_layer=None, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(layer, _Recurrent):
            raise TypeError(f"{self.name}: layer must be SimpleRNN, LSTM or GRU, got {layer!r}")
        self.stateful = layer.stateful
        if layer.return_state:
            raise ValueError(f"{self.name}: a wrapped layer with return_state=True is not supported")
        self.merge_mode = _args.choice(self, "merge_mode", merge_mode, ("concat", "sum", "ave", "mul"))
        self.forward_layer = layer
        if backward_layer is None:
            config = {**layer.get_config(), "go_backwards": not layer.go_backwards}
            config.pop("name")
            config.pop("seed")  # its own dropout draws
            backward_layer = type(layer).from_config(config)
        self.backward_layer = backward_layer
        # Keras: masked steps of returned sequences are zeros in both directions.
        for sub in (self.forward_layer, self.backward_layer):
            sub.zero_output_for_mask = sub.return_sequences

    supports_masking = True

    def compute_mask(self, inputs, mask=None):
        return mask if self.forward_layer.return_sequences else None

    def reset_state(self):
        if not self.forward_layer.stateful:
            raise AttributeError(f"{self.name}: reset_state needs stateful layers")
        self.forward_layer.reset_state()
        self.backward_layer.reset_state()

    reset_states = reset_state

    def call(self, inputs, mask=None, training=None):
        forward = self.forward_layer(inputs, mask=mask, training=training)
        backward = self.backward_layer(inputs, mask=mask, training=training)
        if self.forward_layer.return_sequences:  # the backward sequence, back in time order
            backward = backward[:, ::-1, :]
        if self.merge_mode == "concat":
            return ops.concatenate([forward, backward], axis=-1)
        if self.merge_mode == "sum":
            return forward + backward
        if self.merge_mode == "ave":
            return (forward + backward) * 0.5
        return forward * backward

    def get_config(self):
        return {**super().get_config(), "merge_mode": self.merge_mode,
                "layer": {"class_name": type(self.forward_layer).__name__,
                          "config": self.forward_layer.get_config()}}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        return cls(_layer_from_config(config.pop("layer")), **config)


class TimeDistributed(Layer):
    """The wrapped layer applied to every step of [batch, steps, ...] on its own: the steps
    fold into the batch, the layer runs once, and they unfold again."""

    supports_masking = True  # Keras: the steps' mask passes through

    def __init__(self, layer, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(layer, Layer):
            raise TypeError(f"{self.name}: layer must be a layer, got {layer!r}")
        self.layer = layer

    def call(self, inputs):
        steps, rest = inputs.shape[1], tuple(inputs.shape[2:])
        if steps is None and isinstance(self.layer, Dense):  # it maps the last axis alone, at any rank
            return self.layer(inputs)
        if steps is None or None in rest:
            raise ValueError(f"{self.name}: needs known steps and sample sizes (but for a Dense layer), got shape "
                             f"{inputs.shape}")
        outputs = self.layer(ops.reshape(inputs, (-1,) + rest))
        return ops.reshape(outputs, (-1, steps) + tuple(outputs.shape[1:]))

    def get_config(self):
        return {**super().get_config(), "layer": {"class_name": type(self.layer).__name__,
                                                  "config": self.layer.get_config()}}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        return cls(_layer_from_config(config.pop("layer")), **config)


def _layer_from_config(entry):
    from engine import saving

    return saving.layer_from_config(entry)
