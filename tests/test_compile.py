"""nerve.compile: recorded plans equal eager mode bit for bit, re-record, fall back, cache."""

from __future__ import annotations

import tracemalloc
import warnings

import numpy as np
import pytest

import nerve
from nerve import nn
from nerve.compiler import compile as _compile


def nerve_compile(model, *args, mode="inference", **kwargs):  # plans whatever the grad mode
    return _compile(model, *args, mode=mode, **kwargs)


# ----------------------------------------------------------------------------- models
def mlp():
    return nn.Sequential(
        nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10)
    )


def cnn(batch_norm: bool = False):
    def bn(c):
        return [nn.BatchNorm2d(c)] if batch_norm else []

    return nn.Sequential(
        nn.Conv2d(1, 8, 3),
        *bn(8),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3),
        *bn(16),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(400, 32),
        nn.ReLU(),
        *([nn.Dropout(0.5)] if batch_norm else []),
        nn.Linear(32, 10),
    )


class RowLSTM(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(28, 32, batch_first=True)
        self.head = nn.Linear(32, 10)

    def forward(self, x):
        _, (h, _) = self.lstm(x)
        return self.head(h[-1])


class RowTransformer(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Linear(28, 32)
        layer = nn.TransformerEncoderLayer(32, 4, dim_feedforward=64, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
        self.head = nn.Linear(32, 10)

    def forward(self, x):
        return self.head(self.encoder(self.embed(x)).mean(dim=1))


MODELS = {
    "mlp": (mlp, (784,)),
    "cnn": (cnn, (1, 28, 28)),
    "cnn_bn": (lambda: cnn(batch_norm=True), (1, 28, 28)),
    "lstm": (RowLSTM, (28, 28)),
    "transformer": (RowTransformer, (28, 28)),
}


def twins(make):
    """Two models with the same weights: one compiled, one eager."""
    nerve.manual_seed(1)
    a = make()
    nerve.manual_seed(1)
    b = make()
    return a, b


def batch(shape, n, seed):
    return nerve.tensor(np.random.default_rng(seed).standard_normal((n, *shape)).astype("f"))


def same(a, b) -> bool:
    a = a._data if isinstance(a, nerve.Tensor) else np.asarray(a)
    b = b._data if isinstance(b, nerve.Tensor) else np.asarray(b)
    return a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b, equal_nan=True)


def same_state(a, b) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(same(sa[k], sb[k]) for k in sa)


# ----------------------------------------------------------------------------- inference
@pytest.mark.parametrize("name", sorted(MODELS))
@pytest.mark.parametrize("training", [False, True], ids=["eval", "train_flag"])
def test_inference_equals_eager(name, training):
    make, shape = MODELS[name]
    a, b = twins(make)
    a.train(training)
    b.train(training)
    x0 = batch(shape, 4, 0)
    nerve.manual_seed(9)
    fast = nerve_compile(a, (x0,))  # records at once: the eager twin runs on x0 as well
    nerve.manual_seed(9)
    with nerve.no_grad():
        b(x0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no fallback
        for k in range(3):
            x = batch(shape, 4, k + 1)
            nerve.manual_seed(10 + k)
            got = fast(x)
            nerve.manual_seed(10 + k)
            with nerve.no_grad():
                want = b(x)
            assert same(got, want)
            assert not got.requires_grad
    assert same_state(a, b)  # BatchNorm's running statistics and counters too
    assert fast.cache_info()["fallbacks"] == 0


def test_batch_one_and_new_shapes_rerecord():
    a, b = twins(mlp)
    a.eval(), b.eval()
    fast = nerve_compile(a)
    for n in (1, 3, 1, 3):
        x = batch((784,), n, n)
        with nerve.no_grad():
            assert same(fast(x), b(x))
    info = fast.cache_info()
    assert (info["misses"], info["hits"], info["size"]) == (2, 2, 2)
    a.train()  # a new training flag is a new signature
    fast(batch((784,), 3, 0))
    assert fast.cache_info()["misses"] == 3
    a.double(), b.double()  # a new dtype too
    x = batch((784,), 3, 0).double()
    with nerve.no_grad():
        assert same(fast(x), b.train()(x))
    assert fast.cache_info()["misses"] == 4


def test_cache_is_bounded_lru():
    a, _ = twins(mlp)
    a.eval()
    fast = nerve_compile(a, cache_size_limit=2)
    for n in (1, 2, 3):
        fast(batch((784,), n, 0))
    assert fast.cache_info()["size"] == 2
    fast(batch((784,), 3, 0))  # still held
    assert fast.cache_info()["misses"] == 3
    fast(batch((784,), 1, 0))  # dropped, recorded again
    assert fast.cache_info()["misses"] == 4
    with pytest.raises(ValueError, match="cache_size_limit"):
        nerve_compile(a, cache_size_limit=0)


def test_parameters_read_at_replay_time():
    a, b = twins(mlp)
    a.eval(), b.eval()
    fast = nerve_compile(a)
    x = batch((784,), 2, 0)
    fast(x)
    fast(x)
    with nerve.no_grad():
        for p, q in zip(a.parameters(), b.parameters()):
            p.mul_(0.5)
            q.mul_(0.5)
        b.load_state_dict(b.state_dict())
    with nerve.no_grad():
        assert same(fast(x), b(x))


def test_mode_and_argument_errors():
    a, _ = twins(mlp)
    with pytest.raises(ValueError, match="mode"):
        nerve_compile(a, mode="fast")
    with pytest.raises(ValueError, match="loss_fn"):
        nerve_compile(a, mode="train")
    with pytest.raises(TypeError, match="callable"):
        nerve_compile(3)
    x, y = batch((784,), 2, 0), nerve.tensor(np.arange(2))
    step = nerve_compile(a, (x,), mode="train", loss_fn=nn.CrossEntropyLoss(), example_targets=y)
    with pytest.raises(TypeError, match="1 input.s. then 1 target"):
        step(x)
    with pytest.raises(TypeError, match="got 3 argument"):
        step(x, y, y)


# ----------------------------------------------------------------------------- fallback
class DataDependent(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x):
        y = self.fc(x)
        if y.sum() > 0:
            return y * 2
        return y - 1


class NumpyEscape(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x):
        y = self.fc(x)
        return nerve.Tensor(np.tanh(y._data)) + 1  # NumPy on the array: invisible to ops


@pytest.mark.parametrize("cls,why", [(DataDependent, "data-dependent"), (NumpyEscape, "cannot")])
def test_fallback_warns_once_and_stays_eager(cls, why):
    net = cls().eval()
    fast = nerve_compile(net)
    with pytest.warns(UserWarning, match=f"{cls.__name__} runs eagerly.*{why}"):
        out = fast(batch((4,), 3, 0))
    with nerve.no_grad():
        assert same(out, net(batch((4,), 3, 0)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # warned once only
        for k in range(3):
            x = batch((4,), 3, k)
            with nerve.no_grad():
                assert same(fast(x), net(x))
        fast(batch((4,), 5, 0))
    assert fast.cache_info()["fallbacks"] == 3


def test_batchnorm_cumulative_average_falls_back():
    net = nn.Sequential(nn.Linear(4, 4), nn.BatchNorm1d(4, momentum=None))
    with pytest.warns(UserWarning, match="momentum=None"):
        nerve_compile(net)(batch((4,), 3, 0))


# ----------------------------------------------------------------------------- train
@pytest.mark.parametrize("name", sorted(MODELS))
def test_train_steps_equal_eager(name):
    make, shape = MODELS[name]
    a, b = twins(make)
    a.train(), b.train()
    loss_fn = nn.CrossEntropyLoss()
    opt_a = nerve.optim.Adam(a.parameters(), lr=1e-3)
    opt_b = nerve.optim.Adam(b.parameters(), lr=1e-3)
    x0, y0 = batch(shape, 8, 0), nerve.tensor(np.arange(8) % 10)
    step = nerve_compile(
        a, (x0,), mode="train", loss_fn=loss_fn, optimizer=opt_a, example_targets=(y0,)
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for k in range(4):
            x = batch(shape, 8, k)
            y = nerve.tensor(np.random.default_rng(k).integers(0, 10, 8))
            nerve.manual_seed(20 + k)
            got = step(x, y)
            nerve.manual_seed(20 + k)
            opt_b.zero_grad()
            want = loss_fn(b(x), y)
            want.backward()
            opt_b.step()
            assert same(got, want)
            assert not got.requires_grad
            for p, q in zip(a.parameters(), b.parameters()):
                assert same(p.grad, q.grad)
    assert same_state(a, b)
    assert step.cache_info()["hits"] == 3


def test_train_gradients_accumulate_without_zero_grad():
    a, b = twins(mlp)
    step = nerve_compile(a, mode="train", loss_fn=nn.CrossEntropyLoss())  # no optimizer: grads only
    x, y = batch((784,), 4, 0), nerve.tensor(np.arange(4))
    for _ in range(3):
        step(x, y)
        nn.CrossEntropyLoss()(b(x), y).backward()
    for p, q in zip(a.parameters(), b.parameters()):
        assert same(p.grad, q.grad)


# ----------------------------------------------------------------------------- memory
def test_compiled_inference_peak_memory_not_above_eager():
    a, b = twins(mlp)
    a.eval(), b.eval()
    x = batch((784,), 512, 0)
    fast = nerve_compile(a, (x,))

    def peak(fn):
        fn()
        tracemalloc.start()
        try:
            fn()
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    def eager():
        with nerve.no_grad():
            b(x)

    assert peak(lambda: fast(x)) <= peak(eager)


def _peak(fn) -> int:
    fn()
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("name", ["mlp", "cnn_bn", "transformer"])
def test_compiled_train_step_peak_memory_as_eager(name):
    """The arrays are eager's (each intermediate freed after its last use, the nodes keep what
    backward reads); the plan's own bookkeeping adds a few kB at most."""
    make, shape = MODELS[name]
    a, b = twins(make)
    loss_fn = nn.CrossEntropyLoss()
    opt_a, opt_b = nerve.optim.Adam(a.parameters()), nerve.optim.Adam(b.parameters())
    step = nerve_compile(a, mode="train", loss_fn=loss_fn, optimizer=opt_a)
    x, y = batch(shape, 32, 0), nerve.tensor(np.arange(32) % 10)

    def eager():
        opt_b.zero_grad()
        loss_fn(b(x), y).backward()
        opt_b.step()

    step(x, y)
    assert _peak(lambda: step(x, y)) <= _peak(eager) * 1.01


# ----------------------------------------------------------------------------- recipes
@pytest.mark.parametrize("name", ["mlp", "cnn", "cnn-bn", "lstm", "transformer", "resnet"])
def test_recipe_models_inference(name):
    from nerve.models.recipes import build

    nerve.manual_seed(3)
    model = build(name, (28, 28, 1), 10)
    x = batch((28, 28, 1), 2, 0)
    model.eval()
    fast = nerve_compile(model)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for k in range(2):
            x = batch((28, 28, 1), 2, k)
            got = fast(x)
            with nerve.no_grad():
                want = model(x, training=False)
            assert same(got, want)


# ----------------------------------------------------------------------------- Keras door
def keras_convnet():
    from nerve import keras

    return keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            keras.layers.Conv2D(8, kernel_size=(3, 3), activation="relu"),
            keras.layers.MaxPooling2D(pool_size=(2, 2)),
            keras.layers.Conv2D(16, kernel_size=(3, 3), activation="relu"),
            keras.layers.MaxPooling2D(pool_size=(2, 2)),
            keras.layers.Flatten(),
            keras.layers.Dropout(0.5),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )


def test_keras_jit_compile_fit_evaluate_predict_equal_eager():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((40, 28, 28, 1)).astype("f")
    y = np.eye(10, dtype="f")[rng.integers(0, 10, 40)]
    runs = []
    for jit in (False, True):
        nerve.manual_seed(5)
        model = keras_convnet()
        model.compile(
            optimizer="adam",
            loss="categorical_crossentropy",
            metrics=["accuracy"],
            jit_compile=jit,
        )
        assert model.jit_compile is jit
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            hist = model.fit(x, y, batch_size=16, epochs=2, validation_split=0.2, verbose=0)
            score = model.evaluate(x, y, batch_size=16, verbose=0)
            pred = model.predict(x, batch_size=16, verbose=0)
        runs.append((model, hist.history, score, pred))
    (eager, h_e, s_e, p_e), (fast, h_f, s_f, p_f) = runs
    assert h_e == h_f and s_e == s_f
    assert same(p_e, p_f)
    for w_e, w_f in zip(eager.weights, fast.weights):
        assert same(w_e, w_f)
    plans = fast.__dict__["_jit_plans"]
    assert set(plans) == {"train", "test", "predict"}
    assert plans["train"].cache_info()["hits"] > 0
    assert all(p.cache_info()["fallbacks"] == 0 for p in plans.values())


# ----------------------------------------------------------------------------- op_db
def _op_db():
    from op_db import load

    return load()


OP_DB = _op_db()


def _sample_leaves(out) -> list:
    if isinstance(out, nerve.Tensor):
        return [out._data]
    if isinstance(out, (list, tuple)):
        return [a for o in out for a in _sample_leaves(o)]
    return [np.asarray(out)]


@pytest.mark.parametrize("name", sorted(OP_DB.samples))
def test_op_db_samples_compiled_equal_eager(name):
    """Every registered op's samples, run through a Module wrapper compiled in inference mode.

    A sample the recorder cannot follow runs eagerly (and must still give eager's numbers);
    the test is skipped, with the recorder's reasons, for an op none of whose samples compile.
    """
    import nerve.nn.functional as F

    class Lib:  # the sample's ``m``: nerve with m.F its nn.functional
        def __getattr__(self, attr):
            return F if attr == "F" else getattr(nerve, attr)

    compiled, reasons = 0, set()
    for k, sample in enumerate(OP_DB.samples[name]):
        xs = []
        for x in sample.inputs:
            a = np.asarray(x)
            xs.append(nerve.Tensor(a.astype(np.float32) if a.dtype.kind == "f" else a))

        class Wrapper(nn.Module):
            def forward(self, *args, fn=sample.fn):
                return fn(Lib(), *args)

        model = Wrapper()
        fast = nerve_compile(model)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            nerve.manual_seed(1)
            fast(*xs)  # records
            nerve.manual_seed(2)
            got = fast(*xs)  # replays
        nerve.manual_seed(2)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with nerve.no_grad():
                want = model(*xs)
        a, b = _sample_leaves(got), _sample_leaves(want)
        assert len(a) == len(b) and all(map(same, a, b)), f"{name} sample {k} differs"
        if fast.cache_info()["fallbacks"]:
            reasons.update(fast.fallback_reasons.values())
            assert any("runs eagerly" in str(w.message) for w in caught)
        else:
            compiled += 1
    if not compiled:
        pytest.skip(f"{name} runs eagerly: {'; '.join(sorted(reasons))}")


# ----------------------------------------------------------------------------- edge cases
class Residual(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(6, 6)
        self.fc2 = nn.Linear(6, 6)

    def forward(self, x):
        y = self.fc1(x)
        y += x  # an in-place update of a tensor in the graph
        return self.fc2(y.relu()).tanh()


def test_results_are_not_overwritten_by_the_next_call():
    a, b = twins(Residual)
    a.eval(), b.eval()
    fast = nerve_compile(a)
    x1, x2 = batch((6,), 1, 1), batch((6,), 1, 2)
    fast(x1)
    out1 = fast(x1)
    kept = out1._data.copy()
    fast(x2)
    assert np.array_equal(out1._data, kept)
    with nerve.no_grad():
        assert same(out1, b(x1))


def test_in_place_update_in_forward_trains_as_eager():
    a, b = twins(Residual)
    loss_fn = nn.MSELoss()
    step = nerve_compile(
        a, mode="train", loss_fn=loss_fn, optimizer=nerve.optim.SGD(a.parameters(), lr=0.1)
    )
    opt_b = nerve.optim.SGD(b.parameters(), lr=0.1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for k in range(3):
            x, y = batch((6,), 5, k), batch((6,), 5, 10 + k)
            got = step(x, y)
            opt_b.zero_grad()
            want = loss_fn(b(x), y)
            want.backward()
            opt_b.step()
            assert same(got, want)
    assert same_state(a, b)


class FloatBufferOutsideOps(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)
        self.register_buffer("seen", nerve.zeros(4))

    def forward(self, x):
        self.seen._data += 1.0  # a buffer changed by NumPy, not by an op
        return self.fc(x)


def test_buffer_changed_outside_ops_falls_back():
    net = FloatBufferOutsideOps()
    fast = nerve_compile(net)
    with pytest.warns(UserWarning, match="buffer"):
        fast(batch((4,), 2, 0))
    fast(batch((4,), 2, 0))
    assert np.array_equal(net.seen._data, np.full(4, 2.0, np.float32))


def test_structured_inputs_and_outputs():
    class Two(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(3, 2)

        def forward(self, pair, scale):
            a, b = pair["a"], pair["b"]
            return {"sum": self.fc(a) + self.fc(b) * scale, "a": a}

    net = Two()
    fast = nerve_compile(net)
    for k in range(3):
        pair = {"a": batch((3,), 2, k), "b": batch((3,), 2, k + 5)}
        got = fast(pair, 2.0)
        with nerve.no_grad():
            want = net(pair, 2.0)
        assert same(got["sum"], want["sum"]) and same(got["a"], want["a"])
    fast({"a": batch((3,), 2, 0), "b": batch((3,), 2, 1)}, 3.0)  # another scale: new signature
    assert fast.cache_info()["misses"] == 2


class ViewSeesInPlace(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x):
        y = self.fc(x)
        v = y.reshape(-1)  # a view of y: eager's y += 1 changes it too
        y += 1.0
        return v * 2.0


def test_first_call_of_a_fallback_is_eager():
    net = ViewSeesInPlace().eval()
    x = batch((4,), 2, 0)
    with nerve.no_grad():
        want = net(x)
    fast = nerve_compile(net)
    with pytest.warns(UserWarning, match="runs eagerly"):
        got = fast(x)
    assert same(got, want)


def test_train_leaf_hooks_run_as_in_eager():
    a, b = twins(mlp)
    for net in (a, b):
        net[0].weight.register_hook(lambda g: g * 0.5)
    step = nerve_compile(a, mode="train", loss_fn=nn.CrossEntropyLoss())
    x, y = batch((784,), 4, 0), nerve.tensor(np.arange(4))
    for _ in range(2):
        step(x, y)
        nn.CrossEntropyLoss()(b(x), y).backward()
    for p, q in zip(a.parameters(), b.parameters()):
        assert same(p.grad, q.grad)


def test_a_submodule_training_flag_is_part_of_the_signature():
    a, b = twins(lambda: cnn(batch_norm=True))
    a.eval(), b.eval()
    fast = nerve_compile(a)
    x = batch((1, 28, 28), 2, 0)
    fast(x)
    a[11].train(), b[11].train()  # the Dropout only
    nerve.manual_seed(4)
    got = fast(x)
    nerve.manual_seed(4)
    with nerve.no_grad():
        want = b(x)
    assert same(got, want)
    assert fast.cache_info()["misses"] == 2


# ----------------------------------------------------------------------------- benchmark
def test_bench_compile_smoke(capsys, tmp_path):
    import pathlib
    import sys

    root = pathlib.Path(__file__).resolve().parents[1]
    sys.path.insert(0, str(root))  # benchmarks/ lives at the repo root
    from benchmarks import bench_compile

    bench_compile.main(["--quick", "--only", "infer_mlp_b1,mlp", "--data-dir", str(tmp_path)])
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith("| MLP")]
    assert len(rows) == 2, out
    assert "random data" in out  # no Fashion-MNIST in tmp_path: seeded random images


# Keras's BatchNormalization (cnn-bn, resnet) updates its moving statistics inside the op, so
# those models compile too: no fallback, and the moving statistics equal eager's.
@pytest.mark.parametrize("name", ["mlp", "cnn-bn", "lstm", "transformer", "resnet"])
def test_recipe_models_jit_fit_equals_eager(name):
    from nerve import losses
    from nerve.models.recipes import build

    rng = np.random.default_rng(1)
    x = rng.random((24, 28, 28, 1), dtype=np.float32)
    y = rng.integers(0, 10, 24)
    runs = []
    for jit in (False, True):
        nerve.manual_seed(3)
        model = build(name, (28, 28, 1), 10)
        model.compile(
            optimizer="adam",
            loss=losses.SparseCategoricalCrossentropy(from_logits=True),
            metrics=["accuracy"],
            jit_compile=jit,
        )
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            hist = model.fit(x, y, batch_size=8, epochs=2, verbose=0)
        runs.append((model, hist.history))
    (eager, h_e), (fast, h_f) = runs
    assert h_e == h_f
    for w_e, w_f in zip(eager.weights, fast.weights):
        assert same(w_e, w_f)
    info = fast.__dict__["_jit_plans"]["train"].cache_info()
    messages = [str(w.message) for w in caught if "nerve.compile" in str(w.message)]
    assert not messages and info["hits"] > 0 and info["fallbacks"] == 0


@pytest.mark.parametrize("cls", [DataDependent, ViewSeesInPlace])
def test_train_fallback_steps_equal_eager(cls):
    a, b = twins(cls)
    mse = nn.MSELoss()

    def loss_fn(out, target):
        return mse(out.reshape(target.shape), target)

    step = nerve_compile(
        a, mode="train", loss_fn=loss_fn, optimizer=nerve.optim.SGD(a.parameters(), lr=0.1)
    )
    opt_b = nerve.optim.SGD(b.parameters(), lr=0.1)
    with pytest.warns(UserWarning, match=f"{cls.__name__} runs eagerly"):
        for k in range(3):
            x, y = batch((4,), 5, k), batch((4,), 5, 10 + k)
            got = step(x, y)
            opt_b.zero_grad()
            want = loss_fn(b(x), y)
            want.backward()
            opt_b.step()
            assert same(got, want)
            for p, q in zip(a.parameters(), b.parameters()):
                assert same(p.grad, q.grad)
    assert same_state(a, b)
    assert step.cache_info()["fallbacks"] == 2
