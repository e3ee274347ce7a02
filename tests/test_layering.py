"""The core's layering rule, checked over every #include line (cpp/README.md states it):

    core  <-  cpu | cuda  <-  ops | optim  <-  graph  <-  onnx  <-  engine/engine.h

A file may include its own layer and the layers below; the two layers that share a rank
(cpu and cuda, ops and optim) do not include each other."""
import os
import re

ROOT = os.path.join(os.path.dirname(__file__), "..", "cpp")

RANK = {"core": 0, "cpu": 1, "cuda": 1, "ops": 2, "optim": 2, "graph": 3, "onnx": 4, "api": 5}

# Each public header belongs to the layer that implements it.
PUBLIC = {
    "export.h": "core", "status.h": "core", "device.h": "core", "tensor.h": "core",
    "threads.h": "core", "runtime.h": "core", "ir.h": "core", "cuda.h": "core", "communicator.h": "core",
    "ops.h": "ops",
    "optimizer.h": "optim", "graph.h": "graph", "onnx.h": "onnx", "engine.h": "api",
    "session.h": "api", "c_api.h": "api", "npy.h": "api",
}

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def layer_of_header(path):
    """The layer of an #include "..." target, or None for headers outside the core."""
    first, _, rest = path.partition("/")
    if first == "engine":
        assert rest in PUBLIC, f"public header engine/{rest} has no layer in this test's table"
        return PUBLIC[rest]
    return first if first in RANK else None


def sources():
    for base, layer_from_dir in (("src", True), ("include/engine", False)):
        top = os.path.join(ROOT, base)
        for dirpath, _, files in os.walk(top):
            for name in files:
                if not name.endswith((".h", ".cpp", ".cu", ".cuh", ".inc")):
                    continue
                rel = os.path.relpath(os.path.join(dirpath, name), top)
                layer = rel.split(os.sep)[0] if layer_from_dir else PUBLIC[name]
                yield os.path.join(dirpath, name), f"{base}/{rel}", layer


def test_every_file_has_a_layer():
    for _, rel, layer in sources():
        assert layer in RANK, f"{rel} is in no layer"


def test_no_file_includes_a_higher_or_sibling_layer():
    breaks = []
    for path, rel, layer in sources():
        with open(path, encoding="utf-8") as f:
            text = f.read()
        for target in INCLUDE.findall(text):
            other = layer_of_header(target)
            if other is None or other == layer:
                continue
            if RANK[other] >= RANK[layer]:
                breaks.append(f"{rel} ({layer}) includes {target} ({other})")
    assert not breaks, "layering breaks:\n" + "\n".join(breaks)
