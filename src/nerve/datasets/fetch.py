"""Finding a dataset's files on disk, or downloading them once into the cache.

Lookup order: ``path=``, then ``$NERVE_DATA/<name>``, then the cache
(``$XDG_CACHE_HOME`` or ``~/.cache``, then ``nerve/datasets/<name>``), then a system directory
(a Debian package's), and only then the network: each file from the first mirror that has it,
streamed into a temporary file beside its target, checked against its MD5, and renamed into
place, so an interrupted or corrupted download never leaves a file behind.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import urllib.error
import urllib.request
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nerve.datasets.idx import read_idx

__all__ = ["ChecksumError", "IdxSpec", "cache_dir", "download", "load_idx_dataset"]


class ChecksumError(ValueError):
    """A downloaded file's MD5 is not the published one."""


def cache_dir(name: str) -> Path:
    """Where downloaded files of dataset ``name`` are kept."""
    root = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(root) / "nerve" / "datasets" / name


def download(url: str, dest, md5: str | None = None, timeout: float = 60.0) -> Path:
    """Fetch ``url`` to ``dest`` atomically, checking its MD5 when given."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    try:
        digest = hashlib.md5(usedforsecurity=False)  # integrity against the published sums
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as resp:
            while chunk := resp.read(1 << 20):
                out.write(chunk)
                digest.update(chunk)
            out.flush()
            os.fsync(out.fileno())
        if md5 is not None and digest.hexdigest() != md5:
            raise ChecksumError(
                f"MD5 mismatch for {url}: expected {md5}, got {digest.hexdigest()}; "
                f"the download was discarded"
            )
        os.replace(tmp, dest)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return dest


@dataclass
class IdxSpec:
    """An MNIST-like dataset: four IDX files, their MD5s and where to find them."""

    name: str  # also the directory name under $NERVE_DATA and the cache
    owner: str  # e.g. 'mnist.load_data', for messages
    md5: dict  # file name (.gz) -> published MD5
    mirrors: list  # base URLs, tried in order
    system_dir: str | None = None  # e.g. a Debian package's install location
    system_package: str | None = None


_PARTS = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}


def _find(directory: Path, stem: str) -> Path | None:
    # gzip as published, uncompressed, or the 'train-images.idx3-ubyte' spelling of some mirrors
    for candidate in (f"{stem}.gz", stem, stem.replace("-idx", ".idx")):
        if (directory / candidate).is_file():
            return directory / candidate
    return None


def _found(directory: Path) -> dict | None:
    files = {key: _find(directory, stem) for key, stem in _PARTS.items()}
    return files if all(files.values()) else None


def _locate(spec: IdxSpec, path) -> dict:
    if path is not None:
        directory = Path(path).expanduser()
        files = _found(directory)
        if files is None:
            raise FileNotFoundError(
                f"{spec.owner}: {directory} does not hold the four files "
                f"{', '.join(s + '.gz' for s in _PARTS.values())} (gzip or raw)"
            )
        return files
    candidates = []
    if os.environ.get("NERVE_DATA"):
        candidates.append(Path(os.environ["NERVE_DATA"]).expanduser() / spec.name)
    cache = cache_dir(spec.name)
    candidates.append(cache)
    if spec.system_dir:
        candidates.append(Path(spec.system_dir))
    for directory in candidates:
        files = _found(directory)
        if files is not None:
            return files
    return {key: _fetch(spec, cache, stem) for key, stem in _PARTS.items()}


def _fetch(spec: IdxSpec, cache: Path, stem: str) -> Path:
    existing = _find(cache, stem)
    if existing is not None:
        return existing
    filename = f"{stem}.gz"
    errors = []
    for mirror in spec.mirrors:
        url = mirror.rstrip("/") + "/" + filename
        try:
            return download(url, cache / filename, spec.md5[filename])
        except ChecksumError as exc:
            errors.append(str(exc))
        except (urllib.error.URLError, OSError) as exc:
            errors.append(f"{url}: {getattr(exc, 'reason', None) or exc}")
    if errors and all(e.startswith("MD5 mismatch") for e in errors):
        raise ChecksumError(f"{spec.owner}: " + "; ".join(errors))
    system = (
        f"install the Debian package {spec.system_package} (it puts the files in "
        f"{spec.system_dir}), or "
        if spec.system_package
        else ""
    )
    raise OSError(
        f"{spec.owner}: cannot download {filename} ({'; '.join(errors) or 'no mirror'}). "
        f"If this machine is offline, {system}copy the four files "
        f"({', '.join(s + '.gz' for s in _PARTS.values())}) into {cache}, or pass path= "
        f"to a directory holding them"
    )


def _load_npz(spec: IdxSpec, path: Path):
    try:
        with np.load(path, allow_pickle=False) as data:
            missing = [k for k in _PARTS if k not in data.files]
            if missing:
                raise ValueError(f"{spec.owner}: {path} lacks the arrays {missing}")
            return {k: data[k] for k in _PARTS}
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
        if str(path) in str(exc):
            raise
        # NumPy's own words name no file: "Object arrays cannot be loaded when
        # allow_pickle=False" (a pickled array, never unpickled here), "File is not a zip file".
        raise ValueError(
            f"{spec.owner}: cannot read {path} as an .npz of uint8 arrays ({exc})"
        ) from None


def load_idx_dataset(spec: IdxSpec, path=None):
    """((x_train, y_train), (x_test, y_test)) as uint8 arrays, checked for shape and dtype."""
    if path is not None and str(path).endswith(".npz") and Path(path).is_file():
        arrays = _load_npz(spec, Path(path))
        sources = {k: f"{path}[{k}]" for k in _PARTS}
    else:
        files = _locate(spec, path)
        arrays = {key: read_idx(p) for key, p in files.items()}
        sources = {k: str(p) for k, p in files.items()}
    for split in ("train", "test"):
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if x.dtype != np.uint8 or x.ndim != 3:
            raise ValueError(
                f"{spec.owner}: {sources['x_' + split]} should hold uint8 images (N, H, W), "
                f"got {x.dtype} of shape {x.shape}"
            )
        if y.dtype != np.uint8 or y.ndim != 1 or len(y) != len(x):
            raise ValueError(
                f"{spec.owner}: {sources['y_' + split]} should hold {len(x)} uint8 labels, got "
                f"{y.dtype} of shape {y.shape}"
            )
    if arrays["x_train"].shape[1:] != arrays["x_test"].shape[1:]:
        raise ValueError(
            f"{spec.owner}: the training images ({sources['x_train']}) are "
            f"{arrays['x_train'].shape[1:]} but the test images ({sources['x_test']}) are "
            f"{arrays['x_test'].shape[1:]}; both must have one shape"
        )
    return (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])
