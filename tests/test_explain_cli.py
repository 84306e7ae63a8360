"""``nerve explain``: the subcommand's parser and runner on a small saved model.

nerve/cli.py wires ``add_explain_parser`` into ``build_parser``; these tests build their own
parser the same way, so they need no change to the main command.
"""

import argparse
import gzip
import json

import numpy as np
import pytest

import nerve
from nerve import layers, models
from nerve.explain.cli import FASHION_NAMES, add_explain_parser, cmd_explain

FILES = {
    "train-images-idx3-ubyte.gz": "x_train",
    "train-labels-idx1-ubyte.gz": "y_train",
    "t10k-images-idx3-ubyte.gz": "x_test",
    "t10k-labels-idx1-ubyte.gz": "y_test",
}


def _idx(path, array: np.ndarray) -> None:
    header = bytes([0, 0, 8, array.ndim]) + np.asarray(array.shape, ">u4").tobytes()
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


@pytest.fixture(scope="module")
def fashion_dir(tmp_path_factory):
    """A tiny Fashion-MNIST-layout dataset: 40 training and 12 test images."""
    folder = tmp_path_factory.mktemp("fashion")
    rng = np.random.default_rng(0)
    arrays = {
        "x_train": rng.integers(0, 256, (40, 28, 28)),
        "y_train": rng.integers(0, 10, 40),
        "x_test": rng.integers(0, 256, (12, 28, 28)),
        "y_test": rng.integers(0, 10, 12),
    }
    for name, key in FILES.items():
        _idx(folder / name, arrays[key])
    return folder, arrays


@pytest.fixture(scope="module")
def cnn_path(tmp_path_factory):
    nerve.manual_seed(0)
    model = models.Sequential(
        [
            layers.Input((28, 28, 1)),
            layers.Conv2D(4, 3, activation="relu"),
            layers.MaxPooling2D(2),
            layers.Flatten(),
            layers.Dense(10),
        ]
    )
    path = tmp_path_factory.mktemp("run") / "model.nerve"
    model.save(str(path))
    return path


def _run(*argv):
    parser = argparse.ArgumentParser(prog="nerve")
    sub = parser.add_subparsers(dest="command", required=True)
    add_explain_parser(sub)
    args = parser.parse_args(["explain", *map(str, argv)])
    assert args.func is cmd_explain
    return args.func(args)


def test_integrated_gradients_by_default_beside_the_model(cnn_path, fashion_dir, capsys):
    folder, arrays = fashion_dir
    assert _run(cnn_path, "--images", 3, "--data-dir", folder, "--n-steps", 64) == 0
    out = cnn_path.parent / "explain-integrated_gradients"
    assert str(out / "attributions.json") in capsys.readouterr().out
    report = json.loads((out / "attributions.json").read_text())
    assert report["method"] == "integrated_gradients" and report["n_steps"] == 64
    assert report["images"] == 3 and report["input_shape"] == [28, 28, 1]
    assert FASHION_NAMES[0] == "T-shirt/top" and FASHION_NAMES[9] == "Ankle boot"

    # The same model, images and targets, by hand: the predicted class, and IG's completeness
    # (the attributions sum to f(x) - f(baseline) for the explained class).
    model = nerve.load_model(str(cnn_path))
    x = (arrays["x_test"][:3] / 255.0).astype(np.float32)[..., None]
    logits = model(nerve.from_numpy(x)).numpy()
    at_zero = model(nerve.from_numpy(np.zeros_like(x))).numpy()
    attr = np.load(out / "attributions.npy")
    assert attr.shape == x.shape and attr.dtype == np.float32
    for i, row in enumerate(report["per_image"]):
        k = int(logits[i].argmax())
        assert row["predicted"] == k and row["label"] == int(arrays["y_test"][i])
        assert row["predicted_name"] == FASHION_NAMES[k]
        assert row["sum"] == pytest.approx(float(attr[i].sum()), rel=1e-5, abs=1e-6)
        assert row["sum"] == pytest.approx(logits[i, k] - at_zero[i, k], abs=2e-3)
        assert abs(row["convergence_delta"]) < 2e-3
        top = row["top_pixels"][0]
        assert abs(top["value"]) == pytest.approx(np.abs(attr[i, ..., 0]).max(), rel=1e-6)
        assert row["max_abs"] == pytest.approx(abs(top["value"]), rel=1e-6)
    pytest.importorskip("matplotlib")
    assert (out / "attributions.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("method", ["saliency", "gradient_shap", "deeplift"])
def test_other_methods_into_output(method, cnn_path, fashion_dir, tmp_path):
    folder, _ = fashion_dir
    out = tmp_path / "explained"
    _run(cnn_path, "--images", 2, "--data-dir", folder, "--method", method, "--output", out)
    report = json.loads((out / "attributions.json").read_text())
    assert report["method"] == method and report["n_steps"] is None
    attr = np.load(out / "attributions.npy")
    assert attr.shape == (2, 28, 28, 1) and np.abs(attr).max() > 0
    if method == "saliency":
        assert attr.min() >= 0 and "convergence_delta" not in report["per_image"][0]
    else:
        assert np.isfinite(report["per_image"][0]["convergence_delta"])


def test_digits_into_a_flat_model(tmp_path):
    pytest.importorskip("sklearn")
    nerve.manual_seed(1)
    model = models.Sequential([layers.Input((64,)), layers.Dense(10)])
    path = tmp_path / "digits.nerve"
    model.save(str(path))
    _run(path, "--dataset", "digits", "--images", 2, "--method", "saliency")
    report = json.loads((tmp_path / "explain-saliency" / "attributions.json").read_text())
    assert report["input_shape"] == [64] and "predicted_name" not in report["per_image"][0]
    attr = np.load(tmp_path / "explain-saliency" / "attributions.npy")
    # A linear model's saliency is |its kernel's column| for the predicted class
    kernel = model.layers[-1].get_weights()[0]
    for i, row in enumerate(report["per_image"]):
        np.testing.assert_allclose(attr[i], np.abs(kernel[:, row["predicted"]]), rtol=1e-6)


def test_bad_input_is_a_clear_error(cnn_path, fashion_dir, tmp_path):
    folder, _ = fashion_dir
    with pytest.raises(OSError, match="no model file at"):
        _run(tmp_path / "missing.nerve", "--data-dir", folder)
    with pytest.raises(ValueError, match="--images must be a positive integer, got 0"):
        _run(cnn_path, "--images", 0, "--data-dir", folder)
    with pytest.raises(ValueError, match="--images 13 but fashion_mnist has 12 test images"):
        _run(cnn_path, "--images", 13, "--data-dir", folder)
    with pytest.raises(ValueError, match=r"takes inputs of shape \(28, 28, 1\)"):
        _run(cnn_path, "--dataset", "digits", "--images", 1)
    with pytest.raises(SystemExit):
        _run(cnn_path, "--method", "lime")
