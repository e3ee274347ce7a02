"""Every layer (and Input, Model, Sequential) checks its structural arguments as Keras 3 does:
a number the argument cannot take (2.5 units, a zero stride, rate 1) is a ValueError, a value
of the wrong kind (a string where a number goes) a TypeError, and the message names the layer
class and the argument. Nothing is silently truncated or guessed at."""
import json
import math

import numpy as np
import pytest

import engine
from engine import layers as L
from engine.saving import _json_ready

NAN = float("nan")

# (label, make, error, argument): make() must raise error naming "<Class>: <argument>".
BAD = [
    # Dense
    ("dense-units-float", lambda: L.Dense(2.5), ValueError, "Dense: units"),
    ("dense-units-integral-float", lambda: L.Dense(2.0), ValueError, "Dense: units"),
    ("dense-units-bool", lambda: L.Dense(True), ValueError, "Dense: units"),
    ("dense-units-zero", lambda: L.Dense(0), ValueError, "Dense: units"),
    ("dense-units-negative", lambda: L.Dense(-3), ValueError, "Dense: units"),
    ("dense-units-str", lambda: L.Dense("3"), TypeError, "Dense: units"),
    ("dense-units-none", lambda: L.Dense(None), TypeError, "Dense: units"),
    ("dense-activation-unknown", lambda: L.Dense(3, activation="relux"), ValueError, "Dense: activation"),
    ("dense-activation-type", lambda: L.Dense(3, activation=3), TypeError, "Dense: activation"),
    ("dense-use-bias-str", lambda: L.Dense(3, use_bias="False"), TypeError, "Dense: use_bias"),
    ("dense-use-bias-int", lambda: L.Dense(3, use_bias=0), TypeError, "Dense: use_bias"),
    ("dense-kernel-init", lambda: L.Dense(3, kernel_initializer="nope"), ValueError, "Dense: kernel_initializer"),
    ("dense-bias-init-type", lambda: L.Dense(3, bias_initializer=3), TypeError, "Dense: bias_initializer"),
    ("dense-kernel-reg", lambda: L.Dense(3, kernel_regularizer="l3"), ValueError, "Dense: kernel_regularizer"),
    ("dense-bias-reg", lambda: L.Dense(3, bias_regularizer="l3"), ValueError, "Dense: bias_regularizer"),
    ("dense-kernel-constraint", lambda: L.Dense(3, kernel_constraint="big"), ValueError,
     "Dense: kernel_constraint"),
    ("dense-bias-constraint", lambda: L.Dense(3, bias_constraint="big"), ValueError, "Dense: bias_constraint"),
    # Activation, LeakyReLU
    ("activation-unknown", lambda: L.Activation("swishy"), ValueError, "Activation: activation"),
    ("activation-type", lambda: L.Activation(1.0), TypeError, "Activation: activation"),
    ("leaky-negative", lambda: L.LeakyReLU(-0.1), ValueError, "LeakyReLU: negative_slope"),
    ("leaky-nan", lambda: L.LeakyReLU(NAN), ValueError, "LeakyReLU: negative_slope"),
    ("leaky-inf", lambda: L.LeakyReLU(math.inf), ValueError, "LeakyReLU: negative_slope"),
    ("leaky-bool", lambda: L.LeakyReLU(True), ValueError, "LeakyReLU: negative_slope"),
    ("leaky-str", lambda: L.LeakyReLU("0.1"), TypeError, "LeakyReLU: negative_slope"),
    ("leaky-none", lambda: L.LeakyReLU(None), TypeError, "LeakyReLU: negative_slope"),
    # Dropout
    ("dropout-one", lambda: L.Dropout(1.0), ValueError, "Dropout: rate"),
    ("dropout-above", lambda: L.Dropout(1.5), ValueError, "Dropout: rate"),
    ("dropout-negative", lambda: L.Dropout(-0.1), ValueError, "Dropout: rate"),
    ("dropout-nan", lambda: L.Dropout(NAN), ValueError, "Dropout: rate"),
    ("dropout-str", lambda: L.Dropout("0.5"), TypeError, "Dropout: rate"),
    ("dropout-none", lambda: L.Dropout(None), TypeError, "Dropout: rate"),
    ("dropout-seed-float", lambda: L.Dropout(0.5, seed=1.5), ValueError, "Dropout: seed"),
    ("dropout-seed-str", lambda: L.Dropout(0.5, seed="7"), TypeError, "Dropout: seed"),
    ("dropout-seed-huge", lambda: L.Dropout(0.5, seed=2**63), ValueError, "Dropout: seed"),
    # Reshape
    ("reshape-float", lambda: L.Reshape((2, 2.5)), ValueError, "Reshape: target_shape"),
    ("reshape-zero", lambda: L.Reshape((0, 4)), ValueError, "Reshape: target_shape"),
    ("reshape-two-unknown", lambda: L.Reshape((-1, -1)), ValueError, "Reshape: target_shape"),
    ("reshape-below-minus-one", lambda: L.Reshape((-2, 4)), ValueError, "Reshape: target_shape"),
    ("reshape-bool", lambda: L.Reshape((True, 4)), ValueError, "Reshape: target_shape"),
    ("reshape-int", lambda: L.Reshape(4), TypeError, "Reshape: target_shape"),
    ("reshape-str", lambda: L.Reshape("12"), TypeError, "Reshape: target_shape"),
    ("reshape-entry-str", lambda: L.Reshape((2, "6")), TypeError, "Reshape: target_shape"),
    # Attention, AdditiveAttention
    ("attention-use-scale-int", lambda: L.Attention(use_scale=1), TypeError, "Attention: use_scale"),
    ("attention-score-mode", lambda: L.Attention(score_mode="add"), ValueError, "Attention: score_mode"),
    ("attention-dropout-one", lambda: L.Attention(dropout=1.0), ValueError, "Attention: dropout"),
    ("attention-seed-str", lambda: L.Attention(seed="1"), TypeError, "Attention: seed"),
    ("additive-use-scale-str", lambda: L.AdditiveAttention(use_scale="yes"), TypeError,
     "AdditiveAttention: use_scale"),
    ("additive-dropout-negative", lambda: L.AdditiveAttention(dropout=-0.5), ValueError,
     "AdditiveAttention: dropout"),
    # Conv2D
    ("conv-filters-float", lambda: L.Conv2D(2.5, 3), ValueError, "Conv2D: filters"),
    ("conv-filters-zero", lambda: L.Conv2D(0, 3), ValueError, "Conv2D: filters"),
    ("conv-filters-bool", lambda: L.Conv2D(True, 3), ValueError, "Conv2D: filters"),
    ("conv-filters-str", lambda: L.Conv2D("8", 3), TypeError, "Conv2D: filters"),
    ("conv-kernel-zero", lambda: L.Conv2D(4, 0), ValueError, "Conv2D: kernel_size"),
    ("conv-kernel-pair-zero", lambda: L.Conv2D(4, (3, 0)), ValueError, "Conv2D: kernel_size"),
    ("conv-kernel-float", lambda: L.Conv2D(4, 2.5), ValueError, "Conv2D: kernel_size"),
    ("conv-kernel-pair-float", lambda: L.Conv2D(4, (3, 2.0)), ValueError, "Conv2D: kernel_size"),
    ("conv-kernel-short", lambda: L.Conv2D(4, (3,)), ValueError, "Conv2D: kernel_size"),
    ("conv-kernel-long", lambda: L.Conv2D(4, (3, 3, 3)), ValueError, "Conv2D: kernel_size"),
    ("conv-kernel-str", lambda: L.Conv2D(4, "3"), TypeError, "Conv2D: kernel_size"),
    ("conv-kernel-none", lambda: L.Conv2D(4, None), TypeError, "Conv2D: kernel_size"),
    ("conv-strides-negative", lambda: L.Conv2D(4, 3, strides=(1, -1)), ValueError, "Conv2D: strides"),
    ("conv-strides-float", lambda: L.Conv2D(4, 3, strides=1.5), ValueError, "Conv2D: strides"),
    ("conv-dilation-zero", lambda: L.Conv2D(4, 3, dilation_rate=0), ValueError, "Conv2D: dilation_rate"),
    ("conv-padding-unknown", lambda: L.Conv2D(4, 3, padding="full"), ValueError, "Conv2D: padding"),
    ("conv-padding-none", lambda: L.Conv2D(4, 3, padding=None), TypeError, "Conv2D: padding"),
    ("conv-padding-int", lambda: L.Conv2D(4, 3, padding=1), TypeError, "Conv2D: padding"),
    ("conv-groups-zero", lambda: L.Conv2D(4, 3, groups=0), ValueError, "Conv2D: groups"),
    ("conv-groups-float", lambda: L.Conv2D(4, 3, groups=2.0), ValueError, "Conv2D: groups"),
    ("conv-groups-not-dividing", lambda: L.Conv2D(8, 3, groups=3), ValueError, "Conv2D: groups"),
    ("conv-activation", lambda: L.Conv2D(4, 3, activation="nope"), ValueError, "Conv2D: activation"),
    ("conv-use-bias", lambda: L.Conv2D(4, 3, use_bias="yes"), TypeError, "Conv2D: use_bias"),
    ("conv-kernel-init", lambda: L.Conv2D(4, 3, kernel_initializer="nope"), ValueError,
     "Conv2D: kernel_initializer"),
    ("conv-bias-reg", lambda: L.Conv2D(4, 3, bias_regularizer=[1]), ValueError, "Conv2D: bias_regularizer"),
    # GlobalAveragePooling2D
    ("gap-keepdims-str", lambda: L.GlobalAveragePooling2D(keepdims="yes"), TypeError,
     "GlobalAveragePooling2D: keepdims"),
    ("gap-keepdims-int", lambda: L.GlobalAveragePooling2D(keepdims=1), TypeError,
     "GlobalAveragePooling2D: keepdims"),
    # Concatenate
    ("dot-axes-float", lambda: L.Dot(axes=1.5), ValueError, "Dot: axes"),
    ("dot-axes-triple", lambda: L.Dot(axes=(1, 2, 1)), ValueError, "Dot: axes"),
    ("dot-axes-str", lambda: L.Dot(axes=("1", 1)), TypeError, "Dot: axes"),
    ("dot-normalize-str", lambda: L.Dot(1, normalize="yes"), TypeError, "Dot: normalize"),
    ("concat-axis-float", lambda: L.Concatenate(axis=1.0), ValueError, "Concatenate: axis"),
    ("concat-axis-bool", lambda: L.Concatenate(axis=True), ValueError, "Concatenate: axis"),
    ("concat-axis-str", lambda: L.Concatenate(axis="1"), TypeError, "Concatenate: axis"),
    ("concat-axis-none", lambda: L.Concatenate(axis=None), TypeError, "Concatenate: axis"),
    # BatchNormalization
    ("bn-axis-other", lambda: L.BatchNormalization(axis=2), ValueError, "BatchNormalization: axis"),
    ("bn-axis-float", lambda: L.BatchNormalization(axis=1.0), ValueError, "BatchNormalization: axis"),
    ("bn-axis-bool", lambda: L.BatchNormalization(axis=True), ValueError, "BatchNormalization: axis"),
    ("bn-axis-str", lambda: L.BatchNormalization(axis="1"), TypeError, "BatchNormalization: axis"),
    ("bn-momentum-above", lambda: L.BatchNormalization(momentum=1.5), ValueError, "BatchNormalization: momentum"),
    ("bn-momentum-negative", lambda: L.BatchNormalization(momentum=-0.1), ValueError,
     "BatchNormalization: momentum"),
    ("bn-momentum-nan", lambda: L.BatchNormalization(momentum=NAN), ValueError, "BatchNormalization: momentum"),
    ("bn-momentum-str", lambda: L.BatchNormalization(momentum="0.9"), TypeError, "BatchNormalization: momentum"),
    ("bn-epsilon-zero", lambda: L.BatchNormalization(epsilon=0), ValueError, "BatchNormalization: epsilon"),
    ("bn-epsilon-negative", lambda: L.BatchNormalization(epsilon=-1e-3), ValueError,
     "BatchNormalization: epsilon"),
    ("bn-epsilon-inf", lambda: L.BatchNormalization(epsilon=math.inf), ValueError, "BatchNormalization: epsilon"),
    ("bn-epsilon-none", lambda: L.BatchNormalization(epsilon=None), TypeError, "BatchNormalization: epsilon"),
    ("bn-center", lambda: L.BatchNormalization(center="no"), TypeError, "BatchNormalization: center"),
    ("bn-scale", lambda: L.BatchNormalization(scale=0), TypeError, "BatchNormalization: scale"),
    ("bn-gamma-init", lambda: L.BatchNormalization(gamma_initializer="nope"), ValueError,
     "BatchNormalization: gamma_initializer"),
    ("bn-moving-variance-init", lambda: L.BatchNormalization(moving_variance_initializer=5), TypeError,
     "BatchNormalization: moving_variance_initializer"),
    # Embedding
    ("embedding-input-dim-zero", lambda: L.Embedding(0, 4), ValueError, "Embedding: input_dim"),
    ("embedding-input-dim-float", lambda: L.Embedding(10.0, 4), ValueError, "Embedding: input_dim"),
    ("embedding-output-dim-str", lambda: L.Embedding(10, "4"), TypeError, "Embedding: output_dim"),
    ("embedding-init", lambda: L.Embedding(10, 4, embeddings_initializer="nope"), ValueError,
     "Embedding: embeddings_initializer"),
    ("embedding-reg", lambda: L.Embedding(10, 4, embeddings_regularizer="l3"), ValueError,
     "Embedding: embeddings_regularizer"),
    ("embedding-mask-zero", lambda: L.Embedding(10, 4, mask_zero=1), TypeError, "Embedding: mask_zero"),
    # LayerNormalization, GroupNormalization, UnitNormalization
    ("ln-axis-float", lambda: L.LayerNormalization(axis=1.0), ValueError, "LayerNormalization: axis"),
    ("ln-axis-str", lambda: L.LayerNormalization(axis="-1"), TypeError, "LayerNormalization: axis"),
    ("ln-axis-repeated", lambda: L.LayerNormalization(axis=(1, 1)), ValueError, "LayerNormalization: axis"),
    ("ln-axis-empty", lambda: L.LayerNormalization(axis=()), ValueError, "LayerNormalization: axis"),
    ("ln-epsilon-zero", lambda: L.LayerNormalization(epsilon=0), ValueError, "LayerNormalization: epsilon"),
    ("ln-center", lambda: L.LayerNormalization(center="yes"), TypeError, "LayerNormalization: center"),
    ("ln-rms", lambda: L.LayerNormalization(rms_scaling=None), TypeError, "LayerNormalization: rms_scaling"),
    ("ln-gamma-init", lambda: L.LayerNormalization(gamma_initializer="nope"), ValueError,
     "LayerNormalization: gamma_initializer"),
    ("ln-beta-constraint", lambda: L.LayerNormalization(beta_constraint="big"), ValueError,
     "LayerNormalization: beta_constraint"),
    ("gn-groups-zero", lambda: L.GroupNormalization(groups=0), ValueError, "GroupNormalization: groups"),
    ("gn-groups-negative", lambda: L.GroupNormalization(groups=-2), ValueError, "GroupNormalization: groups"),
    ("gn-groups-float", lambda: L.GroupNormalization(groups=2.5), ValueError, "GroupNormalization: groups"),
    ("gn-axis-tuple", lambda: L.GroupNormalization(axis=(1, 2)), TypeError, "GroupNormalization: axis"),
    ("gn-epsilon-nan", lambda: L.GroupNormalization(epsilon=NAN), ValueError, "GroupNormalization: epsilon"),
    ("un-axis-str", lambda: L.UnitNormalization(axis="x"), TypeError, "UnitNormalization: axis"),
    # ReLU, Softmax, ELU, PReLU
    ("relu-max-negative", lambda: L.ReLU(max_value=-1.0), ValueError, "ReLU: max_value"),
    ("relu-slope-negative", lambda: L.ReLU(negative_slope=-0.1), ValueError, "ReLU: negative_slope"),
    ("relu-slope-none", lambda: L.ReLU(negative_slope=None), TypeError, "ReLU: negative_slope"),
    ("relu-threshold-negative", lambda: L.ReLU(threshold=-0.5), ValueError, "ReLU: threshold"),
    ("relu-threshold-str", lambda: L.ReLU(threshold="0"), TypeError, "ReLU: threshold"),
    ("softmax-axis-float", lambda: L.Softmax(axis=1.5), ValueError, "Softmax: axis"),
    ("elu-alpha-str", lambda: L.ELU(alpha="1"), TypeError, "ELU: alpha"),
    ("elu-alpha-inf", lambda: L.ELU(alpha=math.inf), ValueError, "ELU: alpha"),
    ("prelu-init", lambda: L.PReLU(alpha_initializer="nope"), ValueError, "PReLU: alpha_initializer"),
    ("prelu-shared-batch", lambda: L.PReLU(shared_axes=[0]), ValueError, "PReLU: shared_axes"),
    ("prelu-shared-str", lambda: L.PReLU(shared_axes="2"), TypeError, "PReLU: shared_axes"),
    # Permute, RepeatVector, Cropping2D, UpSampling2D
    ("permute-not-permutation", lambda: L.Permute((1, 3)), ValueError, "Permute: dims"),
    ("permute-zero-based", lambda: L.Permute((0, 1)), ValueError, "Permute: dims"),
    ("permute-int", lambda: L.Permute(2), TypeError, "Permute: dims"),
    ("repeat-zero", lambda: L.RepeatVector(0), ValueError, "RepeatVector: n"),
    ("repeat-str", lambda: L.RepeatVector("3"), TypeError, "RepeatVector: n"),
    ("crop-negative", lambda: L.Cropping2D(-1), ValueError, "Cropping2D: cropping"),
    ("crop-three", lambda: L.Cropping2D((1, 2, 3)), ValueError, "Cropping2D: cropping"),
    ("crop-pair-of-three", lambda: L.Cropping2D(((1, 2, 3), (0, 0))), ValueError, "Cropping2D: cropping"),
    ("crop-str", lambda: L.Cropping2D("1"), TypeError, "Cropping2D: cropping"),
    ("crop-format", lambda: L.Cropping2D(1, data_format="nchw"), ValueError, "Cropping2D: data_format"),
    ("upsample-size-zero", lambda: L.UpSampling2D(0), ValueError, "UpSampling2D: size"),
    ("upsample-size-float", lambda: L.UpSampling2D(1.5), ValueError, "UpSampling2D: size"),
    ("upsample-interpolation", lambda: L.UpSampling2D(interpolation="bicubic"), ValueError,
     "UpSampling2D: interpolation"),
    ("upsample-format-type", lambda: L.UpSampling2D(data_format=1), TypeError, "UpSampling2D: data_format"),
    # Recurrent layers and Masking
    ("lstm-dropout-one", lambda: L.LSTM(3, dropout=1.0), ValueError, "LSTM: dropout"),
    ("gru-dropout-str", lambda: L.GRU(3, dropout="0.1"), TypeError, "GRU: dropout"),
    ("rnn-zero-output-int", lambda: L.SimpleRNN(3, zero_output_for_mask=1), TypeError,
     "SimpleRNN: zero_output_for_mask"),
    ("lstm-seed-float", lambda: L.LSTM(3, seed=0.5), ValueError, "LSTM: seed"),
    ("gru-recurrent-dropout-negative", lambda: L.GRU(3, recurrent_dropout=-0.1), ValueError,
     "GRU: recurrent_dropout"),
    ("rnn-stateful-str", lambda: L.SimpleRNN(3, stateful="yes"), TypeError, "SimpleRNN: stateful"),
    ("lstm-unroll-int", lambda: L.LSTM(3, unroll=1), TypeError, "LSTM: unroll"),
    ("masking-value-str", lambda: L.Masking("0"), TypeError, "Masking: mask_value"),
    # Global pooling
    ("gmp-format", lambda: L.GlobalMaxPooling2D(data_format="nhwc"), ValueError, "GlobalMaxPooling2D: data_format"),
    ("gap1d-keepdims", lambda: L.GlobalAveragePooling1D(keepdims="yes"), TypeError,
     "GlobalAveragePooling1D: keepdims"),
    ("gmp1d-format", lambda: L.GlobalMaxPooling1D(data_format=None, keepdims=0), TypeError,
     "GlobalMaxPooling1D: keepdims"),
    # SpatialDropout, AlphaDropout, ActivityRegularization
    ("spatial-rate-one", lambda: L.SpatialDropout2D(1.0), ValueError, "SpatialDropout2D: rate"),
    ("spatial-seed-float", lambda: L.SpatialDropout2D(0.5, seed=1.5), ValueError, "SpatialDropout2D: seed"),
    ("spatial-seed-huge", lambda: L.SpatialDropout2D(0.5, seed=2**24), ValueError, "SpatialDropout2D: seed"),
    ("spatial1d-rate-str", lambda: L.SpatialDropout1D("0.5"), TypeError, "SpatialDropout1D: rate"),
    ("alpha-rate-negative", lambda: L.AlphaDropout(-0.1), ValueError, "AlphaDropout: rate"),
    ("alpha-noise-zero", lambda: L.AlphaDropout(0.1, noise_shape=(None, 0)), ValueError, "AlphaDropout: noise_shape"),
    ("alpha-noise-int", lambda: L.AlphaDropout(0.1, noise_shape=3), TypeError, "AlphaDropout: noise_shape"),
    ("activity-l1-negative", lambda: L.ActivityRegularization(l1=-0.1), ValueError, "ActivityRegularization: l1"),
    ("activity-l2-str", lambda: L.ActivityRegularization(l2="0.1"), TypeError, "ActivityRegularization: l2"),
    # Input, Model, Sequential
    ("input-negative", lambda: engine.Input((-1,)), ValueError, "Input: shape"),
    ("input-float", lambda: engine.Input((2.5,)), ValueError, "Input: shape"),
    ("input-integral-float", lambda: engine.Input((4.0, None)), ValueError, "Input: shape"),
    ("input-entry-str", lambda: engine.Input(("3",)), TypeError, "Input: shape"),
    ("input-int", lambda: engine.Input(3), TypeError, "Input: shape"),
    ("input-batch-zero", lambda: engine.Input((3,), batch_size=0), ValueError, "Input: batch_size"),
    ("input-batch-float", lambda: engine.Input((3,), batch_size=2.5), ValueError, "Input: batch_size"),
    ("input-name-type", lambda: engine.Input((3,), name=3), TypeError, "Input: name"),
    ("input-name-empty", lambda: engine.Input((3,), name=""), ValueError, "Input: name"),
    ("input-dtype", lambda: engine.Input((3,), dtype="float64"), TypeError, "Input: dtype"),
    ("model-name", lambda: engine.Model(name=3), TypeError, "Model: name"),
    ("sequential-name", lambda: engine.Sequential(name=""), ValueError, "Sequential: name"),
    ("sequential-layers", lambda: engine.Sequential(L.Dense(3)), TypeError, "Sequential: layers"),
    ("sequential-trainable", lambda: engine.Sequential(trainable="yes"), TypeError, "Sequential: trainable"),
]

POOLS = [L.MaxPool2D, L.MaxPooling2D, L.AvgPool2D, L.AveragePooling2D]
BAD += [(f"{pool.__name__}-{label}", lambda pool=pool, kw=kw: pool(**kw), error, f"{pool.__name__}: {arg}")
        for pool in POOLS for label, kw, error, arg in [
            ("size-zero", {"pool_size": 0}, ValueError, "pool_size"),
            ("size-float", {"pool_size": 2.5}, ValueError, "pool_size"),
            ("size-long", {"pool_size": (2, 2, 2)}, ValueError, "pool_size"),
            ("size-str", {"pool_size": "2"}, TypeError, "pool_size"),
            ("strides-zero", {"strides": 0}, ValueError, "strides"),
            ("strides-float", {"strides": (1, 1.5)}, ValueError, "strides"),
            ("padding", {"padding": "causal"}, ValueError, "padding"),
            ("padding-type", {"padding": None}, TypeError, "padding"),
        ]]


@pytest.mark.parametrize("make,error,argument", [case[1:] for case in BAD], ids=[case[0] for case in BAD])
def test_bad_argument_raises_naming_layer_and_argument(make, error, argument):
    with pytest.raises(error, match=f"^{argument}"):
        make()


# One instance of every layer class, with arguments that differ from the defaults.
@engine.saving.register_keras_serializable()
def doubled(x):
    return x * 2


EVERY_LAYER = {
    "Activation": lambda **kw: L.Activation("tanh", **kw),
    "Add": lambda **kw: L.Add(**kw),
    "AvgPool2D": lambda **kw: L.AvgPool2D((2, 3), strides=1, padding="same", **kw),
    "BatchNormalization": lambda **kw: L.BatchNormalization(momentum=0.5, epsilon=1e-5, center=False, **kw),
    "Concatenate": lambda **kw: L.Concatenate(axis=1, **kw),
    "Subtract": lambda **kw: L.Subtract(**kw),
    "Multiply": lambda **kw: L.Multiply(**kw),
    "Average": lambda **kw: L.Average(**kw),
    "Maximum": lambda **kw: L.Maximum(**kw),
    "Minimum": lambda **kw: L.Minimum(**kw),
    "Dot": lambda **kw: L.Dot(axes=1, **kw),
    "AveragePooling1D": lambda **kw: L.AveragePooling1D(3, strides=1, padding="same", **kw),
    "Bidirectional": lambda **kw: L.Bidirectional(L.GRU(3, return_sequences=True), merge_mode="sum", **kw),
    "GRU": lambda **kw: L.GRU(4, reset_after=False, go_backwards=True, recurrent_regularizer="l2",
                              recurrent_dropout=0.2, stateful=False, **kw),
    "LSTM": lambda **kw: L.LSTM(4, return_sequences=True, unit_forget_bias=False, dropout=0.25, seed=3,
                                zero_output_for_mask=True, **kw),
    "Masking": lambda **kw: L.Masking(mask_value=-1.5, **kw),
    "Attention": lambda **kw: L.Attention(use_scale=True, score_mode="concat", dropout=0.2, seed=5, **kw),
    "AdditiveAttention": lambda **kw: L.AdditiveAttention(use_scale=False, dropout=0.1, seed=2, **kw),
    "MultiHeadAttention": lambda **kw: L.MultiHeadAttention(2, 4, value_dim=3, dropout=0.1, output_shape=5,
                                                            seed=7, **kw),
    "SimpleRNN": lambda **kw: L.SimpleRNN(3, activation="relu", return_state=True, unroll=True, **kw),
    "TimeDistributed": lambda **kw: L.TimeDistributed(L.Dense(2, activation="tanh"), **kw),
    "ZeroPadding2D": lambda **kw: L.ZeroPadding2D(((1, 0), (2, 3)), **kw),
    "Conv1D": lambda **kw: L.Conv1D(4, 3, padding="causal", dilation_rate=2, activation="relu", **kw),
    "DepthwiseConv2D": lambda **kw: L.DepthwiseConv2D(3, padding="same", depth_multiplier=2,
                                                      depthwise_regularizer="l2", **kw),
    "MaxPooling1D": lambda **kw: L.MaxPooling1D(2, data_format="channels_first", **kw),
    "SeparableConv2D": lambda **kw: L.SeparableConv2D(4, 3, strides=2, pointwise_constraint="non_neg", **kw),
    "Conv2D": lambda **kw: L.Conv2D(4, (3, 1), strides=(2, 1), padding="same", dilation_rate=1, groups=2,
                                   activation="relu", use_bias=False, kernel_regularizer="l2", **kw),
    "Conv2DTranspose": lambda **kw: L.Conv2DTranspose(4, (3, 2), strides=(2, 1), padding="same",
                                                     output_padding=(1, 0), activation="relu",
                                                     bias_regularizer="l2", **kw),
    "Dense": lambda **kw: L.Dense(5, activation="softmax", kernel_constraint="non_neg", **kw),
    "Dropout": lambda **kw: L.Dropout(0.25, seed=-3, **kw),
    "Flatten": lambda **kw: L.Flatten(**kw),
    "GlobalAveragePooling2D": lambda **kw: L.GlobalAveragePooling2D(keepdims=True, **kw),
    "GaussianDropout": lambda **kw: L.GaussianDropout(0.2, seed=4, **kw),
    "GaussianNoise": lambda **kw: L.GaussianNoise(0.5, seed=9, **kw),
    "Identity": lambda **kw: L.Identity(**kw),
    "Lambda": lambda **kw: L.Lambda(doubled, **kw),
    "LeakyReLU": lambda **kw: L.LeakyReLU(0.0, **kw),
    "MaxPool2D": lambda **kw: L.MaxPool2D(3, strides=(1, 2), **kw),
    "Reshape": lambda **kw: L.Reshape((2, -1), **kw),
    "ActivityRegularization": lambda **kw: L.ActivityRegularization(l1=0.1, l2=0.2, **kw),
    "AlphaDropout": lambda **kw: L.AlphaDropout(0.1, noise_shape=(None, 1), seed=3, **kw),
    "Cropping2D": lambda **kw: L.Cropping2D(((1, 0), 2), data_format="channels_last", **kw),
    "ELU": lambda **kw: L.ELU(0.5, **kw),
    "Embedding": lambda **kw: L.Embedding(20, 3, embeddings_regularizer="l2", mask_zero=True, **kw),
    "GlobalAveragePooling1D": lambda **kw: L.GlobalAveragePooling1D(data_format="channels_first", keepdims=True,
                                                                     **kw),
    "GlobalMaxPooling1D": lambda **kw: L.GlobalMaxPooling1D(keepdims=True, **kw),
    "GlobalMaxPooling2D": lambda **kw: L.GlobalMaxPooling2D(data_format="channels_last", **kw),
    "GroupNormalization": lambda **kw: L.GroupNormalization(groups=-1, axis=-1, epsilon=1e-5, scale=False,
                                                            gamma_regularizer="l2", **kw),
    "LayerNormalization": lambda **kw: L.LayerNormalization(axis=(1, 2), center=False, rms_scaling=True,
                                                            beta_constraint="non_neg", **kw),
    "Permute": lambda **kw: L.Permute((2, 1), **kw),
    "PReLU": lambda **kw: L.PReLU(alpha_regularizer="l1", shared_axes=[2, 3], **kw),
    "ReLU": lambda **kw: L.ReLU(6.0, negative_slope=0.1, threshold=0.5, **kw),
    "RepeatVector": lambda **kw: L.RepeatVector(4, **kw),
    "Softmax": lambda **kw: L.Softmax(axis=(1, 2), **kw),
    "SpatialDropout1D": lambda **kw: L.SpatialDropout1D(0.3, seed=1, **kw),
    "SpatialDropout2D": lambda **kw: L.SpatialDropout2D(0.3, data_format="channels_last", seed=2, **kw),
    "UnitNormalization": lambda **kw: L.UnitNormalization(axis=[1, 2], **kw),
    "UpSampling2D": lambda **kw: L.UpSampling2D((2, 3), interpolation="bilinear", **kw),
    "AvgPool3D": lambda **kw: L.AvgPool3D((2, 3, 1), strides=1, padding="same", **kw),
    "Conv3D": lambda **kw: L.Conv3D(4, (3, 1, 2), strides=(2, 1, 1), padding="same", groups=2, **kw),
    "GlobalAveragePooling3D": lambda **kw: L.GlobalAveragePooling3D(keepdims=True, **kw),
    "MaxPool3D": lambda **kw: L.MaxPool3D(3, strides=(1, 2, 1), **kw),
}


def test_every_layer_class_is_covered():
    classes = {name for name in L.__all__ if isinstance(getattr(L, name), type)
               and issubclass(getattr(L, name), L.Layer) and getattr(L, name) is not L.Layer}
    aliases = {"MaxPooling2D", "AveragePooling2D", "GlobalAvgPool2D", "Convolution2D", "Convolution2DTranspose", "GlobalAvgPool1D",
               "GlobalMaxPool1D", "GlobalMaxPool2D", "MaxPool1D", "AvgPool1D", "MaxPooling3D", "AveragePooling3D",
               "GlobalAvgPool3D", "Convolution3D"}
    assert classes - aliases == set(EVERY_LAYER)


@pytest.mark.parametrize("cls", sorted(EVERY_LAYER))
@pytest.mark.parametrize("kwargs,error,argument", [
    ({"name": 5}, TypeError, "name"),
    ({"name": ""}, ValueError, "name"),
    ({"trainable": "no"}, TypeError, "trainable"),
    ({"trainable": 1}, TypeError, "trainable"),
    ({"input_shape": (-1, 3)}, ValueError, "input_shape"),
    ({"input_shape": (2.5,)}, ValueError, "input_shape"),
    ({"input_shape": 3}, TypeError, "input_shape"),
    ({"dtype": "float16"}, ValueError, "dtype"),
    ({"units_typo": 3}, TypeError, "unexpected arguments"),
], ids=["name-type", "name-empty", "trainable-str", "trainable-int", "input-shape-negative", "input-shape-float",
        "input-shape-int", "dtype", "unknown-keyword"])
def test_base_layer_arguments_of_every_layer(cls, kwargs, error, argument):
    with pytest.raises(error, match=f"^{cls}: {argument}"):
        EVERY_LAYER[cls](**kwargs)


@pytest.mark.parametrize("cls", sorted(EVERY_LAYER))
def test_trainable_setter_takes_only_booleans(cls):
    layer = EVERY_LAYER[cls]()
    layer.trainable = np.False_
    assert layer.trainable is False
    with pytest.raises(TypeError, match=f"^{cls}: trainable"):
        layer.trainable = "False"
    assert layer.trainable is False


@pytest.mark.parametrize("cls", sorted(EVERY_LAYER))
def test_configs_pass_their_own_checks_after_json(cls):
    """from_config (checkpoints, clone_model) rebuilds every layer through the checks: a
    saved config, whose tuples JSON turned into lists, must pass them unchanged."""
    layer = EVERY_LAYER[cls](name=f"my_{cls.lower()}", input_shape=(4, None, 6))
    config = json.loads(json.dumps(_json_ready(layer.get_config())))
    again = type(layer).from_config(config)
    assert _json_ready(again.get_config()) == _json_ready(layer.get_config())
    assert layer._input_shape_arg == (4, None, 6)


def test_accepted_values_are_normalised():
    units = L.Dense(np.int64(4)).units
    assert units == 4 and type(units) is int
    conv = L.Conv2D(np.int32(4), [3, 2], strides=np.array([1, 2]), padding="SAME", dilation_rate=(2, 1))
    assert (conv.filters, conv.kernel_size, conv.strides, conv.padding, conv.dilation_rate) == \
        (4, (3, 2), (1, 2), "same", (2, 1))
    assert all(type(v) is int for v in conv.kernel_size + conv.strides)
    pool = L.MaxPooling2D(3, padding="Valid")
    assert (pool.pool_size, pool.strides, pool.padding) == ((3, 3), (3, 3), "valid")
    assert L.Dropout(0).rate == 0.0 and L.Dropout(np.float32(0.5)).rate == 0.5
    assert L.Dropout(0.5, seed=np.int64(-5)).seed == -5
    bn = L.BatchNormalization(axis=np.int64(1), momentum=1, epsilon=np.float64(1e-5), center=np.True_)
    assert (bn.axis, bn.momentum, bn.epsilon, bn.center) == (1, 1.0, 1e-5, True)
    assert L.LeakyReLU(0).negative_slope == 0.0
    assert L.Reshape([-1, np.int64(2)]).target_shape == (-1, 2)
    assert L.Concatenate(axis=-1).axis == -1
    assert L.Dense(3, dtype=np.float32).dtype == "float32"
    assert engine.Input([2, None], batch_size=np.int64(4)).shape == (4, 2, None)
    assert engine.Input(np.array([3, 5])).shape == (None, 3, 5)
    assert engine.Input((0, 3)).shape == (None, 0, 3)  # empty dims, as Keras and ONNX allow


def test_layers_built_from_checked_arguments_still_compute():
    """The normalised values reach the graph: a list kernel_size, numpy ints and an upper-case
    padding give the same outputs as plain Python arguments."""
    x = np.random.default_rng(0).standard_normal((2, 4, 7, 6)).astype(np.float32)
    outputs = []
    for conv_args in [dict(filters=4, kernel_size=(3, 2), strides=(2, 1), padding="same", groups=2),
                      dict(filters=np.int64(4), kernel_size=[3, np.int32(2)], strides=np.array([2, 1]),
                           padding="SAME", groups=np.int8(2))]:
        engine.set_seed(3)
        inputs = engine.Input((4, 7, 6))
        y = L.MaxPool2D([2, 1])(L.Conv2D(**conv_args)(inputs))
        outputs.append(engine.Model(inputs, y).predict(x))
    assert outputs[0].shape == (2, 4, 2, 6)
    np.testing.assert_array_equal(outputs[0], outputs[1])


@pytest.mark.parametrize("batch_size,error", [(0, ValueError), (-4, ValueError), (2.5, ValueError),
                                              (True, ValueError), ("8", TypeError)])
def test_batch_sizes_of_predict_fit_and_evaluate(batch_size, error):
    model = engine.Sequential([engine.Input((3,)), L.Dense(2)])
    model.compile(optimizer="sgd", loss="mse")
    x, y = np.ones((5, 3), np.float32), np.ones((5, 2), np.float32)
    for call in (lambda: model.predict(x, batch_size=batch_size),
                 lambda: model.fit(x, y, batch_size=batch_size, verbose=0),
                 lambda: model.evaluate(x, y, batch_size=batch_size)):
        with pytest.raises(error, match="^Sequential: batch_size"):
            call()
    assert model.optimizer.iterations == 0
    # None is Keras's default of 32.
    np.testing.assert_array_equal(model.predict(x, batch_size=None), model.predict(x, batch_size=32))
