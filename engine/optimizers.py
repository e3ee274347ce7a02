"""Keras-style optimizers over the core's in-place update step.

Each class keeps Keras 3's name, arguments, defaults and update rule (the exact formulas
are documented in cpp/src/optim/optimizer.h); the math runs in C++ with one threaded pass
per tensor. Where textbook formulas differ, Keras 3's win: Adam adds epsilon to sqrt(v)
with the bias correction folded into the step size, SGD keeps a velocity
`v = momentum * v - lr * g`, RMSprop adds epsilon inside the square root, and weight decay
is decoupled (`p -= weight_decay * lr * p` before the update) for every optimizer.

Slots (momentum, velocity, ...) are created on the first update and keyed by position:
pass the same variables in the same order at every step. Variables are objects with a
`.value` float32 numpy array (engine.layers.Variable) or float32 C-contiguous numpy
arrays; they are updated in place. Gradients are only read.

A trainer that drives the core directly (one C++ call per step) uses `optimizer.core`
and calls `optimizer.update_learning_rate()` before each step so that schedules and
`learning_rate` changes reach the core.
"""
import numpy as np

from engine import _core
from engine import schedules

__all__ = ["Optimizer", "SGD", "Adagrad", "RMSprop", "Adam", "Adamax", "Nadam", "AdamW",
           "get", "serialize", "deserialize"]


def apply_constraints(variables):
    """Keras applies a variable's constraint (e.g. MaxNorm) right after each update."""
    for v in variables:
        constraint = getattr(v, "constraint", None)
        if constraint is not None:
            v.assign(constraint(v.value))


def _array_of(variable, index):
    # A Variable's writable buffer (its `value` is a read-only view).
    value = variable._writable() if hasattr(variable, "_writable") else getattr(variable, "value", variable)
    if not isinstance(value, np.ndarray):
        raise TypeError(f"optimizer: variable {index} must be a numpy float32 array or have a "
                        f"`.value` array, got {type(variable).__name__}")
    return value


def _gradient_array(grad, index):
    if grad is None:
        raise ValueError(f"optimizer: gradient {index} is None; every variable needs a "
                         "gradient (the slots are keyed by position)")
    return np.ascontiguousarray(grad, dtype=np.float32)


class Optimizer:
    """Base class. Subclasses name the core kind and their Keras hyperparameters."""

    _kind = None

    def __init__(self, learning_rate, hyper, weight_decay=None, clipnorm=None,
                 clipvalue=None, global_clipnorm=None, name=None):
        self.name = name or type(self).__name__.lower()
        self.weight_decay = weight_decay
        self.clipnorm = clipnorm
        self.clipvalue = clipvalue
        self.global_clipnorm = global_clipnorm
        self._hyper = dict(hyper)
        self._schedule = None
        self._variables = None
        if callable(learning_rate):
            self._schedule = learning_rate
            learning_rate = learning_rate(0)
        self.core = _core.CoreOptimizer(
            self._kind, learning_rate=float(learning_rate), weight_decay=weight_decay,
            clipnorm=clipnorm, clipvalue=clipvalue, global_clipnorm=global_clipnorm,
            **self._hyper)

    # ---- learning rate and step count -------------------------------------------------

    @property
    def iterations(self):
        """Updates applied so far (the step a schedule sees next)."""
        return self.core.iterations

    @property
    def learning_rate(self):
        """The learning rate of the next update (a schedule evaluated at `iterations`)."""
        if self._schedule is not None:
            return float(self._schedule(self.iterations))
        return float(self.core.learning_rate)

    @learning_rate.setter
    def learning_rate(self, value):
        if callable(value):
            self._schedule = value
            return
        if self._schedule is not None:
            raise TypeError(f"{self.name}: this optimizer was created with a learning-rate "
                            "schedule, so its learning rate is not settable; create it with a "
                            "float `learning_rate` instead")
        self.core.learning_rate = float(value)

    def update_learning_rate(self):
        """Sets the core's learning rate for the next update; returns it."""
        lr = self.learning_rate
        if self._schedule is not None:
            self.core.learning_rate = lr
        return lr

    # ---- updates ----------------------------------------------------------------------

    def build(self, var_list):
        """Remembers the variables so that `apply(grads)` may omit them."""
        self._variables = list(var_list)

    def apply(self, grads, trainable_variables=None):
        """One update of `trainable_variables` (default: those of the previous call) from
        `grads`, one gradient per variable, in the same order at every step."""
        grads = list(grads)
        if trainable_variables is None:
            if self._variables is None:
                raise ValueError(f"{self.name}: pass the variables with the first gradients "
                                 "(or call build(variables) first)")
            trainable_variables = self._variables
        else:
            trainable_variables = list(trainable_variables)
        if len(grads) != len(trainable_variables):
            raise ValueError(f"{self.name}: got {len(grads)} gradients for "
                             f"{len(trainable_variables)} variables")
        params = [_array_of(v, i) for i, v in enumerate(trainable_variables)]
        self._variables = trainable_variables
        grads = [_gradient_array(g, i) for i, g in enumerate(grads)]
        self.update_learning_rate()
        self.core.apply(params, grads)
        # A variable on a GPU was updated through its host copy: send the result back.
        for v, p in zip(trainable_variables, params):
            if getattr(v, "_device_array", None) is not None:
                v._device_array.assign(p)
        apply_constraints(trainable_variables)

    def apply_gradients(self, grads_and_vars):
        """Keras's `apply_gradients([(grad, variable), ...])`; returns `iterations`."""
        pairs = list(grads_and_vars)
        if pairs:
            grads, variables = zip(*pairs)
            self.apply(grads, variables)
        return self.iterations

    # ---- checkpoints ------------------------------------------------------------------

    def variables(self):
        """The live slot arrays, parameter-major in `slot_names` order (empty before the
        first update). Writing into them changes the optimizer's state."""
        return self.core.slots()

    @property
    def slot_names(self):
        return self.core.slot_names

    def get_state(self):
        """A checkpointable copy of the state: iterations, learning rate and slots."""
        state = self.core.get_state()
        state["learning_rate"] = float(self.core.learning_rate)
        return state

    def set_state(self, state):
        """Restores get_state()'s result; the next update continues where it left off."""
        self.core.set_state(state)
        if self._schedule is None and "learning_rate" in state:
            self.core.learning_rate = state["learning_rate"]

    # ---- config -----------------------------------------------------------------------

    def get_config(self):
        if self._schedule is None:
            learning_rate = float(self.core.learning_rate)
        elif isinstance(self._schedule, schedules.LearningRateSchedule):
            learning_rate = schedules.serialize(self._schedule)
        else:
            learning_rate = self._schedule
        config = {"name": self.name, "learning_rate": learning_rate,
                  "weight_decay": self.weight_decay, "clipnorm": self.clipnorm,
                  "global_clipnorm": self.global_clipnorm, "clipvalue": self.clipvalue}
        config.update(self._hyper)
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if isinstance(config.get("learning_rate"), dict):
            config["learning_rate"] = schedules.deserialize(config["learning_rate"])
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} {self.name} iterations={self.iterations}>"


class SGD(Optimizer):
    """Gradient descent, optionally with (Nesterov) momentum:
    v = momentum * v - lr * g; p += v (nesterov: p += momentum * v - lr * g)."""

    _kind = "sgd"

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, weight_decay=None,
                 clipnorm=None, clipvalue=None, global_clipnorm=None, name="SGD"):
        if isinstance(momentum, bool) or not 0 <= momentum <= 1:
            raise ValueError(f"SGD: `momentum` must be a float between [0, 1], got {momentum!r}")
        super().__init__(learning_rate, dict(momentum=momentum, nesterov=nesterov),
                         weight_decay, clipnorm, clipvalue, global_clipnorm, name)


class Adagrad(Optimizer):
    """a += g^2; p -= lr * g / sqrt(a + epsilon)."""

    _kind = "adagrad"

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7,
                 weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None,
                 name="adagrad"):
        super().__init__(learning_rate, dict(initial_accumulator_value=initial_accumulator_value,
                                             epsilon=epsilon),
                         weight_decay, clipnorm, clipvalue, global_clipnorm, name)


class RMSprop(Optimizer):
    """v = rho * v + (1 - rho) * g^2; p -= lr * g / sqrt(v + epsilon) (centered: subtract
    the squared running mean of g inside the root; momentum: accumulate the increments)."""

    _kind = "rmsprop"

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7,
                 centered=False, weight_decay=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, name="rmsprop"):
        super().__init__(learning_rate, dict(rho=rho, momentum=momentum, epsilon=epsilon,
                                             centered=centered),
                         weight_decay, clipnorm, clipvalue, global_clipnorm, name)


class Adam(Optimizer):
    """Adam as Keras 3 computes it: alpha = lr * sqrt(1 - b2^t) / (1 - b1^t),
    p -= alpha * m / (sqrt(v) + epsilon); amsgrad uses the running maximum of v."""

    _kind = "adam"

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 amsgrad=False, weight_decay=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, name="adam"):
        super().__init__(learning_rate, dict(beta_1=beta_1, beta_2=beta_2, epsilon=epsilon,
                                             amsgrad=amsgrad),
                         weight_decay, clipnorm, clipvalue, global_clipnorm, name)


class Adamax(Optimizer):
    """u = max(beta_2 * u, |g|); p -= lr * m / ((1 - b1^t) * (u + epsilon))."""

    _kind = "adamax"

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None,
                 name="adamax"):
        super().__init__(learning_rate, dict(beta_1=beta_1, beta_2=beta_2, epsilon=epsilon),
                         weight_decay, clipnorm, clipvalue, global_clipnorm, name)


class Nadam(Optimizer):
    """Adam with Nesterov momentum and Keras's momentum-cache schedule
    mu_t = beta_1 * (1 - 0.5 * 0.96^t)."""

    _kind = "nadam"

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None,
                 name="nadam"):
        super().__init__(learning_rate, dict(beta_1=beta_1, beta_2=beta_2, epsilon=epsilon),
                         weight_decay, clipnorm, clipvalue, global_clipnorm, name)


class AdamW(Optimizer):
    """Adam with decoupled weight decay: p -= weight_decay * lr * p, then the Adam step."""

    _kind = "adamw"

    def __init__(self, learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-7, amsgrad=False, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, name="adamw"):
        if weight_decay is None:
            raise ValueError("AdamW: `weight_decay` must be a float, got weight_decay=None")
        super().__init__(learning_rate, dict(beta_1=beta_1, beta_2=beta_2, epsilon=epsilon,
                                             amsgrad=amsgrad),
                         weight_decay, clipnorm, clipvalue, global_clipnorm, name)


_BY_NAME = {cls.__name__.lower(): cls for cls in (SGD, Adagrad, RMSprop, Adam, Adamax, Nadam,
                                                  AdamW)}


def serialize(optimizer):
    return {"class_name": type(optimizer).__name__, "config": optimizer.get_config()}


def deserialize(config):
    name = str(config.get("class_name", "")).lower()
    if name not in _BY_NAME:
        raise ValueError(f"unknown optimizer {config.get('class_name')!r} "
                         f"(expected one of {', '.join(sorted(_BY_NAME))})")
    return _BY_NAME[name].from_config(config.get("config", {}))


def get(identifier):
    """An optimizer from a name ("adam", "SGD", ...; Keras defaults), a serialize() dict,
    or an Optimizer (returned as is)."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str):
        key = identifier.lower()
        if key not in _BY_NAME:
            raise ValueError(f"unknown optimizer {identifier!r} "
                             f"(expected one of {', '.join(sorted(_BY_NAME))})")
        return _BY_NAME[key]()
    if isinstance(identifier, dict):
        return deserialize(identifier)
    raise TypeError(f"cannot interpret {identifier!r} as an optimizer")
