"""`python -m engine serve`: real servers in subprocesses on loopback ports, a real HTTP client.

Each server runs `python -m engine serve ... --port 0` with this process's environment and
announces its port on stdout; the tests talk to it with httpx and compare the answers with
model.predict computed here. Every server is stopped (SIGTERM, then SIGKILL after a grace
period) when its fixture ends, whatever happened.
"""
import concurrent.futures
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

httpx = pytest.importorskip("httpx")
pytest.importorskip("starlette")
pytest.importorskip("uvicorn")

import engine  # noqa: E402
from engine import layers as L  # noqa: E402

STARTUP_TIMEOUT = 60.0
HTTP_TIMEOUT = 30.0


# --- servers ----------------------------------------------------------------------------------
def _env():
    env = dict(os.environ)
    # The server must import this very engine (a dev build on PYTHONPATH or an installed one).
    root = os.path.dirname(os.path.dirname(os.path.abspath(engine.__file__)))
    env["PYTHONPATH"] = os.pathsep.join([root] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    env.setdefault("OMP_NUM_THREADS", "1")
    return env


class Server:
    def __init__(self, tmp, model, *args):
        self.out = open(os.path.join(tmp, f"server-{os.getpid()}-{id(self)}.out"), "w+")
        self.err = open(os.path.join(tmp, f"server-{os.getpid()}-{id(self)}.err"), "w+")
        cmd = [sys.executable, "-m", "engine", "serve", str(model), "--port", "0", "--threads", "1",
               "--log-level", "warning", *args]
        self.proc = subprocess.Popen(cmd, stdout=self.out, stderr=self.err, env=_env(), cwd=tmp)
        try:
            self.url = self._wait_for_port()
            self.client = httpx.Client(base_url=self.url, timeout=HTTP_TIMEOUT)
            deadline = time.monotonic() + STARTUP_TIMEOUT
            while True:
                try:
                    if self.client.get("/v2/health/ready").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the server did not become ready:\n{self.logs()}")
                time.sleep(0.05)
        except BaseException:
            self.close()  # never leave a server behind
            raise

    def _wait_for_port(self):
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            self.out.seek(0)
            match = re.search(r"at (http://\S+:\d+)", self.out.read())
            if match:
                return match.group(1)
            if self.proc.poll() is not None:
                raise RuntimeError(f"the server exited with {self.proc.returncode}:\n{self.logs()}")
            time.sleep(0.05)
        raise RuntimeError(f"the server did not announce its port:\n{self.logs()}")

    def logs(self):
        self.out.seek(0)
        self.err.seek(0)
        return self.out.read() + self.err.read()

    def stop(self, timeout=20.0):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        if hasattr(self, "client"):
            self.client.close()
        return self.proc.returncode

    def close(self):
        self.stop()
        self.out.close()
        self.err.close()

    def predict(self, path, doc):
        r = self.client.post(path, json=doc)
        assert r.status_code == 200, r.text
        return r.json()


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """The models the servers load, saved as checkpoints and ONNX files, and loaded back here
    the way the server loads them (predictions are compared with those)."""
    tmp = tmp_path_factory.mktemp("serve")
    engine.set_seed(11)
    mlp = engine.Sequential([engine.Input((13,)), L.Dense(33, activation="relu"),
                             L.Dense(7, activation="softmax")])
    mlp.save(tmp / "mlp.engine")
    engine.set_seed(12)
    cnn = engine.Sequential([engine.Input((1, 8, 8)), L.Conv2D(8, 3, padding="same", activation="relu"),
                             L.MaxPool2D(2), L.Flatten(), L.Dense(5, activation="softmax")])
    cnn.export_onnx(tmp / "cnn.onnx")
    # Two inputs and two outputs (named inputs and outputs in both APIs).
    a = engine.Input((5,), name="a")
    b = engine.Input((3,), name="b")
    h = L.Dense(9, activation="tanh", name="hidden")(L.Concatenate()([a, b]))
    two = engine.Model([a, b], [L.Dense(4, name="scores")(h), L.Dense(2, activation="softmax", name="probs")(h)])
    two.save(tmp / "two.engine")
    # Two versions of one model (same signature, other weights), one ONNX file, one checkpoint.
    versions = []
    for seed in (21, 22):
        engine.set_seed(seed)
        versions.append(engine.Sequential([engine.Input((6,)), L.Dense(4, activation="softmax")]))
    versions[0].export_onnx(tmp / "v1.onnx")
    versions[1].save(tmp / "v2.engine")
    return {
        "tmp": tmp,
        "mlp": engine.load_model(tmp / "mlp.engine"),
        "cnn": engine.onnx.load(tmp / "cnn.onnx"),
        "two": engine.load_model(tmp / "two.engine"),
        "v1": engine.onnx.load(tmp / "v1.onnx"),
        "v2": engine.load_model(tmp / "v2.engine"),
    }


@pytest.fixture(scope="module")
def mlp_server(models):
    server = Server(models["tmp"], models["tmp"] / "mlp.engine", "--max-body-mb", "0.05")
    yield server
    server.close()


@pytest.fixture(scope="module")
def cnn_server(models):
    server = Server(models["tmp"], models["tmp"] / "cnn.onnx", "--name", "digits")
    yield server
    server.close()


@pytest.fixture(scope="module")
def two_server(models):
    server = Server(models["tmp"], models["tmp"] / "two.engine")
    yield server
    server.close()


def _metric(text, name, **labels):
    """The value of one sample of the Prometheus text (0 when absent)."""
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        head, _, value = line.rpartition(" ")
        metric, _, rest = head.partition("{")
        if metric != name:
            continue
        found = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', rest))
        if all(found.get(k) == str(v) for k, v in labels.items()):
            return float(value)
    return 0.0


# --- TF Serving REST --------------------------------------------------------------------------
def test_tf_serving_predict_equals_model_predict(mlp_server, models, rng):
    model = models["mlp"]
    for n in (1, 3, 17):
        x = rng.standard_normal((n, 13)).astype(np.float32)
        want = model.predict(x)
        # One request at a time runs alone: the same call as model.predict, and float32 values
        # survive the JSON round trip exactly.
        rows = mlp_server.predict("/v1/models/mlp:predict", {"instances": x.tolist()})["predictions"]
        np.testing.assert_array_equal(np.array(rows, np.float32), want)
        columns = mlp_server.predict("/v1/models/mlp:predict", {"inputs": x.tolist()})["outputs"]
        np.testing.assert_array_equal(np.array(columns, np.float32), want)
    named = mlp_server.predict("/v1/models/mlp/versions/1:predict",
                               {"signature_name": "serving_default", "inputs": {"input_layer": x.tolist()}})
    np.testing.assert_array_equal(np.array(named["outputs"], np.float32), want)
    # NaN and Infinity are numbers to TF Serving's JSON (not to strict JSON parsers).
    x = x.copy()
    x[0, 3], x[1, 5] = np.nan, np.inf
    body = json.dumps({"instances": x[:2].tolist()}).encode()
    assert b"NaN" in body and b"Infinity" in body
    r = mlp_server.client.post("/v1/models/mlp:predict", content=body)
    assert r.status_code == 200, r.text
    np.testing.assert_array_equal(np.array(r.json()["predictions"], np.float32), model.predict(x[:2]))


def test_tf_serving_status_and_metadata(mlp_server):
    status = mlp_server.client.get("/v1/models/mlp").json()
    assert status["model_version_status"][0]["version"] == "1"
    assert status["model_version_status"][0]["state"] == "AVAILABLE"
    meta = mlp_server.client.get("/v1/models/mlp/metadata").json()
    signature = meta["metadata"]["signature_def"]["signature_def"]["serving_default"]
    (inp,) = signature["inputs"].values()
    assert inp["dtype"] == "DT_FLOAT"
    assert [d["size"] for d in inp["tensor_shape"]["dim"]] == ["-1", "13"]
    (out,) = signature["outputs"].values()
    assert [d["size"] for d in out["tensor_shape"]["dim"]] == ["-1", "7"]


def test_several_inputs_and_outputs(two_server, models, rng):
    model = models["two"]
    a = rng.standard_normal((4, 5)).astype(np.float32)
    b = rng.standard_normal((4, 3)).astype(np.float32)
    scores, probs = model.predict([a, b])
    instances = [{"a": ra.tolist(), "b": rb.tolist()} for ra, rb in zip(a, b)]
    rows = two_server.predict("/v1/models/two:predict", {"instances": instances})["predictions"]
    assert len(rows) == 4 and set(rows[0]) == {"scores", "probs"}
    np.testing.assert_array_equal(np.array([r["scores"] for r in rows], np.float32), scores)
    np.testing.assert_array_equal(np.array([r["probs"] for r in rows], np.float32), probs)
    cols = two_server.predict("/v1/models/two:predict", {"inputs": {"b": b.tolist(), "a": a.tolist()}})["outputs"]
    np.testing.assert_array_equal(np.array(cols["probs"], np.float32), probs)
    v2 = two_server.predict("/v2/models/two/infer", {
        "inputs": [{"name": "b", "shape": [4, 3], "datatype": "FP32", "data": b.ravel().tolist()},
                   {"name": "a", "shape": [4, 5], "datatype": "FP32", "data": a.tolist()}],
        "outputs": [{"name": "probs"}]})
    assert [o["name"] for o in v2["outputs"]] == ["probs"]
    np.testing.assert_array_equal(np.array(v2["outputs"][0]["data"], np.float32).reshape(4, 2), probs)


# --- KServe v2 --------------------------------------------------------------------------------
def test_kserve_v2_json(cnn_server, models, rng):
    import onnxruntime as ort

    x = rng.standard_normal((6, 1, 8, 8)).astype(np.float32)
    want = models["cnn"].predict(x)
    doc = cnn_server.predict("/v2/models/digits/infer", {
        "id": "r1", "inputs": [{"name": models["cnn"].inputs[0].layer_name, "shape": [6, 1, 8, 8],
                                "datatype": "FP32", "data": x.ravel().tolist()}]})
    assert doc["model_name"] == "digits" and doc["model_version"] == "1" and doc["id"] == "r1"
    (out,) = doc["outputs"]
    assert out["datatype"] == "FP32" and out["shape"] == [6, 5]
    got = np.array(out["data"], np.float32).reshape(6, 5)
    np.testing.assert_array_equal(got, want)
    session = ort.InferenceSession(str(models["tmp"] / "cnn.onnx"), providers=["CPUExecutionProvider"])
    theirs = session.run(None, {session.get_inputs()[0].name: x})[0]
    np.testing.assert_allclose(got, theirs, rtol=1e-4, atol=1e-6)
    meta = cnn_server.client.get("/v2/models/digits").json()
    assert meta["inputs"][0]["shape"] == [-1, 1, 8, 8] and meta["inputs"][0]["datatype"] == "FP32"
    assert meta["outputs"][0]["shape"] == [-1, 5]
    assert cnn_server.client.get("/v2/models/digits/ready").json()["ready"] is True
    assert cnn_server.client.get("/v2/health/live").json()["live"] is True


def test_kserve_v2_binary_tensors(cnn_server, models, rng):
    x = rng.standard_normal((3, 1, 8, 8)).astype(np.float32)
    want = models["cnn"].predict(x)
    header = json.dumps({"inputs": [{"name": models["cnn"].inputs[0].layer_name, "shape": [3, 1, 8, 8],
                                     "datatype": "FP32", "parameters": {"binary_data_size": x.nbytes}}],
                         "outputs": [{"name": models["cnn"].outputs[0].layer_name,
                                      "parameters": {"binary_data": True}}]}).encode()
    r = cnn_server.client.post("/v2/models/digits/infer", content=header + x.tobytes(),
                               headers={"Inference-Header-Content-Length": str(len(header)),
                                        "Content-Type": "application/octet-stream"})
    assert r.status_code == 200, r.text
    n = int(r.headers["Inference-Header-Content-Length"])
    doc = json.loads(r.content[:n])
    (out,) = doc["outputs"]
    assert out["parameters"]["binary_data_size"] == want.nbytes and out["shape"] == [3, 5]
    got = np.frombuffer(r.content[n:], dtype="<f4").reshape(3, 5)
    np.testing.assert_array_equal(got, want)
    # Binary inputs, JSON outputs.
    header = json.dumps({"inputs": [{"name": models["cnn"].inputs[0].layer_name, "shape": [3, 1, 8, 8],
                                     "datatype": "FP32", "parameters": {"binary_data_size": x.nbytes}}]}).encode()
    r = cnn_server.client.post("/v2/models/digits/infer", content=header + x.tobytes(),
                               headers={"Inference-Header-Content-Length": str(len(header))})
    assert r.status_code == 200, r.text
    np.testing.assert_array_equal(np.array(r.json()["outputs"][0]["data"], np.float32).reshape(3, 5), want)


# --- bad requests -----------------------------------------------------------------------------
def test_bad_requests_get_400_naming_the_problem(mlp_server, cnn_server, models, rng):
    c = mlp_server.client
    inp = c.get("/v2/models/mlp").json()["inputs"][0]["name"]
    assert inp == "input_layer"  # a Sequential's input, whatever it was called in this process
    cases = [
        ("/v1/models/mlp:predict", b'{"instances": [[1, 2', 400, "malformed JSON"),
        ("/v1/models/mlp:predict", b"[1, 2]", 400, "JSON object"),
        ("/v1/models/mlp:predict", b"", 400, "empty"),
        ("/v1/models/mlp:predict", b'{"instances": [[1, 2, 3]]}', 400, "expected shape [-1, 13]"),
        ("/v1/models/mlp:predict", json.dumps({"instances": [["a"] * 13]}).encode(), 400, "strings"),
        ("/v1/models/mlp:predict", json.dumps({"instances": [[True] * 13]}).encode(), 400, "booleans"),
        ("/v1/models/mlp:predict", json.dumps({"instances": [[1.0] * 13, [1.0] * 12]}).encode(), 400, "ragged"),
        ("/v1/models/mlp:predict", json.dumps({"instances": [[1e300] * 13]}).encode(), 400, "float32 range"),
        ("/v1/models/mlp:predict", b'{"instances": []}', 400, "empty"),
        ("/v1/models/mlp:predict", b'{"instances": ' + b"[" * 5000 + b"]" * 5000 + b"}", 400, "too deep"),
        ("/v1/models/mlp:predict", b'{"rows": [[1]]}', 400, "neither 'instances'"),
        ("/v1/models/mlp:predict", json.dumps({"inputs": {"nope": [[1.0] * 13]}}).encode(), 400, "unknown input 'nope'"),
        ("/v1/models/mlp:predict", json.dumps({"signature_name": "other", "instances": [[1] * 13]}).encode(),
         400, "signature_name"),
        ("/v1/models/nope:predict", json.dumps({"instances": [[1.0] * 13]}).encode(), 404, "model 'nope' not found"),
        ("/v1/models/mlp/versions/7:predict", json.dumps({"instances": [[1.0] * 13]}).encode(), 404, "version 7"),
        ("/v1/models/mlp:classify", json.dumps({"examples": []}).encode(), 400, ":classify"),
        ("/v2/models/nope/infer", b"{}", 400, "model 'nope' not found"),
        ("/v2/models/mlp/infer", b'{"inputs": 3}', 400, "'inputs'"),
        ("/v2/models/mlp/infer", json.dumps({"inputs": [{"name": inp, "shape": [1, 13], "datatype": "INT64",
                                                          "data": [1] * 13}]}).encode(), 400, "expects FP32"),
        ("/v2/models/mlp/infer", json.dumps({"inputs": [{"name": inp, "shape": [1, 13], "datatype": "FP32",
                                                          "data": [1] * 12}]}).encode(), 400, "holds 12 values"),
        ("/v2/models/mlp/infer", json.dumps({"inputs": [{"name": inp, "shape": [2, 6], "datatype": "FP32",
                                                          "data": [1] * 12}]}).encode(), 400, "expected shape"),
        ("/v2/models/mlp/infer", json.dumps({"inputs": [{"name": inp, "shape": [1, 13], "datatype": "FP32",
                                                          "data": [1] * 13}],
                                             "outputs": [{"name": "nope"}]}).encode(), 400, "unknown output 'nope'"),
    ]
    for path, body, status, words in cases:
        r = c.post(path, content=body)
        assert r.status_code == status, (path, body[:80], r.status_code, r.text)
        assert words in r.json()["error"], (path, body[:80], r.json())
    # Binary parts whose sizes do not add up.
    header = json.dumps({"inputs": [{"name": inp, "shape": [1, 13], "datatype": "FP32",
                                     "parameters": {"binary_data_size": 52}}]}).encode()
    r = c.post("/v2/models/mlp/infer", content=header + b"\0" * 40,
               headers={"Inference-Header-Content-Length": str(len(header))})
    assert r.status_code == 400 and "binary part has 40 bytes" in r.json()["error"], r.text
    r = c.post("/v2/models/mlp/infer", content=header + b"\0" * 52, headers={"Inference-Header-Content-Length": "x"})
    assert r.status_code == 400 and "Inference-Header-Content-Length" in r.json()["error"], r.text
    # Past the body limit (0.05 MiB for this server): 413, and the server goes on.
    big = json.dumps({"instances": [[0.5] * 13] * 2000}).encode()
    r = httpx.post(mlp_server.url + "/v1/models/mlp:predict", content=big, timeout=HTTP_TIMEOUT)
    assert r.status_code == 413 and "limit" in r.json()["error"], r.text
    assert c.get("/nowhere").status_code == 404
    # The servers still answer, correctly.
    x = rng.standard_normal((2, 13)).astype(np.float32)
    got = mlp_server.predict("/v1/models/mlp:predict", {"instances": x.tolist()})["predictions"]
    np.testing.assert_array_equal(np.array(got, np.float32), models["mlp"].predict(x))
    assert cnn_server.client.get("/v2/health/ready").status_code == 200
    metrics = c.get("/metrics").text
    assert _metric(metrics, "engine_serve_request_errors_total", model="mlp", api="tfserving") >= 10


# --- batching, versions, shutdown -------------------------------------------------------------
def _concurrent_predicts(url, path, rows, workers):
    """Posts one request per row from `workers` threads at once; returns the responses."""
    def post(row):
        with httpx.Client(timeout=HTTP_TIMEOUT) as client:
            return client.post(url + path, json={"instances": [row.tolist()]})

    pool = concurrent.futures.ThreadPoolExecutor(workers)
    return pool, [pool.submit(post, row) for row in rows]


def test_concurrent_requests_are_batched(models, rng):
    # A long batch timeout so that requests sent together are merged even on a busy machine.
    server = Server(models["tmp"], models["tmp"] / "mlp.engine", "--batch-timeout-ms", "500", "--max-batch", "16")
    try:
        x = rng.standard_normal((24, 13)).astype(np.float32)
        pool, futures = _concurrent_predicts(server.url, "/v1/models/mlp:predict", x, 24)
        got = np.array([f.result().json()["predictions"][0] for f in futures], np.float32)
        pool.shutdown()
        # Rows computed within a batch may round differently from a 1-row call (the GEMM
        # takes another path for a few rows), never by more than float32 rounding.
        np.testing.assert_allclose(got, models["mlp"].predict(x), rtol=1e-5, atol=1e-6)
        metrics = server.client.get("/metrics").text
        calls = _metric(metrics, "engine_serve_batch_size_count", model="mlp")
        rows = _metric(metrics, "engine_serve_batch_size_sum", model="mlp")
        assert rows == 24 and calls < 24, metrics
        assert _metric(metrics, "engine_serve_batch_size_bucket", model="mlp", le="16") == calls
        assert _metric(metrics, "engine_serve_requests_total", model="mlp", api="tfserving", code="200") == 24
    finally:
        server.close()


def test_version_folder_picks_up_new_versions(models, rng):
    tmp = models["tmp"]
    base = tmp / "versions"
    (base / "1").mkdir(parents=True)
    shutil.copy(tmp / "v1.onnx", base / "1" / "model.onnx")
    (base / "notes").mkdir()  # not a number: ignored
    server = Server(tmp, base, "--poll-seconds", "0.1", "--name", "clf")
    try:
        x = rng.standard_normal((5, 6)).astype(np.float32)

        def predict():
            return np.array(server.predict("/v1/models/clf:predict", {"instances": x.tolist()})["predictions"],
                            np.float32)

        def wait_for_version(v):
            deadline = time.monotonic() + 30
            while server.client.get("/v1/models/clf").json()["model_version_status"][0]["version"] != str(v):
                assert time.monotonic() < deadline, server.logs()
                time.sleep(0.05)

        np.testing.assert_array_equal(predict(), models["v1"].predict(x))
        # A broken version 3 is logged and skipped; version 2 is written elsewhere and renamed
        # into place, as a deployment would.
        (base / "3").mkdir()
        (base / "3" / "model.onnx").write_bytes(b"not an onnx file")
        staging = tmp / "staging-2"
        staging.mkdir()
        shutil.copy(tmp / "v2.engine", staging / "model.engine")
        os.rename(staging, base / "2")
        wait_for_version(2)
        np.testing.assert_array_equal(predict(), models["v2"].predict(x))
        assert server.client.post("/v1/models/clf/versions/1:predict", json={"instances": x.tolist()}).status_code == 404
        meta = server.client.get("/v2/models/clf").json()
        assert meta["versions"] == ["2"]
        # A Sequential checkpoint's input keeps its served name, whatever was loaded before it.
        assert meta["inputs"][0]["name"] == "input_layer"
        assert "version 3" in server.logs()
        metrics = server.client.get("/metrics").text
        assert _metric(metrics, "engine_serve_model_version", model="clf") == 2
        assert _metric(metrics, "engine_serve_model_loads_total", model="clf", result="error") >= 1
        # Version 3 fixed: picked up once its files change.
        shutil.copy(tmp / "v1.onnx", base / "3" / "model.onnx")
        wait_for_version(3)
        np.testing.assert_array_equal(predict(), models["v1"].predict(x))
    finally:
        server.close()


def test_shutdown_finishes_requests_in_flight(models, rng):
    # Requests wait up to 2 s for a batch: SIGTERM arrives while they are queued.
    server = Server(models["tmp"], models["tmp"] / "mlp.engine", "--batch-timeout-ms", "2000")
    try:
        x = rng.standard_normal((6, 13)).astype(np.float32)
        pool, futures = _concurrent_predicts(server.url, "/v1/models/mlp:predict", x, 6)
        deadline = time.monotonic() + 30
        while _metric(server.client.get("/metrics").text, "engine_serve_requests_in_flight") < 6:
            assert time.monotonic() < deadline, server.logs()
            time.sleep(0.02)
        assert not any(f.done() for f in futures)
        server.proc.send_signal(signal.SIGTERM)
        responses = [f.result() for f in futures]
        pool.shutdown()
        assert [r.status_code for r in responses] == [200] * 6, [r.text for r in responses]
        got = np.array([r.json()["predictions"][0] for r in responses], np.float32)
        np.testing.assert_allclose(got, models["mlp"].predict(x), rtol=1e-5, atol=1e-6)
        assert server.proc.wait(30) == 0, server.logs()
        with pytest.raises(httpx.TransportError):
            httpx.get(server.url + "/v2/health/ready", timeout=5)
    finally:
        server.close()


def test_command_line_errors(models):
    run = [sys.executable, "-m", "engine", "serve"]
    r = subprocess.run(run + [str(models["tmp"] / "missing.onnx"), "--port", "0"], env=_env(),
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 1 and "missing.onnx" in r.stderr, r.stderr
    bad = models["tmp"] / "bad.onnx"
    bad.write_bytes(b"\x08\x07garbage")
    r = subprocess.run(run + [str(bad), "--port", "0"], env=_env(), capture_output=True, text=True, timeout=120)
    assert r.returncode == 1 and "bad.onnx" in r.stderr and "Traceback" not in r.stderr, r.stderr
    r = subprocess.run(run + [str(models["tmp"] / "mlp.engine"), "--max-batch", "0"], env=_env(),
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "--max-batch" in r.stderr, r.stderr
