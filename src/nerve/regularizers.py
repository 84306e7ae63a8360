"""Keras-style weight regularizers: penalties added to the loss (L1, L2, L1L2)."""

from __future__ import annotations


class Regularizer:
    """Base class: ``reg(weight) -> scalar Tensor`` (differentiable)."""

    def __call__(self, x):  # pragma: no cover - abstract
        raise NotImplementedError

    def get_config(self) -> dict:
        return {}

    @classmethod
    def from_config(cls, config: dict):
        return cls(**config)


class L1L2(Regularizer):
    """l1 * sum(|x|) + l2 * sum(x^2) (no factor 1/2, as in Keras)."""

    def __init__(self, l1: float = 0.0, l2: float = 0.0):
        if l1 < 0 or l2 < 0:
            raise ValueError(f"regularization factors must be >= 0, got l1={l1}, l2={l2}")
        self.l1, self.l2 = float(l1), float(l2)

    def __call__(self, x):
        penalty = None
        if self.l1:
            penalty = x.abs().sum() * self.l1
        if self.l2:
            term = (x * x).sum() * self.l2
            penalty = term if penalty is None else penalty + term
        return penalty if penalty is not None else (x * 0.0).sum()

    def get_config(self) -> dict:
        return {"l1": self.l1, "l2": self.l2}


class L1(L1L2):
    def __init__(self, l1: float = 0.01):
        super().__init__(l1=l1)

    def get_config(self) -> dict:
        return {"l1": self.l1}


class L2(L1L2):
    def __init__(self, l2: float = 0.01):
        super().__init__(l2=l2)

    def get_config(self) -> dict:
        return {"l2": self.l2}


def l1(l1: float = 0.01) -> L1:
    return L1(l1)


def l2(l2: float = 0.01) -> L2:
    return L2(l2)


def l1_l2(l1: float = 0.01, l2: float = 0.01) -> L1L2:
    return L1L2(l1, l2)


_ALIASES = {"l1": L1, "l2": L2, "l1_l2": L1L2, "L1": L1, "L2": L2, "L1L2": L1L2}


def get(identifier):
    """A regularizer from None, a name ('l2'), a config dict, or a callable."""
    if identifier is None:
        return None
    if isinstance(identifier, str):
        cls = _ALIASES.get(identifier)
        if cls is None:
            raise ValueError(f"unknown regularizer {identifier!r}; known: l1, l2, l1_l2")
        return cls(0.01, 0.01) if cls is L1L2 else cls()
    if isinstance(identifier, dict):
        cls = _ALIASES.get(identifier.get("class_name"))
        if cls is None:
            raise ValueError(f"unknown regularizer config {identifier!r}")
        return cls.from_config(identifier.get("config", {}))
    if callable(identifier):
        return identifier
    raise ValueError(f"cannot interpret {identifier!r} as a regularizer")


def serialize(regularizer) -> dict | None:
    if regularizer is None:
        return None
    return {"class_name": type(regularizer).__name__, "config": regularizer.get_config()}
