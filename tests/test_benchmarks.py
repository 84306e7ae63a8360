"""The nerve-vs-PyTorch benchmark suite (benchmarks/ at the repo root) keeps working.

The quick form runs every workload for a couple of steps in a subprocess, as a user would;
the helpers (IDX reader, statistics, selection) are checked on known inputs. Parts that need
torch are skipped when it is absent.
"""

import doctest
import gzip
import importlib.util
import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # benchmarks/ lives at the repo root, beside src/

from benchmarks import data, report, runner, workloads  # noqa: E402

HAS_TORCH = importlib.util.find_spec("torch") is not None


def _run(*args, timeout=600):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def _idx(path, array: np.ndarray) -> None:
    header = bytes([0, 0, 8, array.ndim]) + np.asarray(array.shape, ">u4").tobytes()
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


# ----------------------------------------------------------------------------- end to end
def test_quick_run_times_every_workload(tmp_path):
    # Every workload for 2 blocks of 1-5 calls, imports, and the MLP's memory: ~15 s on an
    # idle 2-core machine (most of it starting torch), so CI notices when a workload breaks.
    _run("--quick", "--threads", "1", "--out", str(tmp_path))
    results = json.loads((tmp_path / "benchmarks.json").read_text())
    md = (tmp_path / "benchmarks.md").read_text()
    assert results["meta"]["threads"] == 1
    assert results["meta"]["mode"] == "quick"
    assert list(results["workloads"]) == [w.name for w in workloads.WORKLOADS]
    for name, w in results["workloads"].items():
        expected = workloads.BY_NAME[name].sides(HAS_TORCH)
        assert tuple(w["sides"]) == expected, name
        for s in w["sides"].values():
            assert s["median_s"] > 0
            assert len(s["block_medians_s"]) == 2
            if w["kind"] == "train":
                # a fresh 10-class classifier starts near ln(10) on either framework
                assert 1.5 < s["first_loss"] < 3.5, (name, s["first_loss"])
            if w["kind"] != "infer":
                assert 0 < s["last_loss"] < 3.5, (name, s["last_loss"])
        assert w["title"] in md
        if len(expected) == 2:
            assert w["compare"]["ratio"] > 0
    assert results["flops"]["gemm_gflops"] > 0
    assert set(results["flops"]["mlp_gflops"]) == set(workloads.BY_NAME["mlp"].sides(HAS_TORCH))
    imports = results["imports"]
    assert imports["median_s"]["nerve"] > 0
    assert imports["sizes"]["nerve"]["mib"] > 0
    # The MLP's parameters, gradients and Adam's two moments alone are ~3.6 MB.
    mem = results["memory"]["mlp"]
    assert mem["nerve"]["added_mib"] > 1.0, mem
    if HAS_TORCH:
        assert "torch" in imports["median_s"]
        assert mem["torch"]["added_mib"] > 1.0, mem
        assert "nerve/torch" in md and "| <= 1.5 |" in md


def test_run_without_torch_says_so(tmp_path):
    missing = tmp_path / "no-such-dir"
    out = tmp_path / "out"
    _run(
        "--quick", "--only", "mlp,fit", "--no-torch", "--no-memory", "--threads", "1",
        "--data-dir", str(missing), "--out", str(out),
    )  # fmt: skip
    results = json.loads((out / "benchmarks.json").read_text())
    assert list(results["workloads"]) == ["mlp", "fit"]
    assert list(results["workloads"]["mlp"]["sides"]) == ["nerve"]
    assert "compare" not in results["workloads"]["mlp"]
    assert results["meta"]["torch_version"] is None
    assert results["meta"]["data"].startswith("random data")
    md = (out / "benchmarks.md").read_text()
    assert "PyTorch was not measured (--no-torch)" in md
    assert "random images" in md
    assert "| n/a | n/a |" in md  # torch time and spread
    assert "fit/manual" in md


# ----------------------------------------------------------------------------- pieces
def test_docstring_examples():
    for module in (data, report, runner):
        failed, _ = doctest.testmod(module)
        assert failed == 0, module.__name__


def test_read_idx_reads_and_rejects(tmp_path):
    images = np.arange(5 * 4 * 3).reshape(5, 4, 3) % 256
    _idx(tmp_path / "img.gz", images)
    np.testing.assert_array_equal(data.read_idx(str(tmp_path / "img.gz")), images)
    np.testing.assert_array_equal(data.read_idx(str(tmp_path / "img.gz"), 2), images[:2])
    with gzip.open(tmp_path / "bad.gz", "wb") as f:
        f.write(b"\x1f\x00\x08\x01" + bytes(8))
    with pytest.raises(ValueError, match="not an IDX file"):
        data.read_idx(str(tmp_path / "bad.gz"))
    with gzip.open(tmp_path / "short.gz", "wb") as f:
        f.write(bytes([0, 0, 8, 1, 0, 0, 0, 9]) + bytes(3))
    with pytest.raises(ValueError, match="holds 3 data bytes, expected 9"):
        data.read_idx(str(tmp_path / "short.gz"))
    with gzip.open(tmp_path / "int.gz", "wb") as f:
        f.write(bytes([0, 0, 0x0C, 1, 0, 0, 0, 1]) + bytes(4))
    with pytest.raises(ValueError, match="only unsigned bytes"):
        data.read_idx(str(tmp_path / "int.gz"))


def test_load_reads_fashion_mnist_layout(tmp_path):
    rng = np.random.default_rng(1)
    train = rng.integers(0, 256, (300, 28, 28))
    labels = rng.integers(0, 10, 300)
    _idx(tmp_path / data.TRAIN_IMAGES, train)
    _idx(tmp_path / data.TRAIN_LABELS, labels)
    _idx(tmp_path / data.TEST_IMAGES, train[:40])
    _idx(tmp_path / data.TEST_LABELS, labels[:40])
    d = data.load(256, 32, str(tmp_path))
    assert d.source.startswith("Fashion-MNIST")
    assert d.train_x.dtype == np.float32 and d.train_y.dtype == np.int64
    np.testing.assert_allclose(d.train_x, train[:256] / 255, rtol=1e-6)
    np.testing.assert_array_equal(d.train_y, labels[:256])
    assert d.test_x.shape == (32, 28, 28)
    (x0, y0), (x1, _) = d.batches(128, 2)
    assert x0.shape == (128, 28, 28) and np.shares_memory(x1, d.train_x)
    with pytest.raises(ValueError, match="3 batches of 128 need 384 images, only 256"):
        d.batches(128, 3)
    with pytest.raises(ValueError, match="needs 400 and 32"):
        data.load(400, 32, str(tmp_path))


def test_load_falls_back_to_random(tmp_path):
    d = data.load(64, 8, str(tmp_path))
    assert d.source.startswith("random data")
    assert d.train_x.shape == (64, 28, 28) and d.train_x.dtype == np.float32
    assert d.train_y.dtype == np.int64 and d.train_y.min() >= 0 and d.train_y.max() < 10


def test_statistics_of_blocks():
    ours = report.summarize([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    ref = report.summarize([[1.0, 1.0, 1.0], [2.0, 2.0, 2.0]])
    assert ours["median_s"] == 3.5 and ours["steps"] == 6
    assert ours["block_medians_s"] == [2.0, 5.0]
    assert ours["iqr_s"] == [2.25, 4.75]
    c = report.compare(ours, ref)
    assert c["ratio"] == pytest.approx(3.5 / 1.5)
    assert c["pair_ratios"] == [2.0, 2.5]
    with pytest.raises(ValueError, match="at least one timed step"):
        report.summarize([[1.0], []])


def test_select_by_name_and_prefix():
    assert runner.select(None)[-1] == "import"
    assert runner.select(["cnn"]) == ["cnn"]  # an exact name wins over a prefix
    assert runner.select(["cnn_", "infer_cnn"]) == ["cnn_bn", "infer_cnn_b1", "infer_cnn_b1024"]
    assert runner.select(["fit", "mlp"]) == ["mlp", "fit"]
    with pytest.raises(SystemExit, match="'resnet' names no workload"):
        runner.select(["resnet"])


def test_write_atomic_replaces(tmp_path):
    path = tmp_path / "sub" / "x.md"
    report.write_atomic(str(path), "one")
    report.write_atomic(str(path), "two")
    assert path.read_text() == "two"
    assert [p.name for p in path.parent.iterdir()] == ["x.md"]
