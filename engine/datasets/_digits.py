"""The bundled UCI 8x8 handwritten digits (1,797 images, pixel counts 0..16)."""
from pathlib import Path

import numpy as np

_DATA = Path(__file__).resolve().parent / "data" / "digits.npz"
_PIXEL_MAX = 16.0


def load_digits(return_split=True, test_size=0.2, seed=0):
    """The 8x8 digits as float32 images [N, 1, 8, 8] in [0, 1] and int64 labels [N].

    With ``return_split`` (the default) returns ``(x_train, y_train), (x_test, y_test)``: a
    stratified split (every digit keeps its share in both parts) that depends only on
    ``seed``; each part is shuffled so that batches mix the classes. Otherwise returns
    ``(x, y)`` for all 1,797 images in the original order.
    """
    with np.load(_DATA) as data:
        images, labels = data["images"], data["labels"]
    x = (images.astype(np.float32) / np.float32(_PIXEL_MAX))[:, None, :, :]
    y = labels.astype(np.int64)
    if not return_split:
        return x, y
    test_idx, train_idx = _stratified_split(y, test_size, seed)
    return (x[train_idx], y[train_idx]), (x[test_idx], y[test_idx])


def _stratified_split(y, test_size, seed):
    """Index arrays (test, train): round(test_size * N) test samples, split across classes
    by largest remainder so that each class's share matches the whole set's."""
    if isinstance(test_size, bool) or not isinstance(test_size, (float, np.floating)) \
            or not 0.0 < test_size < 1.0:
        raise ValueError(f"load_digits: test_size must be a float in (0, 1), got {test_size!r}")
    rng = np.random.default_rng(seed)
    classes, counts = np.unique(y, return_counts=True)
    n_test = int(round(test_size * len(y)))
    if not 0 < n_test < len(y):
        raise ValueError(f"load_digits: test_size={test_size} leaves an empty train or test set")
    exact = counts * (n_test / len(y))
    per_class = np.floor(exact).astype(np.int64)
    # Hand the leftover test slots to the classes with the largest fractional parts.
    leftover = n_test - int(per_class.sum())
    per_class[np.argsort(-(exact - per_class), kind="stable")[:leftover]] += 1
    test, train = [], []
    for c, k in zip(classes, per_class):
        idx = rng.permutation(np.flatnonzero(y == c))
        test.append(idx[:k])
        train.append(idx[k:])
    return rng.permutation(np.concatenate(test)), rng.permutation(np.concatenate(train))
