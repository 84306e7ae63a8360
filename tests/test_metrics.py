"""nerve.metrics against scikit-learn, fed at once and in batches of uneven sizes.

Tolerances: counts-based metrics (accuracy, precision, recall, F1, confusion matrix, top-k) are
sums of 0/1 (or weighted) terms in float64, so they match scikit-learn to 1e-12. Regression
metrics accumulate float64 sums in a different order: 1e-9. AUC is Keras's approximation over
200 fixed thresholds: predictions sharing a bucket count as tied, which moves the ROC area by
at most half the fraction of (positive, negative) pairs in one bucket (about 1/400 for spread
scores; measured <= 3e-4 at n = 1000), and for PR, Keras's Davis-Goadrich interpolation differs
from scikit-learn's step-wise average precision by O(1/positives) (measured <= 5e-4 at n = 1000).
So ROC is checked to 5e-3, PR to 1e-2, and the cases the thresholds represent exactly to 1e-12.
"""

import re

import numpy as np
import pytest

sk = pytest.importorskip("sklearn.metrics")

import nerve  # noqa: E402
import nerve.metrics as M  # noqa: E402

EXACT = 1e-12
C = 5  # classes


def batches(n, rng):
    """Uneven batch boundaries covering range(n): a 1, a 0-sized, and random sizes."""
    sizes, total = [1, 0, 7], 8
    while total < n:
        sizes.append(int(rng.integers(1, 60)))
        total += sizes[-1]
    edges = np.minimum(np.cumsum([0, *sizes]), n)
    return list(zip(edges[:-1], edges[1:]))


def feed(metric, y_true, y_pred, sample_weight=None, mode="once", seed=0):
    """Feed the data at once or in batches; return metric.result()."""
    metric.reset_state()
    if mode == "once":
        metric.update_state(y_true, y_pred, sample_weight=sample_weight)
    else:
        for a, b in batches(len(y_true), np.random.default_rng(seed)):
            w = None if sample_weight is None else sample_weight[a:b]
            metric.update_state(y_true[a:b], y_pred[a:b], sample_weight=w)
    return metric.result()


MODES = ["once", "batches"]


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


def multiclass(rng, n=400):
    labels = rng.integers(0, C, n)
    scores = rng.random((n, C)) + 0.6 * np.eye(C)[labels]  # better than chance
    return labels, scores / scores.sum(1, keepdims=True)


def binary(rng, n=1000):
    labels = rng.integers(0, 2, n)
    return labels, np.clip(0.7 * rng.random(n) + 0.3 * labels, 0, 1)


# ----------------------------------------------------------------------------- accuracy


@pytest.mark.parametrize("mode", MODES)
def test_sparse_categorical_accuracy(rng, mode):
    y, s = multiclass(rng)
    want = sk.accuracy_score(y, s.argmax(1))
    assert abs(feed(M.SparseCategoricalAccuracy(), y, s, mode=mode) - want) < EXACT
    assert abs(feed(M.SparseCategoricalAccuracy(), y[:, None], s, mode=mode) - want) < EXACT


@pytest.mark.parametrize("mode", MODES)
def test_categorical_accuracy(rng, mode):
    y, s = multiclass(rng)
    want = sk.accuracy_score(y, s.argmax(1))
    assert abs(feed(M.CategoricalAccuracy(), np.eye(C)[y], s, mode=mode) - want) < EXACT


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("threshold", [0.5, 0.3])
def test_binary_accuracy(rng, mode, threshold):
    y, p = binary(rng)
    want = sk.accuracy_score(y, p > threshold)
    got = feed(M.BinaryAccuracy(threshold=threshold), y[:, None], p[:, None], mode=mode)
    assert abs(got - want) < EXACT
    assert abs(feed(M.BinaryAccuracy(threshold), y, p, mode=mode) - want) < EXACT


@pytest.mark.parametrize("mode", MODES)
def test_accuracy_sample_weight(rng, mode):
    y, s = multiclass(rng)
    w = rng.random(len(y))
    want = sk.accuracy_score(y, s.argmax(1), sample_weight=w)
    for m, yt in [(M.SparseCategoricalAccuracy(), y), (M.CategoricalAccuracy(), np.eye(C)[y])]:
        assert abs(feed(m, yt, s, sample_weight=w, mode=mode) - want) < EXACT
        assert abs(feed(m, yt, s, sample_weight=w[:, None], mode=mode) - want) < EXACT
    yb, p = binary(rng)
    wb = rng.random(len(yb))
    want = sk.accuracy_score(yb, p > 0.5, sample_weight=wb)
    assert abs(feed(M.BinaryAccuracy(), yb, p, sample_weight=wb, mode=mode) - want) < EXACT


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("k", [1, 2, 3])
def test_top_k(rng, mode, k):
    y, s = multiclass(rng)
    want = sk.top_k_accuracy_score(y, s, k=k, labels=range(C))
    assert abs(feed(M.SparseTopKCategoricalAccuracy(k=k), y, s, mode=mode) - want) < EXACT
    assert abs(feed(M.TopKCategoricalAccuracy(k=k), np.eye(C)[y], s, mode=mode) - want) < EXACT
    w = rng.random(len(y))
    want = sk.top_k_accuracy_score(y, s, k=k, labels=range(C), sample_weight=w)
    got = feed(M.SparseTopKCategoricalAccuracy(k=k), y, s, sample_weight=w, mode=mode)
    assert abs(got - want) < EXACT


def test_top_k_default_and_large_k(rng):
    y, s = multiclass(rng)
    assert M.SparseTopKCategoricalAccuracy()(y, s) == 1.0  # k=5 of 5 classes
    with pytest.raises(ValueError, match="k must be a positive integer"):
        M.TopKCategoricalAccuracy(k=0)


@pytest.mark.parametrize(
    "y_true, y_pred, variant",
    [
        (np.array([0, 2, 1]), np.eye(3), "sparse_categorical"),
        (np.array([[0], [2], [1]]), np.eye(3), "sparse_categorical"),
        (np.eye(3)[[0, 2, 1]], np.eye(3), "categorical"),
        (np.array([[1], [0], [1]]), np.array([[0.9], [0.2], [0.4]]), "binary"),
        (np.array([1, 0, 1]), np.array([0.9, 0.2, 0.4]), "binary"),
        (np.array([1, 0, 1]), np.array([[0.9], [0.2], [0.4]]), "binary"),
        (np.array([3, 1, 2]), np.array([3, 1, 0]), "exact"),
    ],
)
def test_accuracy_alias_picks_variant(y_true, y_pred, variant):
    for alias in ("accuracy", "acc"):
        m = M.get(alias)
        assert m.name == alias and m.variant is None
        m.update_state(y_true, y_pred)
        assert m.variant == variant
    want = {
        "sparse_categorical": M.SparseCategoricalAccuracy,
        "categorical": M.CategoricalAccuracy,
        "binary": M.BinaryAccuracy,
    }
    if variant in want:
        assert m.result() == want[variant]()(y_true, y_pred)
    else:
        assert m.result() == 2 / 3
    m.reset_state()
    assert m.variant is None and m.result() == 0.0


@pytest.mark.parametrize("mode", MODES)
def test_accuracy_alias_matches_sklearn(rng, mode):
    y, s = multiclass(rng)
    w = rng.random(len(y))
    want = sk.accuracy_score(y, s.argmax(1), sample_weight=w)
    assert abs(feed(M.Accuracy(), y, s, sample_weight=w, mode=mode) - want) < EXACT
    assert abs(feed(M.Accuracy(), np.eye(C)[y], s, sample_weight=w, mode=mode) - want) < EXACT


# ----------------------------------------------------------------------------- precision, recall


@pytest.mark.parametrize("mode", MODES)
def test_precision_recall_binary(rng, mode):
    y, p = binary(rng)
    w = rng.random(len(y))
    for cls, fn in [(M.Precision, sk.precision_score), (M.Recall, sk.recall_score)]:
        assert abs(feed(cls(), y, p, mode=mode) - fn(y, p > 0.5)) < EXACT
        got = feed(cls(), y, p, sample_weight=w, mode=mode)
        assert abs(got - fn(y, p > 0.5, sample_weight=w)) < EXACT
        got = feed(cls(thresholds=[0.7, 0.2, 0.5]), y, p, mode=mode)
        want = [fn(y, p > t) for t in (0.7, 0.2, 0.5)]
        np.testing.assert_allclose(got, want, atol=EXACT)


@pytest.mark.parametrize("mode", MODES)
def test_precision_recall_class_id(rng, mode):
    y, s = multiclass(rng)
    onehot = np.eye(C)[y]
    for cls, fn in [(M.Precision, sk.precision_score), (M.Recall, sk.recall_score)]:
        for c in range(C):
            got = feed(cls(class_id=c), onehot, s, mode=mode)
            assert abs(got - fn(onehot[:, c], s[:, c] > 0.5, zero_division=0)) < EXACT
        # top_k=1 with class_id: class c is predicted where it has the highest score
        got = feed(cls(top_k=1, class_id=2), onehot, s, mode=mode)
        assert abs(got - fn(y == 2, s.argmax(1) == 2)) < EXACT


def test_precision_recall_pool_multilabel_columns(rng):
    y = (rng.random((200, 3)) < 0.5).astype(int)
    p = np.clip(0.6 * rng.random((200, 3)) + 0.4 * y, 0, 1)
    want = sk.precision_score(y.ravel(), p.ravel() > 0.5)
    assert abs(feed(M.Precision(), y, p, mode="batches") - want) < EXACT


def test_precision_recall_zero_division():
    assert M.Precision()([1, 1], [0.1, 0.2]) == 0.0  # nothing predicted positive
    assert M.Recall()([0, 0], [0.9, 0.2]) == 0.0  # no positive label


# ----------------------------------------------------------------------------- F1


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("average", [None, "micro", "macro", "weighted"])
def test_f1_multiclass(rng, mode, average):
    y, s = multiclass(rng)
    want = sk.f1_score(y, s.argmax(1), average=average)
    np.testing.assert_allclose(feed(M.F1Score(average), np.eye(C)[y], s, mode=mode), want)
    np.testing.assert_allclose(feed(M.F1Score(average), y, s, mode=mode), want)  # sparse labels
    w = rng.random(len(y))
    want = sk.f1_score(y, s.argmax(1), average=average, sample_weight=w)
    got = feed(M.F1Score(average), np.eye(C)[y], s, sample_weight=w, mode=mode)
    np.testing.assert_allclose(got, want, atol=EXACT)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("average", [None, "micro", "macro", "weighted"])
def test_f1_multilabel_threshold(rng, mode, average):
    y = (rng.random((300, 4)) < 0.4).astype(int)
    p = np.clip(0.6 * rng.random((300, 4)) + 0.4 * y, 0, 1)
    want = sk.f1_score(y, (p > 0.5).astype(int), average=average)
    got = feed(M.F1Score(average, threshold=0.5), y, p, mode=mode)
    np.testing.assert_allclose(got, want, atol=EXACT)


def test_fbeta(rng):
    y, s = multiclass(rng)
    for beta in (0.5, 2.0):
        want = sk.fbeta_score(y, s.argmax(1), beta=beta, average="macro")
        assert abs(M.FBetaScore("macro", beta=beta)(y, s) - want) < EXACT


def test_f1_keras_example():
    m = M.F1Score(threshold=0.5)
    y = [[1, 1, 1], [1, 0, 0], [1, 1, 0]]
    p = [[0.2, 0.6, 0.7], [0.2, 0.6, 0.6], [0.6, 0.8, 0.0]]
    np.testing.assert_allclose(m(y, p), [0.5, 0.8, 2 / 3], atol=EXACT)


# ----------------------------------------------------------------------------- AUC


@pytest.mark.parametrize("mode", MODES)
def test_auc_roc_and_pr_close_to_sklearn(rng, mode):
    y, p = binary(rng)
    assert abs(feed(M.AUC(), y, p, mode=mode) - sk.roc_auc_score(y, p)) < 5e-3
    got = feed(M.AUC(curve="PR"), y, p, mode=mode)
    assert abs(got - sk.average_precision_score(y, p)) < 1e-2
    w = rng.random(len(y))
    got = feed(M.AUC(), y, p, sample_weight=w, mode=mode)
    assert abs(got - sk.roc_auc_score(y, p, sample_weight=w)) < 5e-3


@pytest.mark.parametrize("mode", MODES)
def test_auc_roc_exact_when_thresholds_separate_predictions(rng, mode):
    # Scores on a 0.1 grid: every pair of distinct scores has a threshold i/199 between them,
    # so the curve has the exact ROC points, and tied scores are ties for both (diagonals).
    y = rng.integers(0, 2, 500)
    p = np.round(np.clip(rng.random(500) * 0.8 + 0.2 * y, 0, 1), 1)
    w = rng.random(500)
    assert abs(feed(M.AUC(), y, p, mode=mode) - sk.roc_auc_score(y, p)) < EXACT
    got = feed(M.AUC(), y, p, sample_weight=w, mode=mode)
    assert abs(got - sk.roc_auc_score(y, p, sample_weight=w)) < EXACT


def test_auc_exact_small_cases():
    # Keras's documented example: thresholds [-1e-7, 0.5, 1 + 1e-7].
    assert abs(M.AUC(num_thresholds=3)([0, 0, 1, 1], [0, 0.5, 0.3, 0.9]) - 0.75) < EXACT
    # Perfect ranking: both areas are 1.
    y, p = np.array([0, 0, 1, 1]), np.array([0.1, 0.3, 0.6, 0.9])
    assert abs(M.AUC()(y, p) - 1.0) < EXACT
    assert abs(M.AUC(curve="PR")(y, p) - 1.0) < EXACT
    # All scores tied: ROC 0.5, PR = the positive rate = scikit-learn's average precision.
    y, p = np.array([0, 1, 1, 0, 1]), np.full(5, 0.4)
    assert abs(M.AUC()(y, p) - 0.5) < EXACT
    assert abs(M.AUC(curve="PR")(y, p) - sk.average_precision_score(y, p)) < EXACT
    # Two score levels with the same precision in each: the interpolation is exact.
    y = np.array([1, 0, 1, 0, 1, 1, 0, 0])
    p = np.array([0.9, 0.9, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2])
    assert abs(M.AUC(curve="PR")(y, p) - sk.average_precision_score(y, p)) < EXACT


def test_auc_summation_bounds(rng):
    y, p = binary(rng)
    lo = M.AUC(summation_method="minoring")(y, p)
    mid = M.AUC()(y, p)
    hi = M.AUC(summation_method="majoring")(y, p)
    assert lo <= mid <= hi


def test_auc_multi_label_logits_and_thresholds(rng):
    y = (rng.random((800, 3)) < 0.5).astype(int)
    p = np.clip(0.7 * rng.random((800, 3)) + 0.3 * y, 1e-6, 1 - 1e-6)
    m = M.AUC(multi_label=True)
    assert abs(feed(m, y, p, mode="batches") - sk.roc_auc_score(y, p, average="macro")) < 5e-3
    weights = [1.0, 2.0, 0.0]
    per = sk.roc_auc_score(y, p, average=None)
    got = M.AUC(multi_label=True, label_weights=weights)(y, p)
    assert abs(got - np.average(per, weights=weights)) < 5e-3
    logits = np.log(p / (1 - p))
    assert abs(M.AUC(from_logits=True)(y, logits) - M.AUC()(y, p)) < EXACT
    explicit = M.AUC(thresholds=list(np.arange(1, 199) / 199))
    assert explicit.num_thresholds == 200
    assert abs(explicit(y, p) - M.AUC()(y, p)) < EXACT


# ----------------------------------------------------------------------------- regression


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("shape", [(300,), (300, 1), (300, 3)])
def test_regression_metrics(rng, mode, shape):
    y = rng.normal(size=shape)
    p = y + 0.5 * rng.normal(size=shape)
    w = rng.random(shape[0])
    sk_y, sk_p = y.reshape(shape[0], -1), p.reshape(shape[0], -1)
    for cls, fn in [
        (M.MeanAbsoluteError, sk.mean_absolute_error),
        (M.MeanSquaredError, sk.mean_squared_error),
        (M.R2Score, sk.r2_score),
    ]:
        np.testing.assert_allclose(feed(cls(), y, p, mode=mode), fn(sk_y, sk_p), rtol=1e-9)
        got = feed(cls(), y, p, sample_weight=w, mode=mode)
        np.testing.assert_allclose(got, fn(sk_y, sk_p, sample_weight=w), rtol=1e-9)
    want = np.sqrt(sk.mean_squared_error(sk_y.ravel(), sk_p.ravel()))
    np.testing.assert_allclose(feed(M.RootMeanSquaredError(), y, p, mode=mode), want, rtol=1e-9)


@pytest.mark.parametrize("mode", MODES)
def test_r2_aggregations_and_adjusted(rng, mode):
    y = rng.normal(size=(200, 3)) * [1.0, 5.0, 0.1] + 100.0  # offset: checks cancellation
    p = y + rng.normal(size=(200, 3)) * 0.3
    got = feed(M.R2Score(class_aggregation=None), y, p, mode=mode)
    np.testing.assert_allclose(got, sk.r2_score(y, p, multioutput="raw_values"), rtol=1e-9)
    got = feed(M.R2Score(class_aggregation="variance_weighted_average"), y, p, mode=mode)
    np.testing.assert_allclose(got, sk.r2_score(y, p, multioutput="variance_weighted"), rtol=1e-9)
    r2 = sk.r2_score(y[:, 0], p[:, 0])
    got = feed(M.R2Score(num_regressors=4), y[:, 0], p[:, 0], mode=mode)
    np.testing.assert_allclose(got, 1 - (1 - r2) * 199 / 195, rtol=1e-9)


def test_r2_constant_target():
    assert M.R2Score()([2.0, 2.0, 2.0], [2.0, 2.0, 2.0]) == 1.0
    assert M.R2Score()([2.0, 2.0, 2.0], [2.0, 1.0, 2.0]) == 0.0


def test_mean_and_sum(rng):
    v = rng.normal(size=(50, 4))
    w = rng.random(50)
    m = M.Mean()
    for a, b in batches(50, rng):
        m.update_state(v[a:b], sample_weight=w[a:b])
    assert abs(m.result() - np.average(v.mean(1), weights=w)) < EXACT
    s = M.Sum()
    s.update_state(v, sample_weight=w)
    assert abs(s.result() - (v.sum(1) * w).sum()) < 1e-9
    assert M.Mean().result() == 0.0


def test_scalar_sample_weight_weighs_each_sample(rng):
    y, p = binary(rng)
    plain = feed(M.BinaryAccuracy(), y, p)
    m = M.BinaryAccuracy()
    for a, b in batches(len(y), rng):
        m.update_state(y[a:b], p[a:b], sample_weight=2.0)
    assert abs(m.result() - plain) < EXACT


# ----------------------------------------------------------------------------- confusion matrix


@pytest.mark.parametrize("mode", MODES)
def test_confusion_matrix(rng, mode):
    y, s = multiclass(rng)
    want = sk.confusion_matrix(y, s.argmax(1), labels=range(C))
    for yt, yp in [(y, s.argmax(1)), (y, s), (np.eye(C)[y], s), (y[:, None], s)]:
        got = feed(M.ConfusionMatrix(C), yt, yp, mode=mode)
        assert got.dtype == np.int64
        np.testing.assert_array_equal(got, want)
    w = rng.random(len(y))
    got = feed(M.ConfusionMatrix(C), y, s, sample_weight=w, mode=mode)
    np.testing.assert_allclose(got, sk.confusion_matrix(y, s.argmax(1), sample_weight=w))


def test_confusion_matrix_bad_labels():
    m = M.ConfusionMatrix(num_classes=3)
    with pytest.raises(ValueError, match=r"y_true holds label 3, outside \[0, 3\)"):
        m.update_state([0, 3], [0, 1])
    with pytest.raises(ValueError, match=r"y_pred holds label -1"):
        m.update_state([0, 1], [0, -1])
    with pytest.raises(ValueError, match="integer class labels, found 0.5"):
        m.update_state([0, 1], [0, 0.5])
    with pytest.raises(ValueError, match=r"\(4,\).*\(3,\)"):
        m.update_state([0, 1, 2, 2], [0, 1, 2])
    np.testing.assert_array_equal(m.result(), np.zeros((3, 3)))  # nothing was added


# ----------------------------------------------------------------------------- report


@pytest.mark.parametrize("digits", [2, 4])
def test_classification_report_matches_sklearn(rng, digits):
    y, s = multiclass(rng)
    p = s.argmax(1)
    names = ["zero", "one", "two", "three", "a-longer-name"]
    for kwargs in [{}, {"target_names": names}, {"labels": [1, 3]}]:
        ours = M.classification_report(y, s, digits=digits, **kwargs)
        theirs = sk.classification_report(y, p, output_dict=True, zero_division=0, **kwargs)
        assert list(ours) == list(theirs)
        for key, value in theirs.items():
            if isinstance(value, dict):
                for stat in value:
                    assert abs(ours[key][stat] - value[stat]) < EXACT, (key, stat)
            else:
                assert abs(ours[key] - value) < EXACT
        text = sk.classification_report(y, p, digits=digits, zero_division=0, **kwargs)
        assert str(ours) == text


def test_classification_report_errors():
    with pytest.raises(ValueError, match="2 target_names for 3 labels"):
        M.classification_report([0, 1, 2], [0, 1, 1], target_names=["a", "b"])
    with pytest.raises(ValueError, match=r"\(3,\).*\(2,\)"):
        M.classification_report([0, 1, 2], [0, 1])


# ----------------------------------------------------------------------------- protocol


def all_metrics():
    return [
        M.Accuracy(),
        M.BinaryAccuracy(),
        M.CategoricalAccuracy(),
        M.SparseCategoricalAccuracy(),
        M.TopKCategoricalAccuracy(k=2),
        M.SparseTopKCategoricalAccuracy(k=2),
        M.Precision(),
        M.Recall(),
        M.F1Score("macro"),
        M.AUC(),
        M.MeanAbsoluteError(),
        M.MeanSquaredError(),
        M.RootMeanSquaredError(),
        M.R2Score(),
        M.ConfusionMatrix(C),
    ]


def data_for(metric, rng):
    y, s = multiclass(rng, 60)
    if isinstance(metric, (M.BinaryAccuracy, M.Precision, M.Recall, M.AUC)):
        return np.eye(C)[y], s
    if isinstance(metric, (M.CategoricalAccuracy, M.TopKCategoricalAccuracy)):
        return np.eye(C)[y], s
    if isinstance(metric, (M.MeanAbsoluteError, M.MeanSquaredError)):
        return s, np.eye(C)[y]
    if isinstance(metric, (M.RootMeanSquaredError, M.R2Score)):
        return s, s + rng.normal(size=s.shape)
    return y, s


@pytest.mark.parametrize("metric", all_metrics(), ids=lambda m: type(m).__name__)
def test_reset_state_and_call(metric, rng):
    y1, p1 = data_for(metric, rng)
    y2, p2 = data_for(metric, rng)
    fresh = type(metric).from_config(metric.get_config())
    metric.update_state(y1, p1)
    metric.reset_state()
    np.testing.assert_array_equal(metric(y2, p2), fresh(y2, p2))  # __call__ = update + result
    r = metric.result()
    assert isinstance(r, (float, np.ndarray))


@pytest.mark.parametrize("metric", all_metrics(), ids=lambda m: type(m).__name__)
def test_config_round_trip_through_get(metric):
    config = M.serialize(metric)
    rebuilt = M.get(config)
    assert type(rebuilt) is type(metric) and rebuilt is not metric
    assert rebuilt.get_config() == metric.get_config()


def test_tensor_inputs():
    y = nerve.tensor([0, 2, 1])
    p = nerve.tensor([[0.8, 0.1, 0.1], [0.1, 0.1, 0.8], [0.6, 0.3, 0.1]])
    assert M.SparseCategoricalAccuracy()(y, p) == 2 / 3
    assert M.get("acc")(y, p) == 2 / 3
    np.testing.assert_array_equal(M.ConfusionMatrix(3)(y, p).sum(), 3)
    assert M.Mean()(nerve.tensor([1.0, 3.0])) == 2.0


# ----------------------------------------------------------------------------- get


ALIASES = {
    "accuracy": M.Accuracy,
    "acc": M.Accuracy,
    "sparse_categorical_accuracy": M.SparseCategoricalAccuracy,
    "categorical_accuracy": M.CategoricalAccuracy,
    "binary_accuracy": M.BinaryAccuracy,
    "top_k_categorical_accuracy": M.TopKCategoricalAccuracy,
    "sparse_top_k_categorical_accuracy": M.SparseTopKCategoricalAccuracy,
    "precision": M.Precision,
    "recall": M.Recall,
    "f1_score": M.F1Score,
    "auc": M.AUC,
    "mae": M.MeanAbsoluteError,
    "mse": M.MeanSquaredError,
    "rmse": M.RootMeanSquaredError,
    "r2_score": M.R2Score,
}


@pytest.mark.parametrize("alias, cls", ALIASES.items())
def test_get_alias(alias, cls):
    a, b = M.get(alias), M.get(alias)
    assert type(a) is cls and a.name == alias and a is not b


def test_get_other_identifiers():
    m = M.Precision(class_id=1)
    assert M.get(m) is m
    assert type(M.get(M.Recall)) is M.Recall
    assert type(M.get("BinaryAccuracy")) is M.BinaryAccuracy
    assert M.get("Accuracy").name == "accuracy" and M.get("ACC").name == "ACC"

    def hits(y_true, y_pred):
        return (y_true == y_pred).astype(float)

    wrapped = M.get(hits)
    assert isinstance(wrapped, M.MeanMetricWrapper) and wrapped.name == "hits"
    assert wrapped([1, 2, 3], [1, 0, 3], sample_weight=[1, 1, 2]) == 0.75


def test_get_unknown():
    with pytest.raises(ValueError, match="unknown metric 'acuracy'.*accuracy.*mae.*r2_score"):
        M.get("acuracy")
    with pytest.raises(ValueError, match="could not interpret"):
        M.get(3)
    with pytest.raises(ValueError, match="unknown metric class_name"):
        M.get({"class_name": "os.system", "config": {}})


# ----------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "metric, y_true, y_pred",
    [
        (M.BinaryAccuracy(), np.zeros(4), np.zeros(5)),
        (M.CategoricalAccuracy(), np.zeros((4, 3)), np.zeros((4, 2))),
        (M.SparseCategoricalAccuracy(), np.zeros(4), np.zeros((5, 3))),
        (M.Precision(), np.zeros((4, 2)), np.zeros((4, 3))),
        (M.AUC(), np.zeros(4), np.zeros(3)),
        (M.MeanSquaredError(), np.zeros((4, 2)), np.zeros((4, 3))),
        (M.R2Score(), np.zeros(4), np.zeros(3)),
        (M.F1Score(), np.zeros((4, 2)), np.zeros((4, 3))),
    ],
    ids=lambda x: type(x).__name__ if isinstance(x, M.Metric) else None,
)
def test_shape_mismatch_names_both_shapes(metric, y_true, y_pred):
    msg = re.escape(f"y_true has shape {y_true.shape}") + ".*"
    msg += re.escape(f"y_pred has shape {y_pred.shape}")
    with pytest.raises(ValueError, match=msg):
        metric.update_state(y_true, y_pred)


def test_other_bad_input():
    with pytest.raises(ValueError, match=r"probabilities in \[0, 1\]"):
        M.Precision()([0, 1], [0.2, 1.7])
    with pytest.raises(ValueError, match="0/1 labels"):
        M.AUC()([0, 2], [0.2, 0.7])
    with pytest.raises(ValueError, match=r"label 3, outside \[0, 3\)"):
        M.SparseCategoricalAccuracy()([0, 3], np.eye(3)[:2])
    with pytest.raises(ValueError, match=r"sample_weight has shape \(3,\)"):
        M.BinaryAccuracy()([0, 1], [0.2, 0.7], sample_weight=[1, 1, 1])
    with pytest.raises(ValueError, match="average must be one of"):
        M.F1Score(average="samples")
    with pytest.raises(ValueError, match="curve must be one of"):
        M.AUC(curve="DET")
    with pytest.raises(ValueError, match="class_id=4"):
        M.Precision(class_id=4)(np.eye(3), np.eye(3))
