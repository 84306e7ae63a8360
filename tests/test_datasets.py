"""nerve.datasets: the IDX parser, file lookup, download (local HTTP server), digits, CSV."""

import contextlib
import functools
import gzip
import hashlib
import http.server
import os
import struct
import threading

import numpy as np
import pytest

from nerve.datasets import digits, fashion_mnist, from_csv, mnist, parse_idx, read_idx
from nerve.datasets.fetch import ChecksumError

STEMS = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}
CODES = {
    np.uint8: 0x08,
    np.int8: 0x09,
    np.int16: 0x0B,
    np.int32: 0x0C,
    np.float32: 0x0D,
    np.float64: 0x0E,
}


def idx_bytes(array: np.ndarray) -> bytes:
    header = bytes([0, 0, CODES[array.dtype.type], array.ndim])
    header += struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def small_dataset(seed=0, n_train=6, n_test=4):
    rng = np.random.default_rng(seed)
    return {
        "x_train": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "y_train": rng.integers(0, 10, n_train, dtype=np.uint8),
        "x_test": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "y_test": rng.integers(0, 10, n_test, dtype=np.uint8),
    }


def write_dataset(directory, arrays, compress=True):
    os.makedirs(directory, exist_ok=True)
    for key, stem in STEMS.items():
        data = idx_bytes(arrays[key])
        name = f"{stem}.gz" if compress else stem
        with open(os.path.join(directory, name), "wb") as f:
            f.write(gzip.compress(data) if compress else data)


def assert_loaded(result, arrays):
    (x_train, y_train), (x_test, y_test) = result
    for key, got in zip(STEMS, (x_train, y_train, x_test, y_test)):
        assert got.dtype == np.uint8
        np.testing.assert_array_equal(got, arrays[key])


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """No real cache, $NERVE_DATA or Debian directory can leak into a test."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("NERVE_DATA", raising=False)
    monkeypatch.setattr(fashion_mnist, "DEBIAN_DIR", str(tmp_path / "no-debian"))
    return tmp_path


# ----------------------------------------------------------------------------- IDX
@pytest.mark.parametrize("dtype", list(CODES))
def test_read_idx_every_type_raw_and_gzip(tmp_path, dtype):
    array = (np.arange(24).reshape(2, 3, 4) - 5).astype(dtype)
    raw, packed = tmp_path / "a-idx3", tmp_path / "a-idx3.gz"
    raw.write_bytes(idx_bytes(array))
    packed.write_bytes(gzip.compress(idx_bytes(array)))
    for path in (raw, packed):
        got = read_idx(path)
        assert got.dtype == np.dtype(dtype) and got.dtype.isnative
        np.testing.assert_array_equal(got, array)


@pytest.mark.parametrize(
    "data, message",
    [
        (b"\x00\x00", "shorter than a header"),
        (b"\x01\x02\x08\x01\x00\x00\x00\x01\x00", "magic number starts 0102"),
        (b"\x00\x00\x07\x01\x00\x00\x00\x01\x00", "unknown IDX data type code 0x07"),
        (b"\x00\x00\x08\x02\x00\x00\x00\x01", "truncated: its header promises 2 dimensions"),
        (b"\x00\x00\x08\x01\x00\x00\x00\x05\x01\x02", "truncated: shape \\(5,\\).*found 2"),
        (b"\x00\x00\x08\x01\x00\x00\x00\x01\x01\x02", "1 unexpected bytes"),
    ],
)
def test_bad_idx_files_name_the_file(tmp_path, data, message):
    path = tmp_path / "broken-idx1-ubyte"
    path.write_bytes(data)
    with pytest.raises(ValueError, match=message) as info:
        read_idx(path)
    assert str(path) in str(info.value)


def test_truncated_gzip_and_missing_file(tmp_path):
    path = tmp_path / "cut-idx1-ubyte.gz"
    path.write_bytes(gzip.compress(idx_bytes(np.arange(100, dtype=np.uint8)))[:-12])
    with pytest.raises(ValueError, match=f"{path}: corrupt or truncated gzip"):
        read_idx(path)
    with pytest.raises(OSError, match="cannot read .*nothing-here"):
        read_idx(tmp_path / "nothing-here")
    assert parse_idx(idx_bytes(np.array([7], np.uint8))).tolist() == [7]


# ----------------------------------------------------------------------------- lookup
def test_load_from_path_gzip_or_raw_and_npz(isolated):
    arrays = small_dataset()
    write_dataset(isolated / "gz", arrays)
    write_dataset(isolated / "raw", arrays, compress=False)
    assert_loaded(mnist.load_data(path=isolated / "gz"), arrays)
    assert_loaded(fashion_mnist.load_data(path=str(isolated / "raw")), arrays)
    np.savez(isolated / "mnist.npz", **arrays)
    assert_loaded(mnist.load_data(path=isolated / "mnist.npz"), arrays)
    with pytest.raises(FileNotFoundError, match="does not hold the four files"):
        mnist.load_data(path=isolated / "empty")


def test_lookup_order_env_then_cache_then_debian(isolated, monkeypatch):
    debian, cache, env = small_dataset(1), small_dataset(2), small_dataset(3)
    write_dataset(isolated / "no-debian", debian)
    assert_loaded(fashion_mnist.load_data(), debian)
    write_dataset(isolated / "cache" / "nerve" / "datasets" / "fashion-mnist", cache)
    assert_loaded(fashion_mnist.load_data(), cache)
    write_dataset(isolated / "env" / "fashion-mnist", env)
    monkeypatch.setenv("NERVE_DATA", str(isolated / "env"))
    assert_loaded(fashion_mnist.load_data(), env)


def test_wrong_contents_are_reported_with_the_file(isolated):
    arrays = small_dataset()
    arrays["y_test"] = arrays["y_test"][:3]
    write_dataset(isolated / "d", arrays)
    with pytest.raises(ValueError, match="t10k-labels-idx1-ubyte.gz should hold 4 uint8 labels"):
        mnist.load_data(path=isolated / "d")
    arrays = small_dataset()
    arrays["x_train"] = arrays["x_train"].astype(np.int16)
    write_dataset(isolated / "e", arrays)
    with pytest.raises(ValueError, match="train-images-idx3-ubyte.gz should hold uint8 images"):
        mnist.load_data(path=isolated / "e")


@pytest.mark.skipif(not os.path.isdir(fashion_mnist.DEBIAN_DIR), reason="no Debian package")
def test_real_fashion_mnist_from_the_debian_package(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv("NERVE_DATA", raising=False)
    (x_train, y_train), (x_test, y_test) = fashion_mnist.load_data()
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)
    assert y_train.dtype == np.uint8 and np.bincount(y_train).tolist() == [6000] * 10
    assert y_train[:5].tolist() == [9, 0, 0, 3, 0]


# ----------------------------------------------------------------------------- download
@contextlib.contextmanager
def serving(directory):
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Quiet, directory=str(directory))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/files/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def md5s(directory):
    return {
        f"{stem}.gz": hashlib.md5((directory / f"{stem}.gz").read_bytes()).hexdigest()
        for stem in STEMS.values()
    }


def test_download_into_the_cache_with_md5_then_offline_reuse(isolated, monkeypatch):
    arrays = small_dataset(4)
    write_dataset(isolated / "www" / "files", arrays)
    monkeypatch.setattr(fashion_mnist, "MD5", md5s(isolated / "www" / "files"))
    with serving(isolated / "www") as url:
        monkeypatch.setattr(fashion_mnist, "MIRRORS", ["http://127.0.0.1:9/dead/", url])
        assert_loaded(fashion_mnist.load_data(), arrays)
    cache = isolated / "cache" / "nerve" / "datasets" / "fashion-mnist"
    assert sorted(p.name for p in cache.iterdir()) == sorted(f"{s}.gz" for s in STEMS.values())
    assert_loaded(fashion_mnist.load_data(), arrays)  # the server is gone: the cache serves


def test_md5_mismatch_leaves_no_file(isolated, monkeypatch):
    write_dataset(isolated / "www" / "files", small_dataset(5))
    wrong = {name: "0" * 32 for name in md5s(isolated / "www" / "files")}
    monkeypatch.setattr(mnist, "MD5", wrong)
    with serving(isolated / "www") as url:
        monkeypatch.setattr(mnist, "MIRRORS", [url])
        with pytest.raises(ChecksumError, match="MD5 mismatch for .*expected 0000"):
            mnist.load_data()
    cache = isolated / "cache" / "nerve" / "datasets" / "mnist"
    assert list(cache.iterdir()) == []  # neither the file nor a .part


def test_offline_message_names_the_debian_package_and_the_cache(isolated, monkeypatch):
    monkeypatch.setattr(fashion_mnist, "MIRRORS", ["http://127.0.0.1:9/"])
    with pytest.raises(OSError) as info:
        fashion_mnist.load_data()
    message = str(info.value)
    assert "dataset-fashion-mnist" in message and "fashion-mnist" in message
    assert str(isolated / "cache" / "nerve" / "datasets" / "fashion-mnist") in message


# ----------------------------------------------------------------------------- digits, CSV
def test_digits_split_is_deterministic_and_stratified():
    pytest.importorskip("sklearn")
    (x_train, y_train), (x_test, y_test) = digits.load_data()
    assert x_train.shape == (1437, 8, 8) and x_test.shape == (360, 8, 8)
    assert x_train.dtype == np.uint8 and y_train.dtype == np.uint8 and x_train.max() == 16
    counts = np.bincount(y_test)
    assert counts.min() >= 35 and counts.max() <= 37
    (again, _), _ = digits.load_data()
    np.testing.assert_array_equal(again, x_train)
    (_, _), (x_small, _) = digits.load_data(test_size=0.1)
    assert len(x_small) == 180


def write_csv(path, header, rows):
    path.write_text(",".join(header) + "\n" + "".join(",".join(map(str, r)) + "\n" for r in rows))
    return path


def test_from_csv_kaggle_layout(tmp_path):
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (5, 784))
    labels = rng.integers(0, 10, 5)
    header = ["label"] + [f"pixel{i}" for i in range(784)]
    train = write_csv(tmp_path / "train.csv", header, np.column_stack([labels, pixels]))
    x, y = from_csv(train)
    assert x.shape == (5, 28, 28) and x.dtype == np.uint8 and y.dtype == np.uint8
    np.testing.assert_array_equal(x.reshape(5, -1), pixels)
    np.testing.assert_array_equal(y, labels)
    test = write_csv(tmp_path / "test.csv", header[1:], pixels)
    x, y = from_csv(test, label_column=None)
    assert y is None and x.shape == (5, 28, 28)
    x, _ = from_csv(test, label_column=None, image_shape=(16, 49))
    assert x.shape == (5, 16, 49)


@pytest.mark.parametrize(
    "header, rows, kwargs, message",
    [
        (["pixel0", "pixel1"], [[1, 2]], {}, "has no 'label' column"),
        (["label", "p0"], [[1, 2.5]], {}, "non-integer values"),
        (["label", "p0"], [[1, 300]], {}, "outside 0-255"),
        (["label", "p0", "p1", "p2"], [[1, 2, 3, 4]], {}, "not a square number"),
        (["label", "p0"], [[1, 2], [3]], {}, "malformed row"),
        (["label", "p0"], [], {}, "no rows"),
        (["label", "p0", "p1"], [[1, 2, 3]], {"image_shape": (3, 3)}, "needs 9 pixels"),
    ],
)
def test_from_csv_errors_name_the_file(tmp_path, header, rows, kwargs, message):
    path = write_csv(tmp_path / "bad.csv", header, rows)
    with pytest.raises(ValueError, match=message) as info:
        from_csv(path, **kwargs)
    assert "bad.csv" in str(info.value)
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(ValueError, match="empty.csv is empty"):
        from_csv(tmp_path / "empty.csv")
