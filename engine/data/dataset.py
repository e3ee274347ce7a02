"""engine.data.Dataset: input pipelines with tf.data's names, arguments and semantics.

A Dataset is a recipe; iterating it (``for element in ds``) runs the recipe and yields
elements: numpy arrays, numpy scalars and strings, nested in tuples and dicts. Each
iteration starts afresh (``repeat`` and ``fit``'s epochs rely on that). Pipelines stream:
apart from ``shuffle``'s buffer, ``prefetch``'s queue and ``cache``, nothing holds more than
the elements in flight.

Threads: ``map(num_parallel_calls=N)`` runs the function on N worker threads,
``prefetch(n)`` computes up to n elements ahead on a background thread, and
``interleave(num_parallel_calls=N)`` reads its inner datasets on background threads. The
engine's C++ steps release the GIL, so this work overlaps with training. An exception in a
worker is raised where the element is consumed, with its original traceback, and closing
an iterator (or stopping a ``for`` loop early) stops and joins its threads.
"""
import collections
import glob
import json
import math
import os
import tempfile
import threading

import numpy as np

from engine import _random
from engine.data import _structure as S
from engine.data._threads import close_iterator, parallel_map, prefetched, reading

AUTOTUNE = -1
INFINITE = -1    # Dataset.cardinality() of an endless dataset
UNKNOWN = -2     # ... and of one whose length cannot be told without running it


def _cpu_count():
    return max(1, os.cpu_count() or 1)


def _count_arg(owner, name, value, allow_autotune=False, allow_none=False, minimum=1):
    if value is None and allow_none:
        return None
    if allow_autotune and value == AUTOTUNE:
        return AUTOTUNE
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{owner}: {name} must be an integer, got {value!r}")
    if value < minimum:
        extra = " or engine.data.AUTOTUNE" if allow_autotune else ""
        raise ValueError(f"{owner}: {name} must be at least {minimum}{extra}, got {value}")
    return int(value)


def _seed_arg(owner, seed):
    if seed is None:
        return None
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"{owner}: seed must be an integer or None, got {seed!r}")
    return int(seed)


class TensorSpec:
    """The shape (None for any size) and dtype of one leaf of an element, as tf.TensorSpec;
    ``from_generator(output_signature=...)`` checks and casts elements with them."""

    def __init__(self, shape, dtype="float32", name=None):
        self.shape = None if shape is None else tuple(None if d is None else int(d) for d in shape)
        self.dtype = np.dtype(dtype)
        self.name = name

    def __repr__(self):
        return f"TensorSpec(shape={self.shape}, dtype={self.dtype.name}, name={self.name!r})"

    def _check(self, value, where):
        arr = np.asarray(value)
        if arr.dtype != self.dtype:
            if arr.dtype.kind in "biuf" and self.dtype.kind in "biuf":
                arr = arr.astype(self.dtype)
            elif not (arr.dtype.kind in "US" and self.dtype.kind in "US"):
                raise TypeError(f"{where}: expected dtype {self.dtype.name}, got {arr.dtype.name}")
        if self.shape is not None and (arr.ndim != len(self.shape) or
                                       any(s is not None and s != d for s, d in zip(self.shape, arr.shape))):
            raise ValueError(f"{where}: expected shape {self.shape}, got {arr.shape}")
        return arr


class Dataset:
    """A sequence of elements. Build one with a static constructor (``from_tensor_slices``,
    ``from_generator``, ``range``, ``list_files``, ...) or a reader (``TextLineDataset``,
    ``CsvDataset``, ``make_csv_dataset``), then chain transformations."""

    # ---- iteration --------------------------------------------------------------------------
    def __iter__(self):
        return self._iterate()

    def _iterate(self):  # a generator; subclasses implement it
        raise NotImplementedError(f"{type(self).__name__}: a Dataset subclass defines _iterate()")

    def as_numpy_iterator(self):
        """The elements (they already are numpy arrays: for code written for tf.data)."""
        return iter(self)

    def cardinality(self):
        """The number of elements, or INFINITE (-1) or UNKNOWN (-2)."""
        return UNKNOWN

    def __len__(self):
        n = self.cardinality()
        if n == INFINITE:
            raise TypeError("The dataset is infinite.")
        if n == UNKNOWN:
            raise TypeError("The dataset length is unknown.")
        return n

    def __bool__(self):  # len() would raise for infinite datasets
        return True

    def __repr__(self):
        n = self.cardinality()
        size = {INFINITE: "infinite", UNKNOWN: "unknown"}.get(n, str(n))
        return f"<{type(self).__name__} cardinality={size}>"

    # ---- sources ------------------------------------------------------------------------------
    @staticmethod
    def from_tensor_slices(tensors, name=None):
        """One element per row of `tensors`: an array, a tuple or a dict of arrays (nested),
        all with the same first dimension."""
        return _TensorSlices(tensors)

    @staticmethod
    def from_tensors(tensors, name=None):
        """A dataset of one element, `tensors`."""
        return _ListDataset([S.normalize(tensors, "from_tensors")])

    @staticmethod
    def from_generator(generator, output_types=None, output_shapes=None, args=None,
                       output_signature=None, name=None):
        """Elements from `generator`, a callable returning an iterator (called anew for each
        iteration, with `args`). With `output_signature` (TensorSpecs) or `output_types` /
        `output_shapes`, each element is checked and cast."""
        if not callable(generator):
            raise TypeError(f"from_generator: generator must be a callable that returns an iterator "
                            f"(a generator function), got {type(generator).__name__}")
        signature = output_signature
        if signature is None and (output_types is not None or output_shapes is not None):
            if output_types is None:
                raise ValueError("from_generator: output_shapes needs output_types")
            signature = _signature_from(output_types, output_shapes)
        return _GeneratorDataset(generator, tuple(args or ()), signature)

    @staticmethod
    def range(*args, dtype="int64", name=None):
        """range(stop), range(start, stop[, step]) as 0-d arrays."""
        if not 1 <= len(args) <= 3:
            raise TypeError(f"range: expected 1 to 3 arguments, got {len(args)}")
        r = range(*[int(a) for a in args])
        return _RangeDataset(r, np.dtype(dtype))

    @staticmethod
    def list_files(file_pattern, shuffle=None, seed=None, name=None):
        """The file names matching a glob pattern (or a list of patterns), as strings, shuffled
        unless shuffle=False (sorted then)."""
        patterns = [file_pattern] if isinstance(file_pattern, (str, os.PathLike)) else list(file_pattern)
        files = sorted({f for p in patterns for f in glob.glob(os.fspath(p))})
        if not files:
            raise FileNotFoundError(f"list_files: no file matches {', '.join(map(str, patterns))}")
        ds = _ListDataset([np.str_(f) for f in files])
        if shuffle is None or shuffle:
            ds = ds.shuffle(len(files), seed=seed)
        return ds

    @staticmethod
    def zip(*datasets, name=None):
        """Elements of several datasets side by side (a tuple, or the structure passed); ends
        with the shortest."""
        structure = datasets[0] if len(datasets) == 1 and isinstance(datasets[0], (tuple, dict)) else datasets
        for d in S.flatten(structure):
            if not isinstance(d, Dataset):
                raise TypeError(f"zip: expected datasets, got {type(d).__name__}")
        return _ZipDataset(structure)

    # ---- transformations ----------------------------------------------------------------------
    def map(self, map_func, num_parallel_calls=None, deterministic=None, name=None):
        """map_func applied to each element (a tuple element is spread over the arguments).
        With num_parallel_calls (an int or AUTOTUNE: one per core) it runs on that many
        threads; elements keep their order unless deterministic=False."""
        if not callable(map_func):
            raise TypeError(f"map: map_func must be callable, got {type(map_func).__name__}")
        workers = _count_arg("map", "num_parallel_calls", num_parallel_calls, allow_autotune=True, allow_none=True)
        if workers == AUTOTUNE:
            workers = _cpu_count()
        return _MapDataset(self, map_func, workers, deterministic is not False)

    def filter(self, predicate, name=None):
        """The elements for which predicate(element) is True (a bool or a 0-d bool array)."""
        if not callable(predicate):
            raise TypeError(f"filter: predicate must be callable, got {type(predicate).__name__}")
        return _FilterDataset(self, predicate)

    def flat_map(self, map_func, name=None):
        """map_func(element) must return a Dataset; their elements, one after the other."""
        return self.interleave(map_func, cycle_length=1, block_length=1)

    def interleave(self, map_func, cycle_length=None, block_length=None, num_parallel_calls=None,
                   deterministic=None, name=None):
        """map_func(element) returns a Dataset; `cycle_length` of them are open at once and
        `block_length` elements are taken from each in turn (tf.data's order). With
        num_parallel_calls the open datasets are read ahead on background threads."""
        if not callable(map_func):
            raise TypeError(f"interleave: map_func must be callable, got {type(map_func).__name__}")
        cycle = _count_arg("interleave", "cycle_length", AUTOTUNE if cycle_length is None else cycle_length,
                           allow_autotune=True)
        if cycle == AUTOTUNE:
            cycle = _cpu_count()
        block = _count_arg("interleave", "block_length", 1 if block_length is None else block_length)
        parallel = _count_arg("interleave", "num_parallel_calls", num_parallel_calls, allow_autotune=True,
                              allow_none=True)
        return _InterleaveDataset(self, map_func, cycle, block, parallel is not None)

    def shuffle(self, buffer_size, seed=None, reshuffle_each_iteration=None, name=None):
        """Elements in random order, drawn from a buffer of `buffer_size` elements (tf.data's
        algorithm: a buffer as large as the dataset shuffles it uniformly). A new order for
        each iteration unless reshuffle_each_iteration=False; `seed` (else the engine's
        generator when the pipeline is built, see engine.set_seed) makes the orders repeatable."""
        size = _count_arg("shuffle", "buffer_size", buffer_size, allow_autotune=False)
        return _ShuffleDataset(self, size, _seed_arg("shuffle", seed),
                               True if reshuffle_each_iteration is None else bool(reshuffle_each_iteration))

    def batch(self, batch_size, drop_remainder=False, num_parallel_calls=None, deterministic=None, name=None):
        """Stacks `batch_size` consecutive elements (leaf by leaf) into one; the last batch may
        be smaller unless drop_remainder=True."""
        size = _count_arg("batch", "batch_size", batch_size)
        return _BatchDataset(self, size, bool(drop_remainder), None, None)

    def padded_batch(self, batch_size, padded_shapes=None, padding_values=None, drop_remainder=False, name=None):
        """As batch, for elements of different shapes: each leaf is padded at the end of
        every dimension to `padded_shapes` (None or -1: the largest in the batch, the
        default) with `padding_values` (default 0, or "" for strings)."""
        size = _count_arg("padded_batch", "batch_size", batch_size)
        return _BatchDataset(self, size, bool(drop_remainder), padded_shapes, padding_values, padded=True)

    def unbatch(self, name=None):
        """Splits each element along its first dimension (the inverse of batch)."""
        return _UnbatchDataset(self)

    def repeat(self, count=None, name=None):
        """The dataset `count` times (None or -1: forever), each pass a new iteration."""
        count = -1 if count is None else _count_arg("repeat", "count", count, minimum=-1)
        return _RepeatDataset(self, count)

    def take(self, count, name=None):
        """The first `count` elements (-1: all)."""
        return _TakeDataset(self, _count_arg("take", "count", count, minimum=-1))

    def skip(self, count, name=None):
        """All but the first `count` elements (-1: skips everything)."""
        return _SkipDataset(self, _count_arg("skip", "count", count, minimum=-1))

    def cache(self, filename="", name=None):
        """Remembers the elements of the first complete iteration and replays them: in memory
        (filename "") or in a file, which later runs (and other Dataset objects with the same
        filename) read instead of recomputing. An iteration stopped early caches nothing."""
        return _CacheDataset(self, os.fspath(filename))

    def prefetch(self, buffer_size, name=None):
        """Computes up to `buffer_size` elements ahead on a background thread (AUTOTUNE: 2),
        so the pipeline's work overlaps with the consumer's."""
        size = _count_arg("prefetch", "buffer_size", buffer_size, allow_autotune=True, minimum=0)
        if size == AUTOTUNE:
            size = 2
        return _PrefetchDataset(self, size)

    def window(self, size, shift=None, stride=1, drop_remainder=False, name=None):
        """Windows of `size` elements starting every `shift` (default `size`) elements, taking
        every `stride`-th; each window is a Dataset (a structure of Datasets for structured
        elements), flattened with ``flat_map(lambda w: w.batch(size))``. Windows at the end
        are shorter unless drop_remainder=True."""
        size = _count_arg("window", "size", size)
        shift = size if shift is None else _count_arg("window", "shift", shift)
        stride = _count_arg("window", "stride", stride)
        return _WindowDataset(self, size, shift, stride, bool(drop_remainder))

    def concatenate(self, dataset, name=None):
        """This dataset's elements, then `dataset`'s."""
        if not isinstance(dataset, Dataset):
            raise TypeError(f"concatenate: expected a Dataset, got {type(dataset).__name__}")
        return _ConcatenateDataset(self, dataset)

    def enumerate(self, start=0, name=None):
        """(index, element) pairs, the index an int64 0-d array counting from `start`."""
        return Dataset.zip((Dataset.range(int(start), 2**62), self))

    def apply(self, transformation_func):
        return transformation_func(self)


def _signature_from(types, shapes):
    if isinstance(types, tuple):
        shapes = shapes if shapes is not None else (None,) * len(types)
        return tuple(_signature_from(t, s) for t, s in zip(types, shapes))
    if isinstance(types, dict):
        shapes = shapes if shapes is not None else {}
        return {k: _signature_from(t, shapes.get(k)) for k, t in types.items()}
    return TensorSpec(shapes, types)


def _first_dim(leaf, what):
    if np.ndim(leaf) == 0:
        raise ValueError(f"{what}: a scalar has no rows to slice; give arrays with a first dimension")
    return np.shape(leaf)[0]


class _TensorSlices(Dataset):
    def __init__(self, tensors):
        tensors = S.normalize(tensors, "from_tensor_slices")
        leaves = S.flatten(tensors)
        if not leaves:
            raise ValueError("from_tensor_slices: no arrays given")
        sizes = {_first_dim(leaf, "from_tensor_slices") for leaf in leaves}
        if len(sizes) != 1:
            raise ValueError(f"from_tensor_slices: the arrays have different first dimensions "
                             f"{[np.shape(leaf)[0] for leaf in leaves]}; they must be equal")
        self._tensors = tensors
        self._n = sizes.pop()

    def cardinality(self):
        return self._n

    def _iterate(self):
        # [i, ...] keeps 0-d rows as arrays (a[i] would give numpy scalars).
        t = self._tensors
        for i in range(self._n):
            yield S.map_structure(lambda a: a[i, ...], t)

    def _slice(self, start, stop):
        return S.map_structure(lambda a: a[start:stop], self._tensors)


class _ListDataset(Dataset):
    def __init__(self, elements):
        self._elements = list(elements)

    def cardinality(self):
        return len(self._elements)

    def _iterate(self):
        yield from self._elements


class _RangeDataset(Dataset):
    def __init__(self, r, dtype):
        self._range, self._dtype = r, dtype

    def cardinality(self):
        return len(self._range)

    def _iterate(self):
        for i in self._range:
            yield np.array(i, self._dtype)


class _GeneratorDataset(Dataset):
    def __init__(self, generator, args, signature):
        self._generator, self._args, self._signature = generator, args, signature

    def _iterate(self):
        it = self._generator(*self._args)
        if not hasattr(it, "__next__"):
            try:
                it = iter(it)
            except TypeError:
                raise TypeError(f"from_generator: the generator returned {type(it).__name__}, "
                                "which is not iterable") from None
        try:
            for k, element in enumerate(it):
                element = S.normalize(element, "from_generator")
                if self._signature is not None:
                    element = self._conform(element, k)
                yield element
        finally:
            close_iterator(it)

    def _conform(self, element, k):
        where = f"from_generator: element {k}"
        try:
            return S.map_structure(lambda spec, v: spec._check(v, where), self._signature, element)
        except ValueError as e:
            if "structures" in str(e):
                raise ValueError(f"{where} does not match output_signature: {e}") from None
            raise


class _ZipDataset(Dataset):
    def __init__(self, structure):
        self._structure = structure

    def cardinality(self):
        sizes = [d.cardinality() for d in S.flatten(self._structure)]
        finite = [s for s in sizes if s >= 0]
        if finite:
            return min(finite)
        return UNKNOWN if UNKNOWN in sizes else INFINITE

    def _iterate(self):
        datasets = S.flatten(self._structure)
        its = [iter(d) for d in datasets]
        try:
            while True:
                values = []
                for it in its:
                    try:
                        values.append(next(it))
                    except StopIteration:
                        return
                leaves = iter(values)
                yield S.map_structure(lambda _: next(leaves), self._structure)
        finally:
            for it in its:
                close_iterator(it)


class _Unary(Dataset):
    def __init__(self, input_dataset):
        self._input = input_dataset

    def cardinality(self):
        return self._input.cardinality()


class _MapDataset(_Unary):
    def __init__(self, input_dataset, fn, workers, ordered):
        super().__init__(input_dataset)
        self._fn, self._workers, self._ordered = fn, workers, ordered

    def _apply(self, element):
        return S.normalize(S.call_with_element(self._fn, element), "map: the function's result")

    def _iterate(self):
        upstream = iter(self._input)
        if self._workers is None:
            try:
                for element in upstream:
                    yield self._apply(element)
            finally:
                close_iterator(upstream)
        else:
            yield from parallel_map(upstream, self._apply, self._workers, self._ordered)


class _FilterDataset(_Unary):
    def __init__(self, input_dataset, predicate):
        super().__init__(input_dataset)
        self._predicate = predicate

    def cardinality(self):
        n = self._input.cardinality()
        return INFINITE if n == INFINITE else UNKNOWN

    def _iterate(self):
        with reading(self._input) as upstream:
            for element in upstream:
                keep = S.call_with_element(self._predicate, element)
                if np.ndim(keep) != 0 or np.asarray(keep).dtype != np.bool_:
                    raise TypeError(f"filter: the predicate must return a bool, got {keep!r}")
                if keep:
                    yield element


class _ShuffleDataset(_Unary):
    def __init__(self, input_dataset, buffer_size, seed, reshuffle):
        super().__init__(input_dataset)
        self._size, self._seed, self._reshuffle = buffer_size, seed, reshuffle
        self._lock = threading.Lock()
        # Without a seed, one is drawn from the engine's generator now, while the pipeline is
        # built (engine.set_seed before it makes the orders repeatable): iterations may start
        # on a background thread, which must not draw from the shared generator.
        self._seeds = np.random.default_rng(_random.next_seed() if seed is None else seed)
        self._fixed = None  # the seed of every iteration without reshuffling

    def _iteration_seed(self):
        with self._lock:
            if not self._reshuffle and self._fixed is not None:
                return self._fixed
            seed = int(self._seeds.integers(0, 2**63 - 1))
            if not self._reshuffle:
                self._fixed = seed
            return seed

    def _iterate(self):
        rng = np.random.default_rng(self._iteration_seed())
        upstream = iter(self._input)
        buf = []
        draws, used = None, 0
        try:
            for element in upstream:
                if len(buf) < self._size:
                    buf.append(element)
                    continue
                # Random indices drawn in blocks: one numpy call per 1024 elements.
                if draws is None or used == len(draws):
                    draws, used = rng.random(1024), 0
                i = int(draws[used] * len(buf))
                used += 1
                out, buf[i] = buf[i], element
                yield out
            while buf:
                i = int(rng.integers(len(buf)))
                buf[i], buf[-1] = buf[-1], buf[i]
                yield buf.pop()
        finally:
            close_iterator(upstream)


def _stack(elements, what):
    def stack(*leaves):
        try:
            return np.stack(leaves)
        except ValueError:
            shapes = sorted({np.shape(leaf) for leaf in leaves})
            raise ValueError(f"{what}: cannot stack elements of shapes {shapes[:4]}; use padded_batch "
                             "for elements of different shapes") from None
    return S.map_structure(stack, *elements)


def _pad_stack(elements, padded_shapes, padding_values, what):
    n_leaves = len(S.flatten(elements[0]))
    shapes = S.flatten(padded_shapes) if padded_shapes is not None else [None] * n_leaves
    values = S.flatten(padding_values) if padding_values is not None and S.is_structure(padding_values) \
        else [padding_values] * n_leaves
    if len(shapes) != n_leaves or len(values) != n_leaves:
        raise ValueError(f"{what}: padded_shapes / padding_values must match the element's "
                         f"structure of {n_leaves} arrays")
    columns = list(zip(*(S.flatten(e) for e in elements)))
    out = []
    for col, shape, value in zip(columns, shapes, values):
        ranks = {np.ndim(c) for c in col}
        if len(ranks) != 1:
            raise ValueError(f"{what}: elements of different ranks {sorted(ranks)} cannot be padded together")
        rank = ranks.pop()
        largest = [max(np.shape(c)[d] for c in col) for d in range(rank)]
        if shape is not None:
            shape = [shape] if np.ndim(shape) == 0 and rank == 1 else list(shape)
            if len(shape) != rank:
                raise ValueError(f"{what}: padded shape {tuple(shape)} has rank {len(shape)}, the elements {rank}")
            target = []
            for d, (want, have) in enumerate(zip(shape, largest)):
                if want is None or want == -1:
                    target.append(have)
                elif have > want:
                    raise ValueError(f"{what}: an element of size {have} in dimension {d} does not fit the "
                                     f"padded shape {tuple(shape)}")
                else:
                    target.append(int(want))
        else:
            target = largest
        dtype = np.result_type(*[np.asarray(c).dtype for c in col])
        if dtype.kind in "US":
            dtype = np.dtype(f"{dtype.kind}{max(dtype.itemsize // (4 if dtype.kind == 'U' else 1), len(str(value or '')), 1)}")
            fill = "" if value is None else value
        else:
            fill = 0 if value is None else value
        batch = np.full([len(col)] + target, fill, dtype=dtype)
        for k, c in enumerate(col):
            batch[(k,) + tuple(slice(0, s) for s in np.shape(c))] = c
        out.append(batch)
    leaves = iter(out)
    return S.map_structure(lambda _: next(leaves), elements[0])


class _BatchDataset(_Unary):
    def __init__(self, input_dataset, size, drop_remainder, padded_shapes, padding_values, padded=False):
        super().__init__(input_dataset)
        self._size, self._drop = size, drop_remainder
        self._padded, self._padded_shapes, self._padding_values = padded, padded_shapes, padding_values

    def cardinality(self):
        n = self._input.cardinality()
        if n < 0:
            return n
        return n // self._size if self._drop else math.ceil(n / self._size)

    def _make(self, elements):
        if self._padded:
            return _pad_stack(elements, self._padded_shapes, self._padding_values, "padded_batch")
        return _stack(elements, "batch")

    def _iterate(self):
        source = self._input
        if isinstance(source, _TensorSlices) and not self._padded:
            # Rows of arrays in memory: slices, not stacks of single rows. Copies, so a
            # consumer may keep or change a batch without touching the source arrays.
            for start in range(0, source._n, self._size):
                stop = min(start + self._size, source._n)
                if self._drop and stop - start < self._size:
                    return
                yield S.map_structure(np.array, source._slice(start, stop))
            return
        with reading(source) as upstream:
            pending = []
            for element in upstream:
                pending.append(element)
                if len(pending) == self._size:
                    yield self._make(pending)
                    pending = []
            if pending and not self._drop:
                yield self._make(pending)


class _UnbatchDataset(_Unary):
    def cardinality(self):
        n = self._input.cardinality()
        return INFINITE if n == INFINITE else UNKNOWN

    def _iterate(self):
        with reading(self._input) as upstream:
            for element in upstream:
                leaves = S.flatten(element)
                sizes = {_first_dim(leaf, "unbatch") for leaf in leaves}
                if len(sizes) != 1:
                    raise ValueError(f"unbatch: the arrays of an element have different first dimensions "
                                     f"{sorted(sizes)}")
                for i in range(sizes.pop()):
                    yield S.map_structure(lambda a: a[i, ...], element)


class _RepeatDataset(_Unary):
    def __init__(self, input_dataset, count):
        super().__init__(input_dataset)
        self._count = count

    def cardinality(self):
        n = self._input.cardinality()
        if self._count == 0 or n == 0:
            return 0
        if self._count < 0:
            return UNKNOWN if n == UNKNOWN else INFINITE
        return n if n < 0 else n * self._count

    def _iterate(self):
        k = 0
        while self._count < 0 or k < self._count:
            upstream = iter(self._input)
            produced = False
            try:
                for element in upstream:
                    produced = True
                    yield element
            finally:
                close_iterator(upstream)
            if not produced:  # an empty dataset repeated forever is still empty
                return
            k += 1


class _TakeDataset(_Unary):
    def __init__(self, input_dataset, count):
        super().__init__(input_dataset)
        self._count = count

    def cardinality(self):
        n = self._input.cardinality()
        if self._count < 0:
            return n
        if n == INFINITE:
            return self._count
        return n if n == UNKNOWN else min(n, self._count)

    def _iterate(self):
        if self._count == 0:
            return
        with reading(self._input) as upstream:
            for k, element in enumerate(upstream):
                yield element
                if k + 1 == self._count:
                    return


class _SkipDataset(_Unary):
    def __init__(self, input_dataset, count):
        super().__init__(input_dataset)
        self._count = count

    def cardinality(self):
        n = self._input.cardinality()
        if n < 0:
            return n if n == UNKNOWN or self._count >= 0 else 0
        return 0 if self._count < 0 else max(0, n - self._count)

    def _iterate(self):
        with reading(self._input) as upstream:
            for k, element in enumerate(upstream):
                if self._count < 0 or k < self._count:
                    continue
                yield element


class _ConcatenateDataset(Dataset):
    def __init__(self, first, second):
        self._parts = (first, second)

    def cardinality(self):
        a, b = (d.cardinality() for d in self._parts)
        if INFINITE in (a, b):
            return INFINITE
        return UNKNOWN if UNKNOWN in (a, b) else a + b

    def _iterate(self):
        for part in self._parts:
            with reading(part) as upstream:
                yield from upstream


class _PrefetchDataset(_Unary):
    def __init__(self, input_dataset, size):
        super().__init__(input_dataset)
        self._size = size

    def _iterate(self):
        if self._size == 0:
            with reading(self._input) as upstream:
                yield from upstream
            return
        source = self._input
        yield from prefetched(lambda: iter(source), self._size)


class _InterleaveDataset(_Unary):
    def __init__(self, input_dataset, fn, cycle, block, parallel):
        super().__init__(input_dataset)
        self._fn, self._cycle, self._block, self._parallel = fn, cycle, block, parallel

    def cardinality(self):
        n = self._input.cardinality()
        return INFINITE if n == INFINITE else UNKNOWN

    def _open(self, element):
        inner = S.call_with_element(self._fn, element)
        if not isinstance(inner, Dataset):
            raise TypeError(f"interleave: map_func must return a Dataset, got {type(inner).__name__}")
        if self._parallel:
            return prefetched(lambda: iter(inner), self._block)
        return iter(inner)

    def _iterate(self):
        # tf.data's InterleaveDataset loop: an empty slot opens the next input element in
        # place; an exhausted one moves on to the next slot.
        upstream = iter(self._input)
        slots = [None] * self._cycle
        index, block, open_count, end_of_input = 0, 0, 0, False
        try:
            while not end_of_input or open_count > 0:
                if slots[index] is not None:
                    try:
                        value = next(slots[index])
                    except StopIteration:
                        close_iterator(slots[index])
                        slots[index] = None
                        open_count -= 1
                        index, block = (index + 1) % self._cycle, 0
                        continue
                    block += 1
                    if block == self._block:
                        index, block = (index + 1) % self._cycle, 0
                    yield value
                elif not end_of_input:
                    try:
                        element = next(upstream)
                    except StopIteration:
                        end_of_input = True
                        continue
                    slots[index] = self._open(element)
                    open_count += 1
                else:
                    index, block = (index + 1) % self._cycle, 0
        finally:
            for it in slots:
                if it is not None:
                    close_iterator(it)
            close_iterator(upstream)


class _WindowDataset(_Unary):
    def __init__(self, input_dataset, size, shift, stride, drop_remainder):
        super().__init__(input_dataset)
        self._size, self._shift, self._stride, self._drop = size, shift, stride, drop_remainder

    def cardinality(self):
        n = self._input.cardinality()
        if n < 0:
            return n
        if self._drop:
            span = (self._size - 1) * self._stride + 1
            return 0 if n < span else (n - span) // self._shift + 1
        return math.ceil(n / self._shift)

    def _window(self, elements):
        if not S.is_structure(elements[0]):
            return _ListDataset(elements)
        columns = iter(list(zip(*(S.flatten(e) for e in elements))))
        return S.map_structure(lambda _: _ListDataset(next(columns)), elements[0])

    def _iterate(self):
        span = (self._size - 1) * self._stride + 1
        buf = collections.deque()  # elements from absolute position `first` on
        first = 0
        upstream = iter(self._input)
        exhausted = False
        start = 0
        try:
            while True:
                while not exhausted and first + len(buf) < start + span:
                    try:
                        buf.append(next(upstream))
                    except StopIteration:
                        exhausted = True
                available = first + len(buf)
                if start >= available:
                    return
                if available < start + span and self._drop:
                    return
                items = [buf[p - first] for p in range(start, min(start + span, available), self._stride)]
                yield self._window(items)
                start += self._shift
                while buf and first < start:
                    buf.popleft()
                    first += 1
        finally:
            close_iterator(upstream)


# ---- cache --------------------------------------------------------------------------------------

def _encode(element):
    """(structure description, leaves) of an element, for a cache file."""
    if isinstance(element, tuple):
        parts = [_encode(e) for e in element]
        return ["t", [p[0] for p in parts]], [leaf for p in parts for leaf in p[1]]
    if isinstance(element, dict):
        if not all(isinstance(k, str) for k in element):
            raise TypeError("cache: a file cache needs string dict keys")
        parts = [(k, _encode(v)) for k, v in element.items()]
        return ["d", [[k, p[0]] for k, p in parts]], [leaf for _, p in parts for leaf in p[1]]
    return ("s" if isinstance(element, np.generic) else "a"), [np.asarray(element)]


def _decode(desc, leaves):
    if isinstance(desc, list) and desc[0] == "t":
        return tuple(_decode(d, leaves) for d in desc[1])
    if isinstance(desc, list) and desc[0] == "d":
        return {k: _decode(d, leaves) for k, d in desc[1]}
    leaf = next(leaves)
    return leaf[()] if desc == "s" else leaf


class _CacheDataset(_Unary):
    def __init__(self, input_dataset, filename):
        super().__init__(input_dataset)
        self._filename = filename
        self._memory = None
        self._lock = threading.Lock()

    def _iterate(self):
        if not self._filename:
            if self._memory is not None:
                yield from self._memory
                return
            recorded = []
            with reading(self._input) as upstream:
                for element in upstream:
                    recorded.append(element)
                    yield element
            with self._lock:
                if self._memory is None:
                    self._memory = recorded
            return
        path = self._filename + ".engine-cache"
        if os.path.exists(path):
            yield from self._read(path)
            return
        yield from self._write(path)

    @staticmethod
    def _read(path):
        with open(path, "rb") as f:
            magic = f.read(8)
            if magic != b"ENGDSC01":
                raise ValueError(f"cache: {path} is not a dataset cache file")
            while True:
                try:
                    header = np.load(f, allow_pickle=False)
                except EOFError:
                    return
                desc, count = json.loads(header.tobytes().decode())
                leaves = [np.load(f, allow_pickle=False) for _ in range(count)]
                yield _decode(desc, iter(leaves))

    def _write(self, path):
        folder = os.path.dirname(os.path.abspath(path))
        os.makedirs(folder, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".engine-cache-", dir=folder)
        complete = False
        upstream = iter(self._input)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(b"ENGDSC01")
                for element in upstream:
                    desc, leaves = _encode(element)
                    if any(leaf.dtype == object for leaf in leaves):
                        raise TypeError("cache: object arrays cannot be cached in a file")
                    header = np.frombuffer(json.dumps([desc, len(leaves)]).encode(), np.uint8)
                    np.save(f, header, allow_pickle=False)
                    for leaf in leaves:
                        np.save(f, leaf, allow_pickle=False)
                    yield element
            complete = True
        finally:
            close_iterator(upstream)
            # Only a complete pass becomes the cache (renamed into place at once).
            if complete:
                os.replace(tmp, path)
            else:
                try:
                    os.remove(tmp)
                except OSError:
                    pass
