"""What both families of estimators share: the install check, parameter routing, seeding."""

from __future__ import annotations

import inspect

import numpy as np

INSTALL_HINT = "pip install 'nerve[tune]'  (or: pip install 'scikit-learn>=1.6')"

try:
    # validate_data is scikit-learn 1.6's: older versions get the same hint.
    from sklearn.base import BaseEstimator  # noqa: F401
    from sklearn.utils.validation import validate_data  # noqa: F401
except ImportError:
    raise ImportError(f"nerve.sklearn needs scikit-learn >= 1.6: {INSTALL_HINT}") from None


def _routed(params: dict, prefix: str) -> dict:
    """The ``prefix__name`` entries of ``params`` as ``{name: value}``."""
    start = prefix + "__"
    return {k[len(start) :]: v for k, v in params.items() if k.startswith(start)}


def _seed(random_state) -> None:
    if random_state is not None:
        from nerve import backend

        seed = random_state if isinstance(random_state, (int, np.integer)) else 0
        if isinstance(random_state, np.random.RandomState):
            seed = int(random_state.randint(0, 2**31 - 1))
        backend.manual_seed(int(seed))


def _check_sample_weight(est, sample_weight, n):
    if sample_weight is None:
        return None
    sw = np.asarray(sample_weight, dtype=np.float32).reshape(-1)
    if sw.shape[0] != n:
        raise ValueError(
            f"{type(est).__name__}.fit: sample_weight has {sw.shape[0]} values for {n} samples"
        )
    if not np.all(np.isfinite(sw)) or np.any(sw < 0):
        raise ValueError(f"{type(est).__name__}.fit: sample_weight must be finite and >= 0")
    if not np.any(sw > 0):
        raise ValueError(f"{type(est).__name__}.fit: sample weights are all zero")
    return sw


class _ExtraParams:
    """get_params / set_params over the signature plus any routed ``prefix__name`` or extra
    keyword the user gave (scikeras and skorch accept those)."""

    _route_prefixes: tuple = ()

    def _init_extra(self, kwargs):
        # Kept apart from the attributes: scikit-learn's checks want __init__ to set exactly
        # its named parameters; __getattr__ still shows them as attributes.
        self._extra_params = dict(kwargs)

    def __getattr__(self, name):
        extra = self.__dict__.get("_extra_params", {})
        if name in extra:
            return extra[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    @classmethod
    def _signature_names(cls) -> list:
        sig = inspect.signature(cls.__init__)
        return [
            p.name
            for p in sig.parameters.values()
            if p.name != "self" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
        ]

    def get_params(self, deep=True) -> dict:
        """The constructor parameters, routed ones (``model__units``) included."""
        params = {name: getattr(self, name) for name in self._signature_names()}
        params.update(self.__dict__.get("_extra_params", {}))
        return params

    def set_params(self, **params):
        """Set parameters, routed ones too; returns self.

        Raises:
            ValueError: a name that is neither a parameter, a building-function argument
                given at construction, nor routed (``prefix__name``).
        """
        names = set(self._signature_names())
        extra = self.__dict__.setdefault("_extra_params", {})
        for k, v in params.items():
            if k in names:
                setattr(self, k, v)
                continue
            if k not in extra and (
                "__" not in k or k.split("__", 1)[0] not in self._route_prefixes
            ):
                raise ValueError(
                    f"Invalid parameter {k!r} for estimator {type(self).__name__}. Valid "
                    f"parameters are {sorted(names | set(extra))}, plus routed ones such as "
                    f"{self._route_prefixes[0]}__<name>."
                )
            extra[k] = v
        return self

    def _all_params(self) -> dict:
        return self.get_params()
