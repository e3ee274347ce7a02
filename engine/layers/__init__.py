"""Keras-style layers on NCHW tensors."""
from engine.layers.base import KerasTensor, Layer, Variable
from engine.layers.conv import Conv2D, Convolution2D
from engine.layers.core import (Activation, Dense, Dropout, Flatten, GaussianDropout, GaussianNoise, Identity,
                                Lambda, LeakyReLU, Reshape)
from engine.layers.merge import Add, Concatenate
from engine.layers.normalization import BatchNormalization
from engine.layers.pooling import (AveragePooling2D, AvgPool2D, GlobalAveragePooling2D,
                                   GlobalAvgPool2D, MaxPool2D, MaxPooling2D)

__all__ = [
    "Activation", "Add", "AveragePooling2D", "AvgPool2D", "BatchNormalization", "Concatenate",
    "Conv2D", "Convolution2D", "Dense", "Dropout", "Flatten", "GaussianDropout", "GaussianNoise",
    "GlobalAveragePooling2D", "GlobalAvgPool2D", "Identity", "KerasTensor", "Lambda", "Layer", "LeakyReLU",
    "MaxPool2D", "MaxPooling2D", "Reshape", "Variable",
]
