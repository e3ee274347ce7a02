"""engine.data.Dataset: each transformation against the semantics tf.data documents,
computed here independently with plain Python and numpy."""
import gzip
import threading
import time
import traceback

import numpy as np
import pytest

import engine
from engine.data import AUTOTUNE, CsvDataset, Dataset, TensorSpec, TextLineDataset, make_csv_dataset


def values(ds):
    return [np.asarray(e).tolist() for e in ds]


def thread_names():
    return sorted(t.name for t in threading.enumerate() if t is not threading.current_thread())


@pytest.fixture(autouse=True)
def no_thread_left_behind():
    """Every test ends with the threads it started joined."""
    before = thread_names()
    yield
    assert thread_names() == before


# ---- sources -------------------------------------------------------------------------------

def test_from_tensor_slices_of_arrays_tuples_and_dicts(rng):
    x = rng.standard_normal((7, 3)).astype(np.float32)
    y = rng.integers(0, 5, 7)
    ds = Dataset.from_tensor_slices(x)
    rows = list(ds)
    assert len(ds) == 7 and len(rows) == 7
    for i, r in enumerate(rows):
        assert isinstance(r, np.ndarray) and r.dtype == np.float32
        np.testing.assert_array_equal(r, x[i])
    pairs = list(Dataset.from_tensor_slices((x, y)))
    assert all(isinstance(p, tuple) and len(p) == 2 for p in pairs)
    np.testing.assert_array_equal(np.stack([p[0] for p in pairs]), x)
    assert [int(p[1]) for p in pairs] == y.tolist()
    assert pairs[0][1].shape == ()  # rows of a 1-D array are 0-d arrays
    d = list(Dataset.from_tensor_slices({"a": x, "b": (y, y * 2)}))
    assert list(d[3]) == ["a", "b"]
    np.testing.assert_array_equal(d[3]["a"], x[3])
    assert int(d[3]["b"][1]) == 2 * y[3]


def test_from_tensor_slices_refuses_mismatched_or_scalar_inputs():
    with pytest.raises(ValueError, match="first dimensions"):
        Dataset.from_tensor_slices((np.zeros(3), np.zeros(4)))
    with pytest.raises(ValueError, match="scalar"):
        Dataset.from_tensor_slices(np.float32(1.0))


def test_from_generator_with_signature_casts_and_checks():
    def gen(n):
        for i in range(n):
            yield [i, i + 1], i * 0.5

    ds = Dataset.from_generator(gen, args=(3,), output_signature=(TensorSpec((2,), "int64"),
                                                                 TensorSpec((), "float32")))
    got = list(ds)
    assert [a.tolist() for a, _ in got] == [[0, 1], [1, 2], [2, 3]]
    assert all(b.dtype == np.float32 for _, b in got)
    assert values(ds.map(lambda a, b: b)) == [0.0, 0.5, 1.0]  # a new pass each iteration
    bad = Dataset.from_generator(lambda: iter([[1, 2, 3]]), output_signature=TensorSpec((2,), "int64"))
    with pytest.raises(ValueError, match=r"element 0: expected shape \(2,\), got \(3,\)"):
        list(bad)
    with pytest.raises(TypeError, match="callable"):
        Dataset.from_generator(gen(3))


def test_range_zip_enumerate_concatenate():
    assert values(Dataset.range(5)) == [0, 1, 2, 3, 4]
    assert values(Dataset.range(2, 9, 3)) == [2, 5, 8]
    z = list(Dataset.zip((Dataset.range(3), Dataset.range(10, 20))))
    assert [(int(a), int(b)) for a, b in z] == [(0, 10), (1, 11), (2, 12)]
    e = list(Dataset.range(5, 8).enumerate())
    assert [(int(i), int(v)) for i, v in e] == [(0, 5), (1, 6), (2, 7)]
    assert values(Dataset.range(2).concatenate(Dataset.range(5, 7))) == [0, 1, 5, 6]


# ---- transformations -----------------------------------------------------------------------

def test_map_sequential_and_parallel_keep_order():
    def slow_square(x):
        time.sleep(0.001 * (int(x) % 3))  # finishing out of order
        return x * x

    expected = [i * i for i in range(40)]
    assert values(Dataset.range(40).map(slow_square)) == expected
    assert values(Dataset.range(40).map(slow_square, num_parallel_calls=4)) == expected
    assert values(Dataset.range(40).map(slow_square, num_parallel_calls=AUTOTUNE)) == expected
    unordered = values(Dataset.range(40).map(slow_square, num_parallel_calls=4, deterministic=False))
    assert sorted(unordered) == expected


def test_parallel_map_runs_on_several_threads():
    seen = set()
    barrier = threading.Barrier(3, timeout=10)

    def record(x):
        seen.add(threading.current_thread().name)
        if int(x) < 3:
            barrier.wait()  # passes only if three calls run at the same time
        return x

    assert values(Dataset.range(12).map(record, num_parallel_calls=3)) == list(range(12))
    assert len(seen) == 3 and all(name.startswith("engine-data-map") for name in seen)


def test_map_spreads_tuples_and_passes_dicts_whole():
    ds = Dataset.from_tensor_slices((np.arange(3), np.arange(3) * 10))
    assert [(int(a), int(b)) for a, b in ds.map(lambda a, b: (b, a))] == [(0, 0), (10, 1), (20, 2)]
    d = Dataset.from_tensor_slices({"a": np.arange(3)}).map(lambda e: e["a"] + 1)
    assert values(d) == [1, 2, 3]


def test_filter():
    assert values(Dataset.range(10).filter(lambda x: x % 3 == 0)) == [0, 3, 6, 9]
    with pytest.raises(TypeError, match="bool"):
        list(Dataset.range(3).filter(lambda x: x))


def test_batch_and_drop_remainder(rng):
    x = rng.standard_normal((10, 2)).astype(np.float32)
    batches = list(Dataset.from_tensor_slices(x).batch(4))
    assert [b.shape for b in batches] == [(4, 2), (4, 2), (2, 2)]
    np.testing.assert_array_equal(np.concatenate(batches), x)
    assert len(Dataset.from_tensor_slices(x).batch(4, drop_remainder=True)) == 2
    assert values(Dataset.range(7).batch(3, drop_remainder=True)) == [[0, 1, 2], [3, 4, 5]]
    # Elements built one by one (not slices) stack the same way.
    gen = Dataset.from_generator(lambda: iter(x)).batch(4)
    np.testing.assert_array_equal(np.concatenate(list(gen)), x)
    with pytest.raises(ValueError, match="padded_batch"):
        list(Dataset.from_generator(lambda: iter([np.zeros(2), np.zeros(3)])).batch(2))


def test_padded_batch():
    ds = Dataset.range(1, 5).map(lambda n: np.arange(int(n)))
    got = [b.tolist() for b in ds.padded_batch(2)]
    assert got == [[[0, 0], [0, 1]], [[0, 1, 2, 0], [0, 1, 2, 3]]]
    fixed = [b.tolist() for b in ds.padded_batch(2, padded_shapes=[5], padding_values=-1)]
    assert fixed == [[[0, -1, -1, -1, -1], [0, 1, -1, -1, -1]], [[0, 1, 2, -1, -1], [0, 1, 2, 3, -1]]]
    with pytest.raises(ValueError, match="does not fit"):
        list(ds.padded_batch(4, padded_shapes=[2]))


def test_unbatch_inverts_batch():
    assert values(Dataset.range(7).batch(3).unbatch()) == list(range(7))


def test_repeat_take_skip():
    assert values(Dataset.range(3).repeat(2)) == [0, 1, 2, 0, 1, 2]
    assert values(Dataset.range(3).repeat().take(7)) == [0, 1, 2, 0, 1, 2, 0]
    assert values(Dataset.range(6).skip(4)) == [4, 5]
    assert values(Dataset.range(6).take(-1)) == list(range(6))
    assert values(Dataset.range(6).skip(-1)) == []
    assert len(Dataset.range(3).repeat(2)) == 6
    with pytest.raises(TypeError, match="infinite"):
        len(Dataset.range(3).repeat())


def test_shuffle_semantics():
    n, size = 200, 16
    ds = Dataset.range(n).shuffle(size, seed=3)
    first, second = values(ds), values(ds)
    assert sorted(first) == list(range(n)) and first != list(range(n))
    assert first != second  # reshuffled on every iteration
    assert values(Dataset.range(n).shuffle(size, seed=3)) == first  # the seed repeats the orders
    # With a buffer of `size` elements, element k cannot come out before position k - size + 1.
    position = {v: i for i, v in enumerate(first)}
    assert all(position[k] >= k - size + 1 for k in range(n))
    fixed = Dataset.range(n).shuffle(size, seed=3, reshuffle_each_iteration=False)
    assert values(fixed) == values(fixed)
    assert values(Dataset.range(n).shuffle(1, seed=0)) == list(range(n))  # a buffer of one keeps order
    engine.set_seed(9)
    a = values(Dataset.range(50).shuffle(50))
    engine.set_seed(9)
    assert values(Dataset.range(50).shuffle(50)) == a  # without a seed: engine.set_seed


def test_shuffle_with_a_full_buffer_is_uniform():
    # Where element 0 lands, over many seeds: uniform over the 8 positions when the buffer
    # holds the whole dataset (a chi-square test at a fixed seed sequence).
    counts = np.zeros(8)
    for seed in range(1600):
        counts[values(Dataset.range(8).shuffle(8, seed=seed)).index(0)] += 1
    chi2 = ((counts - 200) ** 2 / 200).sum()
    assert chi2 < 24.3  # the 0.001 quantile of chi-square with 7 degrees of freedom


def test_interleave_follows_tf_order():
    ds = Dataset.range(1, 6).interleave(lambda x: Dataset.from_tensors(x).repeat(6), cycle_length=2, block_length=4)
    # The example of tf.data.Dataset.interleave's documentation.
    assert values(ds) == [1, 1, 1, 1, 2, 2, 2, 2, 1, 1, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 3, 3, 4, 4,
                          5, 5, 5, 5, 5, 5]
    parallel = Dataset.range(1, 6).interleave(lambda x: Dataset.from_tensors(x).repeat(6), cycle_length=2,
                                              block_length=4, num_parallel_calls=2)
    assert values(parallel) == values(ds)
    assert values(Dataset.range(3).flat_map(lambda x: Dataset.range(int(x)))) == [0, 0, 1]


def test_window():
    windows = Dataset.range(7).window(3, shift=2)
    assert [values(w) for w in windows] == [[0, 1, 2], [2, 3, 4], [4, 5, 6], [6]]
    full = Dataset.range(7).window(3, shift=1, drop_remainder=True).flat_map(lambda w: w.batch(3))
    assert values(full) == [[i, i + 1, i + 2] for i in range(5)]
    strided = Dataset.range(10).window(3, shift=3, stride=2, drop_remainder=True)
    assert [values(w) for w in strided] == [[0, 2, 4], [3, 5, 7]]
    pairs = Dataset.from_tensor_slices((np.arange(4), np.arange(4) * 10)).window(2)
    assert [(values(a), values(b)) for a, b in pairs] == [([0, 1], [0, 10]), ([2, 3], [20, 30])]


def test_cache_in_memory_runs_the_pipeline_once():
    calls = []
    ds = Dataset.range(5).map(lambda x: calls.append(int(x)) or x * 2).cache()
    assert values(ds) == [0, 2, 4, 6, 8]
    assert values(ds) == [0, 2, 4, 6, 8]
    assert calls == [0, 1, 2, 3, 4]
    partial = Dataset.range(5).map(lambda x: calls.append(int(x)) or x).cache()
    calls.clear()
    assert values(partial.take(2)) == [0, 1]  # stopped early: nothing cached
    assert values(partial) == [0, 1, 2, 3, 4]
    assert calls == [0, 1, 0, 1, 2, 3, 4]


def test_cache_in_a_file(tmp_path):
    calls = []
    make = lambda: Dataset.from_tensor_slices({"x": np.arange(6.0).reshape(3, 2), "s": np.array(["a", "bc", "d"])}) \
        .map(lambda e: calls.append(1) or e).cache(str(tmp_path / "c"))
    first = list(make())
    assert len(calls) == 3 and (tmp_path / "c.engine-cache").exists()
    again = list(make())  # a new Dataset object reads the file
    assert len(calls) == 3
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a["x"], b["x"])
        assert str(a["s"]) == str(b["s"])
    assert [p.name for p in tmp_path.iterdir()] == ["c.engine-cache"]
    list(Dataset.range(5).cache(str(tmp_path / "d")).take(2))
    assert not (tmp_path / "d.engine-cache").exists()  # a partial pass leaves no file
    assert [p.name for p in tmp_path.iterdir()] == ["c.engine-cache"]


def test_prefetch_is_bounded_and_runs_ahead_on_a_thread():
    produced = []
    ds = Dataset.range(100).map(lambda x: produced.append(int(x)) or x).prefetch(3)
    it = iter(ds)
    assert int(next(it)) == 0
    deadline = time.monotonic() + 10
    while len(produced) < 5 and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.05)
    # One consumed, three waiting in the queue, one more held by the producer while it
    # waits for room: never more.
    assert 4 <= len(produced) <= 5
    it.close()
    assert values(Dataset.range(10).prefetch(2)) == list(range(10))
    assert values(Dataset.range(10).prefetch(0)) == list(range(10))


def test_worker_errors_surface_with_their_traceback():
    def parse(x):
        if int(x) == 5:
            raise ValueError("bad record 5")
        return x

    for ds in (Dataset.range(10).map(parse, num_parallel_calls=3),
               Dataset.range(10).map(parse).prefetch(2),
               Dataset.range(10).map(parse, num_parallel_calls=2).batch(2).prefetch(1)):
        with pytest.raises(ValueError, match="bad record 5") as info:
            list(ds)
        text = "".join(traceback.format_exception(info.value))
        assert "in parse" in text and 'raise ValueError("bad record 5")' in text


def test_stopping_early_joins_every_thread():
    before = thread_names()
    ds = (Dataset.range(10 ** 6).map(lambda x: x, num_parallel_calls=3).prefetch(4)
          .interleave(lambda x: Dataset.range(3), cycle_length=2, num_parallel_calls=2).prefetch(2))
    it = iter(ds)
    for _ in range(5):
        next(it)
    assert len(thread_names()) > len(before)
    it.close()
    assert thread_names() == before
    for k, _ in enumerate(Dataset.range(10 ** 6).prefetch(2)):
        if k == 3:
            break
    assert thread_names() == before


def test_bad_arguments_name_the_problem():
    with pytest.raises(ValueError, match="batch_size must be at least 1"):
        Dataset.range(3).batch(0)
    with pytest.raises(TypeError, match="batch_size must be an integer"):
        Dataset.range(3).batch(2.5)
    with pytest.raises(ValueError, match="buffer_size"):
        Dataset.range(3).shuffle(0)
    with pytest.raises(TypeError, match="callable"):
        Dataset.range(3).map(3)
    with pytest.raises(ValueError, match="num_parallel_calls"):
        Dataset.range(3).map(abs, num_parallel_calls=0)


# ---- files ---------------------------------------------------------------------------------

def test_list_files_and_text_lines(tmp_path):
    for k in range(3):
        (tmp_path / f"part{k}.txt").write_text("".join(f"{k}-{i}\n" for i in range(4)))
    (tmp_path / "other.csv").write_text("x\n")
    pattern = str(tmp_path / "part*.txt")
    names = values(Dataset.list_files(pattern, shuffle=False))
    assert names == [str(tmp_path / f"part{k}.txt") for k in range(3)]
    assert sorted(values(Dataset.list_files(pattern, seed=1))) == names
    lines = values(TextLineDataset(names))
    assert lines == [f"{k}-{i}" for k in range(3) for i in range(4)]
    interleaved = values(Dataset.list_files(pattern, shuffle=False).interleave(TextLineDataset, cycle_length=3))
    assert interleaved == [f"{k}-{i}" for i in range(4) for k in range(3)]
    assert values(TextLineDataset(names, num_parallel_reads=3)) == interleaved
    with gzip.open(tmp_path / "z.txt.gz", "wt") as f:
        f.write("a\r\nb\n")
    assert values(TextLineDataset(str(tmp_path / "z.txt.gz"), compression_type="GZIP")) == ["a", "b"]
    with pytest.raises(FileNotFoundError):
        Dataset.list_files(str(tmp_path / "nothing*"))
    with pytest.raises(FileNotFoundError):
        list(TextLineDataset(str(tmp_path / "missing.txt")))


def test_csv_dataset(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,b,c\n1,2.5,x\n3,,y\n")
    rows = list(CsvDataset(str(path), [int, 0.0, "?"], header=True))
    assert [(int(a), float(b), str(c)) for a, b, c in rows] == [(1, 2.5, "x"), (3, 0.0, "y")]
    assert rows[0][1].dtype == np.float32 and rows[0][0].dtype == np.int64
    picked = list(CsvDataset(str(path), [0.0, "?"], header=True, select_cols=[1, 2]))
    assert [(float(b), str(c)) for b, c in picked] == [(2.5, "x"), (0.0, "y")]
    path.write_text("1,,x\n")
    with pytest.raises(ValueError, match="required"):
        list(CsvDataset(str(path), [int, float, str]))


def test_make_csv_dataset(tmp_path):
    rng = np.random.default_rng(0)
    n = 53
    a = rng.integers(-50, 50, n) / 8
    b = rng.integers(0, 9, n)
    label = rng.integers(0, 3, n)
    lines = ["a,b,label"] + [f"{a[i]},{'' if i % 7 == 0 else b[i]},{label[i]}" for i in range(n)]
    path = tmp_path / "data.csv"
    path.write_text("\n".join(lines) + "\n")
    ds = make_csv_dataset(str(path), batch_size=10, label_name="label", num_epochs=1, shuffle=False,
                          column_defaults=[0.0, -1, 0])
    batches = list(ds)
    assert [len(lab) for _, lab in batches] == [10, 10, 10, 10, 10, 3]
    features = {k: np.concatenate([f[k] for f, _ in batches]) for k in ("a", "b")}
    assert list(batches[0][0]) == ["a", "b"]
    np.testing.assert_array_equal(features["a"], a.astype(np.float32))
    assert features["a"].dtype == np.float32
    np.testing.assert_array_equal(features["b"], np.where(np.arange(n) % 7 == 0, -1, b))
    np.testing.assert_array_equal(np.concatenate([lab for _, lab in batches]), label)
    # Types inferred from the rows, missing values read as 0; shuffled rows and two epochs.
    inferred = make_csv_dataset(str(path), batch_size=n, label_name="label", num_epochs=2, shuffle_seed=4)
    (f1, l1), (f2, l2) = list(inferred)
    assert f1["b"].dtype == np.int64 and f1["a"].dtype == np.float32
    # The shuffle buffer comes after the repeat (as in tf.data), so rows of both epochs mix.
    rows = sorted(zip(np.concatenate([f1["a"], f2["a"]]).tolist(), np.concatenate([f1["b"], f2["b"]]).tolist(),
                      np.concatenate([l1, l2]).tolist()))
    b0 = np.where(np.arange(n) % 7 == 0, 0, b)
    assert rows == sorted(list(zip(a.tolist(), b0.tolist(), label.tolist())) * 2)
    assert not np.array_equal(f1["a"], a.astype(np.float32))
    selected = next(iter(make_csv_dataset(str(path), 5, select_columns=["b"], shuffle=False, num_epochs=1)))
    assert list(selected) == ["b"]
    with pytest.raises(ValueError, match="label_name 'nope'"):
        make_csv_dataset(str(path), 5, label_name="nope")
    path.write_text("a,b\n1,2\n3,x\n")
    with pytest.raises(ValueError, match="column 'b' holds 'x'"):
        list(make_csv_dataset(str(path), 5, column_defaults=[0.0, 0], shuffle=False, num_epochs=1))
    path.write_text("a,b\n1,2\n3\n")
    with pytest.raises(ValueError, match="line 3 has 1 fields, expected 2"):
        list(make_csv_dataset(str(path), 5, shuffle=False, num_epochs=1))
