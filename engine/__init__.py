"""engine: a small, exact and fast deep-learning training and inference engine.

The work runs in a C++17 core (libengine); this package is its Keras-style face.
"""
from engine import _core
from engine import (activations, callbacks, datasets, initializers, layers, losses, metrics, models,
                    onnx, ops, optimizers, schedules)
from engine._random import set_seed
from engine.models import Input, Model, Sequential, clone_model
from engine.saving import load_model

__version__ = _core.version_string()


def set_num_threads(n: int) -> None:
    """Set how many threads the CPU kernels use."""
    _core.set_num_threads(n)


def get_num_threads() -> int:
    """How many threads the CPU kernels use."""
    return _core.get_num_threads()


__all__ = [
    "Input", "Model", "Sequential", "activations", "callbacks", "clone_model", "datasets",
    "get_num_threads", "initializers", "layers", "load_model", "losses", "metrics", "models", "onnx", "ops",
    "optimizers", "schedules", "set_num_threads", "set_seed", "__version__",
]
