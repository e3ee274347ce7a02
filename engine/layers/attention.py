"""MultiHeadAttention (Keras 3) on [batch, steps, features] sequences, written with
engine.ops: the projections are MatMuls, the scores a batched MatMul scaled by
1 / sqrt(key_dim), a Softmax over the keys (after the causal mask when asked), dropout on
the attention weights while training, and the output projection.

Weights follow Keras: query/key/value kernels [features, num_heads, key_dim] (value_dim for
the values) with biases [num_heads, key_dim], and the output kernel [num_heads, value_dim,
output features] with bias [output features].
"""
import math

import numpy as np

from engine import constraints as _constraints
from engine import initializers as _initializers
from engine import ops
from engine import regularizers as _regularizers
from engine.layers import _args
from engine.layers.base import Layer


def _causal(scores):
    """Keras's causal mask for scores [1, query steps, key steps]: True where key step j <=
    query step i. A constant when the steps are known, else taken from the scores' shape at
    run time."""
    query_steps, key_steps = scores.shape[1:]
    if None not in (query_steps, key_steps):
        return np.tril(np.ones((1, query_steps, key_steps), bool))
    return ops.greater(ops.tril(ops.ones_like(scores)), 0.5)


class MultiHeadAttention(Layer):
    def __init__(self, num_heads, key_dim, value_dim=None, dropout=0.0, use_bias=True, output_shape=None,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros", kernel_regularizer=None,
                 bias_regularizer=None, kernel_constraint=None, bias_constraint=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.num_heads = _args.positive_int(self, "num_heads", num_heads)
        self.key_dim = _args.positive_int(self, "key_dim", key_dim)
        self.value_dim = self.key_dim if value_dim is None else _args.positive_int(self, "value_dim", value_dim)
        self.dropout = _args.real(self, "dropout", dropout, low=0.0, high=1.0, high_open=True)
        self.use_bias = _args.boolean(self, "use_bias", use_bias)
        self.output_features = None if output_shape is None else _args.positive_int(self, "output_shape",
                                                                                    output_shape)
        self.seed = _args.random_seed(self, seed)
        self.kernel_initializer = _args.resolve(self, "kernel_initializer", _initializers.get, kernel_initializer)
        self.bias_initializer = _args.resolve(self, "bias_initializer", _initializers.get, bias_initializer)
        self.kernel_regularizer = _args.resolve(self, "kernel_regularizer", _regularizers.get, kernel_regularizer)
        self.bias_regularizer = _args.resolve(self, "bias_regularizer", _regularizers.get, bias_regularizer)
        self.kernel_constraint = _args.resolve(self, "kernel_constraint", _constraints.get, kernel_constraint)
        self.bias_constraint = _args.resolve(self, "bias_constraint", _constraints.get, bias_constraint)
        self._layout = (False,) * 6  # query, value, key and attention masks, causal, scores: read by call()

    def __call__(self, query, value=None, key=None, query_mask=None, value_mask=None, key_mask=None,
                 attention_mask=None, return_attention_scores=False, training=None, use_causal_mask=False,
                 _masks=None):
        """Keras's signature: value defaults to query (self-attention), key to value. The
        query, value and key masks default to those the tensors carry (Embedding(mask_zero),
        Masking, ...), the key's only when key is given. `_masks` (which of the query, value,
        key and attention masks follow [query, value, key] in the list `query`) is how a saved
        model calls the layer again."""
        if _masks is not None:
            present = [bool(m) for m in _masks]
            tensors = list(query)
        else:
            if isinstance(query, (list, tuple)) and value is None and key is None:
                query, value, key = (list(query) + [None, None])[:3]
            key_given = key is not None
            value = query if value is None else value
            key = value if key is None else key
            query_mask = _carried_mask(query) if query_mask is None else query_mask
            value_mask = _carried_mask(value) if value_mask is None else value_mask
            key_mask = _carried_mask(key) if key_mask is None and key_given else key_mask
            masks = [query_mask, value_mask, key_mask, attention_mask]
            present = [m is not None for m in masks]
            tensors = [query, value, key] + [m for m in masks if m is not None]
        if len(tensors) != 3 + sum(present):
            raise ValueError(f"{self.name}: expected {3 + sum(present)} inputs, got {len(tensors)}")
        self._layout = tuple(present) + (bool(use_causal_mask), bool(return_attention_scores))
        outputs = super().__call__(tensors, training=training)
        if self._calls and self._calls[-1].outputs[0] is _first(outputs):  # a symbolic call: saved with the model
            kept = {"_masks": present} if any(present) else {}
            if use_causal_mask:
                kept["use_causal_mask"] = True
            if return_attention_scores:
                kept["return_attention_scores"] = True
            self._calls[-1].kwargs = kept
            # Keras: the output carries the query's mask.
            _first(outputs)._keras_mask = tensors[3] if present[0] else None
        return tuple(outputs) if return_attention_scores else outputs

    def _call_eager(self, inputs, flat, training):
        *present, causal, scores = self._layout
        return _run_eagerly(self, flat, training, _masks=present, use_causal_mask=causal,
                            return_attention_scores=scores)

    def _check_inputs(self, flat):
        query, value, key = flat[:3]
        masks = list(flat[3:])
        steps = {"query_mask": (query.shape[1],), "value_mask": (value.shape[1],), "key_mask": (key.shape[1],),
                 "attention_mask": (query.shape[1], key.shape[1])}
        for (what, dims), present in zip(steps.items(), self._layout[:4]):
            if not present:
                continue
            m = masks.pop(0)
            broadcast = what == "attention_mask"  # [batch, 1, key steps] masks padding for every query
            if len(m.shape) != 1 + len(dims) or any(None not in (a, b) and a != b and not (broadcast and a == 1)
                                                    for a, b in zip(m.shape[1:], dims)):
                raise ValueError(f"{self.name}: {what} must be [batch, {', '.join(map(str, dims))}]"
                                 f"{' (or 1 for a dim it broadcasts over)' if broadcast else ''}, got shape "
                                 f"{m.shape}")

    def _projection(self, name, features, heads_dim):
        kernel = self.add_weight(name=f"{name}_kernel", shape=(features, self.num_heads, heads_dim),
                                 initializer=self.kernel_initializer, regularizer=self.kernel_regularizer,
                                 constraint=self.kernel_constraint)
        bias = self.add_weight(name=f"{name}_bias", shape=(self.num_heads, heads_dim),
                               initializer=self.bias_initializer, regularizer=self.bias_regularizer,
                               constraint=self.bias_constraint) if self.use_bias else None
        return kernel, bias

    def build(self, input_shape):
        query, value, key = input_shape[:3]
        for shape in input_shape[:3]:
            if len(shape) != 3 or shape[-1] is None:
                raise ValueError(f"{self.name}: expects [batch, steps, features] inputs with known features, "
                                 f"got {input_shape}")
        self.query_kernel, self.query_bias = self._projection("query", query[-1], self.key_dim)
        self.key_kernel, self.key_bias = self._projection("key", key[-1], self.key_dim)
        self.value_kernel, self.value_bias = self._projection("value", value[-1], self.value_dim)
        out = self.output_features or query[-1]
        self.output_kernel = self.add_weight(name="output_kernel", shape=(self.num_heads, self.value_dim, out),
                                             initializer=self.kernel_initializer,
                                             regularizer=self.kernel_regularizer, constraint=self.kernel_constraint)
        self.output_bias = self.add_weight(name="output_bias", shape=(out,), initializer=self.bias_initializer,
                                           regularizer=self.bias_regularizer,
                                           constraint=self.bias_constraint) if self.use_bias else None
        self.built = True

    def _heads(self, x, kernel, bias, dim):
        """[batch, steps, features] -> [batch, heads, steps, dim]."""
        y = ops.matmul(x, ops.reshape(kernel, (kernel.shape[0], self.num_heads * dim)))
        if bias is not None:
            y = y + ops.reshape(bias, (self.num_heads * dim,))
        return ops.transpose(ops.reshape(y, (-1, None, self.num_heads, dim)), (0, 2, 1, 3))

    def _allowed(self, inputs, scores):
        """Keras's attention mask: bool [batch or 1, query steps, key steps], True where a
        query step may attend to a key step (the AND of the masks given), or None."""
        has_q, has_v, has_k, has_a, causal, _ = self._layout
        rest = list(inputs)
        allowed = None
        for present, expand in ((has_q, -1), (has_v, -2), (has_k, -2), (has_a, None)):
            if not present:
                continue
            m = ops.cast(rest.pop(0), "bool")
            m = ops.expand_dims(m, expand) if expand is not None else m
            allowed = m if allowed is None else ops.logical_and(allowed, m)
        if causal:
            lower = _causal(scores[:1, 0])
            allowed = lower if allowed is None else ops.logical_and(allowed, lower)
        return allowed

    def call(self, inputs, training=None):
        query, value, key = inputs[:3]
        return_scores = self._layout[-1]
        q = self._heads(query, self.query_kernel, self.query_bias, self.key_dim) * (1.0 / math.sqrt(self.key_dim))
        k = self._heads(key, self.key_kernel, self.key_bias, self.key_dim)
        v = self._heads(value, self.value_kernel, self.value_bias, self.value_dim)
        scores = ops.matmul(q, ops.transpose(k, (0, 1, 3, 2)))  # [batch, heads, query steps, key steps]
        allowed = self._allowed(inputs[3:], scores)
        if allowed is not None:
            allowed = ops.expand_dims(allowed, 1) if not isinstance(allowed, np.ndarray) else allowed[:, None]
            scores = ops.where(allowed, scores, -1e9)
        weights = ops.softmax(scores, axis=-1)
        if allowed is not None:  # a row with every key masked attends to nothing (Keras's Softmax)
            weights = ops.where(allowed, weights, 0.0)
        attended_weights = weights
        if training and self.dropout:
            from engine import random  # engine.random builds on the layers

            keep = ops.greater_equal(random.uniform_like(weights, seed=self.seed), self.dropout)
            attended_weights = ops.where(keep, weights * (1.0 / (1.0 - self.dropout)), 0.0)
        attended = ops.transpose(ops.matmul(attended_weights, v), (0, 2, 1, 3))  # [batch, steps, heads, value_dim]
        merged = ops.reshape(attended, (-1, None, self.num_heads * self.value_dim))
        out = ops.matmul(merged, ops.reshape(self.output_kernel, (self.num_heads * self.value_dim, -1)))
        out = out + self.output_bias if self.output_bias is not None else out
        return [out, weights] if return_scores else out

    def get_config(self):
        return {**super().get_config(), "num_heads": self.num_heads, "key_dim": self.key_dim,
                "value_dim": self.value_dim, "dropout": self.dropout, "use_bias": self.use_bias,
                "output_shape": self.output_features, "seed": self.seed,
                "kernel_regularizer": _regularizers.serialize(self.kernel_regularizer),
                "bias_regularizer": _regularizers.serialize(self.bias_regularizer),
                "kernel_constraint": _constraints.serialize(self.kernel_constraint),
                "bias_constraint": _constraints.serialize(self.bias_constraint)}


class Attention(Layer):
    """Luong-style dot-product attention (Keras 3 `Attention`) on [batch, steps, dim] tensors.

    call([query, value]) or call([query, value, key]) (key defaults to value):
    scores = query @ key^T (times the scalar `scale` with use_scale=True), or with
    score_mode="concat" concat_score_weight * sum(tanh(scale * (query_i + key_j))); masked
    positions get scores - 1e9; weights = softmax(scores) over the keys, dropped out while
    training; the output is weights @ value, zeroed at masked query steps.

    Call arguments as in Keras: mask=[query_mask, value_mask] (bool [batch, Tq] and
    [batch, Tv] symbolic tensors, either may be None; they join the layer's inputs),
    use_causal_mask (query step i sees keys 0..i), return_attention_scores (also return
    the weights), training.
    """

    _SCORE_MODES = ("dot", "concat")

    def __init__(self, use_scale=False, score_mode="dot", dropout=0.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.use_scale = _args.boolean(self, "use_scale", use_scale)
        self.score_mode = _args.choice(self, "score_mode", score_mode, self._SCORE_MODES)
        self.dropout = _args.real(self, "dropout", dropout, low=0.0, high=1.0, high_open=True)
        self.seed = _args.random_seed(self, seed)
        self._layout = (False, False, False, False)  # query mask, value mask, causal, scores: read by call()

    # --- calling -------------------------------------------------------------------------
    def __call__(self, inputs, mask=None, training=None, return_attention_scores=False, use_causal_mask=False,
                 _masks=None):
        """`_masks` (which masks follow [query, value, key] in `inputs`) is how a saved model
        calls the layer again."""
        owner = type(self).__name__
        if _masks is not None:
            has_q, has_v = (bool(m) for m in _masks)
            tensors = list(inputs)
        else:
            if not isinstance(inputs, (list, tuple)) or len(inputs) not in (2, 3):
                raise ValueError(f"{owner}: must be called on a list [query, value] or [query, value, key], "
                                 f"got {_describe(inputs)}")
            if mask is not None and (not isinstance(mask, (list, tuple)) or len(mask) not in (2, 3)):
                raise ValueError(f"{owner}: mask must be a list [query_mask, value_mask], got {_describe(mask)}")
            query, value = inputs[0], inputs[1]
            key = inputs[2] if len(inputs) == 3 else value
            if mask is None:  # Keras: the masks the tensors carry
                mask = [_carried_mask(inputs[0]), _carried_mask(inputs[1])]
            q_mask, v_mask = mask[0], mask[1]
            has_q, has_v = q_mask is not None, v_mask is not None
            tensors = [query, value, key] + [m for m in (q_mask, v_mask) if m is not None]
        if len(tensors) != 3 + has_q + has_v:
            raise ValueError(f"{owner}: expected {3 + has_q + has_v} inputs, got {len(tensors)}")
        self._layout = (has_q, has_v, bool(use_causal_mask), bool(return_attention_scores))
        outputs = super().__call__(tensors, training=training)
        if self._calls and self._calls[-1].outputs[0] is _first(outputs):  # a symbolic call: saved with the model
            kept = {"_masks": [has_q, has_v]} if has_q or has_v else {}
            if use_causal_mask:
                kept["use_causal_mask"] = True
            if return_attention_scores:
                kept["return_attention_scores"] = True
            self._calls[-1].kwargs = kept
            # Keras: the output carries the query's mask.
            _first(outputs)._keras_mask = tensors[3] if has_q else None
        return tuple(outputs) if return_attention_scores else outputs

    def _call_eager(self, inputs, flat, training):
        has_q, has_v, causal, scores = self._layout
        return _run_eagerly(self, flat, training, _masks=[has_q, has_v], use_causal_mask=causal,
                            return_attention_scores=scores)

    def _check_inputs(self, flat):
        owner = type(self).__name__
        query, value, key = flat[:3]
        for what, t in (("query", query), ("value", value), ("key", key)):
            if len(t.shape) != 3 or t.shape[-1] is None:
                raise ValueError(f"{owner}: {what} must be [batch, steps, dim] with a known dim, got shape {t.shape}")
        if query.shape[-1] != key.shape[-1]:
            raise ValueError(f"{owner}: query dim {query.shape[-1]} and key dim {key.shape[-1]} differ")
        if None not in (value.shape[1], key.shape[1]) and value.shape[1] != key.shape[1]:
            raise ValueError(f"{owner}: value has {value.shape[1]} steps and key {key.shape[1]}; they must match")
        has_q, has_v = self._layout[:2]
        masks = list(flat[3:])
        for what, steps, present in (("query_mask", query.shape[1], has_q), ("value_mask", value.shape[1], has_v)):
            if not present:
                continue
            m = masks.pop(0)
            if len(m.shape) != 2 or (None not in (m.shape[1], steps) and m.shape[1] != steps):
                raise ValueError(f"{owner}: {what} must be [batch, {steps}], got shape {m.shape}")

    # --- weights and computation -------------------------------------------------------------
    def build(self, input_shape):
        self.scale = self.add_weight(name="scale", shape=(), initializer="ones") if self.use_scale else None
        self.concat_score_weight = (self.add_weight(name="concat_score_weight", shape=(), initializer="ones")
                                    if self.score_mode == "concat" else None)
        self.built = True

    def _scores(self, query, key):
        """[batch, Tq, Tv]."""
        if self.score_mode == "dot":
            scores = ops.matmul(query, ops.transpose(key, (0, 2, 1)))
            return scores * self.scale if self.scale is not None else scores
        summed = ops.expand_dims(query, -2) + ops.expand_dims(key, -3)  # [batch, Tq, Tv, dim]
        if self.scale is not None:
            summed = self.scale * summed
        return self.concat_score_weight * ops.sum(ops.tanh(summed), axis=-1)

    def call(self, inputs, training=None):
        has_q, has_v, causal, return_scores = self._layout
        query, value, key = inputs[:3]
        rest = list(inputs[3:])
        q_mask = rest.pop(0) if has_q else None
        v_mask = rest.pop(0) if has_v else None
        scores = self._scores(query, key)
        allowed = None  # Keras's scores_mask: True where a query step may attend
        if v_mask is not None:
            allowed = ops.expand_dims(ops.cast(v_mask, "bool"), 1)  # [batch, 1, Tv]
        if causal:
            lower = _causal(scores[:1])
            allowed = lower if allowed is None else ops.logical_and(allowed, lower)
        if allowed is not None:
            padding = (~allowed).astype(np.float32) if isinstance(allowed, np.ndarray) else \
                ops.cast(ops.logical_not(allowed), "float32")
            scores = scores - padding * 1e9
        weights = ops.softmax(scores, axis=-1)
        if training and self.dropout:
            from engine import random  # engine.random builds on the layers

            keep = ops.greater_equal(random.uniform_like(weights, seed=self.seed), self.dropout)
            weights = ops.where(keep, weights * (1.0 / (1.0 - self.dropout)), 0.0)
        out = ops.matmul(weights, value)
        if q_mask is not None:
            out = out * ops.expand_dims(ops.cast(q_mask, "float32"), -1)
        return [out, weights] if return_scores else out

    def get_config(self):
        return {**super().get_config(), "use_scale": self.use_scale, "score_mode": self.score_mode,
                "dropout": self.dropout, "seed": self.seed}


class AdditiveAttention(Attention):
    """Bahdanau-style additive attention (Keras 3 `AdditiveAttention`): scores are
    sum(scale * tanh(query_i + key_j)) over dim, `scale` a trained vector of size dim
    (glorot_uniform) with use_scale=True (the default), else 1. Everything else (masks,
    causal mask, dropout, returned scores) is Attention's."""

    def __init__(self, use_scale=True, dropout=0.0, seed=None, **kwargs):
        super().__init__(use_scale=use_scale, dropout=dropout, seed=seed, **kwargs)

    def build(self, input_shape):
        dim = input_shape[0][-1]
        self.scale = (self.add_weight(name="scale", shape=(dim,), initializer="glorot_uniform")
                      if self.use_scale else None)
        self.concat_score_weight = None
        self.built = True

    def _scores(self, query, key):
        scored = ops.tanh(ops.expand_dims(query, -2) + ops.expand_dims(key, -3))  # [batch, Tq, Tv, dim]
        return ops.sum(scored * self.scale if self.scale is not None else scored, axis=-1)

    def get_config(self):
        config = super().get_config()
        del config["score_mode"]
        return config


def _carried_mask(x):
    """The Keras mask a symbolic tensor carries, or None."""
    return getattr(x, "_keras_mask", None)


def _run_eagerly(layer, flat, training, **kwargs):
    """Calls `layer` on arrays `flat` (its tensors and masks, as a saved model lists them)
    through a one-layer model."""
    from engine.models import Input, Model  # models builds on layers

    arrays = [np.asarray(a, dtype=np.float32) if np.asarray(a).dtype.kind == "f" else np.asarray(a) for a in flat]
    sym = [Input(shape=a.shape[1:], dtype=str(a.dtype)) for a in arrays]
    out = layer(sym, **kwargs)
    multi = isinstance(out, tuple)
    result = Model(sym, list(out) if multi else out)._run(arrays, training=bool(training))
    return tuple(result) if multi else result[0]


def _first(outputs):
    return outputs[0] if isinstance(outputs, (list, tuple)) else outputs


def _describe(x):
    if isinstance(x, (list, tuple)):
        return f"a {type(x).__name__} of {len(x)}"
    return type(x).__name__
