"""Images stored one per CSV row, as in Kaggle's digit-recognizer (``label,pixel0,...``)."""

from __future__ import annotations

import csv
import math
import warnings
from pathlib import Path

import numpy as np

__all__ = ["from_csv"]

MAX_LABEL = 2**31


def _not_text(start: bytes) -> str:
    if start[:2] == b"\x1f\x8b":
        return "is gzip-compressed; decompress it first (gunzip)"
    if start[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return "is UTF-16 text; save it as UTF-8"
    return "is not UTF-8 text (save it as UTF-8)"


def from_csv(path, label_column: str | None = "label", image_shape=None):
    """Read a CSV of images, one per row: ``(x, y)`` with x uint8 (N, H, W), y uint8 labels.

    Args:
        path: the CSV file; its first row names the columns.
        label_column: the column of labels; None for an unlabeled file (Kaggle's test.csv),
            which gives ``y = None``.
        image_shape: (H, W) of each image; by default the pixel count must be a square
            (784 -> (28, 28)).

    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "train.csv")
    >>> with open(path, "w") as f:
    ...     _ = f.write("label,pixel0,pixel1,pixel2,pixel3\\n7,0,255,3,4\\n1,9,8,7,6\\n")
    >>> x, y = from_csv(path)
    >>> x.shape, x.dtype, y.tolist()
    ((2, 2, 2), dtype('uint8'), [7, 1])
    """
    path = Path(path)
    try:
        with path.open("rb") as f:
            start = f.read(4)
        with path.open(newline="", encoding="utf-8") as f:
            header = next(csv.reader(f), None)
    except OSError as exc:
        raise OSError(f"from_csv: cannot read {path}: {exc.strerror or exc}") from exc
    except (UnicodeDecodeError, csv.Error) as exc:
        raise ValueError(f"from_csv: {path} {_not_text(start)} ({exc})") from None
    if not header:
        raise ValueError(f"from_csv: {path} is empty (expected a header row of column names)")
    header = [h.strip() for h in header]
    label_index = None
    if label_column is not None:
        if label_column not in header:
            raise ValueError(
                f"from_csv: {path} has no {label_column!r} column (its columns start "
                f"{header[:4]}); pass label_column=None for an unlabeled file such as Kaggle's "
                f"test.csv"
            )
        label_index = header.index(label_column)
    try:
        with warnings.catch_warnings():  # an empty body is reported below, in our words
            warnings.simplefilter("ignore", UserWarning)
            table = np.loadtxt(
                path, delimiter=",", skiprows=1, dtype=np.float64, ndmin=2, encoding="utf-8"
            )
    except UnicodeDecodeError as exc:
        raise ValueError(f"from_csv: {path} {_not_text(start)} ({exc})") from None
    except ValueError as exc:
        raise ValueError(f"from_csv: {path} has a malformed row ({exc})") from exc
    if table.shape[0] == 0:
        raise ValueError(f"from_csv: {path} has a header but no rows")
    if table.shape[1] != len(header):
        raise ValueError(
            f"from_csv: {path} has {table.shape[1]} values per row but {len(header)} column names"
        )
    if not np.all(np.isfinite(table)) or np.any(table != np.round(table)):
        raise ValueError(f"from_csv: {path} holds non-integer values; expected pixels 0-255")
    pixels = table if label_index is None else np.delete(table, label_index, axis=1)
    if pixels.min() < 0 or pixels.max() > 255:
        raise ValueError(
            f"from_csv: {path} has pixel values in [{pixels.min():g}, {pixels.max():g}], "
            f"outside 0-255"
        )
    n_pixels = pixels.shape[1]
    if image_shape is None:
        side = math.isqrt(n_pixels)
        if side * side != n_pixels:
            raise ValueError(
                f"from_csv: {path} has {n_pixels} pixel columns, not a square number; pass "
                f"image_shape=(H, W)"
            )
        image_shape = (side, side)
    image_shape = tuple(int(s) for s in image_shape)
    if math.prod(image_shape) != n_pixels:
        raise ValueError(
            f"from_csv: image_shape {image_shape} needs {math.prod(image_shape)} pixels per row, "
            f"{path} has {n_pixels}"
        )
    x = pixels.astype(np.uint8).reshape(len(pixels), *image_shape)
    if label_index is None:
        return x, None
    labels = table[:, label_index]
    if labels.min() < 0:
        raise ValueError(f"from_csv: {path} has negative labels in column {label_column!r}")
    if labels.max() >= MAX_LABEL:
        # Beyond 2**53 a float64 no longer holds every integer, and beyond int64 a cast wraps
        # (1e20 became -9223372036854775808): no class index is that large.
        raise ValueError(
            f"from_csv: {path} has a label of {labels.max():g} in column {label_column!r}; "
            f"labels are class indices below {MAX_LABEL}"
        )
    y = labels.astype(np.uint8 if labels.max() <= 255 else np.int64)
    return x, y
