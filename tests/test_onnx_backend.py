"""The official ONNX backend node tests (onnx/backend/test/case/node) run through
engine.onnx.load: every test of an op type the engine supports, except the cases listed
below with the reason each cannot pass."""
import re

import numpy as np
import pytest

onnx = pytest.importorskip("onnx", reason="onnx is not installed")
import onnx.backend.base  # noqa: E402
import onnx.backend.test  # noqa: E402

from helpers import run_onnx_in_engine  # noqa: E402


class EngineRep(onnx.backend.base.BackendRep):
    def __init__(self, model):
        self.model = model

    def run(self, inputs, **kwargs):
        return run_onnx_in_engine(self.model, inputs)


class EngineBackend(onnx.backend.base.Backend):
    @classmethod
    def prepare(cls, model, device="CPU", **kwargs):
        super().prepare(model, device, **kwargs)
        return EngineRep(model)

    @classmethod
    def supports_device(cls, device):
        return device == "CPU"


backend_test = onnx.backend.test.BackendTest(EngineBackend, __name__)

# The ops the engine runs (or folds at import), by their test-name patterns.
INCLUDED = [rf"^test_{op}(_.*)?_cpu$" for op in [
    "relu", "leakyrelu", "elu", "selu", "sigmoid", "tanh", "softplus", "softmax", "logsoftmax",
    "conv", "maxpool", "averagepool", "globalaveragepool", "add", "sub", "mul", "div", "sum",
    "gemm", "matmul", "batchnorm", "dropout", "concat", "transpose", "reshape", "flatten",
    "identity", "lrn", "unsqueeze", "squeeze", "constant", "constantofshape", "shape", "clip",
    "slice", "gather", "split", "expand", "tile", "constant_pad", "edge_pad", "reflect_pad",
    "wrap_pad", "layer_normalization", "gelu", "lstm", "gru", "rnn", "simple_rnn",
]]
for pattern in INCLUDED:
    backend_test.include(pattern)

# Function-expanded variants run the op's body: CastLike, Exp, Where, Less, ... which are
# other ops than the one under test and not in the engine.
backend_test.exclude(r"_expanded")
# Integer tensors other than int64 (int8/16/32, unsigned) and bool: the engine holds only
# float32 and int64 values.
backend_test.exclude(r"^test_(add|sub|mul|div)_u?int(8|16|32|64)_cpu$")
backend_test.exclude(r"^test_div_int32_trunc_cpu$")
backend_test.exclude(r"^test_clip_default_int8_")
backend_test.exclude(r"^test_maxpool_2d_uint8_cpu$")
backend_test.exclude(r"^test_constantofshape_int_(shape_zero|zeros)_cpu$")  # int32 outputs
# Dropout's mask output is a bool tensor.
backend_test.exclude(r"^test_dropout_default_mask(_ratio)?_cpu$")
# Pooling is 2-D (NCHW) in the engine; these pool 1-D and 3-D inputs.
backend_test.exclude(r"^test_(max|average)pool_(1d|3d)_")
# MaxPool's Indices output (argmax) is not computed.
backend_test.exclude(r"^test_maxpool_with_argmax_")
# training_mode=1 outputs batch statistics from an inference run; the engine uses batch
# statistics only in its own training mode.
backend_test.exclude(r"^test_batchnorm_(epsilon|example)_training_mode_cpu$")
# Pad of int32 values (the engine's Pad is float32), and mode "wrap" (opset 19).
backend_test.exclude(r"^test_(edge|reflect)_pad_cpu$")
backend_test.exclude(r"^test_wrap_pad_cpu$")
# GatherElements and SplitToSequence (a sequence output), other ops whose names match the
# Gather and Split patterns.
backend_test.exclude(r"^test_gather_elements_")
backend_test.exclude(r"^test_split_to_sequence_")
# Optional and sequence types: the engine's values are dense tensors.
backend_test.exclude(r"^test_identity_(opt|sequence)_cpu$")
# Shape of a graph input returned as a graph output: Shape is folded at import, where the
# batch dimension is symbolic, and the engine has no run-time Shape op.
backend_test.exclude(r"^test_shape_")



def _included_only(cases):
    """Drops the thousands of generated tests for ops the engine does not have (the runner
    would report each as skipped); the excluded ones above stay, skipped with their reason."""
    for case in cases.values():
        for name in [n for n in vars(case) if n.startswith("test_")]:
            if not any(re.match(p, name) for p in INCLUDED):
                delattr(case, name)
    return cases


globals().update(_included_only(backend_test.enable_report().test_cases))
