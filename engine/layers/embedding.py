"""Embedding: integer ids -> rows of a learned [input_dim, output_dim] table (ONNX Gather)."""
import warnings

from engine import constraints as _constraints
from engine import initializers as _initializers
from engine import ops
from engine import regularizers as _regularizers
from engine.layers import _args
from engine.layers.base import Layer


class Embedding(Layer):
    """outputs[..., :] = embeddings[inputs[...]]: inputs of shape S give outputs S + (output_dim,).
    Ids are int64 (float inputs are cast, as Keras casts them); the table's gradient is the
    scatter-add of the output gradient (Gather's backward), so it trains like any weight.

    mask_zero=True makes id 0 padding: the output's mask (compute_mask) is inputs != 0, which
    the layers after it take as Keras's do (recurrent layers skip the masked steps), and the
    vocabulary then needs input_dim = size + 1."""

    def __init__(self, input_dim, output_dim, embeddings_initializer="uniform", embeddings_regularizer=None,
                 embeddings_constraint=None, mask_zero=False, weights=None, **kwargs):
        if "input_length" in kwargs:  # Keras 3 dropped it (the shape comes from the inputs)
            kwargs.pop("input_length")
            warnings.warn("Embedding: argument `input_length` is deprecated; remove it", stacklevel=2)
        super().__init__(**kwargs)
        self.input_dim = _args.positive_int(self, "input_dim", input_dim)
        self.output_dim = _args.positive_int(self, "output_dim", output_dim)
        self.embeddings_initializer = _args.resolve(self, "embeddings_initializer", _initializers.get,
                                                    embeddings_initializer)
        self.embeddings_regularizer = _args.resolve(self, "embeddings_regularizer", _regularizers.get,
                                                    embeddings_regularizer)
        self.embeddings_constraint = _args.resolve(self, "embeddings_constraint", _constraints.get,
                                                   embeddings_constraint)
        self.mask_zero = _args.boolean(self, "mask_zero", mask_zero)
        # The initial table: a matrix, or a list holding it (as set_weights takes it).
        is_list = isinstance(weights, (list, tuple)) and len(weights) == 1
        self._initial_weights = None if weights is None else list(weights) if is_list else [weights]
        if weights is not None:
            self.build(None)

    def build(self, input_shape=None):
        if self.built:
            return
        self.embeddings = self.add_weight(name="embeddings", shape=(self.input_dim, self.output_dim),
                                          initializer=self.embeddings_initializer,
                                          regularizer=self.embeddings_regularizer,
                                          constraint=self.embeddings_constraint)
        self.built = True
        if self._initial_weights is not None:
            self.set_weights(self._initial_weights)
            self._initial_weights = None

    def call(self, inputs):
        if inputs.dtype != "int64":
            inputs = ops.cast(inputs, "int64")
        return ops.take(self.embeddings, inputs, axis=0)

    def compute_mask(self, inputs, mask=None):
        """inputs != 0 with mask_zero, else None (Keras)."""
        return ops.not_equal(inputs, 0) if self.mask_zero else None

    def compute_output_shape(self, input_shape):
        return tuple(input_shape) + (self.output_dim,)

    def get_config(self):
        return {**super().get_config(), "input_dim": self.input_dim, "output_dim": self.output_dim,
                "embeddings_regularizer": _regularizers.serialize(self.embeddings_regularizer),
                "embeddings_constraint": _constraints.serialize(self.embeddings_constraint),
                "mask_zero": self.mask_zero}
