"""The sequence lessons (char_lstm.py, attention.py) in quick mode: they learned, and wrote their
numbers and pictures.

Both read Debian's ``fortunes`` corpus; without it they skip. A uniform guess over the 97
characters has perplexity 97; both must get below a third of that in their few seconds (they
reach about 16 and 21).
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("matplotlib")

UNIFORM = 97  # characters in the vocabulary: the perplexity of a uniform guess
FORTUNES = Path("/usr/share/games/fortunes")  # where examples/_common.fortunes_text reads

pytestmark = pytest.mark.skipif(
    not FORTUNES.is_dir(),
    reason="no fortunes corpus: install the Debian package 'fortunes' (make fortunes)",
)


def _pictures(out, *names):
    for name in names:
        path = out / f"{name}.png"
        assert path.is_file() and path.stat().st_size > 1000, f"{path} missing or empty"


def test_char_lstm_learns_and_samples(run_example):
    results, out = run_example("char_lstm")
    assert results["vocab_size"] == UNIFORM
    assert results["loss_last"] < results["loss_first"]
    assert [r["epoch"] for r in results["epochs"]] == [1, 2]
    assert results["val_ppl"] < UNIFORM / 3, results["epochs"]
    # the held-out perplexity fell from the first epoch to the last
    assert results["epochs"][-1]["val_ppl"] < results["epochs"][0]["val_ppl"]
    assert 1 < results["val_ppl_carried_state"] < UNIFORM / 3
    for row in results["epochs"]:
        assert 0 <= row["clipped_share"] <= 1 and row["grad_norm_max"] > 0
    free = results["no_clip"]
    assert free["clip"] == "none" and free["clipped_share"] == 0
    assert set(results["samples"]) == {"0.5", "1.0"}
    for text in results["samples"].values():
        assert text.startswith("The ") and len(text) == len("The ") + 150
    _pictures(out, "char_lstm")
    assert (out / "table.md").read_text().startswith("| epoch |")


def test_attention_learns_and_shows_its_heads(run_example):
    results, out = run_example("attention")
    assert results["vocab_size"] == UNIFORM
    assert results["loss_last"] < results["loss_first"]
    assert results["val_ppl"] < UNIFORM / 3, results["epochs"]
    assert results["epochs"][-1]["val_ppl"] < results["epochs"][0]["val_ppl"]
    assert results["max_weight_on_later"] == 0.0  # the causal mask: no weight on later keys
    heads = results["heads_table"]
    assert len(heads) == results["blocks"] * results["heads"]
    for row in heads:
        # causal weights: a query at position i can only look 0..i back (mean over i < 100)
        assert 0 <= row["mean_distance"] <= 99 / 2 + 1e-6
        assert 0 <= row["on_self"] <= 1 and 0 <= row["on_previous"] <= 1
    assert set(results["samples"]) == {"0.5", "1.0"}
    for text in results["samples"].values():
        assert text.startswith("The ") and len(text) == len("The ") + 150
    _pictures(out, "attention", "attention_heads")
