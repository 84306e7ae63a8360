"""Optimizers: parameter trajectories equal torch.optim's, state_dict round trips, validation.

The problem is a small two-layer MLP with a squared-error loss, written once with nerve Tensor
ops and once with torch ops, its parameters starting from the same NumPy arrays. Every step both
optimizers update their parameters and the test compares them, for 100 steps, in float32.
"""

import copy

import numpy as np
import pytest

import nerve
from nerve import optim
from nerve.nn import Parameter

STEPS = 100
RTOL, ATOL = 1e-5, 1e-6


def problem(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((16, 5)).astype(np.float32)
    y = rng.standard_normal((16, 3)).astype(np.float32)
    params = [
        rng.standard_normal((5, 8)).astype(np.float32) * 0.5,
        rng.standard_normal(8).astype(np.float32) * 0.1,
        rng.standard_normal((8, 3)).astype(np.float32) * 0.5,
        rng.standard_normal(3).astype(np.float32) * 0.1,
    ]
    return x, y, params


def mlp_loss(w1, b1, w2, b2, x, y):
    """The same expression for both frameworks: mean((relu(x @ w1 + b1) @ w2 + b2 - y)**2)."""
    d = (x @ w1 + b1).relu() @ w2 + b2 - y
    return (d * d).mean()


class Pair:
    """The same parameters and loss in nerve and in torch."""

    def __init__(self, torch, seed=0, sign=1.0):
        x, y, arrays = problem(seed)
        self.torch = torch
        self.sign = sign
        self.x, self.y = nerve.tensor(x), nerve.tensor(y)
        self.tx, self.ty = torch.from_numpy(x), torch.from_numpy(y)
        self.params = [Parameter(a.copy()) for a in arrays]
        self.tparams = [torch.nn.Parameter(torch.from_numpy(a.copy())) for a in arrays]

    def groups(self, nerve_side: bool, options):
        """Either one list of parameters, or two groups (the first layer, the second)."""
        ps = self.params if nerve_side else self.tparams
        if options is None:
            return ps
        return [dict(params=ps[:2], **options[0]), dict(params=ps[2:], **options[1])]

    def backward(self):
        loss = mlp_loss(*self.params, self.x, self.y) * self.sign
        loss.backward()
        tloss = mlp_loss(*self.tparams, self.tx, self.ty) * self.sign
        tloss.backward()
        return loss, tloss

    def check(self, step):
        for i, (p, tp) in enumerate(zip(self.params, self.tparams)):
            np.testing.assert_allclose(
                p._data,
                tp.detach().numpy(),
                rtol=RTOL,
                atol=ATOL,
                err_msg=f"parameter {i} after step {step}",
            )


def run_against_torch(torch, name, kwargs, groups=None, sign=1.0, steps=STEPS):
    pair = Pair(torch, sign=sign)
    opt = getattr(optim, name)(pair.groups(True, groups), **kwargs)
    topt = getattr(torch.optim, name)(pair.groups(False, groups), **kwargs)
    for step in range(1, steps + 1):
        opt.zero_grad()
        topt.zero_grad()
        pair.backward()
        opt.step()
        topt.step()
        pair.check(step)
    return pair, opt, topt


# (optimizer, keyword arguments): defaults, then each option that changes the math.
CASES = [
    ("SGD", dict(lr=0.05)),
    ("SGD", dict(lr=0.05, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.3, weight_decay=0.01)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.01, weight_decay=0.05)),
    ("Adam", dict(lr=0.01, amsgrad=True, betas=(0.8, 0.99))),
    ("Adam", dict(lr=0.01, eps=1e-3)),
    ("AdamW", dict(lr=0.01)),
    ("AdamW", dict(lr=0.01, weight_decay=0.1, amsgrad=True)),
    ("RMSprop", dict(lr=0.001)),
    ("RMSprop", dict(lr=0.001, momentum=0.9, weight_decay=0.01)),
    ("RMSprop", dict(lr=0.001, centered=True, alpha=0.9)),
    ("RMSprop", dict(lr=0.001, centered=True, momentum=0.5)),
    ("Adagrad", dict(lr=0.05)),
    ("Adagrad", dict(lr=0.05, lr_decay=0.01, weight_decay=0.01, initial_accumulator_value=0.1)),
    ("Adadelta", dict()),
    ("Adadelta", dict(lr=0.5, rho=0.8, eps=1e-5, weight_decay=0.01)),
    ("Adamax", dict(lr=0.01)),
    ("Adamax", dict(lr=0.01, betas=(0.8, 0.95), weight_decay=0.01)),
    ("Adamax", dict(lr=0.01, eps=1e-2)),
    ("NAdam", dict(lr=0.01)),
    ("NAdam", dict(lr=0.01, weight_decay=0.01, momentum_decay=0.01)),
    ("NAdam", dict(lr=0.01, weight_decay=0.05, decoupled_weight_decay=True)),
]


@pytest.mark.parametrize(("name", "kwargs"), CASES, ids=lambda v: str(v))
def test_trajectory_matches_torch(torch, name, kwargs):
    run_against_torch(torch, name, kwargs)


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [
        ("SGD", dict(lr=0.05, momentum=0.9)),
        ("Adam", dict(lr=0.01)),
        ("AdamW", dict(lr=0.01)),
        ("RMSprop", dict(lr=0.001, centered=True)),
        ("Adagrad", dict(lr=0.05)),
        ("Adadelta", dict()),
        ("Adamax", dict(lr=0.01)),
        ("NAdam", dict(lr=0.01)),
    ],
    ids=lambda v: str(v),
)
def test_maximize_matches_torch(torch, name, kwargs):
    # Maximizing -loss is minimizing loss: the parameters must still match torch's.
    run_against_torch(torch, name, dict(kwargs, maximize=True), sign=-1.0)


@pytest.mark.parametrize(
    ("name", "groups"),
    [
        ("SGD", [dict(lr=0.1, momentum=0.9), dict(lr=0.01)]),
        ("Adam", [dict(lr=0.02), dict(lr=0.002, amsgrad=True)]),
        ("RMSprop", [dict(lr=0.002), dict(lr=0.0005, centered=True)]),
    ],
    ids=lambda v: str(v),
)
def test_two_param_groups_match_torch(torch, name, groups):
    pair, opt, _ = run_against_torch(torch, name, dict(lr=0.05), groups=groups)
    assert [g["lr"] for g in opt.param_groups] == [groups[0]["lr"], groups[1]["lr"]]


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [
        ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True)),
        ("Adam", dict(lr=0.01, amsgrad=True)),
        ("AdamW", dict(lr=0.01)),
        ("RMSprop", dict(lr=0.001, centered=True, momentum=0.5)),
        ("Adagrad", dict(lr=0.05, lr_decay=0.01)),
        ("Adadelta", dict()),
        ("Adamax", dict(lr=0.01)),
        ("NAdam", dict(lr=0.01)),
        ("Lion", dict(lr=1e-3, weight_decay=0.1)),
    ],
    ids=lambda v: str(v),
)
def test_state_dict_round_trip_resumes_identically(name, kwargs):
    x, y, arrays = problem()
    x, y = nerve.tensor(x), nerve.tensor(y)

    def train(params, opt, steps):
        for _ in range(steps):
            opt.zero_grad()
            mlp_loss(*params, x, y).backward()
            opt.step()

    straight = [Parameter(a.copy()) for a in arrays]
    train(straight, getattr(optim, name)(straight, **kwargs), 100)

    first = [Parameter(a.copy()) for a in arrays]
    opt = getattr(optim, name)(first, **kwargs)
    train(first, opt, 50)
    saved = opt.state_dict()
    kept = copy.deepcopy(saved)
    train(first, opt, 1)  # the snapshot holds copies: training on must not change it
    assert saved["state"].keys() == {0, 1, 2, 3}
    for i, values in kept["state"].items():
        for k, v in values.items():
            np.testing.assert_array_equal(saved["state"][i][k], v, err_msg=f"{i} {k}")
    assert saved["param_groups"][0]["params"] == [0, 1, 2, 3]

    resumed = [Parameter(a.copy()) for a in arrays]
    train(resumed, getattr(optim, name)(resumed, **kwargs), 50)
    opt2 = getattr(optim, name)(resumed, **{**kwargs, "lr": 123.0})  # lr comes from the save
    opt2.load_state_dict(saved)
    assert opt2.param_groups[0]["lr"] == saved["param_groups"][0]["lr"] != 123.0
    train(resumed, opt2, 50)
    for a, b in zip(straight, resumed):
        np.testing.assert_array_equal(a._data, b._data)


def test_state_dict_layout_is_torchs(torch):
    pair = Pair(torch)
    groups = [dict(lr=0.01), dict(lr=0.001)]
    opt = optim.Adam(pair.groups(True, groups), amsgrad=True)
    topt = torch.optim.Adam(pair.groups(False, groups), amsgrad=True)
    for _ in range(3):
        opt.zero_grad()
        topt.zero_grad()
        pair.backward()
        opt.step()
        topt.step()
    ours, theirs = opt.state_dict(), topt.state_dict()
    assert ours["state"].keys() == theirs["state"].keys()
    for k in theirs["state"]:
        assert ours["state"][k].keys() == theirs["state"][k].keys()
        assert ours["state"][k]["step"] == int(theirs["state"][k]["step"])
        for name in ("exp_avg", "exp_avg_sq", "max_exp_avg_sq"):
            assert ours["state"][k][name].dtype == np.float32
            np.testing.assert_allclose(
                ours["state"][k][name], theirs["state"][k][name].numpy(), rtol=1e-5, atol=1e-7
            )
    for g, tg in zip(ours["param_groups"], theirs["param_groups"]):
        assert g["params"] == tg["params"]
        for key in ("lr", "betas", "eps", "weight_decay", "amsgrad", "maximize"):
            assert g[key] == tg[key]


def test_load_state_dict_from_json_like_data():
    # What a JSON round trip leaves: string keys, lists for tuples and arrays' values as arrays.
    w = Parameter(np.ones(3, dtype=np.float32))
    opt = optim.Adam([w], lr=0.1)
    w.grad = nerve.tensor([1.0, -1.0, 2.0])
    opt.step()
    saved = opt.state_dict()
    saved["state"] = {
        str(i): {
            k: (v.astype(np.float64) if isinstance(v, np.ndarray) else v) for k, v in s.items()
        }
        for i, s in saved["state"].items()
    }
    saved["param_groups"][0]["betas"] = list(saved["param_groups"][0]["betas"])
    opt2 = optim.Adam([w])
    opt2.load_state_dict(saved)
    state = opt2.state[w]
    assert state["step"] == 1 and state["exp_avg"].dtype == np.float32
    assert opt2.param_groups[0]["betas"] == (0.9, 0.999)
    opt2.step()
    assert opt2.state[w]["step"] == 2


def test_load_state_dict_checks_groups():
    a, b = Parameter(np.ones(2)), Parameter(np.ones(3))
    saved = optim.SGD([a, b], lr=0.1).state_dict()
    with pytest.raises(ValueError, match="different number of parameter groups"):
        optim.SGD([{"params": [a]}, {"params": [b]}], lr=0.1).load_state_dict(saved)
    with pytest.raises(ValueError, match="doesn't match the size"):
        optim.SGD([a], lr=0.1).load_state_dict(saved)


# ------------------------------------------------------------------------------------ Lion
def lion_reference(params, grads, moms, lr, beta1, beta2, wd):
    """Chen et al. 2023, Algorithm 2, written plainly in NumPy (float32 like the parameters)."""
    new_params, new_moms = [], []
    for theta, g, m in zip(params, grads, moms):
        c = beta1 * m + (1 - beta1) * g
        theta = theta - lr * (np.sign(c) + wd * theta)
        m = beta2 * m + (1 - beta2) * g
        new_params.append(theta.astype(np.float32))
        new_moms.append(m.astype(np.float32))
    return new_params, new_moms


@pytest.mark.parametrize(
    "kwargs",
    [dict(), dict(lr=3e-3, betas=(0.95, 0.98), weight_decay=0.5), dict(lr=1e-3, maximize=True)],
    ids=str,
)
def test_lion_matches_paper_reference(kwargs):
    x, y, arrays = problem()
    x, y = nerve.tensor(x), nerve.tensor(y)
    lr = kwargs.get("lr", 1e-4)
    beta1, beta2 = kwargs.get("betas", (0.9, 0.99))
    wd = kwargs.get("weight_decay", 0.0)
    sign = -1.0 if kwargs.get("maximize") else 1.0
    params = [Parameter(a.copy()) for a in arrays]
    opt = optim.Lion(params, **kwargs)
    ref = [a.copy() for a in arrays]
    moms = [np.zeros_like(a) for a in arrays]
    for step in range(1, STEPS + 1):
        # The reference takes the gradient at its own parameters (computed by nerve's autograd).
        ref_params = [Parameter(a) for a in ref]
        (mlp_loss(*ref_params, x, y) * sign).backward()
        grads = [p.grad._data * sign for p in ref_params]  # maximize: ascend the signed loss
        ref, moms = lion_reference(ref, grads, moms, lr, beta1, beta2, wd)

        opt.zero_grad()
        (mlp_loss(*params, x, y) * sign).backward()
        opt.step()
        for i, (p, r) in enumerate(zip(params, ref)):
            np.testing.assert_allclose(p._data, r, rtol=RTOL, atol=ATOL, err_msg=f"{i}, {step}")
    assert optim.Lion(params).defaults["betas"] == (0.9, 0.99)


def test_lion_update_has_unit_size_per_coordinate():
    w = Parameter(np.array([1.0, -2.0, 3.0], dtype=np.float32))
    opt = optim.Lion([w], lr=0.1)
    w.grad = nerve.tensor([0.001, -50.0, 0.0])
    opt.step()
    np.testing.assert_allclose(w._data, [0.9, -1.9, 3.0], rtol=1e-6)


# ------------------------------------------------------------------------------ base behavior
def test_params_without_grad_are_skipped_and_state_stays_float32():
    a, b = Parameter(np.ones(3)), Parameter(np.ones(2))
    opt = optim.Adam([a, b], lr=0.1)
    a.grad = nerve.tensor([1.0, 2.0, 3.0])
    opt.step()
    assert b not in opt.state or not opt.state[b]
    np.testing.assert_array_equal(b._data, np.ones(2))
    assert all(v.dtype == np.float32 for v in opt.state[a].values() if isinstance(v, np.ndarray))
    assert a._data.dtype == np.float32


def test_step_updates_in_place():
    w = Parameter(np.ones((2, 3)))
    before = w._data
    for name in ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "Adamax", "NAdam"]:
        opt = getattr(optim, name)([w], lr=0.1, weight_decay=0.1)
        w.grad = nerve.ones(2, 3)
        grad = w.grad._data.copy()
        opt.step()
        assert w._data is before, name
        np.testing.assert_array_equal(w.grad._data, grad, err_msg=f"{name} changed the gradient")


def test_zero_grad():
    w = Parameter(np.ones(3))
    opt = optim.SGD([w], lr=0.1)
    w.grad = nerve.ones(3)
    opt.zero_grad(set_to_none=False)
    np.testing.assert_array_equal(w.grad._data, np.zeros(3))
    opt.zero_grad()
    assert w.grad is None


def test_step_with_closure_records_the_graph_and_updates_without():
    w = Parameter(np.array([2.0], dtype=np.float32))
    opt = optim.SGD([w], lr=0.25)
    seen = []

    def closure():
        opt.zero_grad()
        loss = (w * w).sum()
        seen.append(nerve.is_grad_enabled())
        loss.backward()
        return loss

    with nerve.no_grad():
        loss = opt.step(closure)
    assert seen == [True]
    assert float(loss) == 4.0
    np.testing.assert_allclose(w._data, [1.0])


def test_add_param_group_and_defaults():
    a, b = Parameter(np.ones(2)), Parameter(np.ones(2))
    opt = optim.SGD([a], lr=0.1, momentum=0.9)
    opt.add_param_group({"params": b, "lr": 0.01})
    assert opt.param_groups[1]["lr"] == 0.01
    assert opt.param_groups[1]["momentum"] == 0.9
    assert len(opt.param_groups[1]["params"]) == 1 and opt.param_groups[1]["params"][0] is b
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [a]})
    with pytest.raises(ValueError, match="Invalid learning rate: -1"):
        opt.add_param_group({"params": [Parameter(np.ones(1))], "lr": -1.0})
    assert "SGD (" in repr(opt) and "Parameter Group 1" in repr(opt)


def test_bad_params():
    w = Parameter(np.ones(2))
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.SGD([], lr=0.1)
    with pytest.raises(TypeError, match="iterable of Tensors or dicts"):
        optim.SGD(w, lr=0.1)
    with pytest.raises(TypeError, match="can only optimize Tensors"):
        optim.SGD([np.ones(2)], lr=0.1)
    with pytest.raises(TypeError, match="ordered collections"):
        optim.SGD([{"params": {w}}], lr=0.1)
    with pytest.raises(ValueError, match="non-leaf"):
        optim.SGD([w * 2], lr=0.1)


@pytest.mark.parametrize(
    ("name", "kwargs", "message"),
    [
        ("SGD", dict(lr=-1.0), "Invalid learning rate: -1.0"),
        ("SGD", dict(momentum=-0.5), "Invalid momentum value: -0.5"),
        ("SGD", dict(weight_decay=-1e-3), "Invalid weight_decay value: -0.001"),
        ("SGD", dict(nesterov=True), "Nesterov momentum requires a momentum and zero dampening"),
        ("SGD", dict(nesterov=True, momentum=0.9, dampening=0.1), "Nesterov momentum requires"),
        ("Adam", dict(lr=-1.0), "Invalid learning rate: -1.0"),
        ("Adam", dict(betas=(1.5, 0.9)), "Invalid beta parameter at index 0: 1.5"),
        ("Adam", dict(betas=(0.9, 1.0)), "Invalid beta parameter at index 1: 1.0"),
        ("Adam", dict(eps=-1e-8), "Invalid epsilon value: -1e-08"),
        ("Adam", dict(weight_decay=-1.0), "Invalid weight_decay value: -1.0"),
        ("AdamW", dict(betas=(0.9, -0.1)), "Invalid beta parameter at index 1: -0.1"),
        ("RMSprop", dict(alpha=-0.1), "Invalid alpha value: -0.1"),
        ("RMSprop", dict(momentum=-1.0), "Invalid momentum value: -1.0"),
        ("RMSprop", dict(eps=-1.0), "Invalid epsilon value: -1.0"),
        ("Adagrad", dict(lr_decay=-1.0), "Invalid lr_decay value: -1.0"),
        (
            "Adagrad",
            dict(initial_accumulator_value=-1.0),
            "Invalid initial_accumulator_value value: -1.0",
        ),
        ("Adagrad", dict(eps=-1.0), "Invalid epsilon value: -1.0"),
        ("Adadelta", dict(rho=1.5), "Invalid rho value: 1.5"),
        ("Adadelta", dict(lr=-0.1), "Invalid learning rate: -0.1"),
        ("Adamax", dict(betas=(1.5, 0.9)), "Invalid beta parameter at index 0: 1.5"),
        ("NAdam", dict(momentum_decay=-1.0), "Invalid momentum_decay value: -1.0"),
        ("NAdam", dict(betas=(0.9, 2.0)), "Invalid beta parameter at index 1: 2.0"),
        ("Lion", dict(lr=-1.0), "Invalid learning rate: -1.0"),
        ("Lion", dict(betas=(1.5, 0.99)), "Invalid beta parameter at index 0: 1.5"),
        ("Lion", dict(weight_decay=-1.0), "Invalid weight_decay value: -1.0"),
    ],
)
def test_bad_hyperparameters_raise_torchs_messages(name, kwargs, message):
    w = Parameter(np.ones(2))
    with pytest.raises(ValueError) as info:
        getattr(optim, name)([w], **kwargs)
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [
        ("Adam", dict(betas=(1.5, 0.9))),
        ("SGD", dict(lr=-1.0)),
        ("RMSprop", dict(alpha=-0.1)),
        ("Adadelta", dict(rho=1.5)),
        ("NAdam", dict(momentum_decay=-1.0)),
    ],
    ids=str,
)
def test_bad_hyperparameters_match_torchs_messages(torch, name, kwargs):
    w = Parameter(np.ones(2))
    tw = torch.nn.Parameter(torch.ones(2))
    with pytest.raises(ValueError) as ours:
        getattr(optim, name)([w], **kwargs)
    with pytest.raises(ValueError) as theirs:
        getattr(torch.optim, name)([tw], **kwargs)
    assert str(ours.value) == str(theirs.value)


def test_defaults_match_torch(torch):
    import inspect

    for name in ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "Adamax", "NAdam"]:
        ours = inspect.signature(getattr(optim, name)).parameters
        theirs = inspect.signature(getattr(torch.optim, name)).parameters
        for arg, p in ours.items():
            if p.default is not inspect.Parameter.empty:
                assert theirs[arg].default == p.default, (name, arg)
