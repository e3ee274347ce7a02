"""The official ONNX backend node tests (onnx/backend/test/case/node) run through
engine.onnx.load: every test of an op type the engine supports, except the cases listed
below with the reason each cannot pass."""

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

# Every case whose nodes are all ops the engine lists (or computes at import), including the
# function-expanded variants whose bodies stay within them.
# Computed when the file is imported, or written out there as the ops they are made of
# (onnx/fold.cpp).
IMPORT_TIME_OPS = {"Constant", "ConstantOfShape", "Shape", "Cast", "CastLike", "Range",
                   "Einsum", "Hardmax", "GlobalMaxPool", "IsNaN", "IsInf",
                   "LpNormalization", "RMSNormalization", "NegativeLogLikelihoodLoss",
                   "SoftmaxCrossEntropyLoss", "Mean", "PRelu", "EyeLike", "DepthToSpace",
                   "SpaceToDepth", "MeanVarianceNormalization", "InstanceNormalization",
                   "GroupNormalization", "CenterCropPad", "Attention", "RotaryEmbedding",
                   "AffineGrid", "LinearAttention", "LpPool"}


def _listed_cases():
    from engine import _core
    import onnx.backend.test.loader

    listed = {op for op in _core.supported_ops() if ":" not in op} | IMPORT_TIME_OPS
    return sorted(case.name for case in onnx.backend.test.loader.load_model_tests(kind="node")
                  if {n.op_type for n in case.model.graph.node} <= listed)


LISTED = _listed_cases()
# One pattern: the runner matches every test name against each pattern given.
backend_test.include("^(" + "|".join(LISTED) + ")_cpu$")

# What the engine does not hold. Its values are float32, int64 and bool tensors; other
# integer types compute in int64 and float16/bfloat16/float64 in float32 (files that hold
# them are read so), but strings, sequences, optionals and the 2-, 4- and 8-bit types are
# not held at all, and the loader cannot even read the data of the last ones.
backend_test.exclude(r"_string(_broadcast)?_cpu$")
backend_test.exclude(r"^test_identity_(opt|sequence)_cpu$")
backend_test.exclude(r"(FLOAT8|FLOAT4|INT4|UINT4|INT2|UINT2|E8M0)")
backend_test.exclude(r"^test_castlike_.*FLOAT16|^test_cast_.*FLOAT16|BFLOAT16|DOUBLE")  # loader
backend_test.exclude(r"bf16|bfloat16")
# Random draws compared with numpy's generator: Dropout in training mode, Bernoulli.
backend_test.exclude(r"^test_training_dropout(_default)?(_mask)?_cpu$")
backend_test.exclude(r"^test_bernoulli")
# ReduceMax of an empty bool set: the engine reduces bools as float32, whose identity is
# -inf, not false.
backend_test.exclude(r"^test_reduce_max_empty_set_bool_cpu$")


def _included_only(cases):
    """Drops the thousands of generated tests for ops the engine does not have (the runner
    would report each as skipped); the excluded ones above stay, skipped with their reason."""
    listed = {f"{name}_cpu" for name in LISTED}
    for case in cases.values():
        for name in [n for n in vars(case) if n.startswith("test_")]:
            if name not in listed:
                delattr(case, name)
    return cases


globals().update(_included_only(backend_test.enable_report().test_cases))
