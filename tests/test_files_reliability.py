"""Issue 15, files: every damaged file refused with NerveFileError, checksums over everything,
files saved as users expect (modes, symlinks, stale temporaries), streams read with limits."""

import gzip
import hashlib
import json
import os
import pathlib
import struct
import tracemalloc
import zipfile
import zlib

import numpy as np
import pytest

import nerve
from nerve import cli, layers, models
from nerve.saving import NerveFileError
from nerve.saving import safetensors_io as st


def _model(lstm=False):
    inner = [layers.LSTM(3)] if lstm else []
    shape = (5, 4) if lstm else (4,)
    return models.Sequential(
        [
            layers.Input(shape=shape),
            *inner,
            layers.Dense(6, activation="relu"),
            layers.BatchNormalization(),
            layers.Dense(3, activation="softmax"),
        ]
    )


@pytest.fixture()
def saved(tmp_path):
    model = _model()
    model.compile("adam", "sparse_categorical_crossentropy")
    rng = np.random.default_rng(0)
    model.fit(rng.normal(size=(16, 4)).astype(np.float32), rng.integers(0, 3, 16), verbose=0)
    path = tmp_path / "m.nerve"
    model.save(path)
    return path


def _forge(path, name: str, change) -> None:
    """Rewrite member ``name`` with ``change(bytes)`` and recompute metadata.json's sizes and
    hashes, as a forger (or a careless tool) can."""
    with zipfile.ZipFile(path) as zf:
        bodies = {n: zf.read(n) for n in zf.namelist()}
    bodies[name] = change(bodies[name])
    meta = json.loads(bodies["metadata.json"])
    for member, entry in meta["files"].items():
        entry.update(size=len(bodies[member]), sha256=hashlib.sha256(bodies[member]).hexdigest())
    bodies["metadata.json"] = json.dumps(meta).encode()
    with zipfile.ZipFile(path, "w") as zf:
        for member, data in bodies.items():
            zf.writestr(member, data)


def _edit_config(path, edit) -> None:
    def change(raw):
        config = json.loads(raw)
        edit(config)
        return json.dumps(config).encode()

    _forge(path, "config.json", change)


def _layer_configs(config):
    return [spec["config"] for spec in config["model"]["config"]["layers"]]


# ---------------------------------------------------------------------------- item 1
def _central_directory(raw: bytes, member: str) -> int:
    """Offset of ``member``'s central directory entry."""
    at = raw.index(b"PK\x01\x02")
    while True:
        name_len = struct.unpack_from("<H", raw, at + 28)[0]
        if raw[at + 46 : at + 46 + name_len].decode() == member:
            return at
        at = raw.index(b"PK\x01\x02", at + 4)


@pytest.mark.parametrize(
    "field, fmt, value",
    [
        (8, "<H", 0x0001),  # "encrypted": RuntimeError, password required
        (10, "<H", 99),  # compression method 99: NotImplementedError
        (6, "<H", 99),  # zip version 9.9 needed: NotImplementedError
        (42, "<I", 0xFFFFFFFF),  # a zip64 offset without its record
    ],
)
@pytest.mark.parametrize("member", ["metadata.json", "config.json", "model.weights.safetensors"])
def test_damaged_central_directory_is_a_nerve_file_error(saved, member, field, fmt, value):
    raw = bytearray(saved.read_bytes())
    struct.pack_into(fmt, raw, _central_directory(bytes(raw), member) + field, value)
    saved.write_bytes(bytes(raw))
    with pytest.raises(NerveFileError, match=f"cannot load '{saved}'"):
        nerve.load_model(saved)
    with pytest.raises(NerveFileError, match=f"cannot load '{saved}'"):
        _model().load_weights(saved)


def test_nested_header_huge_integers_and_non_finite_configs(saved, tmp_path):
    deep = b'{"a":' * 100_000 + b"1" + b"}" * 100_000
    path = tmp_path / "deep.safetensors"
    path.write_bytes(struct.pack("<Q", len(deep)) + deep)
    with pytest.raises(NerveFileError, match="not valid JSON"):
        nerve.load(path)
    with pytest.raises(NerveFileError, match="not valid JSON"):
        st.decode(path.read_bytes(), "deep")

    original = saved.read_bytes()
    _forge(saved, "config.json", lambda raw: raw.replace(b'"units": 6', b'"units": ' + b"7" * 5000))
    with pytest.raises(NerveFileError, match="config.json is not valid JSON"):
        nerve.load_model(saved)
    for value in (float("inf"), float("nan")):
        saved.write_bytes(original)
        _edit_config(saved, lambda c, v=value: _layer_configs(c)[0].update(units=v))
        with pytest.raises(NerveFileError, match="units"):
            nerve.load_model(saved)


def test_unsupported_options_and_bad_format_versions(tmp_path):
    model = _model(lstm=True)
    path = tmp_path / "lstm.nerve"
    model.save(path)
    _edit_config(path, lambda c: _layer_configs(c)[0].update(stateful=True))
    with pytest.raises(NerveFileError, match="does not support.*stateful"):
        nerve.load_model(path)

    state = tmp_path / "w.safetensors"
    for version in ("²", "0", "01", "-1"):
        data = st.encode({"w": np.ones(2, np.float32)}, {"format": "nerve.state_dict"})
        header, start = st.read_header(data, "x")
        meta = {**header["__metadata__"], "format_version": version}
        state.write_bytes(st.encode({"w": np.ones(2, np.float32)}, meta))
        with pytest.raises(NerveFileError, match="format version"):
            nerve.load(state)


def test_the_command_reports_a_damaged_file_in_one_line(saved, capsys):
    raw = bytearray(saved.read_bytes())
    struct.pack_into("<H", raw, _central_directory(bytes(raw), "config.json") + 8, 1)
    saved.write_bytes(bytes(raw))
    assert cli.main(["summary", str(saved)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(saved) in err and "Traceback" not in err


# ---------------------------------------------------------------------------- items 2, 3
def _state_file(path, arrays):
    nerve.save(arrays, path)
    data = path.read_bytes()
    header, start = st.read_header(data, "x")
    return header, data[start:]


def _write_state(path, header, body):
    text = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(text)) + text + body)


def test_checksum_covers_names_dtypes_offsets_and_order(tmp_path):
    path = tmp_path / "bn.safetensors"
    arrays = {
        "running_mean": np.array([1.0, 2.0], np.float32),
        "running_var": np.array([3.0, 4.0], np.float32),
    }
    edits = {
        "swapped offsets": lambda h: h.update(
            running_mean={**h["running_mean"], "data_offsets": h["running_var"]["data_offsets"]},
            running_var={**h["running_var"], "data_offsets": h["running_mean"]["data_offsets"]},
        ),
        "F32 -> I32": lambda h: h["running_mean"].update(dtype="I32"),
        "renamed": lambda h: h.update(running_meen=h.pop("running_mean")),
        "order swapped": lambda h: h["__metadata__"].update(
            order=json.dumps(["running_var", "running_mean"])
        ),
    }
    for what, edit in edits.items():
        header, body = _state_file(path, arrays)
        edit(header)
        _write_state(path, header, body)
        with pytest.raises(NerveFileError, match="SHA-256"):
            nerve.load(path)
            pytest.fail(f"{what} was loaded")


def test_positional_matching_needs_a_checksummed_order(tmp_path):
    source, target = _model(), _model()  # same shapes, other layer names
    source.build((None, 4))
    target.build((None, 4))
    assert set(source.state_dict()) != set(target.state_dict())
    path = tmp_path / "w.weights.safetensors"
    source.save_weights(path)
    target.load_weights(path)  # format 2: the order is under the checksum
    for a, b in zip(source.state_dict().values(), target.state_dict().values()):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    # A format-1 file hashed the tensor bytes only; its order entry, unchecked, may have gamma
    # and beta swapped (same shapes): by name it still loads, by position it is refused.
    arrays = {k: np.asarray(v) for k, v in source.state_dict().items()}
    names = list(arrays)
    gamma = next(i for i, k in enumerate(names) if k.endswith("gamma"))
    names[gamma], names[gamma + 1] = names[gamma + 1], names[gamma]
    data = st.encode(arrays)
    header, start = st.read_header(data, "x")
    meta = {
        "format": "nerve.state_dict",
        "format_version": "1",
        "sha256": hashlib.sha256(data[start:]).hexdigest(),
    }
    data = st.encode(arrays, meta)
    header, start = st.read_header(data, "x")
    header["__metadata__"]["order"] = json.dumps(names)
    _write_state(path, header, data[start:])
    assert set(nerve.load(path)) == set(arrays)  # still readable by name
    with pytest.raises(NerveFileError, match="no checksummed order"):
        target.load_weights(path)


# ---------------------------------------------------------------------------- item 4
@pytest.mark.parametrize(
    "key, value",
    [("epsilon", None), ("epsilon", "x"), ("clipnorm", "x"), ("beta_1", float("nan"))],
)
def test_optimizer_hyperparameters_are_checked_at_load(saved, key, value):
    _edit_config(saved, lambda c: c["compile"]["optimizer"]["config"].update({key: value}))
    with pytest.raises(NerveFileError, match=f"optimizer Adam.*{key}"):
        nerve.load_model(saved)
    assert nerve.load_model(saved, compile=False) is not None


def test_layer_values_and_sizes_are_checked_before_building(saved):
    original = saved.read_bytes()
    _edit_config(saved, lambda c: _layer_configs(c)[1].update(epsilon=float("nan")))
    with pytest.raises(NerveFileError, match="epsilon=nan"):
        nerve.load_model(saved)
    saved.write_bytes(original)
    _edit_config(saved, lambda c: _layer_configs(c)[0].update(units=60_000_000))
    tracemalloc.start()
    try:
        with pytest.raises(NerveFileError, match="units=60000000"):
            nerve.load_model(saved)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 64 * 2**20, f"{peak / 2**20:.0f} MiB allocated before the error"


# ---------------------------------------------------------------------------- item 5
def _run_limited(code: str, seconds=60):
    """Run ``code`` in a child whose address space is capped at 2 GiB (so that reading an
    endless stream fails there, not on this machine)."""
    import subprocess
    import sys
    import textwrap

    src = str(pathlib.Path(__file__).resolve().parents[1] / "src")
    script = "import resource\nresource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))\n"
    return subprocess.run(
        [sys.executable, "-c", script + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=seconds,
        env={**os.environ, "PYTHONPATH": src},
    )


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_endless_streams_are_refused_at_once():
    out = _run_limited(
        """
        import time
        import nerve
        from nerve.saving import NerveFileError
        for load in (nerve.load_model, nerve.load):
            start = time.perf_counter()
            try:
                load("/dev/zero")
            except NerveFileError as exc:
                assert "/dev/zero" in str(exc), exc
                assert time.perf_counter() - start < 5
            else:
                raise AssertionError("loaded /dev/zero")
        print("refused")
        """
    )
    assert out.stdout.strip() == "refused", out.stderr[-2000:]


def _gzip_stream(header: bytes, zeros: int) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: gzip framing
    parts = [packer.compress(header)]
    block = bytes(1 << 20)
    for _ in range(zeros >> 20):
        parts.append(packer.compress(block))
    parts.append(packer.flush())
    return b"".join(parts)


def test_idx_gzip_bomb_is_refused_without_inflating_it(tmp_path):
    from nerve.datasets import read_idx

    header = bytes([0, 0, 0x08, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 2])
    path = tmp_path / "bomb-idx3-ubyte.gz"
    path.write_bytes(_gzip_stream(header, 256 << 20))  # 256 MiB of zeros in ~250 KiB
    assert path.stat().st_size < 1 << 20
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=f"{path}: .*unexpected bytes"):
            read_idx(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 32 << 20, f"{peak >> 20} MiB to refuse a gzip bomb"


def test_dataset_errors_name_the_file(tmp_path):
    from nerve.datasets import from_csv, mnist, read_idx
    from test_datasets import small_dataset, write_dataset

    many = tmp_path / "many-dims-idx"
    many.write_bytes(bytes([0, 0, 0x08, 255]) + b"\x00\x00\x00\x01" * 255 + b"\x07")
    with pytest.raises(ValueError, match=f"{many}: .*255 dimensions"):
        read_idx(many)

    arrays = small_dataset()
    np.savez(tmp_path / "pickled.npz", **{**arrays, "x_train": np.array([object()] * 2)})
    with pytest.raises(ValueError, match="pickled.npz"):
        mnist.load_data(path=tmp_path / "pickled.npz")
    np.savez(tmp_path / "whole.npz", **arrays)
    (tmp_path / "cut.npz").write_bytes((tmp_path / "whole.npz").read_bytes()[:500])
    with pytest.raises(ValueError, match="cut.npz"):
        mnist.load_data(path=tmp_path / "cut.npz")

    text = "label,p0,p1,p2,p3\n1,0,1,2,3\n2,4,5,6,7\n"
    for name, data in (
        ("latin1.csv", (text + "3,1,2,3,4 \u00e9\n").encode("latin-1")),
        ("utf16.csv", text.encode("utf-16")),
        ("gzip.csv", gzip.compress(text.encode())),
    ):
        (tmp_path / name).write_bytes(data)
        with pytest.raises(ValueError, match=f"from_csv: {tmp_path / name}"):
            from_csv(tmp_path / name)
    (tmp_path / "big.csv").write_text("label,p0,p1,p2,p3\n1e20,0,1,2,3\n")
    with pytest.raises(ValueError, match="label of 1e\\+20"):
        from_csv(tmp_path / "big.csv")

    mixed = {**arrays, "x_test": arrays["x_test"][:, :20, :20].copy()}
    write_dataset(tmp_path / "mixed", mixed)
    with pytest.raises(ValueError, match="training images .* test images"):
        mnist.load_data(path=tmp_path / "mixed")


# ---------------------------------------------------------------------------- items 6, 7
@pytest.fixture()
def umask():
    """Set the process umask for one test, and put it back."""
    old = os.umask(0o022)
    yield os.umask
    os.umask(old)


def _mode(path) -> int:
    return os.stat(path).st_mode & 0o777


def test_files_get_the_umask_mode_keep_a_replaced_mode_and_follow_symlinks(tmp_path, umask):
    from nerve.files import atomic_write_bytes

    model = _model()
    umask(0o022)
    nerve.save({"w": np.ones(2, np.float32)}, tmp_path / "w.safetensors")
    model.save(tmp_path / "m.nerve")
    atomic_write_bytes(tmp_path / "plain.bin", b"x")
    for name in ("w.safetensors", "m.nerve", "plain.bin"):
        assert _mode(tmp_path / name) == 0o644, name
    umask(0o077)
    atomic_write_bytes(tmp_path / "private.bin", b"x")
    assert _mode(tmp_path / "private.bin") == 0o600
    os.chmod(tmp_path / "m.nerve", 0o640)
    model.save(tmp_path / "m.nerve")  # replacing keeps the file's own mode
    assert _mode(tmp_path / "m.nerve") == 0o640

    target = tmp_path / "store" / "real.nerve"
    target.parent.mkdir()
    link = tmp_path / "link.nerve"
    link.symlink_to(target)
    model.save(link)  # a dangling link: its target is created, as open(link, "wb") does
    assert link.is_symlink() and target.is_file()
    model.save(link)
    assert link.is_symlink() and nerve.load_model(link) is not None
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_torch_save_follows_symlinks_and_the_umask_too(torch, tmp_path, umask):
    umask(0o022)
    target = tmp_path / "real.pt"
    target.write_bytes(b"")
    os.chmod(target, 0o640)
    link = tmp_path / "link.pt"
    link.symlink_to(target)
    torch.save({"w": torch.ones(2)}, link)
    nerve.save({"w": np.ones(2, np.float32)}, tmp_path / "nerve.pt")
    assert link.is_symlink() and _mode(target) == 0o640
    torch.save({"w": torch.ones(2)}, tmp_path / "fresh.pt")
    assert _mode(tmp_path / "fresh.pt") == _mode(tmp_path / "nerve.pt") == 0o644


def test_a_killed_save_leaves_a_temporary_that_the_next_save_removes(tmp_path):
    import subprocess
    import sys

    target = tmp_path / "m.bin"
    child = f"""
    import os, signal
    from nerve.files import atomic_write

    def write(f):
        f.write(b"x" * 100_000)
        f.flush()
        os.kill(os.getpid(), signal.SIGKILL)

    atomic_write({str(target)!r}, write)
    """
    src = str(pathlib.Path(__file__).resolve().parents[1] / "src")
    for _ in range(2):
        subprocess.run(
            [sys.executable, "-c", __import__("textwrap").dedent(child)],
            env={**os.environ, "PYTHONPATH": src},
            timeout=60,
        )
    # Each killed save leaves its temporary; the second save removed the first one's.
    stale = [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    assert len(stale) == 1 and not target.exists()
    # A temporary of a save still running (here: this process's parent) is left alone.
    alive = tmp_path / f".m.bin.{os.getppid()}.abcd1234.tmp"
    alive.write_bytes(b"in progress")
    from nerve.files import atomic_write_bytes

    atomic_write_bytes(target, b"whole")
    assert target.read_bytes() == b"whole"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["m.bin", alive.name])


@nerve.saving.register_serializable(package="TestFilesReliability")
class _Sub(models.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.head = layers.Dense(2)

    def call(self, x):
        return self.head(x)


def test_a_subclassed_model_is_not_built_with_a_huge_zero_batch(tmp_path):
    model = _Sub()
    model(np.ones((1, 3), np.float32))
    path = tmp_path / "sub.nerve"
    model.save(path)
    assert nerve.load_model(path) is not None
    _edit_config(path, lambda c: c["model"].update(build_input_shape=[None, 100_000, 100_000]))
    tracemalloc.start()
    try:
        with pytest.raises(NerveFileError, match="too large to build"):
            nerve.load_model(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 64 * 2**20
