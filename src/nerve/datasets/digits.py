"""scikit-learn's bundled 8x8 handwritten digits (1,797 images, 10 classes), no download."""

from __future__ import annotations

import numpy as np

from nerve.data.dataset import train_test_split

__all__ = ["load_data"]


def load_data(test_size: float = 0.2, seed: int = 0):
    """``((x_train, y_train), (x_test, y_test))``: uint8 images (N, 8, 8) with values 0-16 and
    uint8 labels, split with each digit's share kept in both parts; the same split every call
    for the same ``seed``.

    Needs scikit-learn (``pip install nerve[data]``).

    >>> (x_train, y_train), (x_test, y_test) = load_data()
    >>> x_train.shape, x_test.shape, int(x_train.max())
    ((1437, 8, 8), (360, 8, 8), 16)
    """
    try:
        from sklearn.datasets import load_digits
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("digits.load_data needs scikit-learn: pip install nerve[data]") from exc
    bunch = load_digits()
    images = bunch.images.astype(np.uint8)
    labels = bunch.target.astype(np.uint8)
    x_train, x_test, y_train, y_test = train_test_split(
        images, labels, test_size=test_size, seed=seed, stratify=labels
    )
    return (x_train, y_train), (x_test, y_test)
