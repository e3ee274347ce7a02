"""Where a served model comes from: one model file, or a folder of numbered versions.

A folder is laid out as TF Serving lays out a model's base path: one subfolder per version,
named by its number (`1/`, `2/`, ...), each holding one model file (an ONNX file, with its
external data next to it, or an engine checkpoint). The highest version that loads is
served. A thread polls the folder; a new, higher version is loaded and warmed up while the
old one keeps answering, then swapped in (requests already queued finish on the version
they were checked against). A version that fails to load is logged and tried again once its
files change, so a folder still being copied is picked up when it is complete; writing the
folder elsewhere and renaming it into place avoids the retries.
"""
import logging
import os
import threading

from engine.serving import _servable

log = logging.getLogger("engine.serving")


def model_file(folder):
    """The model file of a version folder: its one .onnx file, else its one checkpoint."""
    try:
        names = sorted(os.listdir(folder))
    except OSError as e:
        raise OSError(f"cannot list version folder {folder!r}: {e.strerror or e}") from None
    # Hidden names are temporary files (the engine's atomic saves write .engine-save-*).
    files = [n for n in names if not n.startswith(".") and os.path.isfile(os.path.join(folder, n))]
    onnx = [n for n in files if n.lower().endswith(".onnx")]
    if len(onnx) == 1:
        return os.path.join(folder, onnx[0])
    if len(onnx) > 1:
        raise ValueError(f"version folder {folder!r} holds several ONNX files {onnx}: a version holds one model")
    checkpoints = [n for n in files if _servable.is_checkpoint(os.path.join(folder, n))]
    if len(checkpoints) == 1:
        return os.path.join(folder, checkpoints[0])
    if len(checkpoints) > 1:
        raise ValueError(f"version folder {folder!r} holds several engine checkpoints {checkpoints}: "
                         "a version holds one model")
    raise ValueError(f"version folder {folder!r} holds no model file (an .onnx file or an engine "
                     f"checkpoint){'; found ' + str(files) if files else ''}")


def _signature(folder):
    """What changes when a version folder's files change (names, sizes, modification times)."""
    try:
        entries = []
        for n in sorted(os.listdir(folder)):
            st = os.stat(os.path.join(folder, n))
            entries.append((n, st.st_size, st.st_mtime_ns))
        return tuple(entries)
    except OSError:
        return None


class ModelSource:
    """The served version of one model name, kept current by an optional polling thread."""

    def __init__(self, path, name, poll_seconds=1.0, loader=None, on_load=None):
        self.path = os.fspath(path)
        self.name = name
        self.poll_seconds = float(poll_seconds)
        self._loader = loader or _servable.load
        self._on_load = on_load           # called with (servable, ok) after each load attempt
        self.is_folder = os.path.isdir(self.path)
        self.current = None
        self._failed = {}                 # version -> folder signature of its failed load
        self._stop = threading.Event()
        self._thread = None

    # --- versions -----------------------------------------------------------------------
    def versions(self):
        """Numbered version folders, highest first (other names are ignored, as TF Serving does)."""
        try:
            names = os.listdir(self.path)
        except OSError:
            return []
        found = []
        for n in names:
            if n.isdigit() and not n.startswith(".") and os.path.isdir(os.path.join(self.path, n)):
                found.append(int(n))
        return sorted(found, reverse=True)

    def _load_version(self, version):
        folder = os.path.join(self.path, str(version))
        servable = self._loader(model_file(folder), version=version)
        servable.model_name = self.name
        return servable

    def load(self):
        """Loads the version to serve at start; raises with every failure's message if none loads."""
        if not os.path.exists(self.path):
            raise FileNotFoundError(f"no model at {self.path!r}")
        if not self.is_folder:
            self.current = self._loader(self.path, version=1)
            self.current.model_name = self.name
            self._notify(self.current, True)
            return self.current
        versions = self.versions()
        if not versions:
            raise ValueError(f"model folder {self.path!r} has no numbered version folders (1/, 2/, ...)")
        errors = []
        for v in versions:
            try:
                self.current = self._load_version(v)
            except Exception as e:  # noqa: BLE001 - a broken version must not stop older ones
                errors.append(f"version {v}: {e}")
                self._failed[v] = _signature(os.path.join(self.path, str(v)))
                self._notify(None, False)
                continue
            for message in errors:
                log.warning("model %r: %s (serving version %d)", self.name, message, v)
            self._notify(self.current, True)
            return self.current
        raise ValueError(f"no version of model {self.name!r} in {self.path!r} loads: " + "; ".join(errors))

    def _notify(self, servable, ok):
        if self._on_load is not None:
            self._on_load(self.name, servable, ok)

    def poll(self):
        """One look at the folder: loads and swaps in a version higher than the served one, or
        falls back to the highest remaining one when the served version's folder is gone."""
        if not self.is_folder:
            return
        versions = self.versions()
        current = self.current.version if self.current is not None else 0
        gone = current not in versions
        for v in versions:
            if v < current and not gone:
                break
            if v == current:
                return
            folder = os.path.join(self.path, str(v))
            signature = _signature(folder)
            if v in self._failed and self._failed[v] == signature:
                continue  # failed before and unchanged since
            try:
                servable = self._load_version(v)
            except Exception as e:  # noqa: BLE001 - logged; the served version stays
                self._failed[v] = signature
                log.error("model %r: version %d did not load, still serving version %d: %s",
                          self.name, v, current, e)
                self._notify(None, False)
                continue
            self._failed.pop(v, None)
            self.current = servable  # one reference swap: readers see the old or the new
            log.warning("model %r: serving version %d (was %d)", self.name, v, current)
            self._notify(servable, True)
            return

    # --- the polling thread ---------------------------------------------------------------
    def start(self):
        if self.is_folder and self.poll_seconds > 0 and self._thread is None:
            self._thread = threading.Thread(target=self._watch, name=f"engine-serve-watch-{self.name}",
                                            daemon=True)
            self._thread.start()

    def _watch(self):
        while not self._stop.wait(self.poll_seconds):
            try:
                self.poll()
            except Exception:  # noqa: BLE001 - the watcher must outlive any one bad look
                log.exception("model %r: polling %r failed", self.name, self.path)

    def stop(self, timeout=30.0):
        self._stop.set()
        if self._thread is not None:
            # A load in progress finishes first (the core call cannot be interrupted).
            self._thread.join(timeout)
            self._thread = None
