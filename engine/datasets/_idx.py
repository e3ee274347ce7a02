"""IDX files (the MNIST / Fashion-MNIST format), plain or gzip-compressed.

Layout: two zero bytes, a type code, the number of dimensions, then each dimension as a
big-endian uint32, then the data, big-endian, row-major.
"""
import gzip
import math
import os
import zlib
from pathlib import Path

import numpy as np

_IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_GZIP_MAGIC = b"\x1f\x8b"

# (train images, train labels, test images, test labels): the names both data sets ship with.
_MNIST_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


def load_idx(path):
    """Read one IDX file (gzip-compressed or not, told apart by content) into a numpy array
    with the file's shape and the native-endian form of its element type."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"load_idx: no such file: '{path}'")
    raw = path.read_bytes()
    if raw[:2] == _GZIP_MAGIC:
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as e:
            raise ValueError(f"load_idx: '{path}' is a corrupt gzip file ({e})") from None
    if len(raw) < 4:
        raise ValueError(f"load_idx: '{path}' is too short ({len(raw)} bytes) to be an IDX file")
    if raw[0] != 0 or raw[1] != 0:
        raise ValueError(f"load_idx: '{path}' is not an IDX file: magic number "
                         f"0x{raw[:4].hex()} does not start with two zero bytes")
    code, ndim = raw[2], raw[3]
    if code not in _IDX_DTYPES:
        known = ", ".join(f"0x{c:02X}" for c in _IDX_DTYPES)
        raise ValueError(f"load_idx: '{path}' has unknown data type code 0x{code:02X} "
                         f"(known: {known})")
    if ndim == 0:
        raise ValueError(f"load_idx: '{path}' declares 0 dimensions")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"load_idx: '{path}' is truncated inside its header: {ndim} dimensions "
                         f"need {header} bytes, the file has {len(raw)}")
    shape = tuple(int(d) for d in np.frombuffer(raw, ">u4", count=ndim, offset=4))
    dtype = np.dtype(_IDX_DTYPES[code])
    expected = math.prod(shape) * dtype.itemsize  # Python ints: no overflow on hostile dims
    if len(raw) - header != expected:
        raise ValueError(f"load_idx: '{path}' has {len(raw) - header} data bytes but its header "
                         f"(shape {shape}, {dtype.itemsize}-byte elements) needs {expected}")
    data = np.frombuffer(raw, dtype, offset=header).reshape(shape)
    return data.astype(dtype.newbyteorder("="))


def load_mnist(path=None):
    """MNIST from the four standard IDX files (optionally .gz) in the folder ``path``.

    Returns ``(x_train, y_train), (x_test, y_test)``: images float32 [N, 1, 28, 28] in
    [0, 1], labels int64. Nothing is downloaded; ``path`` defaults to
    ``$ENGINE_DATASETS/mnist`` or ``~/.engine/datasets/mnist``.
    """
    return _load_image_set("mnist", path)


def load_fashion_mnist(path=None):
    """Fashion-MNIST from the four standard IDX files (optionally .gz) in the folder ``path``.

    Same file names and layout as :func:`load_mnist`; ``path`` defaults to
    ``$ENGINE_DATASETS/fashion_mnist`` or ``~/.engine/datasets/fashion_mnist``.
    """
    return _load_image_set("fashion_mnist", path)


def _default_folder(name):
    root = os.environ.get("ENGINE_DATASETS") or Path.home() / ".engine" / "datasets"
    return Path(root) / name


def _find(folder, stem):
    # Some mirrors spell the names with a dot ("train-images.idx3-ubyte").
    dotted = stem.replace("-idx", ".idx")
    for candidate in (stem, stem + ".gz", dotted, dotted + ".gz"):
        if (folder / candidate).is_file():
            return folder / candidate
    return None


def _load_image_set(name, path):
    func = f"load_{name}"
    folder = Path(path) if path is not None else _default_folder(name)
    found = [_find(folder, stem) for stem in _MNIST_FILES]
    missing = [stem for stem, f in zip(_MNIST_FILES, found) if f is None]
    if missing:
        raise FileNotFoundError(
            f"{func}: folder '{folder}' lacks {', '.join(missing)} (each may also end in .gz); "
            f"it needs the four files {', '.join(_MNIST_FILES)}. Nothing is downloaded: fetch "
            f"them yourself and pass their folder as path=")
    x_train, y_train, x_test, y_test = (load_idx(f) for f in found)
    return (_images(func, x_train, found[0]), _labels(func, y_train, len(x_train), found[1])), \
           (_images(func, x_test, found[2]), _labels(func, y_test, len(x_test), found[3]))


def _images(func, x, path):
    if x.ndim != 3 or x.dtype != np.uint8:
        raise ValueError(f"{func}: '{path}' should hold uint8 images [N, H, W], "
                         f"got {x.dtype} {x.shape}")
    return (x.astype(np.float32) / np.float32(255.0))[:, None, :, :]


def _labels(func, y, n_images, path):
    if y.ndim != 1 or y.dtype != np.uint8:
        raise ValueError(f"{func}: '{path}' should hold uint8 labels [N], got {y.dtype} {y.shape}")
    if len(y) != n_images:
        raise ValueError(f"{func}: '{path}' has {len(y)} labels for {n_images} images")
    if len(y) and y.max() > 9:
        raise ValueError(f"{func}: '{path}' has a label {int(y.max())} outside 0..9")
    return y.astype(np.int64)
