# Every op through one runner (engine/ops.h): the same op definitions the executor plans,
# one node at a time. engine.ops is a table of names over these. Included by _core.pyx.
from libc.stdint cimport uint64_t
from cython.operator cimport dereference as deref
cimport ops as op_api


cdef op_api.OpCall _op_call(str op_type, object attrs, bint training, str domain,
                            int num_outputs, object step) except *:
    cdef op_api.OpCall call
    call.op_type = op_type.encode()
    call.domain = domain.encode()
    call.mode = g.Mode.Training if training else g.Mode.Inference
    call.num_outputs = num_outputs
    call.step = <uint64_t>(int(step) & 0xFFFFFFFFFFFFFFFF)
    for key, value in (attrs or {}).items():
        if value is not None:  # an attribute not given takes the op's default
            call.attrs[key.encode()] = _attribute(key, value)
    return call


cdef vector[Tensor] _op_tensors(object values, object names, str label) except *:
    """Tensors viewing `values` (None: an omitted input); errors name them
    "<label>: <name>"."""
    cdef vector[Tensor] out
    cdef Tensor undefined
    for i, v in enumerate(values):
        if v is None:
            out.push_back(undefined)
            continue
        if isinstance(v, DeviceArray):
            out.push_back((<DeviceArray>v).t)
            continue
        name = names[i] if names is not None and i < len(names) else f"input {i}"
        out.push_back(as_tensor(v, f"{label}: {name}"))
    return out


cdef list _arrays(vector[Tensor]& tensors, bint on_device=False):
    """numpy arrays of the tensors (host copies of device tensors), or with `on_device`,
    DeviceArrays of those that live on a device."""
    cdef DeviceArray kept
    out = []
    for i in range(tensors.size()):
        if not tensors[i].defined():
            out.append(None)
        elif on_device and not tensors[i].device().is_cpu():
            kept = DeviceArray(None, "cpu")
            kept.t = tensors[i]
            out.append(kept)
        else:
            out.append(to_numpy(tensors[i]))
    return out


cdef vector[Tensor] _on_device(vector[Tensor]& tensors, object device) except *:
    """The tensors moved to `device` (a name such as "cuda:0"); themselves for None."""
    if device is None:
        return tensors
    cdef Device target = core.device_parse(str(device).encode())
    cdef vector[Tensor] out
    cdef size_t i
    with nogil:
        for i in range(tensors.size()):
            out.push_back(tensors[i].to(target) if tensors[i].defined() else tensors[i])
    return out


cdef void _copy_back(vector[Tensor]& hosts, vector[Tensor]& moved) except *:
    """Writes what an op changed in place on the device back into the host inputs."""
    cdef size_t i
    with nogil:
        for i in range(hosts.size()):
            if hosts[i].defined() and not moved[i].device().is_cpu():
                hosts[i].copy_from(moved[i])


def run_op(str op_type, inputs, attrs=None, bint training=False, str domain="",
           int num_outputs=-1, step=0, names=None, label=None, device=None,
           bint device_outputs=False):
    """Runs one op forward: (outputs, state), lists of arrays.

    `inputs` are numpy arrays (None for an omitted optional input); `attrs` are ONNX
    attributes (None values are left out, so the op's default applies). `state` holds the
    per-call buffers the op keeps for backward (saved statistics, masks). `names` label the
    inputs in error messages ("<label>: <name> must be ...", label defaulting to op_type).
    Training mode commits the op's side effects (BatchNormalization's running statistics).
    With `device` ("cuda", "cuda:1") the inputs are copied there, the op runs on that
    device's kernels, and the results (and in-place side effects) come back to the host;
    inputs may also be DeviceArrays already there, and `device_outputs` keeps the outputs
    on the device as DeviceArrays.
    """
    cdef op_api.OpCall call = _op_call(op_type, attrs, training, domain, num_outputs, step)
    cdef vector[Tensor] tin = _op_tensors(inputs, names, label or op_type)
    cdef vector[Tensor] moved = _on_device(tin, device)
    cdef op_api.OpResult result
    with nogil:
        result = op_api.run_op(call, moved)
    if device is not None and training:
        _copy_back(tin, moved)
    return _arrays(result.outputs, device_outputs), _arrays(result.state, device_outputs)


def run_op_backward(str op_type, inputs, douts, attrs=None, bint training=False,
                    str domain="", outputs=None, state=None, need=None, int num_outputs=-1,
                    step=0, names=None, dout_names=None, label=None, device=None):
    """The gradients of the op's inputs for the output gradients `douts`: a list with None
    where a gradient was not asked for (`need`, one flag per input; default: every input
    that has one). `outputs` and `state` come from the forward call; when not given the
    forward pass runs again to make them. `device` as in run_op."""
    name = (label or op_type) + "_backward"
    cdef op_api.OpCall call = _op_call(op_type, attrs, training, domain, num_outputs, step)
    cdef vector[Tensor] tin = _op_tensors(inputs, names, name)
    cdef vector[Tensor] tdout = _op_tensors(douts, dout_names or ("dy",), name)
    cdef vector[Tensor] tout = _op_tensors(outputs or (), ("y",), name)
    cdef vector[Tensor] tstate = _op_tensors(state or (), ("state",), name)
    cdef vector[bool] wanted
    for flag in (need or ()):
        wanted.push_back(True if flag else False)
    cdef vector[Tensor] grads
    cdef vector[Tensor] min_ = _on_device(tin, device)
    cdef vector[Tensor] mout = _on_device(tout, device)
    cdef vector[Tensor] mstate = _on_device(tstate, device)
    cdef vector[Tensor] mdout = _on_device(tdout, device)
    with nogil:
        grads = op_api.run_op_backward(call, min_, mout, mstate, mdout, wanted)
    return _arrays(grads)


def infer_op(str op_type, inputs, attrs=None, bint training=False, str domain="",
             int num_outputs=-1):
    """[(shape, dtype)] of the op's outputs, without running it. Each input is an array (its
    value is then known, as a Reshape target must be), a (shape, dtype) pair, or None."""
    cdef op_api.OpCall call = _op_call(op_type, attrs, training, domain, num_outputs, 0)
    cdef vector[Tensor] constants
    cdef vector[op_api.ValueDesc] descs
    cdef op_api.ValueDesc d
    cdef op_api.ValueDesc blank
    for i, v in enumerate(inputs):
        d = blank
        if v is None:
            d.present = False
        elif isinstance(v, np.ndarray):
            constants.push_back(as_tensor(v, f"{op_type}: input {i}"))
            d.dtype = constants.back().dtype()
            d.shape = constants.back().shape()
        else:
            shape, dtype = v
            if dtype not in _DTYPES:
                raise TypeError(f"{op_type}: input {i} dtype must be float32, int64 or bool, got {dtype}")
            d.dtype = _DTYPES[dtype]
            d.shape = as_int_list(shape, f"{op_type}: input {i} shape")
        descs.push_back(d)
    # The constants' addresses are stable now that the vector is complete.
    cdef size_t k = 0
    for i, v in enumerate(inputs):
        if isinstance(v, np.ndarray):
            descs[i].constant = &constants[k]
            k += 1
    cdef vector[op_api.ValueDesc] out
    with nogil:
        out = op_api.infer_op(call, descs)
    return [(tuple(o.shape), _DTYPE_NAMES[<int>o.dtype]) for o in out]


def supported_ops():
    """Every op a graph may hold: "Relu", "engine.SoftmaxCrossEntropy", ..."""
    return [s.decode() for s in op_api.supported_ops()]


_ATTRIBUTE_KINDS = {<int>g.AttributeKind.Int: "int", <int>g.AttributeKind.Float: "float",
                    <int>g.AttributeKind.String: "string", <int>g.AttributeKind.Ints: "ints",
                    <int>g.AttributeKind.Floats: "floats", <int>g.AttributeKind.Strings: "strings"}


def op_schema(str op_type, str domain=""):
    """An op's inputs, outputs and attributes (kind, required, default) as a dict."""
    cdef op_api.OpSchemaInfo info = op_api.op_schema(domain.encode(), op_type.encode())
    attributes = {}
    for a in info.attributes:
        attributes[a.name.decode()] = {
            "kind": _ATTRIBUTE_KINDS.get(<int>a.kind, "tensor"), "required": a.required,
            "default": _attribute_value(a.default_value) if a.has_default else None}
    return {"domain": info.domain.decode(), "op_type": info.op_type.decode(),
            "inputs": (info.min_inputs, None if info.max_inputs < 0 else info.max_inputs),
            "outputs": (info.min_outputs, None if info.max_outputs < 0 else info.max_outputs),
            "attributes": attributes, "onnx_since_opset": info.onnx_since_opset}
