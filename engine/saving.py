"""Checkpoints: one file with the architecture, the weights, the optimizer state and the
random state, so that `fit` resumes exactly where it stopped.

The file is a zip of .npy arrays (numpy's .npz, read without pickle) plus a JSON document.
Saves are atomic: written to a temporary file in the same folder, then renamed over the
target, so an interrupted save leaves the previous checkpoint intact.
"""
import contextlib
import json
import math
import os
import re
import socket
import tempfile
import zipfile

import numpy as np

from engine import _random
from engine import layers as _layers

FORMAT = "engine-checkpoint"
VERSION = 1


# ---- custom objects ----------------------------------------------------------------------------

# Classes and functions users wrote (layers, models, losses, activations, Lambda functions) are
# saved by name; loading finds them here: registered with register_keras_serializable, or
# given to load_model(custom_objects=...) (the innermost custom_object_scope first).
_registered = {}
_scopes = []


def register_keras_serializable(package="Custom", name=None):
    """Decorator: makes a class or function loadable by name (as Keras's)."""
    def register(obj):
        key = name or obj.__name__
        _registered[key] = obj
        _registered[f"{package}>{key}"] = obj
        return obj
    return register


@contextlib.contextmanager
def custom_object_scope(custom_objects):
    _scopes.append(dict(custom_objects or {}))
    try:
        yield
    finally:
        _scopes.pop()


def get_registered_object(name):
    """The custom class or function saved under `name`, or None."""
    for scope in reversed(_scopes):
        if name in scope:
            return scope[name]
    return _registered.get(name)


def _custom_named(kind, name):
    obj = get_registered_object(name)
    if obj is None:
        raise ValueError(f"unknown {kind} {name!r}: pass it to load_model(custom_objects={{{name!r}: ...}}) "
                         "or decorate it with engine.saving.register_keras_serializable()")
    return obj


def deserialize_custom(kind, config, function_class):
    """A user's component from its saved {"class_name", "config"}: a function wrapped in
    `function_class` (saved by the function's name), or a registered class."""
    if config["class_name"] == function_class.__name__:
        return function_class(_custom_named(kind, config["config"]["name"]))
    return _custom_named(kind, config["class_name"])(**config.get("config", {}))


# ---- architecture ----------------------------------------------------------------------------

def _layer_classes():
    from engine.models import InputLayer

    from engine.ops._symbolic import Operation

    classes = {name: getattr(_layers, name) for name in _layers.__all__}
    classes["InputLayer"] = InputLayer
    classes["Operation"] = Operation
    for scope in [_registered] + _scopes:
        classes.update(scope)
    return {k: v for k, v in classes.items()
            if isinstance(v, type) and issubclass(v, _layers.Layer) and v is not _layers.Layer}


def _json_ready(value):
    if isinstance(value, tuple):
        return [_json_ready(v) for v in value]
    if isinstance(value, list):
        return [_json_ready(v) for v in value]
    if isinstance(value, dict):
        return {k: _json_ready(v) for k, v in value.items()}
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    return value


def model_to_config(model):
    """A JSON-ready description of the model's layers and their connections."""
    from engine.models import Model, Sequential

    def layer_config(layer):
        if isinstance(layer, Model):  # a model used as a layer: its own description, nested
            return {"class_name": "NestedModel", "config": model_to_config(layer)}
        return {"class_name": type(layer).__name__, "config": _json_ready(layer.get_config())}

    if model._traces is not None:  # subclassed: its class, its config, the shapes it was built for
        config = model.get_config() if type(model).get_config is not Model.get_config else _layers.Layer.get_config(model)
        return {"class_name": "Subclassed", "class": type(model).__name__, "config": _json_ready(config),
                "inputs": [{"shape": list(t.shape), "dtype": t.dtype} for t in model.inputs]}

    if isinstance(model, Sequential):
        inp = model._input
        return {"class_name": "Sequential", "name": model.name,
                "input": None if inp is None else {"shape": list(inp.shape[1:]), "dtype": inp.dtype,
                                                   "name": inp._layer.name},
                "layers": [layer_config(l) for l in model._stack]}
    refs = {}
    for i, t in enumerate(model.inputs):
        refs[id(t)] = ["input", i]
    calls = []
    for j, call in enumerate(model._graph_calls):
        inputs = call.own_inputs  # (the masks the inputs carry are found again on them)
        calls.append({"layer": call.layer.name, "inputs": [refs[id(t)] for t in inputs],
                      **({"mask": refs[id(call.inputs[len(inputs)])]} if call.masked else {}),
                      **({"kwargs": call.kwargs} if call.kwargs else {})})
        own = len(call.outputs) - len(call.output_mask_of)
        for k, t in enumerate(call.outputs):
            refs[id(t)] = ["call", j, k] if k < own else ["mask", j, call.output_mask_of[k - own]]
    layers, seen = [], set()
    for call in model._graph_calls:
        if id(call.layer) not in seen:
            seen.add(id(call.layer))
            layers.append(layer_config(call.layer))
    return {"class_name": "Model", "name": model.name,
            "inputs": [t._layer.get_config() for t in model.inputs],
            "layers": layers, "calls": calls,
            "outputs": [refs[id(t)] for t in model.outputs],
            "single_input": model._single_input, "single_output": model._single_output}


def _unknown_class(kind, name, known):
    return ValueError(f"unknown {kind} class {name!r} (known: {', '.join(sorted(known))}): pass it to "
                      f"load_model(custom_objects={{{name!r}: ...}}) or decorate it with "
                      "engine.saving.register_keras_serializable()")


def layer_from_config(entry):
    """A layer from its {"class_name", "config"} (wrappers hold their inner layer so)."""
    classes = _layer_classes()
    cls = classes.get(entry["class_name"])
    if cls is None:
        raise _unknown_class("layer", entry["class_name"], classes)
    return cls.from_config(dict(entry["config"]))


def model_from_config(config):
    from engine.models import Input, Model, Sequential

    def make(entry):
        if entry["class_name"] == "NestedModel":
            return model_from_config(entry["config"])
        return layer_from_config(entry)

    if config["class_name"] == "Subclassed":
        cls = _custom_named("model class", config["class"])
        model = cls.from_config(dict(config["config"]))
        shapes = [tuple(i["shape"]) for i in config["inputs"]]
        model._build_from_call(shapes, [i["dtype"] for i in config["inputs"]])
        return model
    if config["class_name"] == "Sequential":
        model = Sequential(name=config["name"])
        if config["input"] is not None:
            model.add(Input(tuple(config["input"]["shape"]), dtype=config["input"]["dtype"],
                            name=config["input"].get("name")))
        for entry in config["layers"]:
            model.add(make(entry))
        return model
    if config["class_name"] != "Model":
        raise _unknown_class("model", config["class_name"], ["Model", "Sequential"])
    inputs = [Input(tuple(c["shape"]), dtype=c["dtype"], name=c["name"]) for c in config["inputs"]]
    layers = {}
    for entry in config["layers"]:
        layer = make(entry)
        layers[layer.name] = layer
    results = []

    def resolve(ref):
        if ref[0] == "mask":  # the mask a nested model's output carries
            return results[ref[1]][ref[2]]._keras_mask
        return inputs[ref[1]] if ref[0] == "input" else results[ref[1]][ref[2]]

    for call in config["calls"]:
        args = [resolve(r) for r in call["inputs"]]
        kwargs = {**call.get("kwargs", {}), **({"mask": resolve(call["mask"])} if "mask" in call else {})}
        out = layers[call["layer"]](args if len(args) > 1 else args[0], **kwargs)
        results.append(list(out) if isinstance(out, (list, tuple)) else [out])  # Keras layers may give tuples
    outputs = [resolve(r) for r in config["outputs"]]
    return Model(inputs[0] if config["single_input"] else inputs,
                 outputs[0] if config["single_output"] else outputs, name=config["name"])


# ---- files ------------------------------------------------------------------------------------

# Temporary files are named .engine-save-<host>-<pid>-<random>: a save killed before its
# rename (kill -9, power loss) leaves one behind, and the next save to the folder removes it
# once no process of that id lives on this host.
_TEMP_PREFIX = ".engine-save-"
_TEMP_NAME = re.compile(re.escape(_TEMP_PREFIX) + r"(?P<host>.+)-(?P<pid>\d+)-[a-z0-9_]+")


def _host():
    return re.sub(r"[^A-Za-z0-9.-]", "_", socket.gethostname()) or "unknown"


def _process_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):  # another user's process; a pid too large to check
        pass
    return True


def _remove_stale_temp_files(folder):
    """Best effort: a failure here (a file that vanished, no permission) never fails a save."""
    if os.name != "posix":  # os.kill(pid, 0) probes a process only on POSIX
        return
    host = _host()
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    for entry in entries:
        match = _TEMP_NAME.fullmatch(entry.name)
        # Only this host's processes can be checked; a pid that was reused keeps its file.
        if match and match["host"] == host and not _process_alive(int(match["pid"])):
            with contextlib.suppress(OSError):
                os.unlink(entry.path)


def _atomic_write(path, write):
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"cannot save to {path!r}: folder {folder!r} does not exist")
    _remove_stale_temp_files(folder)
    fd, tmp = tempfile.mkstemp(prefix=f"{_TEMP_PREFIX}{_host()}-{os.getpid()}-", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        # mkstemp creates the file private (0600); give it the mode a plain open() would.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _write_npz(f, document, arrays):
    with zipfile.ZipFile(f, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("checkpoint.json", json.dumps(document))
        for name, array in arrays.items():
            with z.open(f"{name}.npy", "w") as entry:
                np.lib.format.write_array(entry, np.require(array, requirements="C"), allow_pickle=False)


def _read_npy(entry, size):
    """One .npy entry of the zip, read without trusting its header: a damaged shape must not
    allocate more than the entry holds, and reading to the end checks the entry's CRC, which
    np.lib.format.read_array (it stops after the data) would leave unchecked."""
    version = np.lib.format.read_magic(entry)
    read_header = {(1, 0): np.lib.format.read_array_header_1_0,
                   (2, 0): np.lib.format.read_array_header_2_0}.get(version)
    if read_header is None:
        raise ValueError(f".npy format version {version} is not one the engine writes")
    shape, fortran_order, dtype = read_header(entry)
    if dtype.kind not in "biuf" or not dtype.isnative or fortran_order:
        raise ValueError(f"an array of dtype {dtype} (fortran_order={fortran_order}) is not one the engine writes")
    if math.prod(shape) * dtype.itemsize > size:
        raise ValueError(f"an array header claims shape {shape}, more than its {size}-byte entry holds")
    array = np.empty(shape, dtype)
    if entry.readinto(array.reshape(-1).view(np.uint8)) != array.nbytes or entry.read(1):
        raise ValueError(f"an array's data does not match its header (shape {shape})")
    return array


def _parse(f):
    with zipfile.ZipFile(f) as z:
        document = json.loads(z.read("checkpoint.json"))
        if not isinstance(document, dict) or document.get("format") != FORMAT:
            raise ValueError("not an engine checkpoint")
        arrays = {}
        for info in z.infolist():
            if info.filename.endswith(".npy"):
                with z.open(info) as entry:
                    arrays[info.filename[:-4]] = _read_npy(entry, info.file_size)
    return document, arrays


def _read(path):
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"no checkpoint at {path!r}")
    # Errors opening the file (a folder, no permission) are the system's and stay OSErrors.
    with open(path, "rb") as f:
        try:
            document, arrays = _parse(f)
        except Exception as e:  # every byte is untrusted: any parse failure means a bad file
            why = str(e) if type(e) is ValueError else f"{type(e).__name__}: {e}"
            raise ValueError(f"{path!r} is not a readable engine checkpoint ({why})") from e
    version = document.get("version", 0)
    if not isinstance(version, int):
        raise ValueError(f"{path!r} is not a readable engine checkpoint (format version {version!r})")
    if version > VERSION:
        raise ValueError(f"{path!r} was written by a newer engine (format version {version})")
    return document, arrays


@contextlib.contextmanager
def _restoring(path, part):
    """Failures while rebuilding `part` from a readable file become ValueErrors naming it."""
    try:
        yield
    except ValueError as e:  # the engine's own checks: their messages say what is wrong
        raise ValueError(f"{path!r}: cannot restore the saved {part}: {e}") from e
    except Exception as e:
        raise ValueError(f"{path!r}: the saved {part} is damaged ({type(e).__name__}: {e})") from e


def _saved_weights(path, arrays, model):
    weights = [arrays.get(f"weight_{i}") for i in range(len(model.weights))]
    saved = sum(1 for name in arrays if re.fullmatch(r"weight_\d+", name))
    if any(w is None for w in weights) or saved != len(weights):
        raise ValueError(f"{path!r} holds {saved} weight arrays; the model has {len(weights)}")
    with _restoring(path, "weights"):
        model.set_weights(weights)


def save_model(model, path):
    """Architecture, weights, compile settings, optimizer state and random state in one file."""
    document = {"format": FORMAT, "version": VERSION, "model": model_to_config(model),
                "random_state": _random.get_state()}
    arrays = {f"weight_{i}": w.value for i, w in enumerate(model.weights)}
    if getattr(model, "compiled", False):
        document["compile"] = model._compile_config
        state = model.optimizer.get_state()
        document["optimizer_iterations"] = int(state["iterations"])
        document["optimizer_learning_rate"] = float(state["learning_rate"])
        for i, slot in enumerate(state["slots"]):
            arrays[f"optimizer_{i}"] = slot
        document["optimizer_slots"] = len(state["slots"])
    _atomic_write(path, lambda f: _write_npz(f, document, arrays))


def _compile_saved(model, document, arrays):
    from engine import losses as _losses
    from engine import optimizers as _optimizers

    c = document["compile"]
    loss_classes = {cls.__name__: cls for cls in vars(_losses).values()
                    if isinstance(cls, type) and issubclass(cls, _losses.Loss)}

    def loss(entry):
        config = {k: v for k, v in entry["config"].items() if k != "name"}
        if entry["class_name"] == "LossFunctionWrapper":
            fn = _custom_named("loss function", config.pop("fn"))
            return _losses.LossFunctionWrapper(fn, name=entry["config"]["name"], **config)
        cls = loss_classes.get(entry["class_name"]) or get_registered_object(entry["class_name"])
        if cls is None:
            raise _unknown_class("loss", entry["class_name"], loss_classes)
        return cls(**config)

    losses = [None if l is None else loss(l) for l in c["loss"]]
    model.compile(optimizer=_optimizers.deserialize(c["optimizer"]),
                  loss=losses if len(losses) > 1 else losses[0],
                  loss_weights=c["loss_weights"], metrics=c["metrics"],
                  weighted_metrics=c.get("weighted_metrics"))
    slots = [arrays[f"optimizer_{i}"] for i in range(document.get("optimizer_slots", 0))]
    model.optimizer.set_state({"iterations": document["optimizer_iterations"], "slots": slots,
                               "learning_rate": document["optimizer_learning_rate"]})


def load_model(path, compile=True, custom_objects=None):
    """The model saved at `path`, compiled and with its optimizer state when it was.
    `custom_objects` maps the names of user classes and functions (layers, subclassed
    models, losses, activations, Lambda functions) to them."""
    with custom_object_scope(custom_objects):
        return _load_model(os.fspath(path), compile)


def _load_model(path, compile):
    document, arrays = _read(path)
    if document.get("weights_only"):
        raise ValueError(f"{path!r} holds only weights (written by save_weights), not a model: build "
                         "the model in code and call model.load_weights on it")
    with _restoring(path, "model"):
        model = model_from_config(document["model"])
    _saved_weights(path, arrays, model)
    if compile and "compile" in document:
        with _restoring(path, "compile settings and optimizer state"):
            _compile_saved(model, document, arrays)
    with _restoring(path, "random state"):
        _random.set_state(document["random_state"])
    return model


def save_weights(model, path):
    document = {"format": FORMAT, "version": VERSION, "weights_only": True}
    _atomic_write(path, lambda f: _write_npz(f, document, {f"weight_{i}": w.value for i, w in enumerate(model.weights)}))


def load_weights(model, path):
    path = os.fspath(path)
    _, arrays = _read(path)
    _saved_weights(path, arrays, model)
