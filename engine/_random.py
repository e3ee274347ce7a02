"""The engine's seeded random state (weight initialisation, shuffling, dropout seeds)."""
import numpy as np

_state = {"rng": np.random.default_rng(), "seed": None}


def set_seed(seed: int) -> None:
    """Seed every random choice the engine makes (initializers, shuffling, dropout)."""
    _state["rng"] = np.random.default_rng(seed)
    _state["seed"] = int(seed)


def generator() -> np.random.Generator:
    return _state["rng"]


def next_seed() -> int:
    """A fresh 63-bit seed drawn from the engine's generator (for core-side generators)."""
    return int(_state["rng"].integers(0, 2**63 - 1))
