# Optimizers: the core's in-place update step. Included by _core.pyx.
from libcpp.memory cimport shared_ptr
from cython.operator cimport dereference as deref
cimport optim as opt

_OPTIMIZER_PY_BOOL = type(True)  # `bool` names the C++ type in this module

_OPTIMIZER_FLOAT_FIELDS = ("learning_rate", "momentum", "beta_1", "beta_2", "epsilon", "rho",
                           "initial_accumulator_value", "weight_decay", "clipnorm",
                           "clipvalue", "global_clipnorm")
_OPTIMIZER_BOOL_FIELDS = ("nesterov", "centered", "amsgrad")


cdef opt.OptimizerConfig _optimizer_with_field(opt.OptimizerConfig c, str kind, str key,
                                               object value) except *:
    if key in _OPTIMIZER_BOOL_FIELDS:
        if not isinstance(value, (_OPTIMIZER_PY_BOOL, np.bool_)):
            raise TypeError(f"{kind}: {key} must be a bool, got {value!r}")
    elif key in _OPTIMIZER_FLOAT_FIELDS:
        if isinstance(value, _OPTIMIZER_PY_BOOL) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise TypeError(f"{kind}: {key} must be a number, got {value!r}")
    else:
        raise TypeError(f"{kind}: unknown hyperparameter {key!r}")
    if key == "learning_rate": c.learning_rate = value
    elif key == "momentum": c.momentum = value
    elif key == "beta_1": c.beta_1 = value
    elif key == "beta_2": c.beta_2 = value
    elif key == "epsilon": c.epsilon = value
    elif key == "rho": c.rho = value
    elif key == "initial_accumulator_value": c.initial_accumulator_value = value
    elif key == "weight_decay": c.weight_decay = value
    elif key == "clipnorm": c.clipnorm = value
    elif key == "clipvalue": c.clipvalue = value
    elif key == "global_clipnorm": c.global_clipnorm = value
    elif key == "nesterov": c.nesterov = value
    elif key == "centered": c.centered = value
    elif key == "amsgrad": c.amsgrad = value
    return c


cdef class CoreOptimizer:
    """The core optimizer: `CoreOptimizer("adam", learning_rate=1e-3, clipnorm=1.0)`.

    Hyperparameters not given (or None) keep Keras 3's defaults for the kind. `apply`
    updates float32 C-contiguous numpy parameters in place; its slots are created on the
    first call and keyed by position in the parameter list.
    """
    cdef shared_ptr[opt.Optimizer] ptr

    def __cinit__(self, str kind, **hyper):
        cdef opt.OptimizerConfig config = opt.optimizer_default_config(
            opt.optimizer_kind_from_name(kind.encode()))
        name = opt.optimizer_kind_name(config.kind).decode()
        for key, value in hyper.items():
            if value is not None:
                config = _optimizer_with_field(config, name, key, value)
        self.ptr = shared_ptr[opt.Optimizer](new opt.Optimizer(config))

    @property
    def kind(self):
        return opt.optimizer_kind_name(deref(self.ptr).config().kind).decode()

    @property
    def config(self):
        """The hyperparameters in use, as a dict."""
        cdef opt.OptimizerConfig c = deref(self.ptr).config()
        return {"learning_rate": c.learning_rate, "momentum": c.momentum,
                "nesterov": c.nesterov, "beta_1": c.beta_1, "beta_2": c.beta_2,
                "epsilon": c.epsilon, "rho": c.rho, "centered": c.centered,
                "initial_accumulator_value": c.initial_accumulator_value,
                "amsgrad": c.amsgrad, "weight_decay": c.weight_decay,
                "clipnorm": c.clipnorm, "clipvalue": c.clipvalue,
                "global_clipnorm": c.global_clipnorm}

    @property
    def learning_rate(self):
        return deref(self.ptr).learning_rate()

    @learning_rate.setter
    def learning_rate(self, value):
        deref(self.ptr).set_learning_rate(value)

    @property
    def iterations(self):
        return deref(self.ptr).iterations()

    @property
    def slot_names(self):
        return [n.decode() for n in deref(self.ptr).slot_names()]

    @property
    def num_params(self):
        return deref(self.ptr).num_params()

    def apply(self, params, grads):
        """One step: every params[i] (numpy float32, C-contiguous, writable) is updated in
        place from grads[i], which is only read."""
        cdef vector[Tensor] tp, tg
        name = self.kind
        for i, p in enumerate(params):
            if not isinstance(p, np.ndarray):
                raise TypeError(f"{name}: params[{i}] must be a numpy float32 array updated "
                                f"in place, got {type(p).__name__}")
            if not p.flags.writeable:
                raise ValueError(f"{name}: params[{i}] is a read-only array")
            tp.push_back(as_tensor(p, f"{name}: params[{i}]"))
        for i, g in enumerate(grads):
            tg.push_back(as_tensor(g, f"{name}: grads[{i}]"))
        with nogil:
            deref(self.ptr).apply(tp, tg)

    def slots(self):
        """The live slot arrays (views: writing them changes the optimizer), parameter-major
        in `slot_names` order."""
        return [to_numpy(t) for t in deref(self.ptr).state()]

    def get_state(self):
        """{"iterations": int, "slots": [copies of every slot, parameter-major]}."""
        return {"iterations": self.iterations, "slots": [s.copy() for s in self.slots()]}

    def set_state(self, state):
        """Restores what get_state returned (values are copied in)."""
        cdef vector[Tensor] slots
        name = self.kind
        for i, s in enumerate(state["slots"]):
            slots.push_back(as_tensor(s, f"{name}: state slots[{i}]"))
        cdef int64_t iterations = int(state["iterations"])
        with nogil:
            deref(self.ptr).load_state(iterations, slots)
