"""The ASGI application (starlette): TF Serving's REST API, KServe v2, health and /metrics."""
import contextlib
import logging
import time

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect
from starlette.responses import Response
from starlette.routing import Route

import engine
from engine.serving import _protocol as P
from engine.serving._batching import Batcher, Unbatched
from engine.serving._metrics import Metrics

log = logging.getLogger("engine.serving")

JSON = "application/json"


def _json(obj, status=200, headers=None):
    return Response(P.dumps(obj), status_code=status, media_type=JSON, headers=headers)


def _error(status, message, headers=None):
    return _json({"error": message}, status, headers)


class _Service:
    """The state behind the routes: model sources, the batcher, the metrics, the limits."""

    def __init__(self, sources, runner, metrics, max_body_bytes):
        self.sources = sources
        self.runner = runner
        self.metrics = metrics
        self.max_body_bytes = int(max_body_bytes)

    # --- helpers -------------------------------------------------------------------------
    def servable(self, name, version=None, status=404):
        """The served version of `name`; RequestError(status) when the name or version is not
        served (TF Serving answers 404 there, Triton's v2 400: each API keeps its own)."""
        source = self.sources.get(name)
        if source is None or source.current is None:
            raise P.RequestError(status, f"model {name!r} not found; this server serves {sorted(self.sources)}")
        current = source.current
        if version is not None and str(version) != str(current.version):
            raise P.RequestError(status, f"version {version} of model {name!r} is not served; "
                                         f"the served version is {current.version}")
        return current

    async def body(self, request):
        """The request body, refused with 413 past the size limit without reading the rest."""
        limit = self.max_body_bytes
        declared = request.headers.get("content-length")
        if declared is not None:
            try:
                size = int(declared)
            except ValueError:
                raise P.RequestError(400, f"Content-Length {declared!r} is not a number") from None
            if size > limit:
                raise P.RequestError(413, f"the request body has {size} bytes, more than the server's "
                                          f"limit of {limit} bytes (--max-body-mb)")
        chunks, size = [], 0
        try:
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise P.RequestError(413, f"the request body is larger than the server's limit of "
                                              f"{limit} bytes (--max-body-mb)")
                chunks.append(chunk)
        except ClientDisconnect:
            raise P.RequestError(400, "the client disconnected before sending the whole body") from None
        return b"".join(chunks)

    async def run(self, servable, arrays):
        try:
            return await self.runner.predict(servable, arrays)
        except (ValueError, TypeError) as e:
            raise P.RequestError(400, f"the model rejected the inputs: {e}") from None
        except MemoryError as e:
            raise P.RequestError(503, f"out of memory running the model: {e}") from None

    async def answer(self, name, api, handler):
        """Runs an inference handler with the metrics and the error replies around it."""
        start = time.perf_counter()
        self.metrics.request_started()
        status = 500
        try:
            response = await handler()
            status = response.status_code
            return response
        except P.RequestError as e:
            status = e.status
            # A body refused unread leaves the connection unusable: close it after replying.
            return _error(e.status, e.message, {"Connection": "close"} if e.status == 413 else None)
        except Exception as e:  # noqa: BLE001 - a request must never take the server down
            log.exception("internal error answering a request for model %r", name)
            return _error(500, f"internal error: {type(e).__name__}: {e}")
        finally:
            label = name if name in self.sources else ""
            self.metrics.request_done(label, api, status, time.perf_counter() - start)

    # --- TF Serving REST ----------------------------------------------------------------
    async def tfs(self, request):
        path = request.path_params["path"]
        head, _, verb = path.partition(":")
        parts = head.split("/")
        name = parts[0]
        version = None
        rest = parts[1:]
        if len(rest) >= 2 and rest[0] == "versions":
            version, rest = rest[1], rest[2:]
            if not version.isdigit():
                return _error(400, f"version {version!r} is not a number")
        elif len(rest) >= 1 and rest[0] == "labels":
            return _error(404, "version labels are not supported; ask for /versions/N or the latest version")
        if not name:
            return _error(404, "no model name in the path: /v1/models/NAME")
        if request.method == "GET":
            if verb:
                return _error(405, f"GET does not take a verb (:{verb}); POST /v1/models/{name}:predict")
            try:
                servable = self.servable(name, version)
            except P.RequestError as e:
                return _error(e.status, e.message)
            if rest == []:
                return _json(P.tfs_status(servable))
            if rest == ["metadata"]:
                return _json(P.tfs_metadata(name, servable))
            return _error(404, f"no such resource {'/'.join(rest)!r}; GET /v1/models/{name} or "
                               f"/v1/models/{name}/metadata")
        if rest or verb != "predict":
            if verb in ("classify", "regress"):
                return _error(400, f":{verb} is not supported: the server answers :predict")
            return _error(404, f"no such endpoint; POST /v1/models/{name}[/versions/N]:predict")

        async def predict():
            servable = self.servable(name, version)
            body = await self.body(request)
            arrays, rows = P.decode_tfs_predict(body, servable)
            outputs = await self.run(servable, arrays)
            return Response(P.encode_tfs_predict(outputs, servable, rows), media_type=JSON)

        return await self.answer(name, "tfserving", predict)

    # --- KServe v2 ----------------------------------------------------------------------
    async def v2_server(self, request):
        return _json({"name": "engine", "version": engine.__version__, "extensions": ["binary_tensor_data"]})

    async def v2_live(self, request):
        return _json({"live": True})

    async def v2_ready(self, request):
        ready = all(s.current is not None for s in self.sources.values())
        return _json({"ready": ready}, 200 if ready else 503)

    async def v2_model(self, request):
        name, version = request.path_params["name"], request.path_params.get("version")
        try:
            servable = self.servable(name, version, status=400)
        except P.RequestError as e:
            return _error(e.status, e.message)
        return _json(P.v2_metadata(name, servable))

    async def v2_model_ready(self, request):
        name, version = request.path_params["name"], request.path_params.get("version")
        try:
            self.servable(name, version, status=400)
        except P.RequestError as e:
            return _error(e.status, e.message)
        return _json({"name": name, "ready": True})

    async def v2_infer(self, request):
        name, version = request.path_params["name"], request.path_params.get("version")

        async def infer():
            servable = self.servable(name, version, status=400)
            body = await self.body(request)
            header_length = request.headers.get("inference-header-content-length")
            arrays, wanted, request_id = P.decode_v2_infer(body, servable, header_length)
            outputs = await self.run(servable, arrays)
            payload, json_length = P.encode_v2_infer(outputs, servable, name, wanted, request_id)
            if json_length is None:
                return Response(payload, media_type=JSON)
            return Response(payload, media_type="application/octet-stream",
                            headers={"Inference-Header-Content-Length": str(json_length)})

        return await self.answer(name, "kserve_v2", infer)

    async def metrics_text(self, request):
        return Response(self.metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")


def create_app(sources, max_batch=64, batch_timeout_ms=2.0, batching=True, workers=1,
               max_body_bytes=64 << 20, metrics=None, on_startup=None):
    """The ASGI app serving `sources` ({name: ModelSource}, each loaded already).

    batching=True merges concurrent requests (up to max_batch rows or batch_timeout_ms);
    batching=False runs each request on its own, `workers` at once."""
    metrics = metrics or Metrics(max_batch)

    def on_batch(servable, rows, seconds, requests):
        metrics.batch(getattr(servable, "model_name", ""), rows, seconds, requests)

    runner = (Batcher(max_batch, batch_timeout_ms / 1000.0, on_batch) if batching
              else Unbatched(workers, on_batch))
    service = _Service(sources, runner, metrics, max_body_bytes)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        await runner.start()
        for source in sources.values():
            source.start()
        if on_startup is not None:
            on_startup()
        try:
            yield
        finally:
            # The server has already waited for the requests in flight (graceful shutdown).
            for source in sources.values():
                source.stop()
            await runner.stop()

    async def not_found(request, exc):
        message = exc.detail if exc.status_code != 404 else (
            f"no route {request.method} {request.url.path}; the server answers /v1/models/NAME[:predict], "
            "/v2/models/NAME[/infer], /v2/health/ready and /metrics")
        return _error(exc.status_code, message)

    routes = [
        Route("/v1/models/{path:path}", service.tfs, methods=["GET", "POST"]),
        Route("/v2", service.v2_server, methods=["GET"]),
        Route("/v2/health/live", service.v2_live, methods=["GET"]),
        Route("/v2/health/ready", service.v2_ready, methods=["GET"]),
        Route("/v2/models/{name}", service.v2_model, methods=["GET"]),
        Route("/v2/models/{name}/versions/{version}", service.v2_model, methods=["GET"]),
        Route("/v2/models/{name}/ready", service.v2_model_ready, methods=["GET"]),
        Route("/v2/models/{name}/versions/{version}/ready", service.v2_model_ready, methods=["GET"]),
        Route("/v2/models/{name}/infer", service.v2_infer, methods=["POST"]),
        Route("/v2/models/{name}/versions/{version}/infer", service.v2_infer, methods=["POST"]),
        Route("/metrics", service.metrics_text, methods=["GET"]),
    ]
    app = Starlette(routes=routes, lifespan=lifespan, exception_handlers={HTTPException: not_found})
    app.state.service = service
    return app
