"""Batches for fit / evaluate / predict from an iterable source: an engine Dataset, a
Python generator or iterable, a PyTorch DataLoader, or a Keras PyDataset-like object (one
with ``__getitem__`` and ``__len__``, read batch by batch, ``workers`` threads at once).

The next batch is read and converted to the model's arrays on a background thread while
the core runs the current step (the step releases the GIL). With a step count (Keras's
``steps_per_epoch``), one pass over the source continues across epochs, as in Keras; a
pass that ends early closes the epoch with a warning and the next epoch starts a new pass.
"""
import warnings

import numpy as np

from engine.data._threads import Prefetcher, close_iterator, parallel_map
from engine.data.dataset import INFINITE, Dataset

# Batches prepared ahead of the step that is running: enough to hide a slow batch now
# and then, few enough that the memory in flight stays small.
_AHEAD = 2


def is_source(x):
    """Whether `x` is a source of batches rather than arrays (or a list/dict of arrays)."""
    if x is None or isinstance(x, (np.ndarray, list, tuple, dict, str, bytes)) or hasattr(x, "__array__"):
        return False
    return hasattr(x, "__iter__") or (hasattr(x, "__getitem__") and hasattr(x, "__len__"))


def source_length(x):
    """Batches in one pass over `x`, or None when it cannot be told without reading it."""
    try:
        n = len(x)
    except (TypeError, AttributeError, NotImplementedError):
        return None
    return n if isinstance(n, (int, np.integer)) and n >= 0 else None


def _sequence_pass(source):
    """One pass over a PyDataset-like object: source[i] for i < len(source), read by its
    `workers` threads when it asks for more than one, then its on_epoch_end()."""
    n = len(source)
    begin = getattr(source, "on_epoch_begin", None)
    if callable(begin):
        begin()
    workers = getattr(source, "workers", 1) or 1
    indices = iter(range(n))
    try:
        if isinstance(workers, int) and workers > 1:
            yield from parallel_map(indices, source.__getitem__, workers)
        else:
            for i in indices:
                yield source[i]
    finally:
        close_iterator(indices)
    end = getattr(source, "on_epoch_end", None)
    if callable(end):
        end()


def _borrowed(iterator):
    """The items of someone else's iterator, without closing it when this pass stops: a
    generator given to one fit call can feed the next."""
    while True:
        try:
            item = next(iterator)
        except StopIteration:
            return
        yield item


def _open_pass(source):
    if hasattr(source, "__next__"):
        return _borrowed(source)
    if hasattr(source, "__iter__"):
        return iter(source)
    return _sequence_pass(source)


class SourceBatches:
    """Batches from `source`, each passed through `convert` on the background thread.

    `steps`: batches per epoch (None: one whole pass per epoch). Call close() when done
    with it: it stops and joins the background thread (also done when a pass ends)."""

    def __init__(self, source, steps, convert, what):
        if isinstance(source, Dataset) and steps is None and source.cardinality() == INFINITE:
            raise ValueError(f"{what} is an infinite dataset (repeat() without a count): pass "
                             "steps_per_epoch (or validation_steps / steps) to say how many batches "
                             "make an epoch")
        self.source, self.steps, self.convert, self.what = source, steps, convert, what
        self._stream = None
        # An iterator (a generator) is its own single pass: it cannot start a new one.
        self._one_shot = hasattr(source, "__next__")

    def _start(self):
        source = self.source
        self._stream = Prefetcher(lambda: _open_pass(source), _AHEAD, self.convert, name="engine-fit-batches")

    def epoch(self):
        """A generator of this epoch's converted batches."""
        count, fresh = 0, False
        try:
            while self.steps is None or count < self.steps:
                if self._stream is None:
                    self._start()
                    fresh = True
                try:
                    batch = next(self._stream)
                except StopIteration:
                    self._stream.close()
                    self._stream = None
                    if self.steps is None or count > 0 or fresh or self._one_shot:
                        if self.steps is not None:
                            warnings.warn(
                                f"Your input ran out of data; interrupting epoch. {self.what} gave {count} of "
                                f"the {self.steps} batches asked for. Make sure that your dataset or generator "
                                "can generate at least `steps_per_epoch * epochs` batches. You may need to use "
                                "the `.repeat()` function when building your dataset.", stacklevel=3)
                        return
                    continue  # the previous epoch ended exactly at the end of a pass: a new pass
                count += 1
                yield batch
        finally:
            # Without a step count each epoch is one pass: nothing is kept for the next one.
            if self.steps is None:
                self.close()

    def close(self):
        if self._stream is not None:
            self._stream.close()
            self._stream = None
