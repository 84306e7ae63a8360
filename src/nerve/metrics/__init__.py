"""Keras-style streaming metrics: update_state per batch, result() at any time, reset_state.

Metrics take nerve Tensors, NumPy arrays or lists, keep small float64 accumulators (never the
predictions), and give the same result whether the data comes in one batch or in many.
:func:`get` turns a name, class, instance, config dict or function into a metric object.

>>> import nerve.metrics as metrics
>>> m = metrics.get("accuracy")
>>> m.update_state([1, 0], [[0.2, 0.8], [0.9, 0.1]])
>>> m.update_state([1], [[0.7, 0.3]])
>>> m.name, round(m.result(), 4)
('accuracy', 0.6667)
"""

from __future__ import annotations

import inspect

from nerve.metrics.accuracy import (
    Accuracy,
    BinaryAccuracy,
    CategoricalAccuracy,
    SparseCategoricalAccuracy,
    SparseTopKCategoricalAccuracy,
    TopKCategoricalAccuracy,
    accuracy_variant,
    binary_accuracy,
    categorical_accuracy,
    sparse_categorical_accuracy,
    sparse_top_k_categorical_accuracy,
    top_k_categorical_accuracy,
)
from nerve.metrics.auc import AUC
from nerve.metrics.base import Mean, MeanMetricWrapper, Metric, Sum
from nerve.metrics.confusion import ConfusionMatrix, Precision, Recall
from nerve.metrics.correlation import (
    ConcordanceCorrelation,
    PearsonCorrelation,
    concordance_correlation,
    pearson_correlation,
)
from nerve.metrics.counts import FalseNegatives, FalsePositives, TrueNegatives, TruePositives
from nerve.metrics.from_losses import (
    BinaryCrossentropy,
    CategoricalCrossentropy,
    CategoricalHinge,
    CosineSimilarity,
    Hinge,
    KLDivergence,
    LogCoshError,
    MeanAbsolutePercentageError,
    MeanSquaredLogarithmicError,
    Poisson,
    SparseCategoricalCrossentropy,
    SquaredHinge,
    cosine_similarity,
    mean_absolute_percentage_error,
    mean_squared_logarithmic_error,
)
from nerve.metrics.fscore import F1Score, FBetaScore
from nerve.metrics.iou import BinaryIoU, IoU, MeanIoU, OneHotIoU, OneHotMeanIoU
from nerve.metrics.regression import (
    MeanAbsoluteError,
    MeanSquaredError,
    R2Score,
    RootMeanSquaredError,
    mean_absolute_error,
    mean_squared_error,
)
from nerve.metrics.report import ClassificationReport, classification_report
from nerve.metrics.sensitivity import (
    PrecisionAtRecall,
    RecallAtPrecision,
    SensitivityAtSpecificity,
    SpecificityAtSensitivity,
)

# Every metric class by its class name: the only way a name in a config becomes a class.
CLASSES = {
    cls.__name__: cls
    for cls in (
        AUC,
        Accuracy,
        BinaryAccuracy,
        BinaryCrossentropy,
        BinaryIoU,
        CategoricalAccuracy,
        CategoricalCrossentropy,
        CategoricalHinge,
        ConcordanceCorrelation,
        ConfusionMatrix,
        CosineSimilarity,
        F1Score,
        FBetaScore,
        FalseNegatives,
        FalsePositives,
        Hinge,
        IoU,
        KLDivergence,
        LogCoshError,
        Mean,
        MeanAbsoluteError,
        MeanAbsolutePercentageError,
        MeanIoU,
        MeanSquaredError,
        MeanSquaredLogarithmicError,
        OneHotIoU,
        OneHotMeanIoU,
        PearsonCorrelation,
        Poisson,
        Precision,
        PrecisionAtRecall,
        R2Score,
        Recall,
        RecallAtPrecision,
        RootMeanSquaredError,
        SensitivityAtSpecificity,
        SparseCategoricalAccuracy,
        SparseCategoricalCrossentropy,
        SparseTopKCategoricalAccuracy,
        SpecificityAtSensitivity,
        SquaredHinge,
        Sum,
        TopKCategoricalAccuracy,
        TrueNegatives,
        TruePositives,
    )
}

# String aliases, as Keras accepts them in compile(metrics=[...]).
ALIASES = {
    "accuracy": Accuracy,
    "acc": Accuracy,
    "binary_accuracy": BinaryAccuracy,
    "categorical_accuracy": CategoricalAccuracy,
    "sparse_categorical_accuracy": SparseCategoricalAccuracy,
    "top_k_categorical_accuracy": TopKCategoricalAccuracy,
    "sparse_top_k_categorical_accuracy": SparseTopKCategoricalAccuracy,
    "precision": Precision,
    "recall": Recall,
    "f1_score": F1Score,
    "fbeta_score": FBetaScore,
    "auc": AUC,
    "mae": MeanAbsoluteError,
    "mean_absolute_error": MeanAbsoluteError,
    "mse": MeanSquaredError,
    "mean_squared_error": MeanSquaredError,
    "rmse": RootMeanSquaredError,
    "root_mean_squared_error": RootMeanSquaredError,
    "r2_score": R2Score,
    "mape": MeanAbsolutePercentageError,
    "MAPE": MeanAbsolutePercentageError,
    "mean_absolute_percentage_error": MeanAbsolutePercentageError,
    "msle": MeanSquaredLogarithmicError,
    "MSLE": MeanSquaredLogarithmicError,
    "mean_squared_logarithmic_error": MeanSquaredLogarithmicError,
    "MAE": MeanAbsoluteError,
    "MSE": MeanSquaredError,
    "log_cosh_error": LogCoshError,
    "cosine_similarity": CosineSimilarity,
    "kl_divergence": KLDivergence,
    "poisson": Poisson,
    "hinge": Hinge,
    "squared_hinge": SquaredHinge,
    "categorical_hinge": CategoricalHinge,
    "bce": BinaryCrossentropy,
    "BCE": BinaryCrossentropy,
    "binary_crossentropy": BinaryCrossentropy,
    "categorical_crossentropy": CategoricalCrossentropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
    "true_positives": TruePositives,
    "false_positives": FalsePositives,
    "true_negatives": TrueNegatives,
    "false_negatives": FalseNegatives,
    "pearson_correlation": PearsonCorrelation,
    "concordance_correlation": ConcordanceCorrelation,
    "mean": Mean,
    "sum": Sum,
}


def _required_arguments(cls) -> list:
    """The constructor arguments of ``cls`` that have no default (IoU's num_classes, ...)."""
    return [
        p.name
        for p in inspect.signature(cls).parameters.values()
        if p.default is p.empty and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    ]


def _known() -> str:
    return ", ".join(
        sorted(ALIASES) + sorted(n for n in CLASSES if not _required_arguments(CLASSES[n]))
    )


def get(identifier) -> Metric:
    """A metric object from a name, a Metric class or instance, a config dict, or a function.

    Args:
        identifier: a string alias ('accuracy', 'acc', 'mae', 'auc', ...; the metric is named
            by the alias, as in Keras) or a class name ('BinaryAccuracy'); a Metric subclass
            (instantiated with its defaults); a Metric instance (returned as is, so the caller's
            object is the one updated, as in Keras); a dict ``{"class_name": ..., "config":
            {...}}`` (rebuilt with ``from_config``); or a function ``fn(y_true, y_pred)``
            returning per-sample values (wrapped in :class:`MeanMetricWrapper`, named after it).

    Returns:
        A Metric; a new one unless an instance was given.

    Raises:
        ValueError: an unknown name (the message lists the known ones) or an identifier of
            another kind.

    >>> get("mae").name, type(get("mae")).__name__
    ('mae', 'MeanAbsoluteError')
    >>> get({"class_name": "BinaryAccuracy", "config": {"threshold": 0.7}}).threshold
    0.7
    """
    if isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, str):
        if identifier in ALIASES:
            return ALIASES[identifier](name=identifier)
        if identifier in CLASSES:
            needed = _required_arguments(CLASSES[identifier])
            if not needed:
                return CLASSES[identifier]()
            raise ValueError(
                f"metric {identifier!r} needs {', '.join(needed)}: build it directly, e.g. "
                f"metrics.{identifier}({needed[0]}=...)"
            )
        if identifier.lower() in ("accuracy", "acc"):
            return Accuracy(name=identifier)
        raise ValueError(f"unknown metric {identifier!r}; known names: {_known()}")
    if isinstance(identifier, dict):
        name = identifier.get("class_name")
        if name not in CLASSES:
            raise ValueError(
                f"unknown metric class_name {name!r} in {identifier!r}; known: {sorted(CLASSES)}"
            )
        return CLASSES[name].from_config(dict(identifier.get("config", {})))
    if isinstance(identifier, type) and issubclass(identifier, Metric):
        return identifier()
    if callable(identifier) and not isinstance(identifier, type):
        return MeanMetricWrapper(identifier)
    raise ValueError(
        f"could not interpret metric identifier {identifier!r}: pass a name ({_known()}), "
        "a Metric class or instance, a config dict, or a function fn(y_true, y_pred)"
    )


def serialize(metric: Metric) -> dict:
    """A metric as ``{"class_name": ..., "config": ...}``, the dict that :func:`get` rebuilds.

    Args:
        metric: a metric of one of nerve's classes.

    >>> serialize(get("acc"))
    {'class_name': 'Accuracy', 'config': {'name': 'acc'}}
    """
    name = type(metric).__name__
    if CLASSES.get(name) is not type(metric):
        raise ValueError(
            f"serialize: {name} is not one of nerve's metric classes, so a config could not be "
            "turned back into it"
        )
    return {"class_name": name, "config": metric.get_config()}


__all__ = [
    "AUC",
    "Accuracy",
    "BinaryAccuracy",
    "BinaryCrossentropy",
    "BinaryIoU",
    "CategoricalAccuracy",
    "CategoricalCrossentropy",
    "CategoricalHinge",
    "ClassificationReport",
    "ConcordanceCorrelation",
    "ConfusionMatrix",
    "CosineSimilarity",
    "F1Score",
    "FBetaScore",
    "FalseNegatives",
    "FalsePositives",
    "Hinge",
    "IoU",
    "KLDivergence",
    "LogCoshError",
    "Mean",
    "MeanAbsoluteError",
    "MeanAbsolutePercentageError",
    "MeanIoU",
    "MeanMetricWrapper",
    "MeanSquaredError",
    "MeanSquaredLogarithmicError",
    "Metric",
    "OneHotIoU",
    "OneHotMeanIoU",
    "PearsonCorrelation",
    "Poisson",
    "Precision",
    "PrecisionAtRecall",
    "R2Score",
    "Recall",
    "RecallAtPrecision",
    "RootMeanSquaredError",
    "SensitivityAtSpecificity",
    "SparseCategoricalAccuracy",
    "SparseCategoricalCrossentropy",
    "SparseTopKCategoricalAccuracy",
    "SpecificityAtSensitivity",
    "SquaredHinge",
    "Sum",
    "TopKCategoricalAccuracy",
    "TrueNegatives",
    "TruePositives",
    "accuracy_variant",
    "binary_accuracy",
    "categorical_accuracy",
    "classification_report",
    "concordance_correlation",
    "cosine_similarity",
    "get",
    "mean_absolute_error",
    "mean_absolute_percentage_error",
    "mean_squared_error",
    "mean_squared_logarithmic_error",
    "pearson_correlation",
    "serialize",
    "sparse_categorical_accuracy",
    "sparse_top_k_categorical_accuracy",
    "top_k_categorical_accuracy",
]
