"""Dynamic batching: concurrent requests merged into one model call.

Requests wait in a queue. The batcher takes the oldest one and waits until the queued
requests that can join it (same model version, same per-row shapes and dtypes) hold
`max_batch` rows, or until the oldest has waited `timeout` seconds (TF Serving's
batch_timeout_micros rule); then their inputs are concatenated, run in one call on a worker
thread (the engine releases the GIL for the whole forward pass, so the event loop keeps
accepting requests meanwhile), and the outputs are sliced back, request by request. One
batch runs at a time: the model's call already uses every core it was given (--threads),
and the next batch fills while the current one runs.

Batching never changes which rows a request gets back, and a failing batch never fails
the requests that did not cause it: the batch is re-run one request at a time, so each gets
its own result or its own error.
"""
import asyncio
import collections
import concurrent.futures
import time

import numpy as np


class _Task:
    __slots__ = ("servable", "key", "arrays", "rows", "future", "arrival")

    def __init__(self, servable, arrays, future, arrival):
        self.servable = servable
        self.arrays = arrays
        self.rows = int(arrays[0].shape[0])
        # Requests merge only where their rows can be stacked.
        self.key = tuple((a.dtype.str, a.shape[1:]) for a in arrays)
        self.future = future
        self.arrival = arrival


def run_batch(servable, tasks):
    """Runs `tasks` (same servable and key) as one call; returns [(outputs | None, error | None)]
    per task. Runs on a worker thread."""
    if len(tasks) == 1 or not servable.splittable:
        return [_run_one(servable, t) for t in tasks]
    total = sum(t.rows for t in tasks)
    merged = [np.concatenate([t.arrays[i] for t in tasks], axis=0) for i in range(len(tasks[0].arrays))]
    try:
        outs = servable.predict(merged)
    except Exception:  # noqa: BLE001 - find out which request fails, one at a time
        return [_run_one(servable, t) for t in tasks]
    if any(np.ndim(o) == 0 or np.shape(o)[0] != total for o in outs):
        # The outputs do not follow the rows: they cannot be split, so never merge again.
        servable.splittable = False
        return [_run_one(servable, t) for t in tasks]
    results, start = [], 0
    for t in tasks:
        results.append(([o[start:start + t.rows] for o in outs], None))
        start += t.rows
    return results


def _run_one(servable, task):
    try:
        return list(servable.predict(task.arrays)), None
    except Exception as e:  # noqa: BLE001 - handed to the request that caused it
        return None, e


class Batcher:
    """Merges concurrent predict calls; `await predict(servable, arrays)` gives the outputs."""

    def __init__(self, max_batch=64, timeout_s=0.002, on_batch=None):
        if max_batch < 1:
            raise ValueError(f"max_batch must be at least 1, got {max_batch}")
        if timeout_s < 0:
            raise ValueError(f"the batch timeout must not be negative, got {timeout_s}")
        self.max_batch = int(max_batch)
        self.timeout_s = float(timeout_s)
        self._on_batch = on_batch  # (servable, rows, seconds, requests) after each model call
        self._pending = collections.deque()
        self._pending_rows = 0
        # The batcher sleeps on this future; a request wakes it only when that changes what it
        # would do (the queue was empty, or a full batch is now waiting): waking it on every
        # arrival costs more event-loop time than the model call saves under load.
        self._waiter = None
        self._waiting_for_full = False
        self._task = None
        self._pool = None
        self._running = []

    async def start(self):
        self._pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="engine-serve-batch")
        self._task = asyncio.get_running_loop().create_task(self._loop())

    async def stop(self):
        """Stops after the batch in progress; requests still queued get an error."""
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
        while self._pending:
            self._running.append(self._pending.popleft())
        for t in self._running:
            if not t.future.done():
                t.future.set_exception(RuntimeError("the server is shutting down"))
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    async def predict(self, servable, arrays):
        loop = asyncio.get_running_loop()
        task = _Task(servable, arrays, loop.create_future(), loop.time())
        self._pending.append(task)
        self._pending_rows += task.rows
        waiter = self._waiter
        if waiter is not None and not waiter.done() and \
                (not self._waiting_for_full or self._pending_rows >= self.max_batch):
            waiter.set_result(None)
        outputs, error = await task.future
        if error is not None:
            raise error
        return outputs

    async def _sleep(self, until_full, delay=None):
        """Waits for a wake-up from predict, or `delay` seconds."""
        loop = asyncio.get_running_loop()
        self._waiter = loop.create_future()
        self._waiting_for_full = until_full
        timer = None
        if delay is not None:
            timer = loop.call_later(delay, lambda w=self._waiter: w.done() or w.set_result(None))
        try:
            await self._waiter
        finally:
            if timer is not None:
                timer.cancel()
            self._waiter = None

    def _ready_rows(self, first):
        rows = 0
        for t in self._pending:
            if t.servable is first.servable and t.key == first.key:
                rows += t.rows
                if rows >= self.max_batch:
                    break
        return rows

    def _take(self, first):
        """The oldest requests that join `first`, up to max_batch rows (the first always goes,
        even when it alone is larger). Requests of other shapes keep their place in the queue."""
        batch, rows, keep = [], 0, collections.deque()
        full = False
        while self._pending:
            t = self._pending.popleft()
            if full or t.servable is not first.servable or t.key != first.key:
                keep.append(t)
            elif batch and rows + t.rows > self.max_batch:
                full = True
                keep.append(t)
            else:
                batch.append(t)
                rows += t.rows
        self._pending = keep
        self._pending_rows -= rows
        # Requests whose client went away are dropped (their futures were cancelled).
        return [t for t in batch if not t.future.done()]

    async def _loop(self):
        loop = asyncio.get_running_loop()
        while True:
            if not self._pending:
                await self._sleep(until_full=False)
                continue
            first = self._pending[0]
            deadline = first.arrival + self.timeout_s
            while self._pending_rows < self.max_batch or self._ready_rows(first) < self.max_batch:
                delay = deadline - loop.time()
                if delay <= 0:
                    break
                await self._sleep(until_full=True, delay=delay)
            tasks = self._take(first)
            if not tasks:
                continue
            start = time.perf_counter()
            self._running = tasks
            results = await loop.run_in_executor(self._pool, run_batch, first.servable, tasks)
            self._running = []
            if self._on_batch is not None:
                self._on_batch(first.servable, sum(t.rows for t in tasks), time.perf_counter() - start,
                               len(tasks))
            for t, result in zip(tasks, results):
                if not t.future.done():
                    t.future.set_result(result)


class Unbatched:
    """Each request runs on its own, up to `workers` at once on a thread pool: the plain way
    to put a model behind a web framework (used to compare against batching)."""

    def __init__(self, workers=1, on_batch=None):
        self.workers = int(workers)
        self._on_batch = on_batch
        self._pool = None

    async def start(self):
        self._pool = concurrent.futures.ThreadPoolExecutor(self.workers, thread_name_prefix="engine-serve-run")

    async def stop(self):
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    async def predict(self, servable, arrays):
        start = time.perf_counter()
        outputs = await asyncio.get_running_loop().run_in_executor(self._pool, servable.predict, arrays)
        if self._on_batch is not None:
            self._on_batch(servable, int(arrays[0].shape[0]), time.perf_counter() - start, 1)
        return list(outputs)
