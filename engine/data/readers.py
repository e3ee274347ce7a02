"""Datasets that read files: TextLineDataset, CsvDataset and make_csv_dataset (tf.data's
names and arguments). Files are read as they are iterated, a line at a time, so a file
larger than memory streams through."""
import collections
import csv
import gzip
import io
import itertools
import os
import zlib

import numpy as np

from engine.data.dataset import AUTOTUNE, Dataset, UNKNOWN, _cpu_count, _ListDataset


def _file_names(filenames, owner):
    if isinstance(filenames, Dataset):
        return filenames
    if isinstance(filenames, (str, os.PathLike, np.str_)):
        names = [os.fspath(filenames)]
    elif isinstance(filenames, np.ndarray):
        names = [str(f) for f in filenames.reshape(-1)]
    else:
        names = [os.fspath(str(f) if isinstance(f, np.ndarray) else f) for f in filenames]
    if not names:
        raise ValueError(f"{owner}: no file names given")
    return _ListDataset([np.str_(n) for n in names])


def _open_text(path, compression_type, owner):
    path = str(path)
    kind = (compression_type or "").upper()
    if kind == "":
        return open(path, "r", encoding="utf-8", newline="")
    if kind == "GZIP":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", newline="")
    if kind == "ZLIB":
        with open(path, "rb") as f:
            return io.StringIO(zlib.decompress(f.read()).decode("utf-8"), newline="")
    raise ValueError(f"{owner}: compression_type must be None, '', 'GZIP' or 'ZLIB', got {compression_type!r}")


def _lines(path, compression_type, owner):
    with _open_text(path, compression_type, owner) as f:
        for line in f:
            yield np.str_(line.rstrip("\r\n") if line.endswith("\n") else line.rstrip("\r"))


class _FilesDataset(Dataset):
    """Reads each file of `files` (a Dataset of names) with `read(name)`, one file after the
    other, or `num_parallel_reads` files interleaved a record at a time (tf.data's order)."""

    def __init__(self, files, read, num_parallel_reads):
        self._files = files
        self._read = read
        self._parallel = num_parallel_reads

    def cardinality(self):
        return UNKNOWN

    def _source(self):
        read = self._read
        if self._parallel is None or self._parallel == 1:
            return self._files.flat_map(lambda f: _Reader(read, f))
        cycle = _cpu_count() if self._parallel == AUTOTUNE else self._parallel
        return self._files.interleave(lambda f: _Reader(read, f), cycle_length=cycle, block_length=1,
                                      num_parallel_calls=cycle)

    def _iterate(self):
        yield from self._source()


class _Reader(Dataset):
    def __init__(self, read, name):
        self._read, self._name = read, str(name)

    def _iterate(self):
        yield from self._read(self._name)


def _parallel_arg(owner, value):
    if value is None or value == AUTOTUNE:
        return value
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{owner}: num_parallel_reads must be a positive integer or AUTOTUNE, got {value!r}")
    return int(value)


class TextLineDataset(_FilesDataset):
    """The lines of one or more text files (UTF-8), without their line endings, as strings."""

    def __init__(self, filenames, compression_type=None, buffer_size=None, num_parallel_reads=None, name=None):
        files = _file_names(filenames, "TextLineDataset")
        if (compression_type or "").upper() not in ("", "GZIP", "ZLIB"):
            raise ValueError(f"TextLineDataset: compression_type must be None, '', 'GZIP' or 'ZLIB', "
                             f"got {compression_type!r}")
        super().__init__(files, lambda f: _lines(f, compression_type, "TextLineDataset"),
                         _parallel_arg("TextLineDataset", num_parallel_reads))


# ---- CSV ----------------------------------------------------------------------------------------

_TYPE_NAMES = {float: np.float32, int: np.int64, str: np.str_, bytes: np.str_}


def _column_type(value):
    """(dtype, default or None when the column is required) from a record default: a value,
    a type (float, int, str, np.float32, "float32", ...) or an empty list / array (required)."""
    if isinstance(value, type) or isinstance(value, np.dtype) or isinstance(value, str) and value in (
            "float32", "float64", "int32", "int64", "string", "str"):
        if value in _TYPE_NAMES:
            return np.dtype(_TYPE_NAMES[value]), None
        if value in ("string", "str"):
            return np.dtype(np.str_), None
        return np.dtype(value), None
    arr = np.asarray(value)
    if arr.size == 0:
        return (np.dtype(np.str_) if arr.dtype.kind in "USO" else arr.dtype), None
    arr = arr.reshape(-1)
    if arr.size != 1:
        raise ValueError(f"a record default must be one value, got {value!r}")
    v = arr[0]
    if arr.dtype.kind in "US":
        return np.dtype(np.str_), str(v)
    if arr.dtype.kind == "f":
        return (np.dtype(np.float64) if arr.dtype == np.float64 and not isinstance(value, float)
                else np.dtype(np.float32)), v
    if arr.dtype.kind in "iu":
        return (np.dtype(np.int32) if arr.dtype == np.int32 else np.dtype(np.int64)), v
    raise TypeError(f"a record default must be a number, a string or a type, got {value!r}")


def _csv_rows(path, compression_type, field_delim, use_quote_delim, header, ncols, ignore_errors, owner):
    """(line number, fields) of a CSV file, header skipped, rows of the wrong width refused
    (or skipped with ignore_errors)."""
    with _open_text(path, compression_type, owner) as f:
        reader = csv.reader(f, delimiter=field_delim, quoting=csv.QUOTE_MINIMAL if use_quote_delim else csv.QUOTE_NONE)
        try:
            if header:
                next(reader, None)
            for fields in reader:
                if not fields:
                    continue  # a blank line
                if len(fields) != ncols:
                    if ignore_errors:
                        continue
                    raise ValueError(f"{owner}: {path} line {reader.line_num} has {len(fields)} fields, "
                                     f"expected {ncols}")
                yield reader.line_num, fields
        except csv.Error as e:
            raise ValueError(f"{owner}: {path} line {reader.line_num}: {e}") from None


def _convert_column(values, dtype, default, missing_marks, column, owner):
    """One column of a batch of rows (an array of strings) as `dtype`, missing fields (empty or
    na_value) replaced by the default; a required column with a missing field is an error."""
    missing = np.isin(values, missing_marks)
    if missing.any():
        if default is None:
            raise ValueError(f"{owner}: column {column!r} is required but a row has no value for it")
        values = np.where(missing, str(default), values)
    if dtype.kind == "U":
        return values.astype(np.str_)
    try:
        if dtype.kind in "iu":
            return values.astype(np.int64).astype(dtype)
        return values.astype(dtype)
    except ValueError:
        for v in values:
            try:
                (int if dtype.kind in "iu" else float)(v)
            except ValueError:
                raise ValueError(f"{owner}: column {column!r} holds {str(v)!r}, which is not "
                                 f"{'an integer' if dtype.kind in 'iu' else 'a number'}") from None
        raise


class CsvDataset(Dataset):
    """The rows of CSV files as tuples, one 0-d array per column (tf.data.experimental's
    CsvDataset). `record_defaults` gives each column's type and default: a value (used for
    missing fields), or a type or an empty list for a required column."""

    def __init__(self, filenames, record_defaults, compression_type=None, buffer_size=None, header=False,
                 field_delim=",", use_quote_delim=True, na_value="", select_cols=None, exclude_cols=None,
                 name=None):
        self._files = _file_names(filenames, "CsvDataset")
        if not record_defaults:
            raise ValueError("CsvDataset: record_defaults must give one entry per column")
        if select_cols is not None and exclude_cols is not None:
            raise ValueError("CsvDataset: give select_cols or exclude_cols, not both")
        self._types = [_column_type(d) for d in record_defaults]
        self._options = (compression_type, field_delim, use_quote_delim, header)
        self._na_value = na_value
        self._select, self._exclude = select_cols, exclude_cols
        if select_cols is not None and len(select_cols) != len(self._types):
            raise ValueError(f"CsvDataset: {len(select_cols)} select_cols for {len(self._types)} record_defaults")

    def _iterate(self):
        compression, delim, quote, header = self._options
        marks = np.array(["", self._na_value])
        for path in self._files:
            rows = _csv_file_rows(str(path), compression, delim, quote, header, "CsvDataset")
            for line, fields in rows:
                if self._select is not None:
                    try:
                        fields = [fields[i] for i in self._select]
                    except IndexError:
                        raise ValueError(f"CsvDataset: {path} line {line} has {len(fields)} fields; "
                                         f"select_cols asks for column {max(self._select)}") from None
                elif self._exclude is not None:
                    fields = [f for i, f in enumerate(fields) if i not in set(self._exclude)]
                if len(fields) != len(self._types):
                    raise ValueError(f"CsvDataset: {path} line {line} has {len(fields)} fields, expected "
                                     f"{len(self._types)}")
                yield tuple(_convert_column(np.array([v]), dtype, default, marks, f"column {k}", "CsvDataset")[0]
                            for k, (v, (dtype, default)) in enumerate(zip(fields, self._types)))


def _csv_file_rows(path, compression, delim, quote, header, owner):
    with _open_text(path, compression, owner) as f:
        reader = csv.reader(f, delimiter=delim, quoting=csv.QUOTE_MINIMAL if quote else csv.QUOTE_NONE)
        if header:
            next(reader, None)
        try:
            for fields in reader:
                if fields:
                    yield reader.line_num, fields
        except csv.Error as e:
            raise ValueError(f"{owner}: {path} line {reader.line_num}: {e}") from None


def _infer_dtype(values, na_value):
    kind = None  # int -> float -> str, widening as values need
    for v in values:
        if v == "" or v == na_value:
            continue
        if kind in (None, "int"):
            try:
                int(v)
                kind = "int"
                continue
            except ValueError:
                pass
        if kind in (None, "int", "float"):
            try:
                float(v)
                kind = "float"
                continue
            except ValueError:
                pass
        kind = "str"
        break
    return {"int": np.dtype(np.int64), "float": np.dtype(np.float32)}.get(kind, np.dtype(np.str_))


def make_csv_dataset(file_pattern, batch_size, column_names=None, column_defaults=None, label_name=None,
                     select_columns=None, field_delim=",", use_quote_delim=True, na_value="", header=True,
                     num_epochs=None, shuffle=True, shuffle_buffer_size=10000, shuffle_seed=None,
                     prefetch_buffer_size=None, num_parallel_reads=None, sloppy=False,
                     num_rows_for_inference=100, compression_type=None, ignore_errors=False):
    """Batches of CSV rows, as tf.data.experimental.make_csv_dataset: each element is
    (features, labels) with `label_name`, else features, where features is an ordered dict
    of column name -> array of `batch_size` values.

    Column names come from `column_names` or the header line of the first file. Column types
    and defaults come from `column_defaults` (a value per column, used for missing fields,
    or a type for a required column) or are inferred from the first
    `num_rows_for_inference` rows (int64, float32 or string; missing fields then read as 0
    or ""). As in tf.data, files are shuffled and the rows go through a shuffle buffer of
    `shuffle_buffer_size` unless shuffle=False, and the data repeats forever unless
    `num_epochs` is given. The files are read as the dataset is iterated, never whole."""
    owner = "make_csv_dataset"
    batch_size = int(batch_size)
    if batch_size < 1:
        raise ValueError(f"{owner}: batch_size must be at least 1, got {batch_size}")
    files = Dataset.list_files(file_pattern, shuffle=shuffle, seed=shuffle_seed)
    first = str(next(iter(Dataset.list_files(file_pattern, shuffle=False))))
    if column_names is None:
        if not header:
            raise ValueError(f"{owner}: give column_names, or header=True to read them from the first line")
        with _open_text(first, compression_type, owner) as f:
            column_names = next(csv.reader(f, delimiter=field_delim), None)
        if not column_names:
            raise ValueError(f"{owner}: {first} has no header line")
    column_names = [str(c) for c in column_names]
    if len(set(column_names)) != len(column_names):
        raise ValueError(f"{owner}: column names must be unique, got {column_names}")
    ncols = len(column_names)
    if column_defaults is not None:
        if len(column_defaults) != ncols:
            raise ValueError(f"{owner}: {len(column_defaults)} column_defaults for {ncols} columns")
        types = [_column_type(d) for d in column_defaults]
    else:
        sample = list(itertools.islice(
            _csv_rows(first, compression_type, field_delim, use_quote_delim, header, ncols, True, owner),
            num_rows_for_inference))
        types = []
        for j in range(ncols):
            dtype = _infer_dtype([fields[j] for _, fields in sample], na_value)
            types.append((dtype, "" if dtype.kind == "U" else 0))
    if select_columns is not None:
        selected = [column_names[c] if isinstance(c, (int, np.integer)) else str(c) for c in select_columns]
        unknown = [c for c in selected if c not in column_names]
        if unknown:
            raise ValueError(f"{owner}: select_columns names unknown columns {unknown}; columns: {column_names}")
    else:
        selected = list(column_names)
    if label_name is not None and label_name not in selected:
        raise ValueError(f"{owner}: label_name {label_name!r} is not among the columns {selected}")
    keep = [column_names.index(c) for c in selected]

    def read(path):
        for _, fields in _csv_rows(path, compression_type, field_delim, use_quote_delim, header, ncols,
                                   ignore_errors, owner):
            yield np.array([fields[j] for j in keep])

    rows = _FilesDataset(files, read, _parallel_arg(owner, num_parallel_reads))
    if num_epochs is None or num_epochs == -1:
        rows = rows.repeat()
    elif int(num_epochs) != 1:
        rows = rows.repeat(int(num_epochs))
    if shuffle:
        rows = rows.shuffle(shuffle_buffer_size, seed=shuffle_seed)
    marks = np.array(["", na_value])
    picked = [(column_names[j], types[j]) for j in keep]

    def to_columns(batch):
        features = collections.OrderedDict()
        for k, (column, (dtype, default)) in enumerate(picked):
            features[column] = _convert_column(batch[:, k], dtype, default, marks, column, owner)
        if label_name is None:
            return features
        label = features.pop(label_name)
        return features, label

    out = rows.batch(batch_size).map(to_columns)
    size = AUTOTUNE if prefetch_buffer_size is None else prefetch_buffer_size
    return out.prefetch(size)


__all__ = ["CsvDataset", "TextLineDataset", "make_csv_dataset"]
