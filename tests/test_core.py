"""The numpy <-> core bridge, library settings and error mapping."""
import numpy as np
import pytest

import engine
from engine import _core, ops


def test_numpy_arrays_cross_without_copies(rng):
    x = rng.standard_normal((7, 13)).astype(np.float32)
    y = _core._roundtrip(x)
    assert np.shares_memory(x, y)
    assert y.dtype == np.float32 and y.shape == (7, 13)
    x[3, 4] = 123.0
    assert y[3, 4] == 123.0


def test_int64_arrays_cross_without_copies():
    x = np.arange(33, dtype=np.int64).reshape(3, 11)
    y = _core._roundtrip(x)
    assert np.shares_memory(x, y)
    assert y.dtype == np.int64
    np.testing.assert_array_equal(x, y)


def test_strided_views_keep_their_strides():
    base = np.arange(40, dtype=np.float32).reshape(5, 8)
    view = base[::2, 1::3]
    y = _core._roundtrip(view)
    np.testing.assert_array_equal(y, view)
    assert np.shares_memory(y, base)


def test_core_results_outlive_their_inputs(rng):
    x = rng.standard_normal((5, 5)).astype(np.float32)
    expected = np.maximum(x, 0)
    y = ops.relu(x)
    del x
    np.testing.assert_array_equal(y, expected)
    y2 = y[1:]  # a numpy view of core memory keeps the core tensor alive
    del y
    np.testing.assert_array_equal(y2, expected[1:])


def test_input_array_kept_alive_by_core_view():
    x = np.ones((4, 4), dtype=np.float32)
    y = _core._roundtrip(x)
    del x
    assert float(y.sum()) == 16.0


def test_lists_and_scalars_are_converted():
    np.testing.assert_array_equal(ops.relu([[-1.0, 2.0]]), np.array([[0.0, 2.0]], np.float32))
    assert ops.relu(np.float32(-3.0)).shape == ()


def test_unsupported_dtypes_raise_type_error():
    for dtype in (np.float64, np.float16, np.int32, np.complex64):
        with pytest.raises(TypeError, match=f"got dtype {np.dtype(dtype)}"):
            ops.relu(np.zeros(3, dtype=dtype))
    # int64 and bool are engine dtypes: the op refuses them.
    for dtype in (np.int64, np.bool_):
        with pytest.raises(TypeError, match=f"Relu: x must be float32, got {np.dtype(dtype)}"):
            ops.relu(np.zeros(3, dtype=dtype))


def test_big_endian_float32_is_rejected():
    with pytest.raises(TypeError):
        ops.relu(np.zeros(3, dtype=">f4"))


def test_num_threads_round_trip():
    before = engine.get_num_threads()
    try:
        engine.set_num_threads(1)
        assert engine.get_num_threads() == 1
        engine.set_num_threads(2)
        assert engine.get_num_threads() == 2
        with pytest.raises(ValueError, match="at least 1 thread"):
            engine.set_num_threads(0)
    finally:
        engine.set_num_threads(before)


def test_results_do_not_depend_on_thread_count(rng):
    x = rng.standard_normal((300, 301)).astype(np.float32)
    before = engine.get_num_threads()
    try:
        engine.set_num_threads(1)
        one = ops.tanh(x)
        engine.set_num_threads(2)
        two = ops.tanh(x)
    finally:
        engine.set_num_threads(before)
    np.testing.assert_array_equal(one, two)


def test_poisoned_allocations_are_nan():
    # The conftest fixture turns poisoning on: a fresh core buffer reads as NaN, so a
    # kernel that leaves part of its output unwritten cannot pass a test by accident.
    assert np.all(np.isnan(_core._empty((7, 13))))
    with pytest.raises(ValueError, match="negative dimension"):
        _core._empty((3, -1))


def test_memory_is_returned():
    x = np.ones((256, 256), dtype=np.float32)
    for _ in range(3):
        ops.relu(x)
    before = _core.memory_stats()["live_bytes"]
    y = ops.relu(x)
    assert _core.memory_stats()["live_bytes"] == before + x.nbytes
    del y
    assert _core.memory_stats()["live_bytes"] == before


def test_build_information():
    assert engine.__version__ == "0.1.0"
    assert _core.cpu_features_string() in ("avx512 avx2 fma", "avx2 fma", "portable")
    assert _core.cuda_devices() >= 0
    # The CUDA backend, when built, must not break import on machines without a GPU.
    assert isinstance(_core.has_cuda_build(), bool)
