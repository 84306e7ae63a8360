"""nerve.load of PyTorch's torch.save files (read without torch, never unpickling code), and
nerve.save / nerve.load on file objects."""

import io
import os
import pathlib
import pickle
import subprocess
import sys
import textwrap
import zipfile

import numpy as np
import pytest

import nerve
from nerve.saving import NerveFileError

SRC = str(pathlib.Path(__file__).resolve().parents[1] / "src")


def _net(fw):
    """The same small CNN + LSTM model in torch or in nerve: one source text, two frameworks."""
    nn, F = fw.nn, fw.nn.functional

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(1, 4, 3)
            self.bn = nn.BatchNorm2d(4)
            self.lstm = nn.LSTM(24, 8, batch_first=True)
            self.fc = nn.Linear(8, 3)

        def forward(self, x):
            h = F.relu(self.bn(self.conv(x)))  # (N, 4, 6, 6)
            h = h.permute(0, 2, 1, 3).reshape(x.shape[0], 6, 24)  # rows as a sequence
            out, _ = self.lstm(h)
            return self.fc(out[:, -1])

    return Net()


def test_state_dict_saved_by_torch_loads_and_gives_identical_outputs(torch, tmp_path):
    torch.manual_seed(0)
    reference = _net(torch)
    x = np.random.default_rng(0).normal(size=(5, 1, 8, 8)).astype(np.float32)
    reference.train()
    for _ in range(3):  # move the BatchNorm running statistics and num_batches_tracked
        reference(torch.from_numpy(x) * 1.5 + 0.3)
    reference.eval()
    path = tmp_path / "net.pt"
    torch.save(reference.state_dict(), path)

    state = nerve.load(path)
    expected = reference.state_dict()
    assert list(state) == list(expected)
    for key, value in expected.items():
        assert state[key].dtype == value.numpy().dtype, key
        np.testing.assert_array_equal(state[key], value.numpy(), err_msg=key)
    assert (
        state["bn.num_batches_tracked"].dtype == np.int64 and state["bn.num_batches_tracked"] == 3
    )

    model = _net(nerve)
    model.load_state_dict(state)
    model.eval()
    with torch.no_grad():
        want = reference(torch.from_numpy(x)).numpy()
    got = np.asarray(model(nerve.tensor(x)))
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_every_dtype_views_shared_storage_and_plain_values(torch, tmp_path):
    w = torch.arange(12.0).reshape(3, 4)
    obj = {
        "f64": torch.randn(3, dtype=torch.float64),
        "i64": torch.arange(5),
        "i32": torch.arange(4, dtype=torch.int32) - 2,
        "u8": torch.arange(3, dtype=torch.uint8),
        "bool": torch.tensor([True, False]),
        "f16": torch.tensor([1.5, -2.25], dtype=torch.float16),
        "bf16": torch.tensor([1.5, -2.25, 3e38], dtype=torch.bfloat16),
        "transposed": w.t(),
        "sliced": w[1:, ::2],
        "whole": w,
        "flat_view": w.view(12)[3:7],  # shares w's storage, at an offset
        "zero_d": torch.tensor(2.5),
        "empty": torch.zeros(0, 3),
        "plain": [1, 2.5, "text", (3, None), {"k": True}],
    }
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    buffer.seek(0)
    got = nerve.load(buffer)
    for key, value in obj.items():
        if key == "plain":
            assert got[key] == value
            continue
        want = value.float().numpy() if key == "bf16" else value.numpy()
        assert got[key].dtype == want.dtype and got[key].shape == want.shape, key
        np.testing.assert_array_equal(got[key], want, err_msg=key)
    got["whole"][0, 0] = 100  # arrays own their memory, as separate state_dict entries do
    assert got["flat_view"][0] == 3


class Evil:
    """Unpickling this runs a shell command that creates a file."""

    marker = ""

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


class Custom:
    def __init__(self):
        self.value = 1


def _torch_zip(body: bytes, storages: dict | None = None) -> bytes:
    """A zip laid out as torch.save writes it, around a given data.pkl."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("archive/data.pkl", body)
        zf.writestr("archive/byteorder", "little")
        for key, data in (storages or {}).items():
            zf.writestr(f"archive/data/{key}", data)
        zf.writestr("archive/version", "3\n")
    return out.getvalue()


@pytest.mark.parametrize(
    "payload, offending",
    [
        (lambda: {"w": [1.0], "hook": Evil()}, "system"),
        (lambda: {"w": [1.0], "obj": Custom()}, "test_torch_files.Custom"),
        (lambda: {"f": os.path.join}, "join"),
        (lambda: {"cls": zipfile.ZipFile}, "zipfile.ZipFile"),  # a class, by reference
        (lambda: [eval], "builtin.*eval"),
    ],
)
def test_other_pickled_objects_are_refused_and_never_run(tmp_path, monkeypatch, payload, offending):
    marker = tmp_path / "executed"
    monkeypatch.setattr(Evil, "marker", str(marker))
    body = pickle.dumps(payload(), protocol=2)
    path = tmp_path / "evil.pt"
    path.write_bytes(_torch_zip(body))
    with pytest.raises(NerveFileError, match=f"cannot load '{path}'.*global.*{offending}"):
        nerve.load(path)
    assert not marker.exists()
    # The same pickle as a bare (legacy) stream is refused before it is read.
    path.write_bytes(body)
    with pytest.raises(NerveFileError, match="legacy"):
        nerve.load(path)
    assert not marker.exists()


def test_torch_save_of_an_evil_object_is_refused(torch, tmp_path, monkeypatch):
    marker = tmp_path / "executed"
    monkeypatch.setattr(Evil, "marker", str(marker))
    path = tmp_path / "evil.pt"
    torch.save({"weight": torch.ones(2), "extra": Evil()}, path)
    with pytest.raises(NerveFileError, match="names the global (posix|os|nt)\\.system"):
        nerve.load(path)
    assert not marker.exists()


def test_legacy_format_damaged_zips_and_bad_storages_are_refused(torch, tmp_path):
    state = {"w": torch.arange(6.0)}
    legacy = tmp_path / "legacy.pt"
    torch.save(state, legacy, _use_new_zipfile_serialization=False)
    with pytest.raises(NerveFileError, match="legacy"):
        nerve.load(legacy)
    good = tmp_path / "good.pt"
    torch.save(state, good)
    whole = good.read_bytes()
    for cut in (len(whole) // 2, len(whole) - 5, 30):
        (tmp_path / "cut.pt").write_bytes(whole[:cut])
        with pytest.raises(NerveFileError, match="cut.pt"):
            nerve.load(tmp_path / "cut.pt")
    # A storage shorter than the tensor that reads it, and one missing altogether.
    with zipfile.ZipFile(good) as zf:
        members = {i.filename: zf.read(i) for i in zf.infolist()}
    for change, message in (
        (lambda m, k: m.__setitem__(k, m[k][:8]), "holds 8 bytes"),
        (lambda m, k: m.pop(k), "missing"),
    ):
        edited = dict(members)
        change(edited, next(k for k in edited if "/data/" in k))
        out = tmp_path / "edited.pt"
        with zipfile.ZipFile(out, "w") as zf:
            for name, data in edited.items():
                zf.writestr(name, data)
        with pytest.raises(NerveFileError, match=message):
            nerve.load(out)


def test_loading_a_torch_file_never_imports_torch(torch, tmp_path):
    path = tmp_path / "w.pt"
    torch.save({"w": torch.ones(2, 3)}, path)
    script = f"""
    import sys
    import nerve
    state = nerve.load({str(path)!r})
    assert state["w"].shape == (2, 3)
    assert "torch" not in sys.modules, "torch was imported"
    print("ok")
    """
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": SRC},
        timeout=120,
    )
    assert out.stdout.strip() == "ok", out.stderr


def test_save_and_load_through_file_objects(tmp_path):
    from nerve import nn

    net = nn.Linear(3, 2)
    buffer = io.BytesIO()
    nerve.save(net.state_dict(), buffer)
    buffer.seek(0)
    back = nerve.load(buffer)
    for key, value in net.state_dict().items():
        np.testing.assert_array_equal(back[key], np.asarray(value))
    with open(tmp_path / "w.safetensors", "wb") as f:
        nerve.save(net.state_dict(), f)
    with open(tmp_path / "w.safetensors", "rb") as f:
        assert list(nerve.load(f)) == list(net.state_dict())
    with pytest.raises(NerveFileError, match="<BytesIO>"):
        nerve.load(io.BytesIO(b"\x00" * 64))


def test_saving_a_whole_module_is_refused_with_the_state_dict_advice(tmp_path):
    from nerve import nn

    net = nn.Sequential(nn.Linear(3, 2))
    with pytest.raises(TypeError, match=r"never pickles.*model\.state_dict\(\)"):
        nerve.save(net, tmp_path / "net.pt")
    assert not (tmp_path / "net.pt").exists()


def test_a_nerve_model_file_given_to_load_says_load_model(tmp_path):
    from nerve import layers, models

    model = models.Sequential([layers.Input(shape=(2,)), layers.Dense(1)])
    model.save(tmp_path / "m.nerve")
    with pytest.raises(NerveFileError, match="load_model"):
        nerve.load(tmp_path / "m.nerve")


def test_expanded_tensors_load_but_cannot_claim_gigabytes(torch, tmp_path):
    path = tmp_path / "expanded.pt"
    torch.save({"row": torch.arange(3.0).expand(1000, 3)}, path)  # stride (0, 1): one row
    np.testing.assert_array_equal(nerve.load(path)["row"], np.tile(np.arange(3.0), (1000, 1)))
    torch.save({"huge": torch.ones(1).expand(2**16, 2**16)}, path)  # 16 GiB from 4 bytes
    with pytest.raises(NerveFileError, match="repeats a FloatStorage of 1 elements"):
        nerve.load(path)


def test_a_general_checkpoint_round_trips_as_torch_save_does(tmp_path):
    """torch's "saving and loading a general checkpoint": nested dicts, int keys, numbers."""
    from collections import OrderedDict

    from nerve import nn, optim

    net = nn.Linear(3, 2)
    opt = optim.Adam(net.parameters(), lr=0.01)
    net(nerve.ones(4, 3)).sum().backward()
    opt.step()
    checkpoint = {
        "epoch": 5,
        "loss": 0.25,
        "model_state_dict": net.state_dict(),
        "optimizer_state_dict": opt.state_dict(),
        "notes": ("adam", None, [1, 2.5], OrderedDict(b=1, a=2)),
    }
    path = tmp_path / "checkpoint.pt"
    nerve.save(checkpoint, path)
    back = nerve.load(path)
    assert back["epoch"] == 5 and type(back["epoch"]) is int and back["loss"] == 0.25
    assert back["notes"] == ("adam", None, [1, 2.5], OrderedDict(b=1, a=2))
    assert isinstance(back["notes"][3], OrderedDict)
    fresh = nn.Linear(3, 2)
    fresh.load_state_dict(back["model_state_dict"])
    for key, value in net.state_dict().items():
        np.testing.assert_array_equal(np.asarray(fresh.state_dict()[key]), np.asarray(value))
    saved_opt = back["optimizer_state_dict"]
    assert list(saved_opt["state"]) == list(opt.state_dict()["state"])  # int keys stay ints
    again = optim.Adam(fresh.parameters(), lr=0.5)
    again.load_state_dict(saved_opt)
    assert again.param_groups[0]["lr"] == 0.01
    # The structure is under the checksum as well.
    raw = path.read_bytes()
    path.write_bytes(raw.replace(b'\\"epoch\\"', b'\\"epocH\\"', 1))
    with pytest.raises(NerveFileError, match="SHA-256"):
        nerve.load(path)
