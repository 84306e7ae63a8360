"""nerve.plot: learning curves and confusion matrices as PNG files, and a text graph of a model."""

import numpy as np
import pytest

import nerve
from nerve import layers, models, plot

pytest.importorskip("matplotlib")

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_history_draws_train_and_validation_curves(tmp_path):
    logs = {
        "loss": [1.0, 0.6, 0.4],
        "accuracy": [0.5, 0.7, 0.8],
        "val_loss": [1.1, 0.7, 0.5],
        "val_accuracy": [0.45, 0.65, 0.75],
        "learning_rate": [1e-3, 1e-3, 1e-4],
    }
    path = tmp_path / "curves.png"
    fig = plot.history(logs, path=path)
    assert path.read_bytes().startswith(PNG_MAGIC)
    titles = [ax.get_title() for ax in fig.axes if ax.get_visible()]
    assert titles == ["loss", "accuracy", "learning_rate"]
    loss_axis = fig.axes[0]
    assert [line.get_label() for line in loss_axis.get_lines()] == ["train", "validation"]
    np.testing.assert_allclose(loss_axis.get_lines()[1].get_ydata(), [1.1, 0.7, 0.5])
    assert fig.axes[2].get_yscale() == "log"


def test_history_accepts_what_fit_returns(tmp_path):
    x = np.random.default_rng(0).normal(size=(64, 4)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    model = models.Sequential([layers.Dense(2)])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, epochs=2, validation_split=0.25, verbose=0)
    fig = plot.history(history, path=tmp_path / "h.png")
    assert (tmp_path / "h.png").stat().st_size > 1000
    assert [len(line.get_xdata()) for line in fig.axes[0].get_lines()] == [2, 2]


def test_history_with_nothing_to_draw_says_so():
    with pytest.raises(ValueError, match="plot.history: expected a History"):
        plot.history({"loss": []})


def test_confusion_matrix_counts_and_png(tmp_path):
    y_true = np.array([0, 0, 1, 2, 2, 2])
    probs = np.eye(3)[[0, 1, 1, 2, 0, 2]]  # class probabilities: their argmax is the prediction
    path = tmp_path / "cm.png"
    fig = plot.confusion_matrix(y_true, probs, class_names=["a", "b", "c"], path=path)
    np.testing.assert_array_equal(fig.matrix, [[1, 1, 0], [0, 1, 0], [1, 0, 2]])
    assert path.read_bytes().startswith(PNG_MAGIC)


def test_confusion_matrix_matches_scikit_learn():
    metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(1)
    y_true, y_pred = rng.integers(0, 5, 200), rng.integers(0, 5, 200)
    fig = plot.confusion_matrix(y_true, y_pred)
    np.testing.assert_array_equal(fig.matrix, metrics.confusion_matrix(y_true, y_pred))


@pytest.mark.parametrize(
    ("y_true", "y_pred", "names", "message"),
    [
        ([0, 1], [0], None, "y_true has 2 labels and y_pred 1"),
        ([0, -1], [0, 1], None, "labels must be >= 0"),
        ([0, 3], [0, 1], ["a", "b"], "label 3 has no name in class_names"),
    ],
)
def test_confusion_matrix_bad_input(y_true, y_pred, names, message):
    with pytest.raises(ValueError, match=message):
        plot.confusion_matrix(y_true, y_pred, class_names=names)


def test_model_text_graph_names_inputs_of_a_functional_model(tmp_path):
    inputs = layers.Input(shape=(8,), name="x")
    a = layers.Dense(4, name="a")(inputs)
    b = layers.Dense(4, name="b")(inputs)
    out = layers.Dense(1, name="out")(layers.Add(name="sum")([a, b]))
    text = plot.model(models.Model(inputs, out), path=tmp_path / "model.txt")
    assert "sum (Add)" in text and "<- a, b" in text
    assert "Total params: 77" in text  # 2 * (8*4 + 4) + (4 + 1)
    assert (tmp_path / "model.txt").read_text().strip() == text


def test_plot_needs_matplotlib_and_says_how_to_get_it(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_matplotlib(name, *args, **kwargs):
        if name.startswith("matplotlib"):
            raise ImportError("No module named 'matplotlib'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    with pytest.raises(ImportError, match=r"pip install 'nerve\[plot\]'"):
        plot.history({"loss": [1.0]})
    assert nerve.plot.model(models.Sequential([layers.Dense(1)]))  # the text graph needs nothing
