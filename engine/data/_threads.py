"""Background threads for input pipelines: a bounded prefetch queue and an ordered
parallel map.

Both keep these promises, which the trainer relies on:
- bounded memory: at most `size` finished elements wait in a queue (or `2 * workers`
  calls are in flight), so a fast producer never runs ahead of the consumer;
- an exception raised in a worker is re-raised in the consuming thread as the same
  exception object, whose traceback still holds the worker's frames;
- `close()` (also run when a generator using them is closed or garbage collected) stops
  the workers and joins them, so stopping iteration early leaves no thread behind.

The C++ core releases the GIL during a training step or a forward pass, so a worker
running numpy code or reading files overlaps with the step.
"""
import collections
import contextlib
import queue
import threading
from concurrent.futures import ThreadPoolExecutor

_ITEM, _END, _ERROR = 0, 1, 2

# How long a blocked put or get waits before it checks whether it should give up. Only
# shutdown latency depends on it; a normal hand-over wakes the other side immediately.
_POLL_S = 0.05


def close_iterator(it):
    """Closes a generator (running its `finally` blocks) or anything with close()."""
    close = getattr(it, "close", None)
    if close is not None:
        close()


@contextlib.contextmanager
def reading(source):
    """An iterator over `source`, closed however the reading ends (an early return, an
    error, a consumer that stops), so the stages upstream stop their threads."""
    upstream = iter(source)
    try:
        yield upstream
    finally:
        close_iterator(upstream)


def _put(q, item, stop):
    """Puts `item` unless `stop` is set first; returns whether it was put."""
    while not stop.is_set():
        try:
            q.put(item, timeout=_POLL_S)
            return True
        except queue.Full:
            continue
    return False


def _produce(factory, convert, q, stop):
    # A plain function (not a method) so the thread holds no reference to its Prefetcher:
    # a Prefetcher nobody uses any more is collected and stops its thread.
    it = None
    try:
        it = factory()
        for element in it:
            if stop.is_set():
                return
            if convert is not None:
                element = convert(element)
            if not _put(q, (_ITEM, element), stop):
                return
        _put(q, (_END, None), stop)
    except BaseException as e:  # noqa: B902 - handed to the consumer, which re-raises it
        _put(q, (_ERROR, e), stop)
    finally:
        if it is not None:
            try:
                close_iterator(it)
            except Exception:  # the consumer already has the element stream's outcome
                pass


class Prefetcher:
    """Iterates `factory()` in a background thread, `size` elements ahead of the caller,
    applying `convert` (if given) to each element in that thread too."""

    def __init__(self, factory, size, convert=None, name="engine-data-prefetch"):
        if size < 1:
            raise ValueError(f"prefetch: buffer_size must be at least 1, got {size}")
        self._queue = queue.Queue(maxsize=size)
        self._stop = threading.Event()
        self._finished = False
        self._thread = threading.Thread(target=_produce, args=(factory, convert, self._queue, self._stop),
                                        name=name, daemon=True)
        self._thread.start()

    def __iter__(self):
        return self

    def __next__(self):
        if self._finished:
            raise StopIteration
        while True:
            try:
                kind, value = self._queue.get(timeout=_POLL_S)
                break
            except queue.Empty:
                if not self._thread.is_alive() and self._queue.empty():
                    self._finished = True
                    raise RuntimeError("the prefetch thread ended without a result") from None
        if kind == _ITEM:
            return value
        self._finished = True
        self._thread.join()
        if kind == _END:
            raise StopIteration
        raise value  # the worker's exception, with its original traceback

    def close(self):
        """Stops the thread and waits for it: at most the element it is computing now."""
        self._finished = True
        self._stop.set()
        # Empty the queue so a producer blocked in put() sees the stop flag at once.
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
        if self._thread is not threading.current_thread():
            self._thread.join()

    def __del__(self):
        # Last resort for an iterator dropped without close(): signal, do not wait (a
        # finaliser must not block).
        stop = getattr(self, "_stop", None)
        if stop is not None:
            stop.set()


def prefetched(factory, size, convert=None):
    """A generator over `factory()` computed `size` elements ahead in a thread."""
    p = Prefetcher(factory, size, convert)
    try:
        yield from p
    finally:
        p.close()


def parallel_map(iterator, fn, workers, ordered=True):
    """fn(element) for each element of `iterator`, computed by `workers` threads, in
    input order (or, with ordered=False, in the order they finish). At most 2 * workers
    calls are in flight."""
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="engine-data-map")
    pending = collections.deque()
    limit = 2 * workers
    exhausted = False
    try:
        while True:
            while not exhausted and len(pending) < limit:
                try:
                    element = next(iterator)
                except StopIteration:
                    exhausted = True
                    break
                pending.append(pool.submit(fn, element))
            if not pending:
                return
            if ordered:
                future = pending.popleft()
            else:
                future = next((f for f in pending if f.done()), pending[0])
                pending.remove(future)
            yield future.result()  # a worker's exception is raised here, traceback intact
    finally:
        for future in pending:
            future.cancel()
        pool.shutdown(wait=True)
        close_iterator(iterator)
