# The graph IR and its executor. Included by _core.pyx.
from libcpp.map cimport map
from libcpp.memory cimport shared_ptr, make_shared
from libcpp.utility cimport pair
from cython.operator cimport dereference as deref, preincrement as inc
cimport graph as g


cdef Tensor _owned_copy(object array, str what) except *:
    """A core-owned copy of `array`, so later changes to the numpy array do not leak in."""
    cdef Tensor view = as_tensor(np.require(array, requirements="C"), what)
    cdef Tensor out = core.tensor_empty(view.shape(), view.dtype())
    memcpy(out.raw_data(), view.raw_data(), view.nbytes())
    return out


def _owned_array(array):
    """A copy of `array` in core-owned, 64-byte aligned memory, seen as a numpy array."""
    return to_numpy(_owned_copy(array, "array"))


cdef class DeviceArray:
    """An array in a device's memory (the parameters of a model placed on a GPU). Reading
    and writing it copies between the host and the device."""
    cdef Tensor t

    def __cinit__(self, array, str device):
        cdef Device target = core.device_parse(device.encode())
        cdef Tensor host
        if array is None:  # DeviceArray.empty fills self.t
            return
        host = _owned_copy(array, "array")
        with nogil:
            self.t = host.to(target)

    @staticmethod
    def empty(shape, str device):
        """Uninitialised float32 memory of `shape` on `device` (MemoryError when the device
        cannot hold it)."""
        cdef DeviceArray out = DeviceArray(None, device)
        cdef Shape dims = as_int_list(shape, "DeviceArray.empty: shape")
        cdef Device target = core.device_parse(device.encode())
        with nogil:
            out.t = core.tensor_empty_on(dims, DType.Float32, target)
        return out

    @property
    def shape(self):
        return tuple(self.t.shape())

    @property
    def device(self):
        return self.t.device().str().decode()

    def numpy(self):
        """A host copy."""
        return to_numpy(self.t)

    def read_into(self, out):
        """Copies the device data into the C-contiguous numpy array `out`."""
        cdef Tensor target = as_tensor(out, "read_into: out")
        with nogil:
            target.copy_from(self.t)

    def assign(self, array):
        """Copies `array` (same shape) to the device."""
        value = np.ascontiguousarray(array, dtype=np.float32)
        if value.shape != self.shape:
            raise ValueError(f"assign: expected shape {self.shape}, got {value.shape}")
        cdef Tensor source = as_tensor(value, "assign: value")
        with nogil:
            self.t.copy_from(source)


_DTYPES = {"float32": DType.Float32, "int64": DType.Int64, "bool": DType.Bool}


cdef class Graph:
    """An ONNX-shaped graph under construction: inputs, nodes, initializers, outputs."""
    cdef shared_ptr[g.Graph] ptr

    def __cinit__(self):
        self.ptr = make_shared[g.Graph]()

    def add_input(self, str name, shape, str dtype="float32"):
        """A graph input; -1 (or None) marks the dimension fixed at run time (the batch)."""
        cdef g.ValueInfo info
        if dtype not in _DTYPES:
            raise TypeError(f"input {name!r}: dtype must be float32, int64 or bool, got {dtype}")
        info.name = name.encode()
        info.dtype = _DTYPES[dtype]
        info.shape = as_int_list([-1 if d is None else d for d in shape], "shape")
        deref(self.ptr).inputs.push_back(info)

    def add_output(self, str name, str dtype="float32"):
        """A graph output; its dtype is what an ONNX file written from the graph declares."""
        cdef g.ValueInfo info
        if dtype not in _DTYPES:
            raise TypeError(f"output {name!r}: dtype must be float32, int64 or bool, got {dtype}")
        info.name = name.encode()
        info.dtype = _DTYPES[dtype]
        deref(self.ptr).outputs.push_back(info)

    def add_node(self, str op_type, inputs, outputs, dict attrs=None, str name="", str domain=""):
        cdef g.Node node
        node.op_type = op_type.encode()
        node.name = name.encode()
        node.domain = domain.encode()
        for v in inputs:
            node.inputs.push_back((v or "").encode())
        for v in outputs:
            node.outputs.push_back(v.encode())
        for key, value in (attrs or {}).items():
            node.attrs[key.encode()] = _attribute(key, value)
        deref(self.ptr).nodes.push_back(node)

    def set_initializer(self, str name, array, bint trainable=False, device=None):
        """Stores a core-owned copy of `array` as a parameter or constant (on `device`,
        "cpu" by default)."""
        cdef Tensor copy = _owned_copy(array, f"initializer {name!r}")
        if device is not None and device != "cpu":
            copy = copy.to(core.device_parse(str(device).encode()))
        deref(self.ptr).initializers[name.encode()] = copy
        if trainable:
            deref(self.ptr).trainable.insert(name.encode())
        else:
            deref(self.ptr).trainable.erase(name.encode())

    def bind_initializer(self, str name, array, bint trainable=False):
        """Uses `array`'s memory (float32, C-contiguous) as the initializer, without a copy."""
        if not (isinstance(array, np.ndarray) and array.flags.c_contiguous):
            raise ValueError(f"initializer {name!r}: bind needs a C-contiguous numpy array")
        deref(self.ptr).initializers[name.encode()] = as_tensor(array, f"initializer {name!r}")
        self.set_trainable(name, trainable)

    def bind_device_initializer(self, str name, DeviceArray array, bint trainable=False):
        """Uses the DeviceArray's memory as the initializer, without a copy."""
        deref(self.ptr).initializers[name.encode()] = array.t
        self.set_trainable(name, trainable)

    def _initializer_memory(self, str name):
        cdef string key = name.encode()
        if deref(self.ptr).initializers.count(key) == 0:
            raise KeyError(f"no initializer named {name!r}")
        return to_numpy(deref(self.ptr).initializers[key])

    def initializer(self, str name):
        """The parameter's core memory as a read-only numpy view (it follows the core's
        updates); assign_initializer changes it."""
        view = self._initializer_memory(name)
        view.flags.writeable = False
        return view

    def assign_initializer(self, str name, array):
        """Copies `array` into the existing parameter (same shape and dtype)."""
        target = self._initializer_memory(name)
        value = np.asarray(array)
        if value.shape != target.shape:
            raise ValueError(f"initializer {name!r}: expected shape {target.shape}, got {value.shape}")
        if value.dtype != target.dtype:
            raise TypeError(f"initializer {name!r}: expected {target.dtype}, got {value.dtype}")
        target[...] = value
        core.parameters_changed()

    def set_trainable(self, str name, bint trainable):
        if trainable:
            deref(self.ptr).trainable.insert(name.encode())
        else:
            deref(self.ptr).trainable.erase(name.encode())

    @property
    def trainable(self):
        return sorted(s.decode() for s in deref(self.ptr).trainable)

    @property
    def initializer_names(self):
        names = []
        cdef map[string, Tensor].iterator it = deref(self.ptr).initializers.begin()
        while it != deref(self.ptr).initializers.end():
            names.append(deref(it).first.decode())
            inc(it)
        return names

    @property
    def node_count(self):
        return deref(self.ptr).nodes.size()


cdef vector[Tensor] _tensor_list(list arrays, str what) except *:
    cdef vector[Tensor] out
    for i, a in enumerate(arrays):
        out.push_back(as_tensor(a, f"{what} {i}"))
    return out


cdef class ParameterLock:
    """Shared by the executors of graphs over the same parameters (a model's inference and
    training graphs): a training step on one never overlaps an inference call on another."""
    cdef shared_ptr[g.ParameterLock] ptr

    def __cinit__(self):
        self.ptr = make_shared[g.ParameterLock]()


cdef class Executor:
    """Plans and runs a Graph: forward passes, training steps and gradients."""
    cdef g.Executor* ptr
    cdef Graph graph

    def __cinit__(self, Graph graph, ParameterLock lock=None):
        self.graph = graph
        cdef shared_ptr[g.ParameterLock] shared
        if lock is not None:
            shared = lock.ptr
        self.ptr = new g.Executor(graph.ptr, shared)

    def __dealloc__(self):
        del self.ptr

    def run(self, list inputs, bint training=False):
        cdef vector[Tensor] tin = _tensor_list(inputs, "input")
        cdef vector[Tensor] tout
        cdef g.Mode mode = g.Mode.Training if training else g.Mode.Inference
        with nogil:
            tout = self.ptr.run(tin, mode)
        return [to_numpy(t) for t in tout]

    def train_step(self, list inputs, str loss, fetch=(), float samples=1.0):
        """Forward, loss and backward in one call; returns (loss, [fetched values]). With a
        communicator, `samples` is this rank's share of the global batch."""
        cdef vector[Tensor] tin = _tensor_list(inputs, "input")
        cdef string loss_name = loss.encode()
        cdef vector[string] names = [f.encode() for f in fetch]
        cdef vector[Tensor] fetched
        cdef float value
        with nogil:
            value = self.ptr.train_step(tin, loss_name, names, &fetched, samples)
        return value, [to_numpy(t) for t in fetched]

    def gradient(self, str name):
        """A copy of the gradient of a trainable parameter from the last train_step."""
        return to_numpy(self.ptr.gradient(name.encode()))

    def gradients(self, list inputs, str output, seed, bint training=False):
        """Gradients of `output` (seeded with `seed`) w.r.t. the inputs and trainable parameters."""
        return self.value_and_gradients(inputs, output, seed, training)[1]

    def value_and_gradients(self, list inputs, str output, seed, bint training=False):
        """(value of `output`, {name: gradient}) for `output` seeded with `seed`, w.r.t. the
        inputs and trainable parameters."""
        cdef vector[Tensor] tin = _tensor_list(inputs, "input")
        cdef Tensor tseed = as_tensor(seed, "seed")
        cdef string out_name = output.encode()
        cdef g.Mode mode = g.Mode.Training if training else g.Mode.Inference
        cdef map[string, Tensor] grads
        cdef Tensor value
        with nogil:
            grads = self.ptr.gradients(tin, out_name, tseed, mode, &value)
        result = {}
        cdef map[string, Tensor].iterator it = grads.begin()
        while it != grads.end():
            result[deref(it).first.decode()] = to_numpy(deref(it).second)
            inc(it)
        return to_numpy(value), result

    def set_optimizer(self, CoreOptimizer optimizer, parameters):
        """Every later train_step applies `optimizer` to `parameters` (names, in order)."""
        self.ptr.set_optimizer(optimizer.ptr, [p.encode() for p in parameters])

    def value(self, str name):
        """A copy of a value computed by the most recent call."""
        return to_numpy(self.ptr.value(name.encode()))

    def set_communicator(self, communicator):
        """Data parallelism: `communicator` has `rank`, `size` and the collectives
        allreduce_sum(buffer), broadcast(buffer, root) and barrier() over writable
        memoryviews (engine.distribute); None trains alone."""
        cdef shared_ptr[g.Communicator] comm
        if communicator is not None:
            comm = g.engine_py_communicator(communicator)
        self.ptr.set_communicator(comm)

    def set_step(self, unsigned long long step):
        self.ptr.set_step(step)

    def infer_shapes(self, input_shapes, bint training=False):
        """{value name: shape} for these input shapes, without running anything."""
        cdef vector[Shape] shapes
        for s in input_shapes:
            shapes.push_back(as_int_list(s, "input shape"))
        cdef g.Mode mode = g.Mode.Training if training else g.Mode.Inference
        cdef map[string, Shape] out
        with nogil:
            out = self.ptr.infer_shapes(shapes, mode)
        result = {}
        cdef map[string, Shape].iterator it = out.begin()
        while it != out.end():
            result[deref(it).first.decode()] = tuple(deref(it).second)
            inc(it)
        return result

    def stats(self):
        cdef g.ExecutorStats s = self.ptr.stats()
        return {"plans": s.plans, "planned_bytes": s.planned_bytes,
                "buffer_allocations": s.buffer_allocations, "fused_activations": s.fused_activations,
                "folded_batch_norms": s.folded_batch_norms, "fused_gelus": s.fused_gelus,
                "fused_layer_norms": s.fused_layer_norms, "fused_swishes": s.fused_swishes,
                "fused_hard_swishes": s.fused_hard_swishes}


# ---- read-only views of a Graph (the ONNX codec builds Graphs from C++) ---------------

_DTYPE_NAMES = {<int>DType.Float32: "float32", <int>DType.Int64: "int64", <int>DType.Bool: "bool"}


cdef Graph graph_from_ptr(shared_ptr[g.Graph] ptr):
    """Wraps a graph built in C++ (no copy)."""
    cdef Graph out = Graph.__new__(Graph)
    out.ptr = ptr
    return out


cdef object _value_infos(vector[g.ValueInfo]& infos):
    return [(v.name.decode(), tuple(v.shape), _DTYPE_NAMES[<int>v.dtype]) for v in infos]


cdef object _attribute_value(const g.Attribute& a):
    if a.kind == g.AttributeKind.Int:
        return a.i
    if a.kind == g.AttributeKind.Float:
        return a.f
    if a.kind == g.AttributeKind.String:
        try:
            return a.s.decode()
        except UnicodeDecodeError:
            return bytes(a.s)  # ONNX strings may carry arbitrary bytes
    if a.kind == g.AttributeKind.Ints:
        return list(a.ints)
    if a.kind == g.AttributeKind.Floats:
        return list(a.floats)
    if a.kind == g.AttributeKind.Strings:
        return [a.strings[k].decode(errors="surrogateescape") for k in range(a.strings.size())]
    return to_numpy(a.t).copy()


def graph_inputs(Graph graph):
    """[(name, shape with -1 for a symbolic dim, dtype)] in order."""
    return _value_infos(deref(graph.ptr).inputs)


def graph_outputs(Graph graph):
    return _value_infos(deref(graph.ptr).outputs)


def graph_declared_types(Graph graph):
    """The element types an ONNX file declares for the graph's inputs and outputs
    (TensorProto.DataType codes; 0: none): ([per input], [per output])."""
    return ([v.onnx_type for v in deref(graph.ptr).inputs],
            [v.onnx_type for v in deref(graph.ptr).outputs])


def graph_nodes(Graph graph):
    """Nodes as dicts: op_type, name, domain, inputs, outputs, attrs (Python values)."""
    nodes = []
    cdef map[string, g.Attribute].iterator it
    cdef g.Node* n
    for i in range(deref(graph.ptr).nodes.size()):
        n = &deref(graph.ptr).nodes[i]
        attrs = {}
        it = n.attrs.begin()
        while it != n.attrs.end():
            attrs[deref(it).first.decode()] = _attribute_value(deref(it).second)
            inc(it)
        nodes.append({"op_type": n.op_type.decode(), "name": n.name.decode(),
                      "domain": n.domain.decode(),
                      "inputs": [s.decode() for s in n.inputs],
                      "outputs": [s.decode() for s in n.outputs], "attrs": attrs})
    return nodes


def graph_initializers(Graph graph):
    """{name: copy of the initializer as a numpy array}."""
    out = {}
    cdef map[string, Tensor].iterator it = deref(graph.ptr).initializers.begin()
    while it != deref(graph.ptr).initializers.end():
        out[deref(it).first.decode()] = to_numpy(deref(it).second).copy()
        inc(it)
    return out
