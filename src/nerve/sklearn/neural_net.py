"""skorch's NeuralNetClassifier and NeuralNetRegressor over nerve's nn.Module models."""

# ruff: noqa: N803, N806  (scikit-learn's names: X is the data matrix)
from __future__ import annotations

import copy

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.preprocessing import LabelEncoder
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from nerve.sklearn._base import _ExtraParams, _routed, _seed


class ValidSplit:
    """skorch's internal train/validation split: hold out ``1/cv`` of the data (a fraction
    when ``cv`` is a float in (0, 1)), stratified by class when asked.

    Args:
        cv: 5 means one fifth for validation; 0.2 the same.
        stratified: keep the class proportions (classifiers).
        random_state: seeds the shuffle.

    Raises:
        ValueError: cv <= 1 as an int, or outside (0, 1) as a float.
    """

    def __init__(self, cv=5, stratified=False, random_state=None):
        if isinstance(cv, float) and not 0.0 < cv < 1.0:
            raise ValueError(f"ValidSplit: a float cv must be in (0, 1), got {cv}")
        if isinstance(cv, int) and cv < 2:
            raise ValueError(f"ValidSplit: an int cv must be >= 2, got {cv}")
        self.cv, self.stratified, self.random_state = cv, stratified, random_state

    def __call__(self, X, y=None):
        """(train_indices, valid_indices) of ``len(X)`` samples."""
        from sklearn.model_selection import ShuffleSplit, StratifiedShuffleSplit

        share = self.cv if isinstance(self.cv, float) else 1.0 / self.cv
        kind = StratifiedShuffleSplit if self.stratified and y is not None else ShuffleSplit
        splitter = kind(n_splits=1, test_size=share, random_state=self.random_state)
        return next(splitter.split(np.zeros((len(X), 1)), y))

    def __repr__(self) -> str:
        return f"ValidSplit(cv={self.cv}, stratified={self.stratified})"


class _NeuralNetBase(_ExtraParams, BaseEstimator):
    _route_prefixes = ("module", "optimizer", "criterion")

    def __init__(
        self,
        module,
        criterion=None,
        optimizer=None,
        lr=0.01,
        max_epochs=10,
        batch_size=128,
        train_split="default",
        predict_nonlinearity="auto",
        warm_start=False,
        verbose=1,
        device="cpu",
        random_state=None,
        **kwargs,
    ):
        self.module = module
        self.criterion = criterion
        self.optimizer = optimizer
        self.lr = lr
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.train_split = train_split
        self.predict_nonlinearity = predict_nonlinearity
        self.warm_start = warm_start
        self.verbose = verbose
        self.device = device
        self.random_state = random_state
        self._init_extra(kwargs)

    # ------------------------------------------------------------------ initialize
    def initialize(self):
        """Build module_, criterion_ and optimizer_ from the parameters; returns self."""
        from nerve import optim

        params = self._all_params()
        _seed(self.random_state)
        module = self.module
        if isinstance(module, type):
            module = module(**_routed(params, "module"))
        else:
            module = copy.deepcopy(module)
        if self.device not in (None, "cpu"):
            module = module.to(self.device)
        self.module_ = module
        criterion = self.criterion or self._default_criterion()
        if isinstance(criterion, type):
            criterion = criterion(**_routed(params, "criterion"))
        self.criterion_ = criterion
        opt = self.optimizer or optim.SGD
        self.optimizer_ = opt(self.module_.parameters(), lr=self.lr, **_routed(params, "optimizer"))
        self.history_ = []
        self.initialized_ = True
        return self

    @property
    def history(self) -> list:
        """skorch's name for ``history_``: one dict per epoch (train_loss, valid_loss, ...)."""
        return self.history_

    # ------------------------------------------------------------------ training
    def fit(self, X, y, **fit_params):
        """(Re)initialize unless ``warm_start``, then train ``max_epochs`` epochs.

        Returns:
            self.

        Raises:
            ValueError: invalid X or y.
        """
        warm = self.warm_start and hasattr(self, "module_")
        return self._fit(X, y, fit_params.pop("epochs", self.max_epochs), warm, fit_params)

    def partial_fit(self, X, y, classes=None, **fit_params):
        """Train one epoch, initializing on the first call."""
        if not hasattr(self, "module_"):
            self._partial_classes = classes
        return self._fit(X, y, 1, hasattr(self, "module_"), fit_params)

    def _fit(self, X, y, epochs, warm, fit_params):
        if fit_params:
            raise TypeError(
                f"{type(self).__name__}.fit: unexpected argument(s) {sorted(fit_params)}"
            )
        X, y = validate_data(self, X, y, reset=not warm, dtype=np.float32, multi_output=True)
        y = self._encode_targets(y, reset=not warm)
        if not warm:
            self.initialize()
        split = self.train_split
        if split == "default":
            split = self._default_split()
        if split is None or len(X) < 10:
            train, valid = np.arange(len(X)), None
        else:
            train, valid = split(X, y) if callable(split) else ValidSplit(split)(X, y)
        rng = np.random.default_rng(self.random_state if self.random_state is not None else None)
        for _ in range(int(epochs)):
            self._epoch(X, y, train, valid, rng)
        return self

    def _epoch(self, X, y, train, valid, rng):
        import time

        import nerve

        start = time.time()
        self.module_.train()
        order = rng.permutation(train)
        total, count = 0.0, 0
        for i in range(0, len(order), int(self.batch_size)):
            idx = order[i : i + int(self.batch_size)]
            out = self.module_(self._tensor(X[idx]))
            loss = self._loss(out, self._tensor(y[idx]))
            self.optimizer_.zero_grad()
            loss.backward()
            self.optimizer_.step()
            total += float(loss.item()) * len(idx)
            count += len(idx)
        row = {"epoch": len(self.history_) + 1, "train_loss": total / max(count, 1)}
        if valid is not None and len(valid):
            with nerve.no_grad():
                self.module_.eval()
                out = self._forward(X[valid])
                row["valid_loss"] = float(self._loss(out, self._tensor(y[valid])).item())
                if isinstance(self, ClassifierMixin):
                    pred = np.argmax(self._proba(out), axis=1)
                    row["valid_acc"] = float(np.mean(pred == y[valid]))
        row["dur"] = time.time() - start
        self.history_.append(row)
        if self.verbose:
            print(
                "  ".join(
                    f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()
                )
            )

    def _tensor(self, array):
        import nerve

        t = nerve.from_numpy(np.ascontiguousarray(array))
        return t if self.device in (None, "cpu") else t.to(self.device)

    def _forward(self, X):
        import nerve

        outs = []
        with nerve.no_grad():
            self.module_.eval()
            for i in range(0, len(X), int(self.batch_size)):
                outs.append(self.module_(self._tensor(X[i : i + int(self.batch_size)])))
        return nerve.cat(outs) if len(outs) > 1 else outs[0]

    def _loss(self, out, target):
        from nerve import nn

        if isinstance(self.criterion_, nn.NLLLoss):
            # skorch's convention: the module outputs probabilities; NLLLoss wants their log.
            import nerve

            out = nerve.log(out + float(np.finfo(np.float32).eps))
        elif tuple(out.shape) != tuple(target.shape) and out.numel() == target.numel():
            out = out.reshape(tuple(target.shape))
        return self.criterion_(out, target)

    def _nonlinear(self, out):
        import nerve
        import nerve.nn.functional as F
        from nerve import nn

        if self.predict_nonlinearity is None:
            return out
        if callable(self.predict_nonlinearity):
            return self.predict_nonlinearity(out)
        if isinstance(self.criterion_, nn.CrossEntropyLoss):
            return F.softmax(out, dim=-1)
        if isinstance(self.criterion_, nn.BCEWithLogitsLoss):
            return nerve.sigmoid(out)
        return out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = self.random_state is None
        if tags.target_tags is not None and isinstance(self, RegressorMixin):
            tags.target_tags.multi_output = True
        return tags

    def forward(self, X):
        """The module's outputs on ``X`` (no nonlinearity), as a NumPy array."""
        check_is_fitted(self, "module_")
        X = validate_data(self, X, reset=False, dtype=np.float32)
        return self._forward(X).numpy()


class NeuralNetClassifier(ClassifierMixin, _NeuralNetBase):
    """A scikit-learn classifier around an ``nn.Module`` (skorch's interface).

    Args:
        module: an ``nn.Module`` class (built with the ``module__*`` parameters) or instance.
        criterion: the loss class (default ``nn.NLLLoss`` on the module's probabilities, as
            skorch; ``nn.CrossEntropyLoss`` for logits); ``criterion__*`` route to it.
        optimizer: an ``nerve.optim`` class (default SGD), with ``lr`` and ``optimizer__*``.
        lr, max_epochs, batch_size: as skorch (0.01, 10, 128).
        train_split: ``ValidSplit(5, stratified=True)`` by default (a fifth held out for
            ``valid_loss``/``valid_acc``); None trains on everything.
        predict_nonlinearity: ``"auto"`` (softmax after CrossEntropyLoss, sigmoid after
            BCEWithLogitsLoss), None, or a function.
        warm_start, verbose, device: as skorch.
        random_state: seeds initialization and shuffling (nerve's addition).
        **kwargs: routed parameters (``module__hidden=32``).

    Attributes:
        module_, criterion_, optimizer_, history_ (``history``), classes_, n_features_in_.
    """

    def __init__(self, module, criterion=None, train_split="default", classes=None, **kwargs):
        super().__init__(module, criterion=criterion, train_split=train_split, **kwargs)
        self.classes = classes

    @classmethod
    def _signature_names(cls) -> list:
        return sorted(set(_NeuralNetBase._signature_names()) | {"classes"})

    def _default_criterion(self):
        from nerve import nn

        return nn.NLLLoss

    def _default_split(self):
        return ValidSplit(5, stratified=True, random_state=self.random_state)

    def _encode_targets(self, y, reset):
        y = column_or_1d(np.asarray(y), warn=True)
        check_classification_targets(y)
        if reset:
            known = (
                self.classes
                if self.classes is not None
                else getattr(self, "_partial_classes", None)
            )
            self._encoder = LabelEncoder().fit(y if known is None else np.asarray(known))
            self.classes_ = self._encoder.classes_
            if len(self.classes_) < 2:
                raise ValueError(
                    f"{type(self).__name__}: y has 1 class ({self.classes_[0]!r}); a "
                    f"classifier needs at least 2 classes"
                )
        from nerve import nn

        enc = self._encoder.transform(y)
        if (
            self.criterion is not None
            and isinstance(self.criterion, type)
            and issubclass(self.criterion, (nn.BCEWithLogitsLoss, nn.BCELoss))
        ):
            return enc.astype(np.float32)
        return enc.astype(np.int64)

    def _proba(self, out):
        proba = self._nonlinear(out).numpy()
        proba = proba.reshape(proba.shape[0], -1)
        return np.hstack([1.0 - proba, proba]) if proba.shape[1] == 1 else proba

    def predict_proba(self, X):
        """The module's outputs after ``predict_nonlinearity``, (n_samples, n_classes)."""
        check_is_fitted(self, "module_")
        X = validate_data(self, X, reset=False, dtype=np.float32)
        return self._proba(self._forward(X))

    def predict(self, X):
        """The most probable class of each sample, as one of ``classes_``."""
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]


class NeuralNetRegressor(RegressorMixin, _NeuralNetBase):
    """A scikit-learn regressor around an ``nn.Module`` (skorch's interface).

    Arguments as NeuralNetClassifier; criterion ``nn.MSELoss`` and no validation split by
    default (skorch holds out a fifth: pass ``train_split=ValidSplit(5)``). ``score`` is R^2.
    """

    def _default_criterion(self):
        from nerve import nn

        return nn.MSELoss

    def _default_split(self):
        return ValidSplit(5, random_state=self.random_state)

    def _encode_targets(self, y, reset):
        y = np.asarray(y, dtype=np.float32)
        if reset:
            self._y_ndim = y.ndim
        return y.reshape(len(y), -1)

    def predict(self, X):
        """The module's outputs: (n_samples,) for a 1-D y, else (n_samples, n_outputs)."""
        check_is_fitted(self, "module_")
        X = validate_data(self, X, reset=False, dtype=np.float32)
        out = self._nonlinear(self._forward(X)).numpy()
        out = out.reshape(out.shape[0], -1)
        return out.ravel() if self._y_ndim == 1 else out
