"""How engine.ops reaches the core: every function runs an op by its ONNX name through
one generic runner (the op definitions the executor uses), forward or backward."""
from engine import _core


def forward(op_type, inputs, names, attrs=None, domain="", label=None, training=False):
    """The op's first output. `names` label the inputs in error messages."""
    outputs, _ = _core.run_op(op_type, inputs, attrs, training, domain, names=names,
                              label=label)
    return outputs[0]


def backward(op_type, inputs, names, dy, attrs=None, need=None, outputs=None, state=None,
             domain="", label=None, training=False, dout_name="dy"):
    """The gradients of the op's inputs (None where not asked for by `need`)."""
    return _core.run_op_backward(op_type, inputs, [dy], attrs, training, domain, outputs, state,
                                 need, names=names, dout_names=(dout_name,), label=label)
