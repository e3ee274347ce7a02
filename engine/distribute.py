"""Synchronous data-parallel training across processes, on MPI (through mpi4py).

Each process ("rank") holds a replica of the model and trains on its own share of every
batch; the gradients are summed over the ranks in one all-reduce inside the training step
(the executor's communicator), so every replica applies the same update::

    strategy = engine.distribute.DataParallel()
    with strategy.scope():
        model = make_model()
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(x, y, batch_size=32, epochs=5)

launched as ``mpiexec -n 4 python train.py`` (on several hosts: ``mpiexec -n 8 --hostfile
hosts python train.py``, the hostfile listing ``host slots=N`` lines). Without a launcher
the same script runs as a world of one.

What the ranks agree on:

- **Weights**: rank 0's initial weights are broadcast to every rank when training starts;
  BatchNormalization's moving statistics are computed per rank and averaged over the ranks
  at the end of every epoch, so all ranks end each epoch with identical weights.
- **Data**: with arrays, ``batch_size`` is the batch of each rank and the global batch is
  ``batch_size * size``: every epoch rank 0 draws the shuffle and sends it, and each global
  batch is split into ``size`` contiguous parts (the last one as evenly as possible). With a
  dataset or another source of batches, every rank reads the same source and each of its
  batches is the global batch, split the same way; seed its shuffles so that the ranks see
  the same batches. The loss is the mean over the global batch (each rank's gradients are
  weighted by its share), so N steps on ``size`` ranks give the weights of N steps in one
  process with the global batch.
- **Logs**: the loss, the metrics and validation results are reduced over the ranks at the
  end of every epoch, so every rank's History holds the same numbers; only rank 0 prints
  progress, and only rank 0 writes files (``model.save``, ``save_weights``, ``export_onnx``,
  ModelCheckpoint, CSVLogger, TensorBoard) while the others wait for the write to finish.
  ``predict`` runs the whole input on every rank.
- **Faults**: an exception that ends one rank's program aborts the whole job (MPI_Abort),
  and a rank waiting more than ``timeout`` seconds for the others in a collective raises
  TimeoutError naming the operation, instead of hanging.
"""
import contextlib
import os
import sys
import threading
import time

import numpy as np

__all__ = ["DataParallel", "current", "launched_with_mpi"]

# Set by the MPI launchers (Open MPI, MPICH/Hydra, PMIx, Slurm's PMI) in every rank.
_LAUNCHER_VARIABLES = ("OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE", "MPI_LOCALNRANKS")

_scopes = threading.local()


def launched_with_mpi():
    """Whether this process was started by an MPI launcher (mpiexec, mpirun, srun)."""
    return any(name in os.environ for name in _LAUNCHER_VARIABLES)


def current():
    """The strategy of the innermost ``strategy.scope()`` on this thread, or None."""
    stack = getattr(_scopes, "stack", None)
    return stack[-1] if stack else None


class _Alone:
    """The collectives of a world of one: nothing to exchange."""
    rank, size = 0, 1

    def allreduce_sum(self, buffer):
        pass

    def broadcast(self, buffer, root):
        pass

    def barrier(self):
        pass


class MPICommunicator:
    """Collectives on an mpi4py communicator over writable buffers (memoryviews or numpy
    arrays), as the executor calls them between backward and the optimizer update. Each is
    a non-blocking MPI call polled until it completes or `timeout` seconds pass."""

    def __init__(self, comm, timeout):
        from mpi4py import MPI

        self._mpi = MPI
        self.comm = comm
        self.rank = comm.Get_rank()
        self.size = comm.Get_size()
        self.timeout = float(timeout)
        # What the all-reduces cost so far (calls, bytes, seconds waited), for benchmarks.
        self.allreduce_calls, self.allreduce_bytes, self.allreduce_seconds = 0, 0, 0.0

    def allreduce_sum(self, buffer):
        array = _as_array(buffer, np.float32)
        start = time.perf_counter()
        self._wait(self.comm.Iallreduce(self._mpi.IN_PLACE, array, op=self._mpi.SUM),
                   f"an all-reduce of {array.size} {array.dtype} values")
        self.allreduce_calls += 1
        self.allreduce_bytes += array.nbytes
        self.allreduce_seconds += time.perf_counter() - start

    def broadcast(self, buffer, root):
        array = _as_array(buffer, np.uint8)
        self._wait(self.comm.Ibcast(array, root=root), f"a broadcast of {array.nbytes} bytes from rank {root}")

    def barrier(self):
        self._wait(self.comm.Ibarrier(), "a barrier")

    def abort(self, code=1):
        self.comm.Abort(code)

    def _wait(self, request, what):
        # Spin briefly (a step's all-reduce usually completes at once), then sleep between
        # polls so that a rank waiting for a slower one leaves the cores to it.
        start = time.perf_counter()
        pause = 0.0
        while not request.Test():
            waited = time.perf_counter() - start
            if waited > self.timeout:  # (MPI cannot cancel a collective: the caller aborts)
                raise TimeoutError(f"rank {self.rank} of {self.size}: {what} waited {waited:.0f} s for the "
                                   "other ranks (one has probably failed or stopped); giving up")
            if waited > 1e-3:
                pause = min(max(pause * 2, 5e-5), 2e-3)
                time.sleep(pause)


def _as_array(buffer, dtype):
    """A writable numpy view of a buffer: an array as it is, a memoryview of the core's
    memory as `dtype` values."""
    return buffer if isinstance(buffer, np.ndarray) else np.frombuffer(buffer, dtype=dtype)


class DataParallel:
    """Synchronous data parallelism over the ranks of an MPI communicator (module docs).

    ``communicator``: an mpi4py communicator (default: ``MPI.COMM_WORLD`` when launched by
    mpiexec, else a world of one, without importing MPI). ``timeout``: seconds a rank waits
    for the others in one collective before raising TimeoutError."""

    def __init__(self, communicator=None, timeout=300.0):
        if not float(timeout) > 0:
            raise ValueError(f"DataParallel: timeout must be > 0 seconds, got {timeout}")
        if communicator is None and launched_with_mpi():
            try:
                from mpi4py import MPI
            except ImportError as e:
                raise ImportError("DataParallel: this process was started by an MPI launcher but mpi4py "
                                  "is not installed (pip install 'engine[distributed]')") from e
            communicator = MPI.COMM_WORLD
        self._comm = _Alone() if communicator is None else MPICommunicator(communicator, timeout)
        self.rank = self._comm.rank
        self.size = self._comm.size
        if self.size > 1:
            _abort_on_uncaught_exceptions(self._comm)

    @property
    def num_replicas_in_sync(self):
        """Keras's name for the number of ranks."""
        return self.size

    @property
    def is_chief(self):
        """Whether this is rank 0, the one that prints and writes files."""
        return self.rank == 0

    @property
    def communicator(self):
        """The collectives the executor calls (``allreduce_sum``, ``broadcast``, ``barrier``)."""
        return self._comm

    def __repr__(self):
        return f"DataParallel(rank={self.rank}, size={self.size})"

    @contextlib.contextmanager
    def scope(self):
        """Models compiled inside train data-parallel with this strategy."""
        stack = getattr(_scopes, "stack", None)
        if stack is None:
            stack = _scopes.stack = []
        stack.append(self)
        try:
            yield self
        finally:
            stack.pop()

    # --- collectives on numpy arrays ----------------------------------------------------------
    def barrier(self):
        self._comm.barrier()

    def broadcast(self, array, root=0):
        """Rank `root`'s values of `array` (same shape and dtype on every rank), on every rank."""
        out = np.ascontiguousarray(np.array(array, copy=True))
        if self.size > 1:
            self._comm.broadcast(out.reshape(-1).view(np.uint8), root)
        return out

    def allreduce(self, array, op="sum"):
        """The sum (or mean, with ``op="mean"``) over the ranks of a float array."""
        if op not in ("sum", "mean"):
            raise ValueError(f"DataParallel.allreduce: op must be 'sum' or 'mean', got {op!r}")
        a = np.array(array, dtype=np.float64, copy=True).reshape(-1)
        if self.size > 1:
            self._comm.allreduce_sum(a)
        a = a.reshape(np.shape(array))
        return a / self.size if op == "mean" else a

    def run_on_chief(self, fn, *args, **kwargs):
        """Calls fn on rank 0 only (a file write); every rank returns when it is done, and
        if it raised, every rank raises (rank 0 its own exception)."""
        if self.size == 1:
            return fn(*args, **kwargs)
        result, error = None, None
        if self.is_chief:
            try:
                result = fn(*args, **kwargs)
            except BaseException as e:  # noqa: BLE001 - re-raised below, after telling the others
                error = e
        failed = self.broadcast(np.array([error is not None], np.uint8))[0]
        if error is not None:
            raise error
        if failed:
            raise RuntimeError(f"rank {self.rank}: rank 0 failed while writing ({getattr(fn, '__name__', fn)})")
        return result

    # --- what fit and evaluate use -------------------------------------------------------------
    def synchronize_weights(self, model):
        """Every rank takes rank 0's weights."""
        if self.size > 1:
            model.set_weights([self.broadcast(w) for w in model.get_weights()])

    def average_state(self, model):
        """Averages the non-trainable float weights (BatchNormalization's moving statistics)
        over the ranks."""
        if self.size == 1:
            return
        trainable = {id(v) for v in model.trainable_weights}
        for v in model.weights:
            if id(v) not in trainable and np.issubdtype(np.asarray(v.numpy()).dtype, np.floating):
                v.assign(self.allreduce(v.numpy(), "mean").astype(np.asarray(v.numpy()).dtype))

    def reduce_metrics(self, metrics):
        """Sums each metric's accumulated state over the ranks (Keras's SUM aggregation of
        metric variables), so that result() is the metric over the whole data."""
        if self.size == 1:
            return
        for m in metrics:
            names = _summed_state(m)
            values = [np.asarray(getattr(m, n), np.float64) for n in names]
            variables = list(getattr(m, "_metric_variables", []))
            values += [np.asarray(v.value, np.float64) for v in variables]
            if not values:
                continue
            flat = self.allreduce(np.concatenate([v.reshape(-1) for v in values]))
            offset = 0
            for k, v in enumerate(values):
                part = flat[offset:offset + v.size].reshape(v.shape)
                offset += v.size
                if k < len(names):
                    setattr(m, names[k], float(part) if np.ndim(getattr(m, names[k])) == 0 else part)
                else:
                    variables[k - len(names)].assign(part)

    def shard(self, batch_rows):
        """This rank's part of a global batch of `batch_rows` rows: (start, stop) of the
        contiguous split that numpy's array_split makes."""
        base, extra = divmod(batch_rows, self.size)
        start = self.rank * base + min(self.rank, extra)
        return start, start + base + (1 if self.rank < extra else 0)


def _summed_state(metric):
    """The names of a built-in metric's state attributes (sums over samples)."""
    return [n for n in ("total", "count", "true_positives", "false_positives", "true_negatives",
                        "false_negatives") if isinstance(getattr(metric, n, None), (int, float, np.ndarray))]


def _abort_on_uncaught_exceptions(comm):
    """An exception that ends one rank's program aborts every rank (after printing it), so
    that the others never wait for it in a collective."""
    previous = sys.excepthook
    if getattr(previous, "_engine_aborts", False):
        return

    def hook(kind, value, traceback):
        previous(kind, value, traceback)
        sys.stderr.write(f"engine.distribute: rank {comm.rank} of {comm.size} failed; aborting every rank\n")
        sys.stderr.flush()
        comm.abort(1)

    hook._engine_aborts = True
    sys.excepthook = hook
