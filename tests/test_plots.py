"""engine.utils.plot_history and plot_model: PNG files with real content, and figures
holding the values and the layer graph they were given."""
import numpy as np
import pytest

import engine
from engine import layers as L

pytest.importorskip("matplotlib", reason="the plots are drawn with matplotlib")
from matplotlib.image import imread  # noqa: E402
from matplotlib.patches import FancyArrowPatch  # noqa: E402

from engine import utils  # noqa: E402


def ink(path):
    """The image as RGB floats, and the fraction of its pixels that are not background."""
    image = imread(str(path))[..., :3]
    return image, float(np.mean(np.any(image < 0.9, axis=-1)))


def test_plot_history_draws_each_metric_with_its_validation_curve(tmp_path, rng):
    engine.set_seed(1)
    x = rng.standard_normal((60, 4)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    model = engine.Sequential([engine.Input((4,)), L.Dense(6, activation="relu"), L.Dense(2, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, epochs=4, validation_split=0.25, verbose=0)
    path = tmp_path / "curves.png"
    fig = utils.plot_history(history, path)
    axes = fig.get_axes()
    assert [ax.get_title() for ax in axes] == ["loss", "accuracy"]
    for ax, name in zip(axes, ("loss", "accuracy")):
        train, val = ax.get_lines()
        assert (train.get_label(), val.get_label()) == ("train", "validation")
        np.testing.assert_array_equal(train.get_xdata(), [1, 2, 3, 4])
        np.testing.assert_allclose(train.get_ydata(), history.history[name])
        np.testing.assert_allclose(val.get_ydata(), history.history["val_" + name])
    image, covered = ink(path)
    assert image.shape[0] > 200 and image.shape[1] > 400
    assert 0.01 < covered < 0.5
    # Two curve colours (matplotlib's first two: blue and orange) are drawn.
    blue = np.all(np.abs(image - [0.12, 0.47, 0.71]) < 0.08, axis=-1).sum()
    orange = np.all(np.abs(image - [1.0, 0.5, 0.05]) < 0.08, axis=-1).sum()
    assert blue > 100 and orange > 100
    assert [p.name for p in tmp_path.iterdir()] == ["curves.png"]  # no temporary file left


def test_plot_history_from_a_dict_and_bad_input(tmp_path):
    fig = utils.plot_history({"loss": [3.0, 2.0, 1.5], "mae": [1.0, 0.9, 0.7]})
    assert [ax.get_title() for ax in fig.get_axes()] == ["loss", "mae"]
    assert len(fig.get_axes()[0].get_lines()) == 1  # no validation values: one curve
    with pytest.raises(ValueError, match="History"):
        utils.plot_history([1, 2, 3])
    with pytest.raises(ValueError, match="no values for"):
        utils.plot_history({"loss": [1.0]}, metrics=["accuracy"])


def test_plot_model_draws_every_layer_with_shapes_and_every_connection(tmp_path):
    features = engine.Input((5,), name="features")
    extra = engine.Input((3,), name="extra")
    hidden = L.Dense(16, activation="relu", name="hidden")(features)
    joined = L.Concatenate(name="joined")([hidden, extra])
    probs = L.Dense(3, activation="softmax", name="probs")(joined)
    score = L.Dense(1, name="score")(hidden)
    model = engine.Model([features, extra], [probs, score])
    path = tmp_path / "model.png"
    fig = utils.plot_model(model, to_file=path, show_shapes=True, show_layer_activations=True)
    texts = [t.get_text() for t in fig.get_axes()[0].texts]
    assert len(texts) == 6
    by_name = {t.split(" ")[0]: t for t in texts}
    assert by_name["features"] == "features (InputLayer)\nOutput shape: (None, 5)"
    assert by_name["hidden"] == ("hidden (Dense)\nInput shape: (None, 5)\nOutput shape: (None, 16)\n"
                                 "Activation: relu")
    assert by_name["joined"] == ("joined (Concatenate)\nInput shape: [(None, 16), (None, 3)]\n"
                                 "Output shape: (None, 19)")
    assert by_name["score"].endswith("Output shape: (None, 1)")
    arrows = [p for p in fig.get_axes()[0].patches if isinstance(p, FancyArrowPatch)]
    assert len(arrows) == 5  # features->hidden, hidden->joined, extra->joined, joined->probs, hidden->score
    # Data flows down the page: every arrow ends below where it starts.
    centers = {t.get_text().split(" ")[0]: t.get_position() for t in fig.get_axes()[0].texts}
    assert centers["features"][1] > centers["hidden"][1] > centers["joined"][1] > centers["probs"][1]
    image, covered = ink(path)
    assert image.shape[0] > 400 and image.shape[1] > 400
    assert 0.02 < covered < 0.9


def test_plot_model_of_a_sequential_model_left_to_right(tmp_path):
    model = engine.Sequential([engine.Input((1, 8, 8)), L.Conv2D(4, 3, name="conv"), L.Flatten(name="flat"),
                               L.Dense(10, name="logits")])
    fig = utils.plot_model(model, to_file=str(tmp_path / "seq.svg"), show_shapes=True, rankdir="LR")
    texts = [t.get_text() for t in fig.get_axes()[0].texts]
    assert [t.split("\n")[0] for t in texts[1:]] == ["conv (Conv2D)", "flat (Flatten)", "logits (Dense)"]
    assert texts[0].endswith("(InputLayer)\nOutput shape: (None, 1, 8, 8)")
    assert texts[1].endswith("Output shape: (None, 4, 6, 6)")
    assert texts[3].endswith("Input shape: (None, 144)\nOutput shape: (None, 10)")
    xs = [t.get_position()[0] for t in fig.get_axes()[0].texts]
    assert xs == sorted(xs)  # left to right
    assert (tmp_path / "seq.svg").read_text().lstrip().startswith("<?xml")
    with pytest.raises(ValueError, match="rankdir"):
        utils.plot_model(model, to_file=None, rankdir="BT")
    with pytest.raises(ValueError, match="not built"):
        utils.plot_model(engine.Sequential([L.Dense(2)]), to_file=None)
