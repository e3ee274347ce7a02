"""keras.utils.set_random_seed, and plots: learning curves (`plot_history`) and the layer graph (`plot_model`, Keras's
arguments), drawn with matplotlib alone, so no Graphviz is needed
(``pip install engine[plot]``).

Both draw on a matplotlib Figure of their own (never pyplot's global state, so they work
in scripts, notebooks and threads without a display) and return it; a notebook shows a
returned Figure. Files are written to a temporary name and renamed over the target.
"""
import os
import uuid

import numpy as np


def set_random_seed(seed):
    """Keras's name for engine.set_seed: seeds initializers, shuffling and dropout."""
    from engine import _random

    _random.set_seed(seed)


def _matplotlib():
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError("plotting needs matplotlib: pip install matplotlib (or the engine[plot] extra)") from None
    return Figure, FigureCanvasAgg


def _save(fig, path, dpi=None):
    """Writes the figure to `path` (format from its extension) through a temporary file."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    ext = os.path.splitext(path)[1].lstrip(".").lower() or "png"
    # A fresh name in the target's folder (not mkstemp, whose file would keep mode 0600).
    tmp = os.path.join(folder, f".engine-plot-{os.getpid()}-{uuid.uuid4().hex}.{ext}")
    try:
        fig.savefig(tmp, format=ext, dpi=dpi, bbox_inches="tight")
        os.replace(tmp, path)
    except BaseException:
        try:
            os.remove(tmp)
        except OSError:
            pass
        raise


# ---- learning curves ---------------------------------------------------------------------------

def plot_history(history, path=None, metrics=None, dpi=100):
    """Learning curves: one panel per metric (loss first), the training values and, when
    present, the validation values (``val_<name>``), against the epoch (1-based).

    `history`: the History returned by fit, or its ``history`` dict. `metrics`: the names to
    plot (default: every training key). Returns the matplotlib Figure; writes it to `path`
    (png, pdf, svg, ...) when given."""
    Figure, FigureCanvasAgg = _matplotlib()
    logs = getattr(history, "history", history)
    if not isinstance(logs, dict) or not logs:
        raise ValueError("plot_history: expected a History (from fit) or a non-empty dict of lists of values, "
                         f"got {type(history).__name__}")
    epochs = getattr(history, "epoch", None)
    names = [k for k in logs if not k.startswith("val_")] if metrics is None else list(metrics)
    if "loss" in names:
        names.remove("loss")
        names.insert(0, "loss")
    unknown = [n for n in names if n not in logs]
    if unknown:
        raise ValueError(f"plot_history: no values for {unknown}; the history has {sorted(logs)}")
    if not names:
        raise ValueError(f"plot_history: nothing to plot: the history has only {sorted(logs)}")
    cols = min(3, len(names))
    rows = -(-len(names) // cols)
    fig = Figure(figsize=(4.2 * cols, 3.2 * rows), dpi=dpi)
    FigureCanvasAgg(fig)
    for k, name in enumerate(names):
        ax = fig.add_subplot(rows, cols, k + 1)
        for key, label, style in ((name, "train", "-o"), ("val_" + name, "validation", "-s")):
            if key not in logs:
                continue
            values = np.asarray(logs[key], dtype=np.float64).reshape(-1)
            x = np.asarray(epochs[-len(values):]) + 1 if epochs is not None and len(epochs) >= len(values) \
                else np.arange(1, len(values) + 1)
            ax.plot(x, values, style, markersize=3, label=label)
        ax.set_title(name)
        ax.set_xlabel("epoch")
        ax.grid(True, alpha=0.3)
        ax.legend()
    fig.tight_layout()
    if path is not None:
        _save(fig, path, dpi)
    return fig


# ---- the layer graph ---------------------------------------------------------------------------

def _shape_text(shapes):
    shapes = [tuple(s) for s in shapes]
    if len(shapes) == 1:
        return str(shapes[0])
    return "[" + ", ".join(str(s) for s in shapes) + "]"


def _layer_graph(model):
    """(nodes, edges): nodes are dicts (layer, inputs, outputs, dtypes) in order, edges are
    (producer index, consumer index) pairs, one node per layer (a shared layer once)."""
    from engine.models import InputLayer

    if not getattr(model, "built", False) or not hasattr(model, "_graph_calls"):
        raise ValueError(f"plot_model: {getattr(model, 'name', model)!r} is not built; give it an Input first")
    nodes, index = [], {}

    def node_for(layer):
        if id(layer) not in index:
            index[id(layer)] = len(nodes)
            nodes.append({"layer": layer, "inputs": [], "outputs": [], "dtypes": []})
        return index[id(layer)]

    for t in model.inputs:
        n = nodes[node_for(t._layer)]
        n["outputs"].append(t.shape)
        n["dtypes"].append(t.dtype)
    edges = []
    for call in model._graph_calls:
        k = node_for(call.layer)
        node = nodes[k]
        if not node["outputs"]:  # a shared layer shows its first call's shapes
            node["inputs"] = [t.shape for t in call.own_inputs]
            node["outputs"] = [t.shape for t in call.own_outputs]
            node["dtypes"] = [t.dtype for t in call.own_outputs]
        for t in call.inputs:
            edge = (node_for(t._layer), k)
            if edge not in edges:
                edges.append(edge)
    for n in nodes:
        n["is_input"] = isinstance(n["layer"], InputLayer)
    return nodes, edges


def _node_text(node, show_shapes, show_dtype, show_layer_names, show_layer_activations, show_trainable):
    layer = node["layer"]
    kind = "InputLayer" if node["is_input"] else type(layer).__name__
    lines = [f"{layer.name} ({kind})" if show_layer_names else kind]
    if show_shapes:
        if not node["is_input"]:
            lines.append(f"Input shape: {_shape_text(node['inputs'])}")
        lines.append(f"Output shape: {_shape_text(node['outputs'])}")
    if show_dtype:
        lines.append(f"Output dtype: {', '.join(dict.fromkeys(node['dtypes']))}")
    if show_layer_activations and getattr(layer, "activation", None) is not None:
        from engine import activations

        try:
            name = activations.serialize(layer.activation)
        except Exception:
            name = getattr(layer.activation, "__name__", str(layer.activation))
        lines.append(f"Activation: {name}")
    if show_trainable and not node["is_input"]:
        lines.append(f"Trainable: {bool(getattr(layer, 'trainable', True))}")
    return "\n".join(lines)


def _ranks(nodes, edges):
    """The depth of each node: the longest path from a model input (edges go forward in
    the nodes' order, which follows the model's call order)."""
    rank = [0] * len(nodes)
    for a, b in sorted(edges, key=lambda e: e[1]):
        rank[b] = max(rank[b], rank[a] + 1)
    changed = True
    while changed:  # a later edge may deepen an earlier node's producer; settle
        changed = False
        for a, b in edges:
            if rank[b] < rank[a] + 1:
                rank[b] = rank[a] + 1
                changed = True
    # An input used only deep in the graph sits just above its first consumer, so its arrow
    # does not cross the rows in between.
    for k in range(len(nodes)):
        consumers = [rank[b] for a, b in edges if a == k]
        if consumers and not any(b == k for _, b in edges):
            rank[k] = min(consumers) - 1
    return rank


def _order_levels(rank, edges):
    """Members of each rank, ordered by the mean position of their producers in the rank
    above (the barycenter heuristic), which keeps most arrows from crossing."""
    levels = {}
    for k, r in enumerate(rank):
        levels.setdefault(r, []).append(k)
    position = {}
    for r in sorted(levels):
        def key(k):
            above = [position[a] for a, b in edges if b == k and a in position]
            return (sum(above) / len(above) if above else float("inf"), k)
        if r != min(levels):
            levels[r].sort(key=key)
        for j, k in enumerate(levels[r]):
            position[k] = j - (len(levels[r]) - 1) / 2
    return levels


def plot_model(model, to_file="model.png", show_shapes=False, show_dtype=False, show_layer_names=True,
               rankdir="TB", expand_nested=False, dpi=200, show_layer_activations=False, show_trainable=False,
               **kwargs):
    """The model's layer graph (Keras's plot_model): a box per layer, with its name and
    type, and with show_shapes its input and output shapes, and arrows along the data flow,
    top to bottom (rankdir="TB") or left to right ("LR"). Drawn with matplotlib. Nested
    models show as one box (expand_nested is not supported). Writes `to_file` (png, pdf,
    svg, ...; None: no file) and returns the matplotlib Figure."""
    if rankdir not in ("TB", "LR"):
        raise ValueError(f"plot_model: rankdir must be 'TB' or 'LR', got {rankdir!r}")
    if expand_nested:
        raise ValueError("plot_model: expand_nested=True is not supported; nested models show as one box")
    if kwargs:
        raise TypeError(f"plot_model: unexpected arguments {sorted(kwargs)}")
    Figure, FigureCanvasAgg = _matplotlib()
    nodes, edges = _layer_graph(model)
    texts = [_node_text(n, show_shapes, show_dtype, show_layer_names, show_layer_activations, show_trainable)
             for n in nodes]
    rank = _ranks(nodes, edges)
    levels = _order_levels(rank, edges)
    depth, breadth = max(rank) + 1, max(len(v) for v in levels.values())

    # Layout in inches, for 8-point monospace text: about 0.07 in per character and 0.14 in
    # per line, plus a margin.
    char_w, line_h = 0.075, 0.15
    box_w = max(max(len(line) for line in t.split("\n")) for t in texts) * char_w + 0.3
    box_h = max(t.count("\n") + 1 for t in texts) * line_h + 0.2
    gap_along, gap_across = 0.55, 0.35
    step_along = (box_h if rankdir == "TB" else box_w) + gap_along
    step_across = (box_w if rankdir == "TB" else box_h) + gap_across
    size_along, size_across = depth * step_along, breadth * step_across
    width, height = (size_across, size_along) if rankdir == "TB" else (size_along, size_across)
    fig = Figure(figsize=(max(width, 2.0), max(height, 1.0)), dpi=dpi)
    FigureCanvasAgg(fig)
    ax = fig.add_axes([0, 0, 1, 1])
    ax.set_xlim(0, max(width, 2.0))
    ax.set_ylim(0, max(height, 1.0))
    ax.axis("off")

    centers = {}
    for r, members in levels.items():
        offset = (size_across - len(members) * step_across) / 2
        for j, k in enumerate(members):
            along = (r + 0.5) * step_along
            across = offset + (j + 0.5) * step_across
            centers[k] = (across, height - along) if rankdir == "TB" else (along, height - across)
    from matplotlib.patches import FancyArrowPatch

    half_w, half_h = box_w / 2, box_h / 2
    for a, b in edges:
        (xa, ya), (xb, yb) = centers[a], centers[b]
        if rankdir == "TB":
            start, end = (xa, ya - half_h), (xb, yb + half_h)
        else:
            start, end = (xa + half_w, ya), (xb - half_w, yb)
        ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=10, color="#444444", lw=1.2,
                                     shrinkA=0, shrinkB=0))
    for k, text in enumerate(texts):
        x, y = centers[k]
        face = "#dbe9f6" if nodes[k]["is_input"] else "#f4f4f4"
        ax.add_patch(_box(x - half_w, y - half_h, box_w, box_h, face))
        ax.text(x, y, text, ha="center", va="center", fontsize=8, family="monospace")
    if to_file is not None:
        _save(fig, to_file, dpi)
    return fig


def _box(x, y, w, h, face):
    from matplotlib.patches import FancyBboxPatch

    return FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0.02,rounding_size=0.08", facecolor=face,
                          edgecolor="#333333", linewidth=1.0)


__all__ = ["plot_history", "plot_model"]
