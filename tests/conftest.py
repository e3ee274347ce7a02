import zlib

import numpy as np
import pytest

from engine import _core


@pytest.fixture(autouse=True)
def poisoned_outputs():
    """Every test runs with new core buffers filled with NaN: unwritten outputs fail."""
    _core.set_poison(True)
    yield
    _core.set_poison(False)


@pytest.fixture
def rng(request):
    """A generator seeded from the test's id: fresh values per test, and the same values in
    every run (zlib.crc32 is stable; Python's str hash changes per process), so a failure
    replays."""
    return np.random.default_rng(zlib.crc32(request.node.nodeid.encode()))


@pytest.fixture(params=["optimized", "reference", "cuda-emulated"])
def kernel_impl(request):
    """Runs a test on the optimized kernels, again on the naive reference kernels, and again
    on the CUDA kernels' bodies run over their grid on the host."""
    _core.set_kernel_variant({"optimized": "cpu", "reference": "ref"}.get(request.param, request.param))
    yield request.param
    _core.set_kernel_variant("cpu")
