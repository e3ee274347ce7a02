"""Data sets: the bundled digits and the IDX reader, against files written here."""
import gzip
import struct

import numpy as np
import pytest

from engine import datasets

DIGIT_COUNTS = [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
# The first row of the original digits.csv (a zero), pixel counts 0..16.
FIRST_DIGIT = [0, 0, 5, 13, 9, 1, 0, 0, 0, 0, 13, 15, 10, 15, 5, 0, 0, 3, 15, 2, 0, 11, 8, 0,
               0, 4, 12, 0, 0, 8, 8, 0, 0, 5, 8, 0, 0, 9, 8, 0, 0, 4, 11, 0, 1, 12, 7, 0,
               0, 2, 14, 5, 10, 12, 0, 0, 0, 0, 6, 13, 10, 0, 0, 0]


def test_digits_full_set():
    x, y = datasets.load_digits(return_split=False)
    assert x.shape == (1797, 1, 8, 8) and x.dtype == np.float32
    assert y.shape == (1797,) and y.dtype == np.int64
    assert x.min() == 0.0 and x.max() == 1.0
    # Pixels are counts 0..16 scaled by 1/16: every value is an exact multiple of 1/16.
    np.testing.assert_array_equal(x * 16, np.round(x * 16))
    np.testing.assert_array_equal(np.bincount(y), DIGIT_COUNTS)
    np.testing.assert_array_equal(x[0, 0] * 16, np.reshape(FIRST_DIGIT, (8, 8)))
    assert y[0] == 0 and y[1] == 1


@pytest.mark.parametrize("test_size", [0.2, 0.33])
def test_digits_split_is_a_stratified_partition(test_size):
    (x_tr, y_tr), (x_te, y_te) = datasets.load_digits(test_size=test_size, seed=3)
    x, y = datasets.load_digits(return_split=False)
    assert len(y_te) == round(test_size * 1797) and len(y_tr) + len(y_te) == 1797
    assert x_tr.shape[1:] == (1, 8, 8) and x_te.dtype == np.float32 and y_tr.dtype == np.int64
    # Train and test together are exactly the full set (as multisets of image+label rows).
    rows = lambda xs, ys: sorted(map(bytes, np.concatenate([xs.reshape(len(xs), -1) * 16,
                                                             ys[:, None]], 1).astype(np.uint8)))
    assert rows(np.concatenate([x_tr, x_te]), np.concatenate([y_tr, y_te])) == rows(x, y)
    # Each class's share of the test set is within one sample of its exact share.
    exact = np.array(DIGIT_COUNTS) * test_size
    assert np.all(np.abs(np.bincount(y_te, minlength=10) - exact) < 1.0)
    # Shuffled: the test labels are not sorted by class.
    assert np.any(np.diff(y_te) < 0)


def test_digits_split_depends_only_on_seed():
    a = datasets.load_digits(seed=5)
    b = datasets.load_digits(seed=5)
    c = datasets.load_digits(seed=6)
    for (xa, ya), (xb, yb) in zip(a, b):
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(ya, yb)
    assert not np.array_equal(a[1][1], c[1][1])


@pytest.mark.parametrize("test_size", [0.0, 1.0, -0.1, 1, "0.2", 1e-5])
def test_digits_rejects_bad_test_size(test_size):
    with pytest.raises(ValueError, match="load_digits: test_size"):
        datasets.load_digits(test_size=test_size)


# ---------------------------------------------------------------- IDX

IDX_CODES = {np.dtype(np.uint8): 0x08, np.dtype(np.int8): 0x09, np.dtype(np.int16): 0x0B,
             np.dtype(np.int32): 0x0C, np.dtype(np.float32): 0x0D, np.dtype(np.float64): 0x0E}


def idx_bytes(arr):
    """An IDX file written from the format's description (big-endian header and data)."""
    arr = np.asarray(arr)
    header = struct.pack(">BBBB", 0, 0, IDX_CODES[arr.dtype], arr.ndim)
    header += struct.pack(f">{arr.ndim}I", *arr.shape)
    return header + arr.astype(arr.dtype.newbyteorder(">")).tobytes()


def write(path, data, compress):
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gz"])
@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
@pytest.mark.parametrize("shape", [(7,), (13, 5), (3, 7, 5)], ids=str)
def test_idx_round_trip(tmp_path, rng, dtype, shape, compress):
    if np.dtype(dtype).kind == "f":
        arr = rng.standard_normal(shape).astype(dtype)
    else:
        info = np.iinfo(dtype)
        arr = rng.integers(info.min, info.max, shape, endpoint=True).astype(dtype)
    out = datasets.load_idx(write(tmp_path / "a.idx", idx_bytes(arr), compress))
    assert out.dtype == np.dtype(dtype) and out.dtype.isnative and out.shape == shape
    np.testing.assert_array_equal(out, arr)


@pytest.mark.parametrize("mutate, message", [
    (lambda b: b[:3], "too short"),
    (lambda b: b"\x01" + b[1:], "not an IDX file"),
    (lambda b: b[:2] + b"\x0A" + b[3:], "unknown data type code 0x0A"),
    (lambda b: b[:3] + b"\x00", "0 dimensions"),
    (lambda b: b[:6], "truncated inside its header"),
    (lambda b: b[:3] + b"\x09" + b[4:], "data bytes but its header"),
    (lambda b: b[:-1], "data bytes but its header"),
    (lambda b: b + b"\x00", "data bytes but its header"),
    (lambda b: gzip.compress(b)[:-9], "corrupt gzip"),
], ids=["short", "magic", "dtype", "ndim0", "header", "huge-dims", "truncated", "trailing", "gzip"])
def test_idx_rejects_corrupt_files(tmp_path, mutate, message):
    good = idx_bytes(np.arange(7 * 5, dtype=np.uint8).reshape(7, 5))
    path = write(tmp_path / "bad.idx", mutate(good), False)
    with pytest.raises(ValueError, match=message) as err:
        datasets.load_idx(path)
    assert "load_idx" in str(err.value) and "bad.idx" in str(err.value)


def test_idx_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="load_idx: no such file"):
        datasets.load_idx(tmp_path / "nothing.idx")


def write_mnist_folder(folder, rng, n_train=13, n_test=7, compress=False, dotted=False):
    names = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte",
             "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]
    arrays = [rng.integers(0, 256, (n_train, 28, 28)).astype(np.uint8),
              rng.integers(0, 10, n_train).astype(np.uint8),
              rng.integers(0, 256, (n_test, 28, 28)).astype(np.uint8),
              rng.integers(0, 10, n_test).astype(np.uint8)]
    folder.mkdir(exist_ok=True)
    for name, arr in zip(names, arrays):
        name = name.replace("-idx", ".idx") if dotted else name
        write(folder / (name + (".gz" if compress else "")), idx_bytes(arr), compress)
    return arrays


@pytest.mark.parametrize("loader", [datasets.load_mnist, datasets.load_fashion_mnist])
@pytest.mark.parametrize("compress, dotted", [(False, False), (True, False), (True, True)],
                         ids=["plain", "gz", "dotted-gz"])
def test_mnist_style_loaders(tmp_path, rng, loader, compress, dotted):
    xtr, ytr, xte, yte = write_mnist_folder(tmp_path / "d", rng, compress=compress, dotted=dotted)
    (x_train, y_train), (x_test, y_test) = loader(tmp_path / "d")
    for x, ref in ((x_train, xtr), (x_test, xte)):
        assert x.dtype == np.float32 and x.shape == (len(ref), 1, 28, 28)
        np.testing.assert_allclose(x[:, 0], ref / 255.0, rtol=1e-6)
    for y, ref in ((y_train, ytr), (y_test, yte)):
        assert y.dtype == np.int64
        np.testing.assert_array_equal(y, ref)


def test_mnist_missing_files_are_named(tmp_path, rng, monkeypatch):
    write_mnist_folder(tmp_path / "d", rng)
    (tmp_path / "d" / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(FileNotFoundError, match="lacks t10k-labels-idx1-ubyte") as err:
        datasets.load_mnist(tmp_path / "d")
    assert "train-images-idx3-ubyte" in str(err.value)
    # The default folder comes from $ENGINE_DATASETS.
    monkeypatch.setenv("ENGINE_DATASETS", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="load_fashion_mnist: folder .*fashion_mnist"):
        datasets.load_fashion_mnist()
    write_mnist_folder(tmp_path / "mnist", rng)
    assert datasets.load_mnist()[0][0].shape == (13, 1, 28, 28)


def test_mnist_rejects_inconsistent_files(tmp_path, rng):
    write_mnist_folder(tmp_path, rng)
    write(tmp_path / "train-labels-idx1-ubyte", idx_bytes(np.zeros(12, np.uint8)), False)
    with pytest.raises(ValueError, match="12 labels for 13 images"):
        datasets.load_mnist(tmp_path)
    write(tmp_path / "train-labels-idx1-ubyte", idx_bytes(np.full(13, 10, np.uint8)), False)
    with pytest.raises(ValueError, match="label 10 outside 0..9"):
        datasets.load_mnist(tmp_path)
    write(tmp_path / "train-labels-idx1-ubyte", idx_bytes(np.zeros(13, np.uint8)), False)
    write(tmp_path / "t10k-images-idx3-ubyte", idx_bytes(np.zeros((7, 784), np.uint8)), False)
    with pytest.raises(ValueError, match=r"uint8 images \[N, H, W\]"):
        datasets.load_mnist(tmp_path)
