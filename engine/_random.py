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


def get_state():
    """The generator's state, JSON-ready (checkpoints store it)."""
    state = _state["rng"].bit_generator.state
    return {"bit_generator": state["bit_generator"], "state": {k: int(v) for k, v in state["state"].items()},
            "has_uint32": int(state["has_uint32"]), "uinteger": int(state["uinteger"])}


def set_state(state):
    rng = np.random.default_rng()
    if state.get("bit_generator") != rng.bit_generator.state["bit_generator"]:
        raise ValueError(f"random state of an unknown generator {state.get('bit_generator')!r}")
    rng.bit_generator.state = state
    _state["rng"] = rng
