"""nerve.optimizers follow Keras 3's formulas: same gradients in, same weights out."""

import numpy as np
import pytest

import nerve
from nerve import optimizers
from nerve.optimizers import schedules
from nerve.testing import assert_close

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # inside Keras

CASES = [
    ("Adam", {}),
    ("Adam", {"amsgrad": True, "learning_rate": 0.01}),
    ("Adam", {"weight_decay": 0.01, "clipnorm": 0.5}),
    ("AdamW", {}),
    ("Adamax", {"learning_rate": 0.01}),
    ("Nadam", {"learning_rate": 0.01}),
    ("SGD", {}),
    ("SGD", {"momentum": 0.9}),
    ("SGD", {"momentum": 0.9, "nesterov": True, "clipvalue": 0.3}),
    ("RMSprop", {}),
    ("RMSprop", {"momentum": 0.5, "centered": True}),
    ("Adagrad", {"learning_rate": 0.05}),
    ("Lion", {"global_clipnorm": 1.0}),
]


def _grad(w: np.ndarray) -> np.ndarray:
    return (w - 0.5 + 0.1 * w**3).astype(np.float32)


@pytest.mark.parametrize("name,kwargs", CASES, ids=lambda v: str(v))
def test_trajectory_matches_keras(keras, name, kwargs):
    rng = np.random.default_rng(0)
    start = [
        rng.standard_normal((4, 3)).astype(np.float32),
        rng.standard_normal(3).astype(np.float32),
    ]
    ours = [nerve.tensor(w.copy(), requires_grad=True) for w in start]
    theirs = [keras.Variable(w.copy()) for w in start]
    opt_n = getattr(optimizers, name)(**kwargs)
    opt_k = getattr(keras.optimizers, name)(**kwargs)
    for _ in range(100):
        opt_n.apply([_grad(w._data) for w in ours], ours)
        grads_k = [keras.ops.convert_to_tensor(_grad(np.array(keras.ops.convert_to_numpy(v))))
                   for v in theirs]  # fmt: skip
        opt_k.apply(grads_k, theirs)
    # Same formulas; float32 rounding differs where the two order a product differently
    # (e.g. (1-rho)*g*g vs (1-rho)*(g*g)), which 100 steps grow to ~2e-5 relative.
    for a, b in zip(ours, theirs):
        assert_close(a, keras.ops.convert_to_numpy(b), rtol=5e-5, atol=1e-6)
    assert opt_n.iterations == 100


@pytest.mark.parametrize(
    "schedule,kwargs",
    [
        ("ExponentialDecay", dict(initial_learning_rate=0.1, decay_steps=10, decay_rate=0.5)),
        ("ExponentialDecay",
         dict(initial_learning_rate=0.1, decay_steps=7, decay_rate=0.9, staircase=True)),
        ("PiecewiseConstantDecay", dict(boundaries=[5, 20], values=[0.1, 0.05, 0.01])),
        ("InverseTimeDecay", dict(initial_learning_rate=0.1, decay_steps=5, decay_rate=0.5)),
        ("CosineDecay", dict(initial_learning_rate=0.1, decay_steps=30, alpha=0.1)),
        ("CosineDecay", dict(initial_learning_rate=0.0, decay_steps=30, warmup_target=0.1,
                             warmup_steps=10)),
    ],
    ids=str,
)  # fmt: skip
def test_schedules_match_keras(keras, schedule, kwargs):
    ours = getattr(schedules, schedule)(**kwargs)
    theirs = getattr(keras.optimizers.schedules, schedule)(**kwargs)
    for step in range(50):
        expected = float(keras.ops.convert_to_numpy(theirs(step)))
        # Keras computes schedules in float32, nerve in float64
        assert ours(step) == pytest.approx(expected, rel=2e-6, abs=1e-7), step


def test_schedule_drives_the_learning_rate():
    sched = schedules.ExponentialDecay(0.1, decay_steps=1, decay_rate=0.5)
    w = nerve.zeros(1, requires_grad=True)
    opt = optimizers.SGD(learning_rate=sched)
    for expected in (0.1, 0.05, 0.025):
        assert opt.learning_rate == pytest.approx(expected)
        opt.apply([np.ones(1, np.float32)], [w])
    assert_close(w, [-0.175])
    with pytest.raises(TypeError, match="LearningRateSchedule"):
        opt.learning_rate = 0.1


def test_keras_defaults():
    assert optimizers.Adam().epsilon == 1e-7 and optimizers.Adam().learning_rate == 0.001
    assert optimizers.SGD().learning_rate == 0.01
    assert optimizers.RMSprop().rho == 0.9
    assert optimizers.AdamW().weight_decay == 0.004
    assert optimizers.Adagrad().initial_accumulator_value == 0.1
    assert isinstance(optimizers.get("adam"), optimizers.Adam)
    assert isinstance(optimizers.get("RMSprop"), optimizers.RMSprop)


def test_step_uses_grad_after_backward_and_state_round_trip():
    w = nerve.tensor([1.0, -2.0], requires_grad=True)
    opt = optimizers.Adam(0.1)
    opt.build([w])
    for _ in range(3):
        opt.zero_grad()
        (w * w).sum().backward()
        opt.step()
    state = opt.state_dict()
    w2 = nerve.tensor(w._data.copy(), requires_grad=True)
    opt2 = optimizers.Adam(0.1)
    opt2.build([w2])
    opt2.load_state_dict(state)
    for o, p in ((opt, w), (opt2, w2)):
        o.zero_grad()
        (p * p).sum().backward()
        o.step()
    assert np.array_equal(w._data, w2._data)


def test_config_round_trip_with_schedule():
    opt = optimizers.Adam(learning_rate=schedules.CosineDecay(0.01, 100), beta_1=0.8)
    again = optimizers.get(optimizers.serialize(opt))
    assert again.beta_1 == 0.8 and again.learning_rate == opt.learning_rate


def test_bad_arguments():
    with pytest.raises(ValueError, match="Only one of"):
        optimizers.Adam(clipnorm=1.0, clipvalue=1.0)
    with pytest.raises(ValueError, match="beta_1"):
        optimizers.Adam(beta_1=1.5)
    with pytest.raises(ValueError, match="unknown optimizer 'adamm'"):
        optimizers.get("adamm")
    with pytest.raises(TypeError, match="unexpected argument"):
        optimizers.SGD(lr_decay=0.1)


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")  # g*g, on purpose
@pytest.mark.parametrize("name", ["Adam", "AdamW", "Nadam", "Adamax"])
def test_overflowing_squared_gradients_stay_finite_as_in_keras(keras, name):
    """g*g overflows float32 at |g| > 1.8e19: v becomes inf and the step finite (m / inf = 0),
    never inf - inf = NaN."""
    start = np.array([1.0, -2.0, 3.0], np.float32)
    ours = [nerve.tensor(start.copy(), requires_grad=True)]
    theirs = [keras.Variable(start.copy())]
    opt_n = getattr(optimizers, name)(learning_rate=1e6)
    opt_k = getattr(keras.optimizers, name)(learning_rate=1e6)
    for g in (3e19, -3e19, 1.0, 2e20):
        grad = np.full(3, g, np.float32)
        opt_n.apply([grad], ours)
        opt_k.apply([keras.ops.convert_to_tensor(grad)], theirs)
        want = keras.ops.convert_to_numpy(theirs[0])
        assert np.all(np.isfinite(want))  # Keras (torch backend) stays finite
        assert np.all(np.isfinite(ours[0]._data)), f"{name}: {ours[0]._data}"
        assert_close(ours[0], want, rtol=1e-5, atol=1e-6)
