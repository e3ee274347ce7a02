"""Checkpoints: one file with the architecture, the weights, the optimizer state and the
random state, so that `fit` resumes exactly where it stopped.

The file is a zip of .npy arrays (numpy's .npz, read without pickle) plus a JSON document.
Saves are atomic: written to a temporary file in the same folder, then renamed over the
target, so an interrupted save leaves the previous checkpoint intact.
"""
import json
import os
import tempfile
import zipfile

import numpy as np

from engine import _random
from engine import layers as _layers

FORMAT = "engine-checkpoint"
VERSION = 1


# ---- architecture ----------------------------------------------------------------------------

def _layer_classes():
    from engine.models import InputLayer

    classes = {name: getattr(_layers, name) for name in _layers.__all__}
    classes["InputLayer"] = InputLayer
    return {k: v for k, v in classes.items() if isinstance(v, type)}


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
        if isinstance(layer, Model):
            raise ValueError(f"saving: nested model {layer.name!r} as a layer is not supported yet")
        return {"class_name": type(layer).__name__, "config": _json_ready(layer.get_config())}

    if isinstance(model, Sequential):
        inp = model._input
        return {"class_name": "Sequential", "name": model.name,
                "input": None if inp is None else {"shape": list(inp.shape[1:]), "dtype": inp.dtype},
                "layers": [layer_config(l) for l in model._stack]}
    refs = {}
    for i, t in enumerate(model.inputs):
        refs[id(t)] = ["input", i]
    calls = []
    for j, call in enumerate(model._calls):
        calls.append({"layer": call.layer.name, "inputs": [refs[id(t)] for t in call.inputs]})
        for k, t in enumerate(call.outputs):
            refs[id(t)] = ["call", j, k]
    layers, seen = [], set()
    for call in model._calls:
        if id(call.layer) not in seen:
            seen.add(id(call.layer))
            layers.append(layer_config(call.layer))
    return {"class_name": "Model", "name": model.name,
            "inputs": [t._layer.get_config() for t in model.inputs],
            "layers": layers, "calls": calls,
            "outputs": [refs[id(t)] for t in model.outputs],
            "single_input": model._single_input, "single_output": model._single_output}


def model_from_config(config):
    from engine.models import Input, Model, Sequential

    classes = _layer_classes()

    def make(entry):
        cls = classes.get(entry["class_name"])
        if cls is None:
            raise ValueError(f"checkpoint: unknown layer class {entry['class_name']!r}")
        return cls.from_config(dict(entry["config"]))

    if config["class_name"] == "Sequential":
        model = Sequential(name=config["name"])
        if config["input"] is not None:
            model.add(Input(tuple(config["input"]["shape"]), dtype=config["input"]["dtype"]))
        for entry in config["layers"]:
            model.add(make(entry))
        return model
    if config["class_name"] != "Model":
        raise ValueError(f"checkpoint: unknown model class {config['class_name']!r}")
    inputs = [Input(tuple(c["shape"]), dtype=c["dtype"], name=c["name"]) for c in config["inputs"]]
    layers = {}
    for entry in config["layers"]:
        layer = make(entry)
        layers[layer.name] = layer
    results = []

    def resolve(ref):
        return inputs[ref[1]] if ref[0] == "input" else results[ref[1]][ref[2]]

    for call in config["calls"]:
        args = [resolve(r) for r in call["inputs"]]
        out = layers[call["layer"]](args if len(args) > 1 else args[0])
        results.append(out if isinstance(out, list) else [out])
    outputs = [resolve(r) for r in config["outputs"]]
    return Model(inputs[0] if config["single_input"] else inputs,
                 outputs[0] if config["single_output"] else outputs, name=config["name"])


# ---- files ------------------------------------------------------------------------------------

def _atomic_write(path, write):
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"cannot save to {path!r}: folder {folder!r} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=".engine-save-", dir=folder)
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


def _read(path):
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"no checkpoint at {path!r}")
    try:
        with zipfile.ZipFile(path) as z:
            document = json.loads(z.read("checkpoint.json"))
            if document.get("format") != FORMAT:
                raise ValueError("not an engine checkpoint")
            arrays = {}
            for name in z.namelist():
                if name.endswith(".npy"):
                    with z.open(name) as entry:
                        arrays[name[:-4]] = np.lib.format.read_array(entry, allow_pickle=False)
    except (zipfile.BadZipFile, KeyError, json.JSONDecodeError, UnicodeDecodeError, EOFError, OSError) as e:
        raise ValueError(f"{path!r} is not a readable engine checkpoint ({type(e).__name__}: {e})") from None
    except ValueError as e:
        raise ValueError(f"{path!r} is not a readable engine checkpoint ({e})") from None
    if document.get("version", 0) > VERSION:
        raise ValueError(f"{path!r} was written by a newer engine (format version {document['version']})")
    return document, arrays


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


def load_model(path, compile=True):
    """The model saved at `path`, compiled and with its optimizer state when it was."""
    from engine import losses as _losses
    from engine import optimizers as _optimizers

    document, arrays = _read(path)
    try:
        model = model_from_config(document["model"])
    except (KeyError, TypeError, IndexError) as e:
        raise ValueError(f"{path!r}: the architecture description is damaged ({e})") from None
    weights = [arrays.get(f"weight_{i}") for i in range(len(model.weights))]
    if any(w is None for w in weights) or f"weight_{len(weights)}" in arrays:
        raise ValueError(f"{path!r}: the checkpoint's weights do not match its architecture")
    model.set_weights(weights)
    if compile and "compile" in document:
        c = document["compile"]
        loss_classes = {cls.__name__: cls for cls in vars(_losses).values()
                        if isinstance(cls, type) and issubclass(cls, _losses.Loss)}
        losses = [None if l is None else loss_classes[l["class_name"]](
            **{k: v for k, v in l["config"].items() if k != "name"}) for l in c["loss"]]
        model.compile(optimizer=_optimizers.deserialize(c["optimizer"]),
                      loss=losses if len(losses) > 1 else losses[0],
                      loss_weights=c["loss_weights"], metrics=c["metrics"])
        slots = [arrays[f"optimizer_{i}"] for i in range(document.get("optimizer_slots", 0))]
        model.optimizer.set_state({"iterations": document["optimizer_iterations"], "slots": slots,
                                   "learning_rate": document["optimizer_learning_rate"]})
    _random.set_state(document["random_state"])
    return model


def save_weights(model, path):
    document = {"format": FORMAT, "version": VERSION, "weights_only": True}
    _atomic_write(path, lambda f: _write_npz(f, document, {f"weight_{i}": w.value for i, w in enumerate(model.weights)}))


def load_weights(model, path):
    _, arrays = _read(path)
    weights = [arrays.get(f"weight_{i}") for i in range(len(model.weights))]
    if any(w is None for w in weights):
        raise ValueError(f"{path!r} holds {len(arrays)} weight arrays; the model has {len(model.weights)}")
    model.set_weights(weights)
