"""MNIST handwritten digits: 60,000 training and 10,000 test images, 28x28 grayscale."""

from __future__ import annotations

from nerve.datasets.fetch import IdxSpec, load_idx_dataset

__all__ = ["load_data"]

# The published checksums of the original IDX files (as torchvision lists them).
MD5 = {
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}
MIRRORS = ["https://ossci-datasets.s3.amazonaws.com/mnist/"]


def load_data(path=None):
    """Load MNIST as ``((x_train, y_train), (x_test, y_test))``, as ``keras.datasets.mnist``.

    Images are uint8 arrays (N, 28, 28), labels uint8 (N,). Looked up in ``path`` (a directory
    with the four IDX files, gzip or raw, or a Keras ``mnist.npz``), then ``$NERVE_DATA/mnist``,
    then ``~/.cache/nerve/datasets/mnist``; otherwise downloaded there once (MD5-checked).

    Raises:
        OSError: the files are nowhere and cannot be downloaded (the message says where to
            put them).
        ValueError: a file is corrupt, truncated, or of the wrong shape or type.
    """
    spec = IdxSpec("mnist", "mnist.load_data", MD5, MIRRORS)
    return load_idx_dataset(spec, path)
