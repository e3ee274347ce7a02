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
        self._use_causal_mask = False

    def __call__(self, query, value=None, key=None, training=None, use_causal_mask=False):
        """Keras's signature: value defaults to query (self-attention), key to value. A list
        [query, value, key] is accepted too (how a saved model calls the layer again)."""
        if isinstance(query, (list, tuple)) and value is None and key is None:
            query, value, key = query
        value = query if value is None else value
        key = value if key is None else key
        self._use_causal_mask = bool(use_causal_mask)  # read while call() is traced below
        outputs = super().__call__([query, value, key], training=training)
        if use_causal_mask and self._calls:  # a symbolic call: saved with the model
            self._calls[-1].kwargs = {"use_causal_mask": True}
        return outputs

    def _projection(self, name, features, heads_dim):
        kernel = self.add_weight(name=f"{name}_kernel", shape=(features, self.num_heads, heads_dim),
                                 initializer=self.kernel_initializer, regularizer=self.kernel_regularizer,
                                 constraint=self.kernel_constraint)
        bias = self.add_weight(name=f"{name}_bias", shape=(self.num_heads, heads_dim),
                               initializer=self.bias_initializer, regularizer=self.bias_regularizer,
                               constraint=self.bias_constraint) if self.use_bias else None
        return kernel, bias

    def build(self, input_shape):
        query, value, key = input_shape
        for shape in input_shape:
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
        steps = x.shape[1]
        y = ops.matmul(x, ops.reshape(kernel, (kernel.shape[0], self.num_heads * dim)))
        if bias is not None:
            y = y + ops.reshape(bias, (self.num_heads * dim,))
        return ops.transpose(ops.reshape(y, (-1, steps, self.num_heads, dim)), (0, 2, 1, 3))

    def call(self, inputs, training=None):
        query, value, key = inputs
        q = self._heads(query, self.query_kernel, self.query_bias, self.key_dim) * (1.0 / math.sqrt(self.key_dim))
        k = self._heads(key, self.key_kernel, self.key_bias, self.key_dim)
        v = self._heads(value, self.value_kernel, self.value_bias, self.value_dim)
        scores = ops.matmul(q, ops.transpose(k, (0, 1, 3, 2)))  # [batch, heads, query steps, key steps]
        if self._use_causal_mask:
            tq, tk = query.shape[1], key.shape[1]
            allowed = np.tril(np.ones((tq, tk), bool), k=tk - tq)  # position i sees keys up to i
            scores = ops.where(allowed, scores, -1e9)
        weights = ops.softmax(scores, axis=-1)
        if training and self.dropout:
            from engine import random  # engine.random builds on the layers

            keep = ops.greater_equal(random.uniform_like(weights, seed=self.seed), self.dropout)
            weights = ops.where(keep, weights * (1.0 / (1.0 - self.dropout)), 0.0)
        attended = ops.transpose(ops.matmul(weights, v), (0, 2, 1, 3))  # [batch, steps, heads, value_dim]
        merged = ops.reshape(attended, (-1, query.shape[1], self.num_heads * self.value_dim))
        out = ops.matmul(merged, ops.reshape(self.output_kernel, (self.num_heads * self.value_dim, -1)))
        return out + self.output_bias if self.output_bias is not None else out

    def get_config(self):
        return {**super().get_config(), "num_heads": self.num_heads, "key_dim": self.key_dim,
                "value_dim": self.value_dim, "dropout": self.dropout, "use_bias": self.use_bias,
                "output_shape": self.output_features, "seed": self.seed,
                "kernel_regularizer": _regularizers.serialize(self.kernel_regularizer),
                "bias_regularizer": _regularizers.serialize(self.bias_regularizer),
                "kernel_constraint": _constraints.serialize(self.kernel_constraint),
                "bias_constraint": _constraints.serialize(self.bias_constraint)}
