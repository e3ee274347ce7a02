"""Request decoding and response encoding: TF Serving's REST API and KServe's v2 protocol.

Pure functions of bytes, a Servable's signature and arrays; every problem with a request
raises RequestError with the HTTP status and a message that names the input, the field or
the value at fault. Arrays handed on are contiguous, of the input's dtype and checked
against its shape, so the model call itself should not fail on a well-formed request.

TF Serving (https://www.tensorflow.org/tfx/serving/api_rest):
  {"instances": [row, ...]}  rows are values, or {input: value} objects for named inputs
  {"inputs": value | {input: value}}  columnar: each input's whole batch
  -> {"predictions": [row, ...]} (rows; {output: value} objects for several outputs)
  -> {"outputs": value | {output: value}}
KServe v2 (https://kserve.github.io/website/latest/modelserving/data_plane/v2_protocol/):
  {"inputs": [{"name", "shape", "datatype", "data"}], "outputs": [{"name"}]}
  binary tensors: the JSON header, then raw little-endian data; the header's length is in
  the Inference-Header-Content-Length HTTP header and each binary input says its size in
  parameters.binary_data_size (Triton's binary_data extension).
"""
import json
import math

import numpy as np

try:  # ten times faster than the json module on requests full of numbers
    import orjson
except ImportError:  # pragma: no cover - orjson comes with engine[serve]
    orjson = None

V2_DATATYPES = {"float32": "FP32", "int64": "INT64", "float64": "FP64", "int32": "INT32",
                "int16": "INT16", "int8": "INT8", "uint8": "UINT8", "uint16": "UINT16",
                "uint32": "UINT32", "uint64": "UINT64", "bool": "BOOL", "float16": "FP16"}
V2_NUMPY = {v: k for k, v in V2_DATATYPES.items()}
TF_DATATYPES = {"float32": "DT_FLOAT", "int64": "DT_INT64", "float64": "DT_DOUBLE", "int32": "DT_INT32",
                "int16": "DT_INT16", "int8": "DT_INT8", "uint8": "DT_UINT8", "bool": "DT_BOOL",
                "float16": "DT_HALF"}


class RequestError(Exception):
    """A request the server cannot answer; `status` is the HTTP status to reply with."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message


def dumps(obj):
    # float32 values go out as the shortest float64 repr of the exact value, which parses
    # back to the same float32. NaN and Infinity are written as TF Serving writes them.
    return json.dumps(obj, separators=(",", ":")).encode()


def _shape_text(shape):
    return "[" + ", ".join("-1" if d is None else str(d) for d in shape) + "]"


def parse_json(body):
    if not body:
        raise RequestError(400, "the request body is empty; it must be a JSON object")
    doc = None
    if orjson is not None:
        try:
            doc = orjson.loads(body)
        except orjson.JSONDecodeError:
            # NaN and Infinity (which TF Serving accepts), integers past 64 bits, or a real
            # error: the json module parses the first two and words the last one better.
            doc = None
    try:
        if doc is None:
            doc = json.loads(body)
    except UnicodeDecodeError as e:
        raise RequestError(400, f"malformed JSON: the body is not UTF-8 text ({e.reason} at byte {e.start})") from None
    except ValueError as e:
        raise RequestError(400, f"malformed JSON: {e}") from None
    except RecursionError:
        raise RequestError(400, "malformed JSON: lists or objects nested too deeply") from None
    if not isinstance(doc, dict):
        raise RequestError(400, f"the request body must be a JSON object, got a JSON {type(doc).__name__}")
    return doc


# --- arrays ---------------------------------------------------------------------------------
def _from_json_value(value, where):
    """A numpy array of the numbers in nested JSON lists."""
    if isinstance(value, dict):
        if "b64" in value:
            raise RequestError(400, f"{where}: base64 values are for string tensors; the model takes numbers")
        raise RequestError(400, f"{where}: expected numbers in (nested) lists, got a JSON object")
    try:
        a = np.asarray(value)
    except (ValueError, OverflowError, RecursionError) as e:
        raise RequestError(400, f"{where}: the nested lists are ragged (rows of different lengths), "
                                f"mix lists and numbers, or nest too deeply ({e})") from None
    if a.dtype.kind == "O":
        try:
            big = _has_big_int(value)
        except RecursionError:
            big = False
        if big:
            raise RequestError(400, f"{where}: an integer is out of the int64 range")
        raise RequestError(400, f"{where}: expected numbers in nested lists of equal lengths; got mixed "
                                "values (lists next to numbers, null, or objects)")
    return a


def _has_big_int(value):
    if isinstance(value, list):
        return any(_has_big_int(v) for v in value)
    return isinstance(value, int) and not isinstance(value, bool) and not -2**63 <= value < 2**63


def check_array(a, spec, where):
    """`a` as the dtype `spec` takes, checked against its shape; RequestError otherwise."""
    kind = a.dtype.kind
    if kind in "US":
        raise RequestError(400, f"{where}: got strings; the input takes {spec.dtype} numbers")
    if kind == "b":
        raise RequestError(400, f"{where}: got booleans; the input takes {spec.dtype} numbers")
    if kind not in "fiu":
        raise RequestError(400, f"{where}: got values of type {a.dtype}; the input takes {spec.dtype} numbers")
    if a.ndim == 0:
        raise RequestError(400, f"{where}: got a single number; expected a batch of shape {_shape_text(spec.shape)}")
    if a.shape[0] == 0:
        raise RequestError(400, f"{where}: the batch is empty (no rows)")
    if a.ndim != len(spec.shape) or any(d is not None and d != k for d, k in zip(spec.shape[1:], a.shape[1:])) \
            or (spec.shape[0] is not None and spec.shape[0] != a.shape[0]):
        raise RequestError(400, f"{where}: expected shape {_shape_text(spec.shape)} (the batch first), "
                                f"got {list(a.shape)}")
    if spec.dtype == "float32":
        if kind == "f" and a.dtype != np.float32:
            with np.errstate(over="ignore", invalid="ignore"):
                b = a.astype(np.float32)
            if np.isinf(b).any() and not np.isinf(a).any():
                raise RequestError(400, f"{where}: a value is out of the float32 range")
            a = b
        elif kind in "iu":
            a = a.astype(np.float32)
    elif spec.dtype == "int64":
        if kind == "f":
            if not np.isfinite(a).all() or (a != np.round(a)).any():
                raise RequestError(400, f"{where}: got non-integer numbers; the input takes int64")
            if (np.abs(a) >= 2.0**63).any():
                raise RequestError(400, f"{where}: an integer is out of the int64 range")
            a = a.astype(np.int64)
        elif kind == "u" and a.dtype.itemsize == 8 and (a > np.iinfo(np.int64).max).any():
            raise RequestError(400, f"{where}: an integer is out of the int64 range")
        else:
            a = a.astype(np.int64, copy=False)
    else:
        a = a.astype(spec.dtype, copy=False)
    return np.ascontiguousarray(a)


def _same_rows(arrays, servable, where):
    rows = [int(a.shape[0]) for a in arrays]
    if len(set(rows)) > 1:
        named = ", ".join(f"{s.name!r}: {n}" for s, n in zip(servable.inputs, rows))
        raise RequestError(400, f"{where}: the inputs have different numbers of rows ({named})")


def _check_names(given, servable, where):
    names = servable.input_names()
    unknown = [n for n in given if n not in names]
    if unknown:
        raise RequestError(400, f"{where}: unknown input {unknown[0]!r}; the model's inputs are {names}")
    missing = [n for n in names if n not in given]
    if missing:
        raise RequestError(400, f"{where}: missing input {missing[0]!r}; the model's inputs are {names}")


# --- TF Serving -----------------------------------------------------------------------------
def decode_tfs_predict(body, servable):
    """(arrays, row_format) of a TF Serving predict request."""
    doc = parse_json(body)
    signature = doc.get("signature_name", "serving_default")
    if signature not in ("serving_default", "", None):
        raise RequestError(400, f"unknown signature_name {signature!r}; the model has one signature, "
                                "'serving_default'")
    has_instances, has_inputs = "instances" in doc, "inputs" in doc
    if has_instances and has_inputs:
        raise RequestError(400, "the request has both 'instances' and 'inputs'; send one of them")
    if not has_instances and not has_inputs:
        raise RequestError(400, "the request has neither 'instances' (rows) nor 'inputs' (columns)")
    specs = servable.inputs
    if has_instances:
        instances = doc["instances"]
        if not isinstance(instances, list):
            raise RequestError(400, f"'instances' must be a list of rows, got a JSON {type(instances).__name__}")
        if not instances:
            raise RequestError(400, "'instances' is empty (no rows)")
        named = isinstance(instances[0], dict) and not (len(instances[0]) == 1 and "b64" in instances[0])
        if named:
            columns = {s.name: [] for s in specs}
            for k, inst in enumerate(instances):
                if not isinstance(inst, dict):
                    raise RequestError(400, f"instance {k} is not an object like instance 0 ({{input: value}})")
                _check_names(list(inst), servable, f"instance {k}")
                for s in specs:
                    columns[s.name].append(inst[s.name])
            values = [columns[s.name] for s in specs]
        else:
            if len(specs) != 1:
                raise RequestError(400, f"the model has {len(specs)} inputs {servable.input_names()}: each "
                                        "instance must be an object {input: value}")
            values = [instances]
        arrays = [check_array(_from_json_value(v, f"input {s.name!r}"), s, f"input {s.name!r}")
                  for v, s in zip(values, specs)]
        _same_rows(arrays, servable, "instances")
        return arrays, True
    inputs = doc["inputs"]
    if isinstance(inputs, dict) and not (len(inputs) == 1 and "b64" in inputs):
        _check_names(list(inputs), servable, "inputs")
        values = [inputs[s.name] for s in specs]
    else:
        if len(specs) != 1:
            raise RequestError(400, f"the model has {len(specs)} inputs {servable.input_names()}: 'inputs' "
                                    "must be an object {input: value}")
        values = [inputs]
    arrays = [check_array(_from_json_value(v, f"input {s.name!r}"), s, f"input {s.name!r}")
              for v, s in zip(values, specs)]
    _same_rows(arrays, servable, "inputs")
    return arrays, False


def encode_tfs_predict(outputs, servable, row_format):
    names = servable.output_names()
    if row_format:
        if len(outputs) == 1:
            return dumps({"predictions": outputs[0].tolist()})
        lists = [o.tolist() for o in outputs]
        rows = [dict(zip(names, row)) for row in zip(*lists)]
        return dumps({"predictions": rows})
    if len(outputs) == 1:
        return dumps({"outputs": outputs[0].tolist()})
    return dumps({"outputs": {n: o.tolist() for n, o in zip(names, outputs)}})


def tfs_status(servable):
    return {"model_version_status": [{"version": str(servable.version), "state": "AVAILABLE",
                                      "status": {"error_code": "OK", "error_message": ""}}]}


def _tfs_tensor(spec):
    dims = [{"size": str(-1 if d is None else d), "name": ""} for d in spec.shape]
    return {"dtype": TF_DATATYPES.get(spec.dtype, "DT_INVALID"), "tensor_shape": {"dim": dims, "unknown_rank": False},
            "name": spec.name}


def tfs_metadata(name, servable):
    signature = {"inputs": {s.name: _tfs_tensor(s) for s in servable.inputs},
                 "outputs": {s.name: _tfs_tensor(s) for s in servable.outputs},
                 "method_name": "tensorflow/serving/predict"}
    return {"model_spec": {"name": name, "signature_name": "", "version": str(servable.version)},
            "metadata": {"signature_def": {"signature_def": {"serving_default": signature}}}}


# --- KServe v2 ------------------------------------------------------------------------------
def _v2_shape(shape):
    return [-1 if d is None else int(d) for d in shape]


def v2_metadata(name, servable):
    def tensor(s):
        return {"name": s.name, "datatype": V2_DATATYPES.get(s.dtype, s.dtype.upper()), "shape": _v2_shape(s.shape)}
    return {"name": name, "versions": [str(servable.version)], "platform": servable.platform,
            "inputs": [tensor(s) for s in servable.inputs], "outputs": [tensor(s) for s in servable.outputs]}


def _header_length(value, body_size):
    try:
        n = int(value)
    except (TypeError, ValueError):
        raise RequestError(400, f"Inference-Header-Content-Length {value!r} is not a number of bytes") from None
    if not 0 < n <= body_size:
        raise RequestError(400, f"Inference-Header-Content-Length is {n}, but the body has {body_size} bytes")
    return n


def decode_v2_infer(body, servable, header_length=None):
    """(arrays, [(output name, binary)], request id) of a KServe v2 infer request."""
    binary = b""
    if header_length is not None:
        n = _header_length(header_length, len(body))
        binary = memoryview(body)[n:]
        body = body[:n]
    doc = parse_json(body)
    inputs = doc.get("inputs")
    if not isinstance(inputs, list) or not inputs:
        raise RequestError(400, "the request needs 'inputs': a list of {name, shape, datatype, data} objects")
    by_name, offset = {}, 0
    for k, entry in enumerate(inputs):
        if not isinstance(entry, dict):
            raise RequestError(400, f"inputs[{k}] must be an object {{name, shape, datatype, data}}")
        name = entry.get("name")
        if not isinstance(name, str):
            raise RequestError(400, f"inputs[{k}] has no 'name' string")
        if name in by_name:
            raise RequestError(400, f"input {name!r} is given twice")
        where = f"input {name!r}"
        spec = next((s for s in servable.inputs if s.name == name), None)
        if spec is None:
            raise RequestError(400, f"unknown input {name!r}; the model's inputs are {servable.input_names()}")
        shape = entry.get("shape")
        if not isinstance(shape, list) or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0
                                                  for d in shape):
            raise RequestError(400, f"{where}: 'shape' must be a list of non-negative integers, got {shape!r}")
        datatype = entry.get("datatype")
        want = V2_DATATYPES.get(spec.dtype, spec.dtype.upper())
        if datatype != want:
            if datatype == "BYTES":
                raise RequestError(400, f"{where}: datatype BYTES (strings) is not supported; the model expects {want}")
            raise RequestError(400, f"{where}: datatype {datatype!r}, but the model expects {want}")
        count = math.prod(shape)
        params = entry.get("parameters") or {}
        if not isinstance(params, dict):
            raise RequestError(400, f"{where}: 'parameters' must be an object")
        if "binary_data_size" in params:
            size = params["binary_data_size"]
            itemsize = np.dtype(spec.dtype).itemsize
            if not isinstance(size, int) or isinstance(size, bool) or size < 0:
                raise RequestError(400, f"{where}: binary_data_size must be a non-negative integer, got {size!r}")
            if header_length is None:
                raise RequestError(400, f"{where}: binary_data_size is set but the request has no "
                                        "Inference-Header-Content-Length header (no binary part)")
            if size != count * itemsize:
                raise RequestError(400, f"{where}: binary_data_size is {size} bytes, but shape {shape} of "
                                        f"{want} takes {count * itemsize}")
            if offset + size > len(binary):
                raise RequestError(400, f"{where}: the binary part has {len(binary) - offset} bytes left, "
                                        f"the input needs {size}")
            a = np.frombuffer(binary[offset:offset + size], dtype=np.dtype(spec.dtype).newbyteorder("<"))
            a = a.astype(spec.dtype).reshape(shape)  # a native, writable copy
            offset += size
        else:
            if "data" not in entry:
                raise RequestError(400, f"{where}: no 'data' (nor parameters.binary_data_size)")
            a = _from_json_value(entry["data"], where)
            if a.size != count:
                raise RequestError(400, f"{where}: 'data' holds {a.size} values, but shape {shape} needs {count}")
            a = a.reshape(shape)
        by_name[name] = check_array(a, spec, where)
    if offset != len(binary):
        raise RequestError(400, f"the binary part has {len(binary)} bytes, but the inputs' binary_data_size "
                                f"add up to {offset}")
    _check_names(list(by_name), servable, "inputs")
    arrays = [by_name[s.name] for s in servable.inputs]
    _same_rows(arrays, servable, "inputs")

    all_binary = bool((doc.get("parameters") or {}).get("binary_data_output", False)) \
        if isinstance(doc.get("parameters") or {}, dict) else False
    requested = doc.get("outputs")
    names = servable.output_names()
    if requested is None:
        wanted = [(n, all_binary) for n in names]
    else:
        if not isinstance(requested, list):
            raise RequestError(400, "'outputs' must be a list of {name} objects")
        wanted = []
        for k, entry in enumerate(requested):
            if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
                raise RequestError(400, f"outputs[{k}] must be an object with a 'name' string")
            if entry["name"] not in names:
                raise RequestError(400, f"unknown output {entry['name']!r}; the model's outputs are {names}")
            params = entry.get("parameters") or {}
            wanted.append((entry["name"], bool(params.get("binary_data", all_binary))
                           if isinstance(params, dict) else all_binary))
    request_id = doc.get("id")
    return arrays, wanted, request_id


def encode_v2_infer(outputs, servable, name, wanted, request_id):
    """(body, header length or None): JSON, or JSON then raw tensors when any output is binary."""
    by_name = dict(zip(servable.output_names(), outputs))
    entries, blobs = [], []
    for out_name, as_binary in wanted:
        a = np.ascontiguousarray(by_name[out_name])
        datatype = V2_DATATYPES.get(a.dtype.name)
        if datatype is None:
            raise RequestError(500, f"output {out_name!r} has dtype {a.dtype}, which the v2 protocol cannot carry")
        entry = {"name": out_name, "datatype": datatype, "shape": list(a.shape)}
        if as_binary:
            blob = a.astype(a.dtype.newbyteorder("<"), copy=False).tobytes()
            entry["parameters"] = {"binary_data_size": len(blob)}
            blobs.append(blob)
        else:
            entry["data"] = a.reshape(-1).tolist()
        entries.append(entry)
    doc = {"model_name": name, "model_version": str(servable.version), "outputs": entries}
    if request_id is not None:
        doc["id"] = request_id
    header = dumps(doc)
    if not blobs:
        return header, None
    return header + b"".join(blobs), len(header)
