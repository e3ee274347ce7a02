"""Checkpoint files that are damaged, foreign or left behind: every failure to load is a
ValueError (or the system's OSError) that names the file, never another exception or a
crash; and the temporary file of a save killed with SIGKILL is removed by the next save."""
import io
import json
import os
import select
import signal
import socket
import subprocess
import sys
import zipfile

import numpy as np
import pytest

import engine
from engine import callbacks as cbs
from engine import layers as L

# The children import the engine this process imported.
ENGINE_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(engine.__file__)))


def child_command(code, *args, cwd, **kwargs):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([ENGINE_ROOT, os.environ.get("PYTHONPATH", "")]))
    return [sys.executable, "-c", code, *map(str, args)], dict(cwd=cwd, env=env, **kwargs)


# ---- damaged files ----------------------------------------------------------------------------

# Runs in a child process, so that a crash (a segfault in the core on a bad array) fails the
# test instead of killing pytest. It saves a trained, compiled model and its weights, then
# loads copies with one byte flipped or cut short, and reports what each load did.
MUTATIONS = r"""
import json, os, sys
import numpy as np
import engine
from engine import layers as L

folder = sys.argv[1]
engine.set_seed(0)
rng = np.random.default_rng(0)
model = engine.Sequential([engine.Input((3,)), L.Dense(4, activation="relu"), L.BatchNormalization(),
                           L.Dense(2)])
model.compile(optimizer="adam", loss="mse")
x = rng.standard_normal((8, 3)).astype(np.float32)
model.fit(x, rng.standard_normal((8, 2)).astype(np.float32), epochs=2, batch_size=4, verbose=0)
expected, weights = model.predict(x), model.get_weights()
iterations = model.optimizer.iterations
sources = {"model": os.path.join(folder, "model.engine"), "weights": os.path.join(folder, "weights.engine")}
model.save(sources["model"])
model.save_weights(sources["weights"])
damaged = os.path.join(folder, "damaged.engine")


def load(kind):
    if kind == "model":
        loaded = engine.load_model(damaged)
        assert loaded.optimizer.iterations == iterations
    else:
        loaded = engine.models.clone_model(model)
        loaded.load_weights(damaged)
    same = np.array_equal(loaded.predict(x), expected) and all(
        np.array_equal(a, b) for a, b in zip(loaded.get_weights(), weights))
    return "same" if same else "loaded different values"


def spread(n, count):
    # Every byte of the zip headers at both ends, and an even spread in between.
    return sorted(set(range(0, n, max(1, n // count))) | set(range(min(n, 64))) | set(range(max(0, n - 160), n)))


results = []
for kind, source in sources.items():
    data = open(source, "rb").read()
    cases = [("flip", pos, bytes(data[:pos]) + bytes([data[pos] ^ (0x01, 0x10, 0x80, 0xFF)[k % 4]]) + data[pos + 1:])
             for k, pos in enumerate(spread(len(data), 500))]
    cases += [("cut", n, data[:n]) for n in spread(len(data), 150)]
    for what, where, content in cases:
        with open(damaged, "wb") as f:
            f.write(content)
        try:
            outcome = load(kind)
        except (ValueError, OSError) as e:
            named = repr(damaged) in str(e)
            outcome = "error naming the file" if named else f"{type(e).__name__} without the file: {e}"
        except BaseException as e:
            outcome = f"{type(e).__name__}: {e}"
        results.append([kind, what, where, outcome])
print(json.dumps(results))
"""


def test_flipped_bytes_and_truncations_load_the_same_model_or_raise_naming_the_file(tmp_path):
    args, options = child_command(MUTATIONS, tmp_path, cwd=tmp_path)
    done = subprocess.run(args, capture_output=True, text=True, timeout=600, **options)
    assert done.returncode == 0, f"the loading process died ({done.returncode}):\n{done.stderr[-3000:]}"
    results = json.loads(done.stdout.splitlines()[-1])
    bad = [r for r in results if r[3] not in ("same", "error naming the file")]
    assert not bad, f"{len(bad)} of {len(results)} damaged files misbehaved, e.g. {bad[:10]}"
    # Both outcomes occur: flips in bytes the reader ignores load, others are caught.
    for kind in ("model", "weights"):
        outcomes = {r[3] for r in results if r[0] == kind and r[1] == "flip"}
        assert outcomes == {"same", "error naming the file"}, (kind, outcomes)
        assert all(r[3] != "same" for r in results if r[0] == kind and r[1] == "cut")
    assert len(results) > 600


def small_model():
    engine.set_seed(1)
    model = engine.Sequential([engine.Input((3,)), L.Dense(2, activation="tanh")])
    model.compile(optimizer="sgd", loss="mse")
    return model


def rewrite_document(source, target, change):
    """A copy of checkpoint `source` whose JSON document went through change(document)."""
    with zipfile.ZipFile(source) as z:
        entries = {name: z.read(name) for name in z.namelist()}
    document = json.loads(entries["checkpoint.json"])
    change(document)
    entries["checkpoint.json"] = json.dumps(document).encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for name, data in entries.items():
            z.writestr(name, data)
    target.write_bytes(buffer.getvalue())
    return target


def test_weights_only_file_given_to_load_model(tmp_path):
    model = small_model()
    path = tmp_path / "weights.engine"
    model.save_weights(path)
    with pytest.raises(ValueError, match=rf"^{repr(str(path))} holds only weights .*load_weights"):
        engine.load_model(path)
    other = small_model()
    other.load_weights(path)
    x = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)
    np.testing.assert_array_equal(other.predict(x), model.predict(x))


def test_unknown_classes_are_named(tmp_path):
    class MyDense(L.Dense):
        pass

    custom = engine.Sequential([engine.Input((3,)), MyDense(2)])
    path = tmp_path / "custom.engine"
    custom.save(path)
    with pytest.raises(ValueError, match=rf"^{repr(str(path))}: .*unknown layer class 'MyDense' .*custom_objects"):
        engine.load_model(path)
    good = tmp_path / "good.engine"
    small_model().save(good)
    cases = {
        "model": lambda d: d["model"].update(class_name="Graph"),
        "loss": lambda d: d["compile"]["loss"][0].update(class_name="MyLoss"),
        "optimizer": lambda d: d["compile"]["optimizer"].update(class_name="Lion"),
    }
    for what, change in cases.items():
        bad = rewrite_document(good, tmp_path / f"{what}.engine", change)
        with pytest.raises(ValueError, match=rf"^{repr(str(bad))}: .*unknown {what}"):
            engine.load_model(bad)


@pytest.mark.parametrize("change,match", [
    (lambda d: d["model"].pop("layers"), r"the saved model is damaged \(KeyError: 'layers'\)"),
    (lambda d: d["model"]["layers"][0]["config"].update(units=2.5), "Dense: units must be positive"),
    (lambda d: d["model"]["layers"][0]["config"].update(units=3), "cannot restore the saved weights: .* has shape"),
    (lambda d: d.update(model=[]), r"the saved model is damaged \(TypeError"),
    (lambda d: d.update(random_state={"bit_generator": "MT19937"}), "random state"),
    (lambda d: d.update(optimizer_slots=5), r"compile settings and optimizer state is damaged \(KeyError"),
    (lambda d: d.update(version=VERSION_AFTER), "written by a newer engine"),
    (lambda d: d.update(version="1"), "not a readable engine checkpoint"),
    (lambda d: d.update(format="other"), "not a readable engine checkpoint"),
], ids=["no-layers", "bad-units", "shape-mismatch", "model-not-a-dict", "random-state", "slots", "newer",
        "version-type", "format"])
def test_damaged_documents_raise_value_errors_naming_the_file(tmp_path, change, match):
    good = tmp_path / "good.engine"
    small_model().save(good)
    bad = rewrite_document(good, tmp_path / "bad.engine", change)
    with pytest.raises(ValueError, match=rf"^{repr(str(bad))}.*{match}"):
        engine.load_model(bad)


VERSION_AFTER = engine.saving.VERSION + 1


def test_weight_counts_must_match_in_load_weights(tmp_path):
    bigger = engine.Sequential([engine.Input((3,)), L.Dense(2), L.Dense(2)])
    path = tmp_path / "bigger.engine"
    bigger.save_weights(path)
    model = small_model()
    before = model.get_weights()
    with pytest.raises(ValueError, match=rf"^{repr(str(path))} holds 4 weight arrays; the model has 2"):
        model.load_weights(path)
    small_model().save_weights(path)
    with pytest.raises(ValueError, match="holds 2 weight arrays; the model has 4"):
        bigger.load_weights(path)
    for a, b in zip(model.get_weights(), before):
        np.testing.assert_array_equal(a, b)


def test_missing_files_and_folders_stay_os_errors(tmp_path):
    model = small_model()
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        engine.load_model(tmp_path / "missing.engine")
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        model.load_weights(tmp_path / "missing.engine")
    with pytest.raises(IsADirectoryError):
        engine.load_model(tmp_path)


# ---- saves killed midway ------------------------------------------------------------------------

# A child that starts a save and stops inside it, its temporary file open and half written,
# until it is killed.
HANGING_SAVE = r"""
import sys, time
import numpy as np
import engine
from engine import layers as L

write_array = np.lib.format.write_array


def write_then_hang(*args, **kwargs):
    write_array(*args, **kwargs)
    print("saving", flush=True)
    time.sleep(300)


np.lib.format.write_array = write_then_hang
model = engine.Sequential([engine.Input((300,)), L.Dense(300), L.Dense(10)])
getattr(model, sys.argv[2])(sys.argv[1])
"""


def temp_files(folder):
    return {p.name for p in folder.iterdir() if p.name.startswith(".engine-save-")}


def start_hanging_save(folder, method):
    """The child and the name of its temporary file."""
    before = temp_files(folder)
    args, options = child_command(HANGING_SAVE, folder / f"{method}.engine", method, cwd=folder)
    child = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **options)
    ready, _, _ = select.select([child.stdout], [], [], 120)
    line = child.stdout.readline() if ready else ""
    if line != "saving\n":
        child.kill()
        pytest.fail(f"the saving child did not start its save: {child.communicate()[1][-2000:]}")
    (name,) = temp_files(folder) - before
    assert f"-{child.pid}-" in name and (folder / name).stat().st_size > 0
    return child, name


def test_next_save_removes_temp_files_of_killed_saves_only(tmp_path):
    killed, killed_file = start_hanging_save(tmp_path, "save")
    alive, alive_file = start_hanging_save(tmp_path, "save_weights")
    try:
        os.kill(killed.pid, signal.SIGKILL)
        killed.wait()
        # Names the cleanup must leave alone: another host's file (its pid cannot be checked
        # from here), an older engine's name (no pid), a name without a valid pid, a user file.
        others = {f".engine-save-elsewhere.example-{killed.pid}-abcd1234", ".engine-save-x9kq2m_p",
                  f".engine-save-{socket.gethostname()}-notapid-abcd1234", "notes.txt"}
        for name in others:
            (tmp_path / name).write_bytes(b"keep")
        model = small_model()
        path = tmp_path / "model.engine"
        model.save(path)
        assert not (tmp_path / killed_file).exists(), "the killed save's temporary file is still there"
        assert (tmp_path / alive_file).exists(), "a running save lost its temporary file"
        for name in others:
            assert (tmp_path / name).read_bytes() == b"keep"
    finally:
        for child in (alive, killed):
            child.kill()
            child.wait()
    # ModelCheckpoint saves through the same path: the second child's file goes too.
    x = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)
    y = np.zeros((4, 2), np.float32)
    model.fit(x, y, epochs=1, verbose=0, callbacks=[cbs.ModelCheckpoint(str(path), monitor="loss")])
    assert temp_files(tmp_path) == others - {"notes.txt"}
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask
    np.testing.assert_array_equal(engine.load_model(path).predict(x), model.predict(x))
    assert not (tmp_path / "save.engine").exists() and not (tmp_path / "save_weights.engine").exists()
