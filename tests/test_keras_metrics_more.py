"""Keras metrics beyond the core set (MAPE, MSLE, log-cosh, cosine similarity, KL divergence,
Poisson, the hinges, the crossentropies, the confusion counts), each against Keras 3 over
several update_state calls with and without sample weights; string names as Keras resolves
them; configs; and the TensorBoard callback's one warning."""

import re
import warnings

import numpy as np
import pytest

import nerve
from nerve import callbacks, layers, metrics, models

RNG = np.random.default_rng(0)


def _batches(kind: str, n_batches: int = 3, batch: int = 5, classes: int = 4):
    """(y_true, y_pred, sample_weight) batches suited to a metric family."""
    out = []
    for _ in range(n_batches):
        w = RNG.random(batch).astype(np.float32)
        if kind == "regression":
            t = RNG.standard_normal((batch, 3)).astype(np.float32)
            p = RNG.standard_normal((batch, 3)).astype(np.float32)
        elif kind == "positive":
            t = RNG.random((batch, 3)).astype(np.float32) * 3
            p = RNG.random((batch, 3)).astype(np.float32) * 3 + 0.1
        elif kind == "probabilities":
            t = RNG.dirichlet(np.ones(classes), batch).astype(np.float32)
            p = RNG.dirichlet(np.ones(classes), batch).astype(np.float32)
        elif kind == "onehot":
            t = np.eye(classes, dtype=np.float32)[RNG.integers(0, classes, batch)]
            p = RNG.dirichlet(np.ones(classes), batch).astype(np.float32)
        elif kind == "logits":
            t = np.eye(classes, dtype=np.float32)[RNG.integers(0, classes, batch)]
            p = RNG.standard_normal((batch, classes)).astype(np.float32) * 2
        elif kind == "sparse":
            t = RNG.integers(0, classes, batch)
            p = RNG.dirichlet(np.ones(classes), batch).astype(np.float32)
        elif kind == "sparse_logits":
            t = RNG.integers(0, classes, (batch, 1))
            p = RNG.standard_normal((batch, classes)).astype(np.float32)
        elif kind == "binary":
            t = RNG.integers(0, 2, (batch, 3)).astype(np.float32)
            p = RNG.random((batch, 3)).astype(np.float32)
        elif kind == "signed":
            t = RNG.choice([-1.0, 1.0], (batch, 3)).astype(np.float32)
            p = RNG.standard_normal((batch, 3)).astype(np.float32)
        out.append((t, p, w))
    return out


CASES = [
    ("MeanAbsolutePercentageError", {}, "regression"),
    ("MeanSquaredLogarithmicError", {}, "positive"),
    ("MeanSquaredLogarithmicError", {}, "regression"),  # negatives are clipped at 1e-7
    ("LogCoshError", {}, "regression"),
    ("CosineSimilarity", {}, "regression"),
    ("CosineSimilarity", {"axis": -1}, "positive"),
    ("KLDivergence", {}, "probabilities"),
    ("Poisson", {}, "positive"),
    ("Hinge", {}, "binary"),
    ("Hinge", {}, "signed"),
    ("SquaredHinge", {}, "binary"),
    ("SquaredHinge", {}, "signed"),
    ("CategoricalHinge", {}, "onehot"),
    ("BinaryCrossentropy", {}, "binary"),
    ("BinaryCrossentropy", {"label_smoothing": 0.1}, "binary"),
    ("BinaryCrossentropy", {"from_logits": True}, "signed"),
    ("CategoricalCrossentropy", {}, "onehot"),
    ("CategoricalCrossentropy", {"label_smoothing": 0.2}, "onehot"),
    ("CategoricalCrossentropy", {"from_logits": True}, "logits"),
    ("SparseCategoricalCrossentropy", {}, "sparse"),
    ("SparseCategoricalCrossentropy", {"from_logits": True}, "sparse_logits"),
    ("TruePositives", {}, "binary"),
    ("FalsePositives", {"thresholds": 0.3}, "binary"),
    ("TrueNegatives", {"thresholds": [0.2, 0.7, 0.5]}, "binary"),
    ("FalseNegatives", {}, "binary"),
    ("PearsonCorrelation", {}, "regression"),
    ("ConcordanceCorrelation", {}, "regression"),
    ("SensitivityAtSpecificity", {"specificity": 0.5}, "binary"),
    ("SpecificityAtSensitivity", {"sensitivity": 0.7, "num_thresholds": 50}, "binary"),
    ("PrecisionAtRecall", {"recall": 0.6}, "binary"),
    ("RecallAtPrecision", {"precision": 0.4, "class_id": 1}, "binary"),
    ("RecallAtPrecision", {"precision": 0.6, "num_thresholds": 1}, "binary"),
    # nerve's older metrics, checked against Keras here as well
    ("MeanAbsoluteError", {}, "regression"),
    ("MeanSquaredError", {}, "regression"),
    ("RootMeanSquaredError", {}, "regression"),
    ("R2Score", {}, "regression"),
    ("R2Score", {"class_aggregation": None}, "regression"),
    ("BinaryAccuracy", {"threshold": 0.6}, "binary"),
    ("CategoricalAccuracy", {}, "onehot"),
    ("SparseCategoricalAccuracy", {}, "sparse"),
    ("TopKCategoricalAccuracy", {"k": 2}, "onehot"),
    ("SparseTopKCategoricalAccuracy", {"k": 2}, "sparse"),
    ("Precision", {}, "binary"),
    ("Precision", {"thresholds": [0.3, 0.6], "class_id": 1}, "binary"),
    ("Recall", {"top_k": 2}, "binary"),
    ("AUC", {}, "binary"),
    ("AUC", {"curve": "PR"}, "binary"),
    ("AUC", {"multi_label": True, "num_thresholds": 50}, "binary"),
    ("F1Score", {"threshold": 0.5}, "binary"),
    ("FBetaScore", {"beta": 2.0, "average": "macro", "threshold": 0.4}, "binary"),
]


def _keras_result(metric):
    r = metric.result()
    return np.asarray(r.detach().cpu()) if hasattr(r, "detach") else np.asarray(r)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("name, kwargs, kind", CASES, ids=lambda v: str(v))
def test_metric_matches_keras_over_batches(keras, name, kwargs, kind, weighted):
    ours = getattr(metrics, name)(**kwargs)
    ref = getattr(keras.metrics, name)(**kwargs)
    for t, p, w in _batches(kind):
        ours.update_state(t, p, sample_weight=w if weighted else None)
        ref.update_state(t, p, sample_weight=w if weighted else None)
        np.testing.assert_allclose(ours.result(), _keras_result(ref), rtol=2e-5, atol=2e-6)
    assert ours.name == re.sub(r"_\d+$", "", ref.name)  # Keras numbers repeated count names
    ours.reset_state()
    ref.reset_state()
    if name not in ("R2Score", "F1Score"):  # before any data: Keras gives NaN / zeros there
        np.testing.assert_allclose(ours.result(), _keras_result(ref), atol=1e-7)


@pytest.mark.parametrize("name, kwargs, kind", CASES, ids=lambda v: str(v))
def test_metric_config_round_trips(keras, name, kwargs, kind):
    m = getattr(metrics, name)(name="custom", **kwargs)
    config = m.get_config()
    keras_keys = set(getattr(keras.metrics, name)(**kwargs).get_config()) - {"dtype"}
    assert keras_keys <= set(config), keras_keys - set(config)
    clone = metrics.get(metrics.serialize(m))
    assert type(clone) is type(m) and clone.get_config() == config
    (t, p, w), *_ = _batches(kind)
    np.testing.assert_allclose(clone(t, p, w), m(t, p, w))


@pytest.mark.parametrize(
    "alias",
    [
        "mape",
        "MAPE",
        "msle",
        "MSLE",
        "mean_absolute_percentage_error",
        "mean_squared_logarithmic_error",
        "log_cosh_error",
        "cosine_similarity",
        "kl_divergence",
        "poisson",
        "hinge",
        "squared_hinge",
        "categorical_hinge",
        "bce",
        "binary_crossentropy",
        "categorical_crossentropy",
        "sparse_categorical_crossentropy",
        "true_positives",
        "false_negatives",
        "MAE",
        "MSE",
        "pearson_correlation",
        "concordance_correlation",
    ],
)
def test_string_names_resolve_as_keras(keras, alias):
    ours = metrics.get(alias)
    ref = keras.metrics.get(alias)
    assert type(ours).__name__ == type(ref).__name__
    assert ours.name == alias  # compile(metrics=[alias]) logs it under the alias, as Keras


def test_compile_with_string_metrics_logs_keras_names(keras):
    names = ["mape", "msle", "log_cosh_error", "cosine_similarity", "kl_divergence"]
    nerve.manual_seed(0)
    model = models.Sequential([layers.Input((3,)), layers.Dense(2)])
    model.compile("sgd", "mse", metrics=names)
    x, y = RNG.random((8, 3)).astype(np.float32), RNG.random((8, 2)).astype(np.float32) + 1
    history = model.fit(x, y, epochs=1, batch_size=4, verbose=0)
    k_model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    k_model.compile("sgd", "mse", metrics=names)
    k_history = k_model.fit(x, y, epochs=1, batch_size=4, verbose=0)
    assert set(history.history) == set(k_history.history)
    # evaluate with the same weights gives the same numbers
    k_model.set_weights(model.get_weights())
    ours = model.evaluate(x, y, verbose=0, return_dict=True)
    theirs = k_model.evaluate(x, y, verbose=0, return_dict=True)
    for key in theirs:
        np.testing.assert_allclose(ours[key], theirs[key], rtol=1e-4, atol=1e-6)


def test_metric_errors():
    with pytest.raises(ValueError, match="MeanAbsolutePercentageError|mean_absolute_percentage"):
        metrics.MeanAbsolutePercentageError()(np.ones((2, 3)), np.ones((2, 4)))
    with pytest.raises(ValueError, match="TruePositives: thresholds"):
        metrics.TruePositives(thresholds=1.5)
    with pytest.raises(ValueError, match="TruePositives: y_pred must hold probabilities"):
        metrics.TruePositives()([0, 1], [0.5, 2.0])
    with pytest.raises(ValueError, match="unknown metric 'kld'"):
        metrics.get("kld")
    with pytest.raises(ValueError, match=r"metric 'MeanIoU' needs num_classes: build it"):
        metrics.get("MeanIoU")
    with pytest.raises(ValueError, match=r"'PrecisionAtRecall' needs recall"):
        metrics.get("PrecisionAtRecall")
    assert type(metrics.get("PearsonCorrelation")) is metrics.PearsonCorrelation


# ----------------------------------------------------------------------------- IoU
def _segmentation_batches(classes: int, one_hot: bool, scores: bool):
    out = []
    for _ in range(3):
        t = RNG.integers(0, classes, (2, 4, 5))
        t[0, 0, :2] = 255  # a 'void' label: skipped (out of range, or ignore_class)
        p = RNG.integers(0, classes, (2, 4, 5))
        w = RNG.integers(0, 3, (2, 4, 5)).astype(np.float32)  # integral: Keras casts to int
        if one_hot:
            t = np.eye(classes, dtype=np.float32)[np.minimum(t, classes - 1)]
        if scores:
            p = RNG.random((2, 4, 5, classes)).astype(np.float32)
        out.append((t, p, w))
    return out


IOU_CASES = [
    ("IoU", {"num_classes": 3, "target_class_ids": [0, 2]}, False, False),
    ("IoU", {"num_classes": 3, "target_class_ids": [1], "ignore_class": 0}, False, False),
    ("IoU", {"num_classes": 3, "target_class_ids": [1, 2], "sparse_y_pred": False}, False, True),
    ("MeanIoU", {"num_classes": 3}, False, False),
    ("MeanIoU", {"num_classes": 4, "ignore_class": 2}, False, False),
    ("MeanIoU", {"num_classes": 3, "sparse_y_pred": False}, False, True),
    ("OneHotIoU", {"num_classes": 3, "target_class_ids": [0, 2]}, True, True),
    ("OneHotMeanIoU", {"num_classes": 3}, True, True),
]


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("name, kwargs, one_hot, scores", IOU_CASES, ids=lambda v: str(v))
def test_iou_metrics_match_keras(keras, name, kwargs, one_hot, scores, weighted):
    ours = getattr(metrics, name)(**kwargs)
    ref = getattr(keras.metrics, name)(**kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Keras warns that float weights meet its int matrix
        for t, p, w in _segmentation_batches(kwargs["num_classes"], one_hot, scores):
            ours.update_state(t, p, sample_weight=w if weighted else None)
            ref.update_state(t, p, sample_weight=w if weighted else None)
            np.testing.assert_allclose(ours.result(), _keras_result(ref), rtol=1e-5)
    assert ours.name == re.sub(r"_\d+$", "", ref.name)
    keras_keys = set(ref.get_config()) - {"dtype"}
    assert keras_keys <= set(ours.get_config()), keras_keys - set(ours.get_config())
    clone = metrics.get(metrics.serialize(ours))
    assert clone.get_config() == ours.get_config()


def test_binary_iou_matches_keras(keras):
    for kwargs in ({}, {"target_class_ids": [1], "threshold": 0.3}):
        ours, ref = metrics.BinaryIoU(**kwargs), keras.metrics.BinaryIoU(**kwargs)
        for _ in range(3):
            t = RNG.integers(0, 2, (6, 3))
            p = RNG.random((6, 3)).astype(np.float32)
            ours.update_state(t, p)
            ref.update_state(t, p)
            np.testing.assert_allclose(ours.result(), _keras_result(ref), rtol=1e-5)
    with pytest.raises(ValueError, match=r"IoU: target_class_ids \[3\] must be class ids"):
        metrics.IoU(num_classes=3, target_class_ids=[3])


# ----------------------------------------------------------------------------- TensorBoard
def test_tensorboard_accepts_keras_arguments_and_warns_once(tmp_path, keras):
    import inspect

    ref = inspect.signature(keras.callbacks.TensorBoard).parameters
    ours = inspect.signature(callbacks.TensorBoard).parameters
    assert list(ours) == [p for p in ref if p != "kwargs"][: len(ours)]
    for name in ours:
        assert ours[name].default == ref[name].default, name
    board = callbacks.TensorBoard(
        log_dir=str(tmp_path / "logs"), histogram_freq=1, write_graph=True, update_freq="batch"
    )
    model = models.Sequential([layers.Input((3,)), layers.Dense(1)])
    model.compile("sgd", "mse")
    x, y = np.ones((8, 3), np.float32), np.ones((8, 1), np.float32)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(x, y, epochs=3, batch_size=4, verbose=0, callbacks=[board])
        model.fit(x, y, epochs=1, verbose=0, callbacks=[board])
    mine = [w for w in caught if "TensorBoard" in str(w.message)]
    assert len(mine) == 1
    assert issubclass(mine[0].category, UserWarning)
    assert "CSVLogger" in str(mine[0].message)
    assert not (tmp_path / "logs").exists()  # writes nothing


def test_tensorboard_argument_errors():
    with pytest.raises(ValueError, match="TensorBoard: update_freq"):
        callbacks.TensorBoard(update_freq="hourly")
    with pytest.raises(ValueError, match="TensorBoard: histogram_freq"):
        callbacks.TensorBoard(histogram_freq=-1)


def test_model_with_new_metrics_saves_and_loads(tmp_path):
    nerve.manual_seed(0)
    model = models.Sequential([layers.Input((3,)), layers.Dense(1, activation="sigmoid")])
    model.compile(
        "adam",
        "binary_crossentropy",
        metrics=[
            metrics.TruePositives(),
            metrics.PrecisionAtRecall(0.5),
            metrics.BinaryIoU(target_class_ids=[1]),
            "bce",
            "hinge",
        ],
    )
    x = RNG.random((16, 3)).astype(np.float32)
    y = (x.sum(axis=1, keepdims=True) > 1.5).astype(np.float32)
    model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    before = model.evaluate(x, y, verbose=0, return_dict=True)
    path = str(tmp_path / "m.nerve")
    model.save(path)
    loaded = nerve.load_model(path)
    after = loaded.evaluate(x, y, verbose=0, return_dict=True)
    assert set(after) == set(before)
    for key in before:
        np.testing.assert_allclose(after[key], before[key], rtol=1e-6)
