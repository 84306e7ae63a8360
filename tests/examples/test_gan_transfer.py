"""The gallery's GAN and transfer-learning examples, run in quick mode: each must learn and
write its results and pictures."""

from __future__ import annotations

import math
import re

import pytest

pytest.importorskip("matplotlib")


def _png_ok(path):
    assert path.is_file(), f"{path.name} was not written"
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", f"{path.name} is not a PNG"
    assert path.stat().st_size > 2000, f"{path.name} is nearly empty"


def test_gan_quick(run_example):
    results, out = run_example("gan")
    for name in ("gan_samples", "gan_dcgan_samples", "gan_losses"):
        _png_ok(out / f"{name}.png")
    assert (out / "table.md").read_text().startswith("| images |")

    # The judge: a classifier of real images, well above chance (0.1) on the test set.
    assert results["classifier_test_accuracy"] > 0.1 + 0.5

    for model in ("gan", "dcgan"):
        log = results[model]
        assert log["steps"] > 0
        for key in ("d_loss", "g_loss", "d_real", "d_fake", "d_accuracy"):
            assert all(math.isfinite(v) for v in log[key]), f"{model} {key}: {log[key]}"
        # The discriminator learns: its loss falls from ln 4 (D = 1/2 everywhere) ...
        assert log["d_loss"][-1] < math.log(4) - 0.2, log["d_loss"]
        # ... and it tells real (mean output) from generated apart by a margin.
        assert log["d_real"][-1] - log["d_fake"][-1] > 0.2, (log["d_real"], log["d_fake"])

    # The seed GAN's discriminator is not stuck: above chance (0.5), not yet perfect, rising.
    acc = results["gan"]["d_accuracy"]
    assert 0.5 + 0.15 < acc[-1] < 0.995, acc
    assert acc[-1] > acc[0] + 0.1, acc

    quality = results["quality"]
    real, noise = quality["real test images"], quality["uniform noise"]
    # The references frame the scale: real images score well above noise.
    assert real["classifier_score"] > noise["classifier_score"] + 1.0
    assert real["confidence"] > noise["confidence"] + 0.3
    for q in quality.values():
        assert 1.0 - 1e-6 <= q["classifier_score"] <= 10.0 + 1e-6
        assert 1.0 - 1e-6 <= q["classes_used"] <= 10.0 + 1e-6
        assert -1.0 <= q["pixel_mean"] <= 1.0
    # Generated images are the Tanh's: in [-1, 1], and after three quick epochs already
    # darker on average than uniform noise (mean 0), toward the real images' white background.
    seed_gan = next(v for k, v in quality.items() if k.startswith("seed GAN"))
    assert seed_gan["pixel_mean"] < noise["pixel_mean"] - 0.05


def test_gan_is_reproducible(run_example):
    first, _ = run_example("gan", "--epochs", "1", "--dcgan-epochs", "1")
    second, _ = run_example("gan", "--epochs", "1", "--dcgan-epochs", "1")
    for model in ("gan", "dcgan"):
        assert first[model] == second[model]
    assert first["quality"] == second["quality"]


def test_transfer_quick(run_example):
    results, out = run_example("transfer")
    _png_ok(out / "transfer.png")
    assert "| model |" in (out / "table.md").read_text()
    chance = results["chance"]
    assert chance == 0.2

    # Pretraining learned the source classes (chance 0.2).
    assert results["source_test_accuracy"] > chance + 0.3

    rows = {r["model"].split(",")[0].split(" (")[0]: r for r in results["comparison"]}
    assert len(results["comparison"]) == 5
    scratch = rows["from scratch"]
    frozen = rows["pretrained"]
    low, high = (r for r in results["comparison"] if r["model"].startswith("then fine-tuned"))
    # Every model learned the target classes, by a margin over chance.
    for row in results["comparison"]:
        assert row["test accuracy"] > chance + 0.3, row
    # Freezing left only the new head trainable: 1600 features x 5 classes + 5 biases.
    assert frozen["trainable params"] == rows["untrained"]["trainable params"] == 1600 * 5 + 5
    assert low["trainable params"] == high["trainable params"] == scratch["trainable params"]
    # A learning rate of 1e-5 for a few epochs barely moves the weights: fine-tuning with it
    # stays close to the frozen model it started from.
    assert abs(low["test accuracy"] - frozen["test accuracy"]) < 0.05
    for name, curve in results["curves"].items():
        assert len(curve) >= 1 and all(0.0 <= a <= 1.0 for a in curve), name
    for row in results["sweep"]:
        assert row["from scratch"] > chance + 0.2 and row["frozen pretrained"] > chance + 0.2
        assert row["from scratch sd"] >= 0 and row["frozen pretrained sd"] >= 0


@pytest.mark.parametrize(
    ("name", "argv", "message"),
    [
        ("gan", ["--epochs", "-1"], "--epochs (-1)"),
        ("gan", ["--dcgan-channels", "0"], "--dcgan-channels (0)"),
        ("transfer", ["--labelled", "3"], "--labelled 3 is fewer than one image per target class"),
    ],
)
def test_bad_arguments_are_named(tmp_path, name, argv, message):
    from tests.examples.conftest import load_example

    with pytest.raises(SystemExit, match=re.escape(message)):
        load_example(name).main([*argv, "--out", str(tmp_path)])
