"""Fashion-MNIST (Zalando): 60,000 + 10,000 28x28 grayscale images of clothes, 10 classes.

Labels: 0 T-shirt/top, 1 Trouser, 2 Pullover, 3 Dress, 4 Coat, 5 Sandal, 6 Shirt, 7 Sneaker,
8 Bag, 9 Ankle boot.
"""

from __future__ import annotations

from nerve.datasets.fetch import IdxSpec, load_idx_dataset

__all__ = ["CLASS_NAMES", "load_data"]

CLASS_NAMES = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
]
# The published checksums of the official files (the Debian package re-compresses them, so
# its copies differ; they are read from disk, never checked against these).
MD5 = {
    "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
    "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
    "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
    "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
}
MIRRORS = ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"]
DEBIAN_DIR = "/usr/share/datasets/fashion-mnist"
DEBIAN_PACKAGE = "dataset-fashion-mnist"


def load_data(path=None):
    """Load Fashion-MNIST as ``((x_train, y_train), (x_test, y_test))``, as Keras does.

    Images are uint8 arrays (N, 28, 28), labels uint8 (N,). Looked up in ``path`` (a directory
    with the four IDX files, gzip or raw, or an .npz with x_train/y_train/x_test/y_test), then
    ``$NERVE_DATA/fashion-mnist``, then ``~/.cache/nerve/datasets/fashion-mnist``, then the
    Debian package's ``/usr/share/datasets/fashion-mnist``; otherwise downloaded into the cache
    once (MD5-checked).

    Raises:
        OSError: the files are nowhere and cannot be downloaded (the message names the Debian
            package dataset-fashion-mnist and the cache directory to fill).
        ValueError: a file is corrupt, truncated, or of the wrong shape or type.
    """
    spec = IdxSpec(
        "fashion-mnist", "fashion_mnist.load_data", MD5, MIRRORS, DEBIAN_DIR, DEBIAN_PACKAGE
    )
    return load_idx_dataset(spec, path)
