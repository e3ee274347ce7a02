"""Replays the ONNX fuzzer's corpus (cpp/fuzz/corpus: seeds and past crashers) through the
parser without clang: every file and every prefix of it must parse or raise ValueError."""
import os

import pytest

from engine import _core

CORPUS = os.path.join(os.path.dirname(__file__), "..", "cpp", "fuzz", "corpus")
FILES = sorted(os.listdir(CORPUS)) if os.path.isdir(CORPUS) else []


def parses_or_value_error(data):
    try:
        _core.onnx_parse_bytes(data)
        return True
    except ValueError:
        return False


def test_corpus_is_present_and_small():
    assert len(FILES) >= 5
    assert sum(os.path.getsize(os.path.join(CORPUS, f)) for f in FILES) < 100_000


@pytest.mark.parametrize("name", FILES)
def test_corpus_file_and_truncations(name):
    with open(os.path.join(CORPUS, name), "rb") as f:
        data = f.read()
    for n in range(len(data) + 1):
        parses_or_value_error(data[:n])
    if parses_or_value_error(data):
        # What parses also writes, and the written bytes parse back to the same bytes.
        graph, info = _core.onnx_parse_bytes(data)
        out = _core.onnx_serialize_graph(graph, ir_version=info["ir_version"] or 8,
                                         opset=info["opset_imports"] or 17)
        graph2, _ = _core.onnx_parse_bytes(out)
        assert _core.onnx_serialize_graph(graph2, ir_version=info["ir_version"] or 8,
                                          opset=info["opset_imports"] or 17) == out


@pytest.mark.parametrize("name", FILES)
def test_corpus_file_imports_or_raises_a_clear_error(name):
    import engine.onnx
    with open(os.path.join(CORPUS, name), "rb") as f:
        data = f.read()
    try:
        engine.onnx.load(data)
    except (ValueError, NotImplementedError, OSError) as e:  # any other type fails the test
        assert str(e), "an error without a message"


@pytest.mark.parametrize("name, match", [
    ("conv_huge_pads.onnx", r"Conv.*pads \[2305843009213693952, 0, 2305843009213693952, 0\].*"
                            r"more than memory can hold"),
    ("conv_huge_dilation.onnx", r"Conv.*dilation 4611686018427387904\) overflows 64 bits"),
    ("maxpool_huge_pads.onnx", r"MaxPool.*pads .* must each be smaller than the kernel"),
])
def test_hostile_sizes_in_the_corpus_name_the_attribute(name, match):
    import engine.onnx
    with pytest.raises(ValueError, match=match):
        engine.onnx.load(os.path.join(CORPUS, name))


def test_huge_stride_in_the_corpus_gives_one_window():
    import numpy as np

    import engine.onnx
    model = engine.onnx.load(os.path.join(CORPUS, "conv_huge_stride.onnx"))
    x = np.random.default_rng(0).standard_normal((2, 1, 5, 5)).astype(np.float32)
    assert model.predict(x).shape == (2, 1, 1, 1)
