"""One loaded model version: its signature and a predict over whole batches.

The server never touches an engine.Model directly: it sees a Servable, which names the
inputs and outputs (name, dtype, shape with None for free sizes, the batch first) and runs
a list of arrays to a list of arrays. Anything with that shape can be served behind the
same app (benchmarks/serve.py puts an onnxruntime session there).
"""
import os
import re
from typing import Callable, List, NamedTuple, Optional, Sequence, Tuple

import numpy as np


class TensorSpec(NamedTuple):
    name: str
    dtype: str                      # numpy name: "float32", "int64"
    shape: Tuple[Optional[int], ...]  # the batch first; None where any size goes


class Servable:
    """A model version as the server sees it.

    predict(arrays) takes one array per input (the batch first, dtypes as in `inputs`) and
    returns one array per output. It is called from a worker thread, one batch at a time
    per batcher, and must be safe to call while another thread reads `inputs`/`outputs`."""

    def __init__(self, inputs: Sequence[TensorSpec], outputs: Sequence[TensorSpec],
                 predict: Callable[[List[np.ndarray]], List[np.ndarray]],
                 version: int = 1, platform: str = "engine", source: str = ""):
        self.inputs = list(inputs)
        self.outputs = list(outputs)
        self.predict = predict
        self.version = int(version)
        self.platform = platform
        self.source = source
        # Set once a batch's outputs did not follow its rows (a model whose outputs do not
        # have the batch first): from then on every request runs on its own.
        self.splittable = True

    def input_names(self):
        return [s.name for s in self.inputs]

    def output_names(self):
        return [s.name for s in self.outputs]

    def __repr__(self):
        return f"<Servable {self.source!r} version {self.version} inputs {self.inputs} outputs {self.outputs}>"


ZIP_MAGIC = b"PK\x03\x04"  # engine checkpoints are zip archives; ONNX files are protobuf


def is_checkpoint(path) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(4) == ZIP_MAGIC
    except OSError:
        return False


def load_model(path):
    """The engine.Model in the file `path`: an engine checkpoint (model.save) or an ONNX file.
    The format is told by the file's first bytes, not by its name."""
    import engine

    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no model file {path!r}")
    if is_checkpoint(path):
        return engine.load_model(path, compile=False)
    return engine.onnx.load(path)


def _unique(names):
    """Output names as given, with a suffix where two outputs would share one."""
    out, seen = [], set()
    for name in names:
        unique, k = name, 1
        while unique in seen:
            unique, k = f"{name}_{k}", k + 1
        seen.add(unique)
        out.append(unique)
    return out


def _input_name(model, t):
    """The input's name in the APIs. A Sequential's input gets its name when the model is built
    (its checkpoint does not keep one): "input_layer" in a fresh process, "input_layer_3" when
    other models were built before. Served as "input_layer" always, so that the name clients
    send does not change with the order models were loaded in (a new version, a restart)."""
    import engine

    name = t.layer_name
    if isinstance(model, engine.Sequential) and re.fullmatch(r"input_layer_\d+", name or ""):
        return "input_layer"
    return name


def from_model(model, version=1, source="", platform="engine") -> Servable:
    """A Servable running `model.predict` (the engine's one-call inference, GIL released):
    every batch runs in one call, whatever its size."""
    inputs = [TensorSpec(_input_name(model, t), t.dtype, tuple(t.shape)) for t in model.inputs]
    names = _unique([t.layer_name or f"output_{k}" for k, t in enumerate(model.outputs)])
    outputs = [TensorSpec(n, t.dtype, tuple(t.shape)) for n, t in zip(names, model.outputs)]
    single_input = len(inputs) == 1

    def predict(arrays):
        n = int(arrays[0].shape[0])
        result = model.predict(arrays[0] if single_input else list(arrays), batch_size=max(n, 1))
        return list(result) if isinstance(result, (list, tuple)) else [result]

    servable = Servable(inputs, outputs, predict, version=version, platform=platform, source=source)
    _warm_up(servable)
    return servable


def _warm_up(servable):
    """One call on a zero batch of one row: plans the graph before the first request pays for
    it, and a model that cannot run fails at load time instead of on every request. Skipped
    when an input has sizes left open (no shape to make up)."""
    arrays = []
    for spec in servable.inputs:
        if any(d is None for d in spec.shape[1:]):
            return
        arrays.append(np.zeros((1,) + tuple(spec.shape[1:]), dtype=spec.dtype))
    servable.predict(arrays)


def load(path, version=1) -> Servable:
    """The Servable of the model file `path` (checkpoint or ONNX)."""
    platform = "engine_checkpoint" if is_checkpoint(path) else "onnx"
    try:
        model = load_model(path)
        return from_model(model, version=version, source=os.fspath(path), platform=platform)
    except (OSError, ValueError, TypeError, RuntimeError) as e:
        # The core's messages name the problem; the path says which file had it.
        message = f"cannot load model {os.fspath(path)!r}: {e}"
        try:
            error = type(e)(message)
        except Exception:  # noqa: BLE001 - an exception type with other arguments
            error = ValueError(message)
        raise error from e
