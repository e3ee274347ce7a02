"""Prometheus metrics in the text exposition format (version 0.0.4), kept in-process.

Updated from the event loop and the model-loading thread, so a lock guards the values; the
text is rendered on each scrape of /metrics.
"""
import bisect
import threading

LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0)
BATCH_SECONDS_BUCKETS = (0.0001, 0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0)


def _batch_buckets(max_batch):
    out, b = [], 1
    while b < max_batch:
        out.append(b)
        b *= 2
    out.append(max(max_batch, 1))
    return tuple(sorted(set(out)))


def _escape(value):
    return str(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(names, values, extra=()):
    pairs = list(zip(names, values)) + list(extra)
    if not pairs:
        return ""
    return "{" + ",".join(f'{k}="{_escape(v)}"' for k, v in pairs) + "}"


def _number(x):
    if isinstance(x, float):
        if x == float("inf"):
            return "+Inf"
        return repr(x)
    return str(x)


class _Histogram:
    def __init__(self, buckets):
        self.buckets = tuple(buckets)
        self.counts = [0] * (len(self.buckets) + 1)
        self.sum = 0.0
        self.count = 0

    def observe(self, value):
        self.counts[bisect.bisect_left(self.buckets, value)] += 1
        self.sum += value
        self.count += 1


class Metrics:
    def __init__(self, max_batch=64):
        self._lock = threading.Lock()
        self._batch_buckets = _batch_buckets(max_batch)
        self.requests = {}        # (model, api, code) -> count
        self.latency = {}         # (model, api) -> histogram of seconds
        self.batch_size = {}      # (model,) -> histogram of rows per model call
        self.batch_requests = {}  # (model,) -> histogram of requests per model call
        self.batch_seconds = {}   # (model,) -> histogram of model-call seconds
        self.loads = {}           # (model, result) -> count
        self.version = {}         # (model,) -> served version
        self.in_flight = 0

    def request_started(self):
        with self._lock:
            self.in_flight += 1

    def request_done(self, model, api, code, seconds):
        with self._lock:
            self.in_flight -= 1
            key = (model, api, str(code))
            self.requests[key] = self.requests.get(key, 0) + 1
            h = self.latency.get((model, api))
            if h is None:
                h = self.latency[(model, api)] = _Histogram(LATENCY_BUCKETS)
            h.observe(seconds)

    def batch(self, model, rows, seconds, requests):
        with self._lock:
            for table, buckets, value in ((self.batch_size, self._batch_buckets, rows),
                                          (self.batch_requests, self._batch_buckets, requests),
                                          (self.batch_seconds, BATCH_SECONDS_BUCKETS, seconds)):
                h = table.get((model,))
                if h is None:
                    h = table[(model,)] = _Histogram(buckets)
                h.observe(value)

    def model_loaded(self, model, version, ok):
        with self._lock:
            key = (model, "ok" if ok else "error")
            self.loads[key] = self.loads.get(key, 0) + 1
            if ok:
                self.version[(model,)] = version

    def render(self):
        lines = []

        def counter(name, doc, names, table):
            lines.append(f"# HELP {name} {doc}")
            lines.append(f"# TYPE {name} counter")
            for key, value in sorted(table.items()):
                lines.append(f"{name}{_labels(names, key)} {value}")

        def gauge(name, doc, names, table):
            lines.append(f"# HELP {name} {doc}")
            lines.append(f"# TYPE {name} gauge")
            for key, value in sorted(table.items()):
                lines.append(f"{name}{_labels(names, key)} {_number(value)}")

        def histogram(name, doc, names, table):
            lines.append(f"# HELP {name} {doc}")
            lines.append(f"# TYPE {name} histogram")
            for key, h in sorted(table.items()):
                cumulative = 0
                for bound, count in zip(list(h.buckets) + [float("inf")], h.counts):
                    cumulative += count
                    le = "+Inf" if bound == float("inf") else _number(bound)
                    lines.append(f"{name}_bucket{_labels(names, key, [('le', le)])} {cumulative}")
                lines.append(f"{name}_sum{_labels(names, key)} {_number(float(h.sum))}")
                lines.append(f"{name}_count{_labels(names, key)} {h.count}")

        with self._lock:
            counter("engine_serve_requests_total", "Inference requests answered, by HTTP status code.",
                    ("model", "api", "code"), self.requests)
            errors = {}
            for (model, api, code), n in self.requests.items():
                if not code.startswith("2"):
                    errors[(model, api)] = errors.get((model, api), 0) + n
            counter("engine_serve_request_errors_total", "Inference requests answered with an error status.",
                    ("model", "api"), errors)
            histogram("engine_serve_request_duration_seconds", "Inference request latency, body read to response.",
                      ("model", "api"), self.latency)
            histogram("engine_serve_batch_size", "Rows per model call (after dynamic batching).",
                      ("model",), self.batch_size)
            histogram("engine_serve_batch_requests", "Requests merged into one model call.",
                      ("model",), self.batch_requests)
            histogram("engine_serve_batch_duration_seconds", "Seconds per model call.",
                      ("model",), self.batch_seconds)
            gauge("engine_serve_requests_in_flight", "Inference requests received and not yet answered.",
                  (), {(): self.in_flight})
            counter("engine_serve_model_loads_total", "Model version loads, by result.",
                    ("model", "result"), self.loads)
            gauge("engine_serve_model_version", "The model version being served.", ("model",), self.version)
        return "\n".join(lines) + "\n"
