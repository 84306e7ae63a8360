"""scikeras's KerasClassifier and KerasRegressor over nerve's Keras-style models."""

# ruff: noqa: N803, N806  (scikit-learn's names: X is the data matrix)
from __future__ import annotations

import copy
import inspect

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.preprocessing import LabelEncoder
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from nerve.sklearn._base import _check_sample_weight, _ExtraParams, _routed, _seed

_ROUTES = ("model", "optimizer", "loss", "fit", "predict", "compile")


def mlp_model(meta, hidden_layer_sizes=(100,), activation="relu", dropout=0.0):
    """A ready model-building function for KerasClassifier / KerasRegressor: an MLP sized from
    ``meta`` (features in; one softmax unit per class, one sigmoid unit for two classes, or
    the regression targets' width, linear).

    Args:
        meta: the data facts the estimator passes (``n_features_in_``, ``n_classes_``,
            ``target_type_``, ``n_outputs_``).
        hidden_layer_sizes: the widths of the hidden layers.
        activation: their activation.
        dropout: a Dropout rate after each (0: none).

    Returns:
        An uncompiled Sequential model.
    """
    from nerve import layers, models

    model = models.Sequential([layers.Input((meta["n_features_in_"],))])
    for units in hidden_layer_sizes:
        model.add(layers.Dense(units, activation=activation))
        if dropout:
            model.add(layers.Dropout(dropout))
    if meta["target_type_"] == "binary":
        model.add(layers.Dense(1, activation="sigmoid"))
    elif meta["target_type_"] == "multiclass":
        model.add(layers.Dense(meta["n_classes_"], activation="softmax"))
    else:
        model.add(layers.Dense(meta["n_outputs_"]))
    return model


class _KerasBase(_ExtraParams, BaseEstimator):
    _route_prefixes = _ROUTES

    def __init__(
        self,
        model=None,
        *,
        build_fn=None,
        warm_start=False,
        random_state=None,
        optimizer="rmsprop",
        loss=None,
        metrics=None,
        batch_size=None,
        validation_batch_size=None,
        verbose=1,
        callbacks=None,
        validation_split=0.0,
        shuffle=True,
        run_eagerly=False,
        epochs=1,
        class_weight=None,
        **kwargs,
    ):
        self.model = model
        self.build_fn = build_fn
        self.warm_start = warm_start
        self.random_state = random_state
        self.optimizer = optimizer
        self.loss = loss
        self.metrics = metrics
        self.batch_size = batch_size
        self.validation_batch_size = validation_batch_size
        self.verbose = verbose
        self.callbacks = callbacks
        self.validation_split = validation_split
        self.shuffle = shuffle
        self.run_eagerly = run_eagerly
        self.epochs = epochs
        self.class_weight = class_weight
        self._init_extra(kwargs)

    # ------------------------------------------------------------------ building
    def _meta(self) -> dict:
        return {
            "n_features_in_": self.n_features_in_,
            "n_classes_": getattr(self, "n_classes_", None),
            "classes_": getattr(self, "classes_", None),
            "target_type_": self.target_type_,
            "n_outputs_": self.n_outputs_,
        }

    def _build_model(self, sample):
        params = self._all_params()
        target = self.model if self.model is not None else self.build_fn
        if target is None:
            raise ValueError(
                f"{type(self).__name__}: give model= (a function that builds a model, or a "
                f"model), e.g. {type(self).__name__}(model=nerve.sklearn.mlp_model)"
            )
        self._out_width = None
        if callable(target) and not hasattr(target, "fit"):
            sig = inspect.signature(target)
            accepts_any = any(p.kind == p.VAR_KEYWORD for p in sig.parameters.values())
            kwargs = {
                k: v
                for k, v in params.items()
                if k in self._extra_params
                and "__" not in k
                and (accepts_any or k in sig.parameters)
            }
            kwargs.update(_routed(params, "model"))
            if "meta" in sig.parameters:
                kwargs["meta"] = self._meta()
            if "compile_kwargs" in sig.parameters:
                kwargs["compile_kwargs"] = self._compile_kwargs()
            model = target(**kwargs)
        else:
            model = copy.deepcopy(target)
        # The output width decides the default loss and the target's form (one sigmoid
        # unit: binary cross-entropy on a 0/1 column).
        self._out_width = int(np.prod(model.predict(sample, verbose=0).shape[1:]))
        if not getattr(model, "compiled", False):
            model.compile(**self._compile_kwargs())
        return model

    def _compile_kwargs(self) -> dict:
        from nerve import losses, optimizers

        params = self._all_params()
        opt, opt_kwargs = self.optimizer, _routed(params, "optimizer")
        if isinstance(opt, str):
            opt = optimizers.get({"class_name": opt, "config": opt_kwargs})
        elif isinstance(opt, type):
            opt = opt(**opt_kwargs)
        loss, loss_kwargs = self.loss, _routed(params, "loss")
        if loss is None:
            loss = self._default_loss()
        if isinstance(loss, type):
            loss = loss(**loss_kwargs)
        elif isinstance(loss, str) and loss_kwargs:
            loss = losses.get({"class_name": loss, "config": loss_kwargs})
        out = {"optimizer": opt, "loss": loss, "metrics": self.metrics}
        out.update(_routed(params, "compile"))
        return out

    # ------------------------------------------------------------------ fitting
    def _fit_kwargs(self, epochs, sample_weight, kwargs) -> dict:
        params = self._all_params()
        callbacks = self.callbacks
        if callbacks is not None:
            callbacks = [copy.deepcopy(cb) for cb in callbacks]
        out = {
            "batch_size": self.batch_size or 32,
            "epochs": epochs,
            "verbose": self.verbose,
            "callbacks": callbacks,
            "validation_split": self.validation_split,
            "shuffle": self.shuffle,
            "class_weight": self.class_weight,
            "sample_weight": sample_weight,
        }
        if self.validation_batch_size is not None:
            out["validation_batch_size"] = self.validation_batch_size
        out.update(_routed(params, "fit"))
        out.update(kwargs)
        return out

    def fit(self, X, y, sample_weight=None, **kwargs):
        """Build (unless ``warm_start`` and fitted) and train the model for ``epochs`` epochs.

        Args:
            X: (n_samples, n_features) array-like.
            y: the targets.
            sample_weight: optional per-sample weights.
            **kwargs: passed to the model's ``fit`` (override ``fit__*``).

        Returns:
            self.

        Raises:
            ValueError: invalid X or y (NaN, wrong shape, one class), or no model.
        """
        return self._fit(X, y, sample_weight, self.epochs, kwargs, warm=self.warm_start)

    def partial_fit(self, X, y, sample_weight=None, **kwargs):
        """Train one epoch, keeping the model (built on the first call)."""
        return self._fit(X, y, sample_weight, 1, kwargs, warm=True)

    def _fit(self, X, y, sample_weight, epochs, kwargs, warm):
        fitted = warm and hasattr(self, "model_")
        X, y = validate_data(
            self, X, y, reset=not fitted, dtype=np.float32, y_numeric=False, multi_output=True
        )
        sample_weight = _check_sample_weight(self, sample_weight, len(X))
        y_enc = self._encode_targets(y, reset=not fitted)
        if not fitted:
            _seed(self.random_state)
            self.model_ = self._build_model(X[:1])
            self.history_ = {}
        y_enc = self._shape_targets(y_enc)
        history = self.model_.fit(X, y_enc, **self._fit_kwargs(epochs, sample_weight, kwargs))
        for key, values in history.history.items():
            self.history_.setdefault(key, []).extend(values)
        return self

    def _raw_predict(self, X):
        check_is_fitted(self, "model_")
        X = validate_data(self, X, reset=False, dtype=np.float32)
        kwargs = {"batch_size": self.batch_size or 32, "verbose": 0}
        kwargs.update(_routed(self._all_params(), "predict"))
        out = self.model_.predict(X, **kwargs)
        return np.asarray(out)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = self.random_state is None
        if tags.target_tags is not None and isinstance(self, RegressorMixin):
            tags.target_tags.multi_output = True
        return tags


class KerasClassifier(ClassifierMixin, _KerasBase):
    """A scikit-learn classifier around a Keras-style nerve model (scikeras's interface).

    Args:
        model: a function returning a model (it gets the ``model__*`` parameters, the extra
            keyword arguments its signature names, and ``meta`` if it asks), or a model.
        build_fn: the older name of ``model``.
        warm_start: keep training the fitted model on ``fit`` instead of rebuilding it.
        random_state: seeds nerve's generator before the model is built (repeatable fits).
        optimizer, loss, metrics: compile arguments (``optimizer__*`` / ``loss__*`` route to
            their constructors), used when the model is not compiled. loss None: sparse
            categorical cross-entropy (binary cross-entropy for a one-unit output).
        batch_size, validation_batch_size, verbose, callbacks, validation_split, shuffle,
        epochs, class_weight: ``fit`` arguments.
        run_eagerly: accepted for scikeras compatibility (nerve always runs eagerly).
        **kwargs: routed parameters (``model__units``) or arguments of the building function.

    Attributes:
        model_: the trained model. classes_, n_classes_, n_features_in_, history_.

    >>> from nerve.sklearn import KerasClassifier, mlp_model
    >>> clf = KerasClassifier(model=mlp_model, hidden_layer_sizes=(16,), epochs=5, verbose=0)
    >>> sorted(clf.get_params())[:3]
    ['batch_size', 'build_fn', 'callbacks']
    """

    def _default_loss(self):
        width = self.__dict__.get("_out_width")
        if width is None:  # compile_kwargs asked before the model exists: not decided yet
            return None
        if width == 1:
            return "binary_crossentropy"
        return "sparse_categorical_crossentropy"

    def _encode_targets(self, y, reset):
        y = np.asarray(y)
        if y.ndim > 2 or (y.ndim == 2 and y.shape[1] != 1):
            raise ValueError(
                f"{type(self).__name__}: y must be 1-D class labels, got shape {y.shape}"
            )
        y = column_or_1d(y, warn=True)  # a column vector: DataConversionWarning, as sklearn
        check_classification_targets(y)
        if reset:
            known = getattr(self, "_partial_classes", None)
            self._encoder = LabelEncoder().fit(y if known is None else np.asarray(known))
            self.classes_ = self._encoder.classes_
            self.n_classes_ = len(self.classes_)
            if self.n_classes_ < 2:
                raise ValueError(
                    f"{type(self).__name__}: y has 1 class ({self.classes_[0]!r}); a classifier "
                    f"needs at least 2 classes"
                )
            self.target_type_ = "binary" if self.n_classes_ == 2 else "multiclass"
            self.n_outputs_ = 1
        return self._encoder.transform(y)

    def _shape_targets(self, enc):
        loss = self.model_.loss
        name = loss if isinstance(loss, str) else type(loss).__name__
        if str(name).replace("_", "").lower() == "categoricalcrossentropy":
            return np.eye(self.n_classes_, dtype=np.float32)[enc]
        if self._out_width == 1:
            return enc.astype(np.float32)[:, None]
        return enc.astype(np.int64)

    def partial_fit(self, X, y, classes=None, sample_weight=None, **kwargs):
        """Train one epoch, keeping the model (built on the first call).

        Args:
            classes: every class label, needed on the first call when this batch may not
                hold them all (scikit-learn's convention).
        """
        if not hasattr(self, "model_"):
            self._partial_classes = classes
        return self._fit(X, y, sample_weight, 1, kwargs, warm=True)

    def predict_proba(self, X):
        """Class probabilities, (n_samples, n_classes), columns in ``classes_`` order."""
        out = self._raw_predict(X)
        out = out.reshape(out.shape[0], -1)
        if out.shape[1] == 1:
            out = np.hstack([1.0 - out, out])
        return out

    def predict(self, X):
        """The most probable class of each sample, as one of ``classes_``."""
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]


class KerasRegressor(RegressorMixin, _KerasBase):
    """A scikit-learn regressor around a Keras-style nerve model (scikeras's interface).

    Arguments as KerasClassifier; loss None means mean squared error. ``score`` is R^2.
    Predictions have the float type of the ``y`` given to fit (float64 for integers).

    Attributes:
        model_, n_features_in_, n_outputs_, history_.
    """

    def _default_loss(self):
        return "mse"

    def _encode_targets(self, y, reset):
        y = np.asarray(y)
        if reset:
            # Predictions come back in y's float type, as scikeras returns them.
            self._y_dtype = y.dtype if y.dtype.kind == "f" else np.dtype(np.float64)
        y = y.astype(np.float32)
        if reset:
            self._y_ndim = y.ndim
            self.target_type_ = "continuous" if y.ndim == 1 else "continuous-multioutput"
            self.n_outputs_ = 1 if y.ndim == 1 else y.shape[1]
        return y

    def _shape_targets(self, y):
        return y.reshape(len(y), -1)

    def predict(self, X):
        """The predictions: (n_samples,) for a 1-D y, else (n_samples, n_outputs)."""
        out = self._raw_predict(X)
        out = out.reshape(out.shape[0], -1).astype(self._y_dtype, copy=False)
        return out.ravel() if self._y_ndim == 1 else out
