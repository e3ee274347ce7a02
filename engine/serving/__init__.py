"""Serving over HTTP: `python -m engine serve MODEL`, or engine.serving.serve(MODEL) in Python.

One model (an ONNX file, an engine checkpoint, or a folder of numbered versions) behind
TF Serving's REST API and the KServe v2 inference protocol, with dynamic batching, a
Prometheus /metrics page and graceful shutdown, on starlette + uvicorn
(`pip install "engine[serve]"`). Pieces:

- _servable: a loaded model version, its signature and a predict over whole batches;
- _repository: the model file or version folder, and the thread that picks up new versions;
- _batching: the dynamic batcher (and the unbatched runner it is compared with);
- _protocol: decoding requests and encoding responses of both APIs, with 400s that say why;
- _metrics: the Prometheus text; _app: the starlette routes.
"""
import logging
import os
import signal
import socket
import sys
import threading

from engine.serving._servable import Servable, TensorSpec, from_model, load, load_model  # noqa: F401
from engine.serving._repository import ModelSource  # noqa: F401

__all__ = ["serve", "create_app", "ModelSource", "Servable", "TensorSpec", "from_model", "load", "load_model"]

log = logging.getLogger("engine.serving")


def create_app(*args, **kwargs):
    """See engine.serving._app.create_app (imported here lazily: starlette is optional)."""
    from engine.serving._app import create_app as _create_app

    return _create_app(*args, **kwargs)


def default_name(path):
    """The model's name from its path: a file's name without its extension, a folder's name."""
    base = os.path.basename(os.path.normpath(os.fspath(path)))
    if os.path.isfile(path):
        base = os.path.splitext(base)[0]
    return base or "model"


def _bind(host, port):
    """A listening socket on host:port (port 0: a free port the system picks)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as e:
        sock.close()
        raise OSError(e.errno, f"cannot listen on {host}:{port}: {e.strerror or e}") from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _log_to_stderr(level):
    if not any(getattr(h, "_engine_serve", False) for h in log.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("engine serve: %(levelname)s: %(message)s"))
        handler._engine_serve = True  # one handler however often serve() runs in a process
        log.addHandler(handler)
    log.setLevel(level)
    log.propagate = False


def serve(model, name=None, host="127.0.0.1", port=8501, max_batch=64, batch_timeout_ms=2.0,
          threads=None, poll_seconds=1.0, max_body_mb=64.0, graceful_timeout_s=30.0,
          log_level="info", batching=True, workers=1, loader=None):
    """Serves `model` until SIGTERM or SIGINT, then finishes the requests in flight and
    returns 0. Prints one line to stdout once the model is loaded and the port is open:
    `engine serve: model 'NAME' version V (PLATFORM) at http://HOST:PORT (...)` (with port=0,
    the port the system chose).

    batching=False runs each request on its own, `workers` at once, instead of merging them.
    loader(path, version=...) -> Servable replaces the engine's own loader (the benchmarks put
    onnxruntime behind the same app this way)."""
    import uvicorn

    import engine
    from engine.serving._metrics import Metrics

    _log_to_stderr(log_level.upper())
    if threads is not None:
        engine.set_num_threads(int(threads))
    name = name or default_name(model)
    if "/" in name or ":" in name or not name.strip():
        raise ValueError(f"model name {name!r} cannot be part of the URLs (no '/' or ':'); choose one with --name")
    metrics = Metrics(max_batch)
    source = ModelSource(model, name, poll_seconds=poll_seconds, loader=loader,
                         on_load=lambda n, s, ok: metrics.model_loaded(n, s.version if ok else None, ok))
    source.load()
    sock = _bind(host, port)
    actual_port = sock.getsockname()[1]
    shown_host = f"[{host}]" if ":" in host else host

    def announce():
        current = source.current
        print(f"engine serve: model {name!r} version {current.version} ({current.platform}) at "
              f"http://{shown_host}:{actual_port} (max batch {max_batch}, batch timeout "
              f"{batch_timeout_ms:g} ms, {engine.get_num_threads()} threads)", flush=True)

    app = create_app({name: source}, max_batch=max_batch, batch_timeout_ms=batch_timeout_ms,
                     batching=batching, workers=workers, max_body_bytes=int(max_body_mb * (1 << 20)),
                     metrics=metrics, on_startup=announce)
    config = uvicorn.Config(app, log_level=log_level.lower(), access_log=False, lifespan="on",
                            timeout_graceful_shutdown=graceful_timeout_s, server_header=False)
    server = uvicorn.Server(config)
    # uvicorn re-raises the signal that stopped it once it has shut down gracefully; with the
    # default handlers that would end the process as killed by SIGTERM (or with a
    # KeyboardInterrupt traceback). A finished graceful shutdown is a normal exit.
    previous = {}
    if threading.current_thread() is threading.main_thread():  # signals only go to the main thread
        previous = {sig: signal.signal(sig, lambda *_: None) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        server.run(sockets=[sock])
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        sock.close()
        source.stop()
    return 0 if server.started else 1
