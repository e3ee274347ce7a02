"""Small data sets: the bundled 8x8 digits, and loaders for local MNIST-style IDX files.

Nothing here downloads: the digits ship inside the package (see data/README.md for their
source and license); MNIST and Fashion-MNIST are read from files the user already has.
Images come back as float32 NCHW arrays in [0, 1], labels as int64.
"""
from engine.datasets._digits import load_digits
from engine.datasets._idx import load_fashion_mnist, load_idx, load_mnist

__all__ = ["load_digits", "load_fashion_mnist", "load_idx", "load_mnist"]
