"""Gemm and MatMul (ONNX semantics) and their gradients."""
from engine.ops._run import backward, forward

__all__ = ["gemm", "gemm_backward", "matmul", "matmul_backward"]


def _attrs(alpha, beta, trans_a, trans_b):
    return {"alpha": float(alpha), "beta": float(beta), "transA": int(trans_a),
            "transB": int(trans_b)}


def gemm(a, b, c=None, alpha=1.0, beta=1.0, trans_a=False, trans_b=False):
    """ONNX Gemm: alpha * op(a) @ op(b) + beta * c, with c broadcast to [M, N].

    op(x) is x.T when its trans flag is set; c may be None, a scalar, [N], [1, N], [M, 1]
    or [M, N].
    """
    return forward("Gemm", [a, b, c], ("A", "B", "C"), _attrs(alpha, beta, trans_a, trans_b))


def gemm_backward(dy, a, b, c=None, alpha=1.0, beta=1.0, trans_a=False, trans_b=False):
    """(da, db, dc) for gemm; dc is summed back to c's shape, None when c is None."""
    return tuple(backward("Gemm", [a, b, c], ("A", "B", "C"), dy,
                          _attrs(alpha, beta, trans_a, trans_b)))


def matmul(a, b):
    """ONNX MatMul: numpy matmul semantics (1-D operands promoted, batch dims broadcast)."""
    return forward("MatMul", [a, b], ("A", "B"))


def matmul_backward(dy, a, b):
    """(da, db) for matmul, each summed over the batch dims it was broadcast along."""
    return tuple(backward("MatMul", [a, b], ("A", "B"), dy))
