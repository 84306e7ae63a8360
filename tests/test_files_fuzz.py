"""Property: a damaged .nerve or state file loads as the original or raises NerveFileError.

Hypothesis flips bits, overwrites bytes, truncates, and edits the safetensors and zip headers
of small files; whatever it does, loading must give back exactly what was saved or refuse the
file with NerveFileError (never another exception, never a silently different model).
"""

import json
import struct

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import nerve  # noqa: E402
from nerve import layers, models  # noqa: E402
from nerve.saving import NerveFileError, safetensors_io  # noqa: E402

SETTINGS = settings(
    max_examples=120,
    deadline=None,
    derandomize=True,  # the same examples every run: a failure here is reproducible
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture(scope="module")
def originals(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fuzz")
    nerve.manual_seed(0)
    model = models.Sequential(
        [layers.Input(shape=(3,)), layers.Dense(2), layers.BatchNormalization()]
    )
    model.compile("adam", "mse")
    model.fit(np.ones((4, 3), np.float32), np.zeros((4, 2), np.float32), verbose=0)
    model.save(folder / "m.nerve")
    state = {
        "weight": np.arange(6, dtype=np.float32).reshape(2, 3),
        "bias": np.array([0.5, -1.5], np.float32),
        "steps": np.array(7, np.int64),
    }
    nerve.save(state, folder / "s.safetensors")
    return {
        "model": (folder / "m.nerve").read_bytes(),
        "weights": {k: np.asarray(v) for k, v in model.state_dict().items()},
        "config": model.get_config(),
        "state": (folder / "s.safetensors").read_bytes(),
        "arrays": state,
    }


def _mutations(size: int, structural: tuple[int, int]):
    """Edits of a file of ``size`` bytes; half of them aimed at ``structural`` (a header)."""
    lo, hi = structural
    anywhere = st.integers(0, size - 1)
    aimed = st.integers(lo, max(lo, hi - 1))
    position = st.one_of(anywhere, aimed)
    flip = st.tuples(st.just("flip"), position, st.integers(0, 7))
    byte = st.tuples(st.just("byte"), position, st.integers(0, 255))
    cut = st.tuples(st.just("cut"), anywhere, st.just(0))
    return st.lists(st.one_of(flip, byte, cut), min_size=1, max_size=3)


def _apply(data: bytes, edits) -> bytes:
    out = bytearray(data)
    for kind, at, value in edits:
        if at >= len(out):
            continue
        if kind == "flip":
            out[at] ^= 1 << value
        elif kind == "byte":
            out[at] = value
        else:
            del out[at:]
    return bytes(out)


def _same_arrays(a: dict, b: dict) -> bool:
    return list(a) == list(b) and all(
        np.asarray(a[k]).dtype == np.asarray(b[k]).dtype
        and np.array_equal(np.asarray(a[k]), np.asarray(b[k]))
        for k in a
    )


def _zip_structure(data: bytes) -> tuple[int, int]:
    """The zip's central directory and end record: where a flipped bit misleads zipfile."""
    return data.find(b"PK\x01\x02"), len(data)


def test_a_damaged_model_file_loads_as_saved_or_is_refused(originals, tmp_path):
    data = originals["model"]
    path = tmp_path / "m.nerve"

    @SETTINGS
    @given(edits=_mutations(len(data), _zip_structure(data)))
    def check(edits):
        path.write_bytes(_apply(data, edits))
        try:
            model = nerve.load_model(path)
        except NerveFileError:
            return
        state = {k: np.asarray(v) for k, v in model.state_dict().items()}
        assert _same_arrays(state, originals["weights"]), edits
        assert model.get_config() == originals["config"], edits

    check()


def test_a_damaged_state_file_loads_as_saved_or_is_refused(originals, tmp_path):
    data = originals["state"]
    path = tmp_path / "s.safetensors"
    header_end = 8 + struct.unpack("<Q", data[:8])[0]

    @SETTINGS
    @given(edits=_mutations(len(data), (0, header_end)))
    def check(edits):
        path.write_bytes(_apply(data, edits))
        try:
            state = nerve.load(path)
        except NerveFileError:
            return
        assert _same_arrays(state, originals["arrays"]), edits

    check()


@SETTINGS
@given(
    name=st.sampled_from(["weight", "bias", "steps"]),
    field=st.sampled_from(["dtype", "shape", "data_offsets", "rename", "order", "drop"]),
    value=st.one_of(
        st.sampled_from(["F32", "I32", "F16", "I64", "U8", "BOOL"]),
        st.lists(st.integers(-2, 40), max_size=3),
        st.integers(-(2**70), 2**70),
        st.text(max_size=4),
        st.floats(allow_nan=True),
        st.none(),
    ),
)
def test_edited_state_headers_load_as_saved_or_are_refused(originals, tmp_path, name, field, value):
    data = originals["state"]
    header, start = safetensors_io.read_header(data, "fuzz")
    header = json.loads(json.dumps(header))
    if field == "rename":
        header[str(value)] = header.pop(name)
    elif field == "order":
        header["__metadata__"]["order"] = json.dumps(value)
    elif field == "drop":
        del header[name]
    else:
        header[name][field] = value
    text = json.dumps(header).encode()
    path = tmp_path / "edited.safetensors"
    path.write_bytes(struct.pack("<Q", len(text)) + text + data[start:])
    try:
        state = nerve.load(path)
    except NerveFileError:
        return
    assert _same_arrays(state, originals["arrays"]), (name, field, value)


def test_a_damaged_torch_file_loads_as_saved_or_is_refused(torch, tmp_path):
    import io

    net = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.BatchNorm1d(2))
    buffer = io.BytesIO()
    torch.save(net.state_dict(), buffer)
    data = buffer.getvalue()
    want = {k: v.numpy() for k, v in net.state_dict().items()}
    path = tmp_path / "net.pt"

    @SETTINGS
    @given(edits=_mutations(len(data), _zip_structure(data)))
    def check(edits):
        path.write_bytes(_apply(data, edits))
        try:
            state = nerve.load(path)
        except NerveFileError:
            return
        assert isinstance(state, dict) and _same_arrays(state, want), edits

    check()


def test_a_forged_torch_pickle_loads_or_is_refused_never_crashes(torch, tmp_path):
    """With valid CRCs (a forger's file) a torch zip has no checksum to fail: whatever its
    pickle says, loading gives plain data or NerveFileError, never another exception."""
    import io
    import zipfile

    buffer = io.BytesIO()
    torch.save({"w": torch.arange(6.0).reshape(2, 3).t(), "n": 3, "s": [1.5, "x"]}, buffer)
    with zipfile.ZipFile(buffer) as zf:
        members = {i.filename: zf.read(i) for i in zf.infolist()}
    name = next(n for n in members if n.endswith("data.pkl"))
    body = members[name]
    path = tmp_path / "forged.pt"

    @SETTINGS
    @given(edits=_mutations(len(body), (0, len(body))))
    def check(edits):
        with zipfile.ZipFile(path, "w") as zf:
            for member, data in members.items():
                zf.writestr(member, _apply(body, edits) if member == name else data)
        try:
            result = nerve.load(path)
        except NerveFileError:
            return
        plain = (dict, list, tuple, set, frozenset, int, float, complex, str, bytes, type(None))
        assert isinstance(result, (*plain, np.ndarray))

    check()


def _same_tree(a, b) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (
            isinstance(a, np.ndarray)
            and isinstance(b, np.ndarray)
            and a.dtype == b.dtype
            and np.array_equal(a, b)
        )
    if isinstance(a, dict):
        return type(a) is type(b) and list(a) == list(b) and all(_same_tree(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return (
            type(a) is type(b) and len(a) == len(b) and all(_same_tree(x, y) for x, y in zip(a, b))
        )
    return type(a) is type(b) and a == b


def test_a_damaged_checkpoint_loads_as_saved_or_is_refused(tmp_path):
    checkpoint = {
        "epoch": 3,
        "model": {"w": np.arange(4, dtype=np.float32)},
        "optimizer": {"state": {0: {"step": 2.0, "m": np.ones(4, np.float32)}}, "lr": [0.1]},
        "tag": ("run", None, True),
    }
    path = tmp_path / "checkpoint.pt"
    nerve.save(checkpoint, path)
    data = path.read_bytes()
    header_end = 8 + struct.unpack("<Q", data[:8])[0]

    @SETTINGS
    @given(edits=_mutations(len(data), (0, header_end)))
    def check(edits):
        path.write_bytes(_apply(data, edits))
        try:
            back = nerve.load(path)
        except NerveFileError:
            return
        assert _same_tree(back, checkpoint), edits

    check()
