"""Keras-style layers on NCHW tensors."""
from engine.layers.attention import AdditiveAttention, Attention, MultiHeadAttention
from engine.layers.base import KerasTensor, Layer, Variable
from engine.layers.activation import ELU, PReLU, ReLU, Softmax
from engine.layers.conv import Conv2D, Conv3D, Convolution2D, Convolution3D
from engine.layers.conv_transpose import Conv2DTranspose, Convolution2DTranspose
from engine.layers.conv1d import AveragePooling1D, AvgPool1D, Conv1D, MaxPool1D, MaxPooling1D
from engine.layers.depthwise import DepthwiseConv2D, SeparableConv2D
from engine.layers.core import (Activation, Dense, Dropout, Flatten, GaussianDropout, GaussianNoise, Identity,
                                Lambda, LeakyReLU, Masking, Reshape)
from engine.layers.embedding import Embedding
from engine.layers.merge import (Add, Average, Concatenate, Dot, Maximum, Minimum, Multiply, Subtract, add, average,
                                 concatenate, dot, maximum, minimum, multiply, subtract)
from engine.layers.normalization import (BatchNormalization, GroupNormalization, LayerNormalization,
                                         UnitNormalization)
from engine.layers.pooling import (AveragePooling2D, AvgPool2D, GlobalAveragePooling1D, GlobalAveragePooling2D,
                                   GlobalAvgPool1D, GlobalAvgPool2D, GlobalMaxPool1D, GlobalMaxPool2D,
                                   GlobalMaxPooling1D, GlobalMaxPooling2D, MaxPool2D, MaxPooling2D)
from engine.layers.pooling import (AveragePooling3D, AvgPool3D, GlobalAveragePooling3D, GlobalAvgPool3D, MaxPool3D,
                                   MaxPooling3D)
from engine.layers.regularization import ActivityRegularization, AlphaDropout, SpatialDropout1D, SpatialDropout2D
from engine.layers.recurrent import GRU, LSTM, Bidirectional, SimpleRNN, TimeDistributed
from engine.layers.reshaping import Cropping2D, Permute, RepeatVector, UpSampling2D, ZeroPadding2D

__all__ = [
    "AdditiveAttention", "Attention", "MultiHeadAttention",
    "Conv2DTranspose", "Convolution2DTranspose",
    "Bidirectional", "GRU", "LSTM", "SimpleRNN", "TimeDistributed",
    "AveragePooling1D", "AvgPool1D", "Conv1D", "DepthwiseConv2D", "MaxPool1D", "MaxPooling1D", "SeparableConv2D",
    "Activation", "ActivityRegularization", "Add", "AlphaDropout", "AveragePooling2D", "AvgPool2D",
    "BatchNormalization", "Concatenate", "Conv2D", "Convolution2D", "Cropping2D", "Dense", "Dropout", "ELU",
    "Embedding", "Flatten", "GaussianDropout", "GaussianNoise", "GlobalAveragePooling1D", "GlobalAveragePooling2D",
    "GlobalAvgPool1D", "GlobalAvgPool2D", "GlobalMaxPool1D", "GlobalMaxPool2D", "GlobalMaxPooling1D",
    "GlobalMaxPooling2D", "GroupNormalization", "Identity", "KerasTensor", "Lambda", "Layer", "LayerNormalization",
    "LeakyReLU", "Masking", "MaxPool2D", "MaxPooling2D", "Permute", "PReLU", "ReLU", "RepeatVector", "Reshape",
    "Softmax",
    "Average", "Dot", "Maximum", "Minimum", "Multiply", "Subtract",
    "add", "average", "concatenate", "dot", "maximum", "minimum", "multiply", "subtract",
    "AveragePooling3D", "AvgPool3D", "Conv3D", "Convolution3D", "GlobalAveragePooling3D", "GlobalAvgPool3D",
    "MaxPool3D", "MaxPooling3D",
    "SpatialDropout1D", "SpatialDropout2D", "UnitNormalization", "UpSampling2D", "Variable", "ZeroPadding2D",
]
