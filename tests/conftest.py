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
    """A generator seeded from the test's name: fresh values per test, reproducible runs."""
    seed = abs(hash(request.node.nodeid)) % (2**32)
    return np.random.default_rng(seed)


@pytest.fixture(params=["optimized", "reference"])
def kernel_impl(request):
    """Runs a test on the optimized kernels and again on the naive reference kernels."""
    _core.set_reference_kernels(request.param == "reference")
    yield request.param
    _core.set_reference_kernels(False)
