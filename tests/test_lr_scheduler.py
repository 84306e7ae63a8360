"""Learning-rate schedules: the rate sequence equals torch.optim.lr_scheduler's, epoch by epoch.

Each case is one function that builds the schedule from a module (``nerve.optim.lr_scheduler``
or ``torch.optim.lr_scheduler``) and an optimizer, so the same call runs on both. Both sides
compute in Python floats with the same formulas (torch's recursive forms), so the sequences are
compared for equality, not closeness.
"""

import math

import numpy as np
import pytest

from nerve import optim
from nerve.nn import Parameter
from nerve.optim import lr_scheduler

EPOCHS = 50


def make_optimizers(torch, kind="SGD", lrs=(0.1, 0.01)):
    """The same two param groups in nerve and torch (no gradients: step() skips them all)."""
    a, b = Parameter(np.ones(3)), Parameter(np.ones(2))
    ta, tb = torch.nn.Parameter(torch.ones(3)), torch.nn.Parameter(torch.ones(2))
    extra = dict(momentum=0.9) if kind == "SGD" else {}
    opt = getattr(optim, kind)([{"params": [a], "lr": lrs[0]}, {"params": [b], "lr": lrs[1]}])
    topt = getattr(torch.optim, kind)(
        [{"params": [ta], "lr": lrs[0]}, {"params": [tb], "lr": lrs[1]}]
    )
    for o in (opt, topt):
        for g in o.param_groups:
            g.update(extra)
    return opt, topt


def trace(opt, sched, epochs=EPOCHS, momentum_key=None):
    """get_last_lr() and the groups' rates at epoch 0 and after each of ``epochs`` steps."""
    rows = []
    for epoch in range(epochs + 1):
        if epoch:
            opt.step()
            sched.step()
        row = [sched.get_last_lr(), [g["lr"] for g in opt.param_groups]]
        if momentum_key == "momentum":
            row.append([g["momentum"] for g in opt.param_groups])
        elif momentum_key == "betas":
            row.append([tuple(g["betas"]) for g in opt.param_groups])
        rows.append(row)
    return rows


def assert_same_trace(ours, theirs):
    assert len(ours) == len(theirs)
    for epoch, (a, b) in enumerate(zip(ours, theirs)):
        assert a == b, f"epoch {epoch}: nerve {a} != torch {b}"


CASES = {
    "StepLR": lambda m, o: m.StepLR(o, step_size=7, gamma=0.5),
    "StepLR-default-gamma": lambda m, o: m.StepLR(o, step_size=3),
    "MultiStepLR": lambda m, o: m.MultiStepLR(o, milestones=[5, 12, 12, 30], gamma=0.3),
    "ExponentialLR": lambda m, o: m.ExponentialLR(o, gamma=0.93),
    "CosineAnnealingLR-periods": lambda m, o: m.CosineAnnealingLR(o, T_max=10, eta_min=1e-3),
    "CosineAnnealingLR-one": lambda m, o: m.CosineAnnealingLR(o, T_max=EPOCHS),
    "CosineAnnealingWarmRestarts": lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=7),
    "CosineAnnealingWarmRestarts-mult": lambda m, o: m.CosineAnnealingWarmRestarts(
        o, T_0=3, T_mult=2, eta_min=1e-4
    ),
    "LinearLR-default": lambda m, o: m.LinearLR(o),
    "LinearLR": lambda m, o: m.LinearLR(o, start_factor=0.1, end_factor=0.5, total_iters=20),
    "LinearLR-decay": lambda m, o: m.LinearLR(o, start_factor=1.0, end_factor=0.0, total_iters=30),
    "LambdaLR": lambda m, o: m.LambdaLR(o, lambda e: 0.95**e),
    "LambdaLR-per-group": lambda m, o: m.LambdaLR(o, [lambda e: 1 / (1 + e), lambda e: e % 4]),
    "SequentialLR-warmup-cosine": lambda m, o: m.SequentialLR(
        o,
        [m.LinearLR(o, start_factor=0.1, total_iters=5), m.CosineAnnealingLR(o, T_max=45)],
        milestones=[5],
    ),
    "SequentialLR-three": lambda m, o: m.SequentialLR(
        o,
        [
            m.LinearLR(o, start_factor=0.25, total_iters=4),
            m.StepLR(o, step_size=5, gamma=0.5),
            m.ExponentialLR(o, gamma=0.9),
        ],
        milestones=[6, 20],
    ),
    "SequentialLR-lambda-then-multistep": lambda m, o: m.SequentialLR(
        o,
        [m.LambdaLR(o, lambda e: (e + 1) / 10), m.MultiStepLR(o, milestones=[3, 10])],
        milestones=[10],
    ),
    "ConstantLR": lambda m, o: m.ConstantLR(o),
    "ConstantLR-half": lambda m, o: m.ConstantLR(o, factor=0.5, total_iters=12),
    "PolynomialLR": lambda m, o: m.PolynomialLR(o),
    "PolynomialLR-power": lambda m, o: m.PolynomialLR(o, total_iters=30, power=2.0),
    "ChainedScheduler": lambda m, o: m.ChainedScheduler(
        [m.ConstantLR(o, factor=0.1, total_iters=4), m.ExponentialLR(o, gamma=0.9)]
    ),
    "ChainedScheduler-three": lambda m, o: m.ChainedScheduler(
        [
            m.LinearLR(o, start_factor=0.2, total_iters=6),
            m.StepLR(o, step_size=10, gamma=0.5),
            m.PolynomialLR(o, total_iters=40, power=0.5),
        ]
    ),
    "SequentialLR-constant-then-poly": lambda m, o: m.SequentialLR(
        o, [m.ConstantLR(o, factor=0.5, total_iters=3), m.PolynomialLR(o, 20)], milestones=[5]
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_lr_sequence_matches_torch(torch, case):
    build = CASES[case]
    opt, topt = make_optimizers(torch)
    ours = trace(opt, build(lr_scheduler, opt))
    theirs = trace(topt, build(torch.optim.lr_scheduler, topt))
    assert_same_trace(ours, theirs)


ONE_CYCLE = {
    "default": dict(max_lr=[0.1, 0.05], total_steps=EPOCHS),
    "epochs-x-steps": dict(max_lr=0.2, epochs=5, steps_per_epoch=10),
    "linear-three-phase": dict(
        max_lr=0.1, total_steps=EPOCHS, anneal_strategy="linear", three_phase=True
    ),
    "cos-three-phase": dict(
        max_lr=0.3,
        total_steps=EPOCHS,
        three_phase=True,
        pct_start=0.25,
        div_factor=10.0,
        final_div_factor=100.0,
    ),
    "no-momentum": dict(max_lr=0.1, total_steps=EPOCHS, cycle_momentum=False),
    "momentum-per-group": dict(
        max_lr=0.1, total_steps=EPOCHS, base_momentum=[0.8, 0.7], max_momentum=[0.9, 0.99]
    ),
}


@pytest.mark.parametrize("kind", ["SGD", "Adam"])
@pytest.mark.parametrize("case", sorted(ONE_CYCLE))
def test_one_cycle_per_step_matches_torch(torch, case, kind):
    kwargs = ONE_CYCLE[case]
    opt, topt = make_optimizers(torch, kind)
    key = None if not kwargs.get("cycle_momentum", True) else {"SGD": "momentum"}.get(kind, "betas")
    ours = trace(opt, lr_scheduler.OneCycleLR(opt, **kwargs), momentum_key=key)
    theirs = trace(topt, torch.optim.lr_scheduler.OneCycleLR(topt, **kwargs), momentum_key=key)
    assert_same_trace(ours, theirs)
    for g in ("initial_lr", "max_lr", "min_lr"):
        assert [x[g] for x in opt.param_groups] == [x[g] for x in topt.param_groups]


def test_one_cycle_refuses_to_step_past_the_end():
    opt = optim.SGD([Parameter(np.ones(1))], lr=0.1, momentum=0.9)
    sched = lr_scheduler.OneCycleLR(opt, max_lr=1.0, total_steps=3)
    for _ in range(3):
        sched.step()
    with pytest.raises(ValueError, match="Tried to step 4 times"):
        sched.step()


CYCLIC = {
    "triangular": dict(base_lr=0.01, max_lr=0.1, step_size_up=4),
    "triangular-asymmetric": dict(
        base_lr=[0.01, 0.001], max_lr=[0.1, 0.05], step_size_up=3, step_size_down=7
    ),
    "triangular2": dict(base_lr=0.01, max_lr=0.1, step_size_up=5, mode="triangular2"),
    "exp_range": dict(base_lr=0.01, max_lr=0.1, step_size_up=4, mode="exp_range", gamma=0.97),
    "no-momentum": dict(base_lr=0.01, max_lr=0.1, step_size_up=6, cycle_momentum=False),
    "scale_fn-iterations": dict(
        base_lr=0.01,
        max_lr=0.1,
        step_size_up=5,
        scale_fn=lambda x: 1 / (1 + 0.01 * x),
        scale_mode="iterations",
    ),
    "momentum-bounds": dict(
        base_lr=0.01, max_lr=0.1, step_size_up=3, base_momentum=[0.7, 0.6], max_momentum=0.95
    ),
}


@pytest.mark.parametrize("kind", ["SGD", "Adam"])
@pytest.mark.parametrize("case", sorted(CYCLIC))
def test_cyclic_lr_matches_torch(torch, case, kind):
    kwargs = CYCLIC[case]
    opt, topt = make_optimizers(torch, kind)
    key = None if not kwargs.get("cycle_momentum", True) else {"SGD": "momentum"}.get(kind, "betas")
    ours = trace(opt, lr_scheduler.CyclicLR(opt, **kwargs), momentum_key=key)
    theirs = trace(topt, torch.optim.lr_scheduler.CyclicLR(topt, **kwargs), momentum_key=key)
    assert_same_trace(ours, theirs)


def test_cyclic_and_constant_errors():
    opt = optim.Adagrad([Parameter(np.ones(1))], lr=0.1)
    with pytest.raises(ValueError, match="must support momentum or beta1"):
        lr_scheduler.CyclicLR(opt, 0.01, 0.1)
    with pytest.raises(ValueError, match="mode 'sawtooth' is invalid"):
        lr_scheduler.CyclicLR(opt, 0.01, 0.1, mode="sawtooth", cycle_momentum=False)
    with pytest.raises(ValueError, match="between 0 and 1"):
        lr_scheduler.ConstantLR(opt, factor=1.5)
    other = optim.SGD([Parameter(np.ones(1))], lr=0.1)
    with pytest.raises(ValueError, match="same optimizer"):
        lr_scheduler.ChainedScheduler([lr_scheduler.StepLR(opt, 2), lr_scheduler.StepLR(other, 2)])


def metric_sequence():
    """Improves, plateaus with noise, improves a little, plateaus again: 50 values."""
    rng = np.random.default_rng(3)
    values = list(np.linspace(1.0, 0.5, 10))
    values += list(0.5 + 0.001 * rng.standard_normal(15))
    values += list(np.linspace(0.49, 0.4, 5))
    values += list(0.4 + 0.00002 * rng.standard_normal(20))
    return [float(v) for v in values]


PLATEAU = {
    "min-rel": dict(mode="min", patience=3),
    "min-abs-cooldown": dict(mode="min", threshold=0.01, threshold_mode="abs", cooldown=2),
    "max-rel": dict(mode="max", factor=0.5, patience=2, min_lr=[0.02, 0.001]),
    "max-abs": dict(mode="max", threshold=1e-3, threshold_mode="abs", patience=0, min_lr=1e-3),
    "min-default": dict(),
}


@pytest.mark.parametrize("case", sorted(PLATEAU))
def test_reduce_on_plateau_matches_torch(torch, case):
    kwargs = PLATEAU[case]
    sign = -1.0 if kwargs.get("mode") == "max" else 1.0
    metrics = [sign * v for v in metric_sequence()]
    results = []
    for module, opt in zip((lr_scheduler, torch.optim.lr_scheduler), make_optimizers(torch)):
        sched = module.ReduceLROnPlateau(opt, **kwargs)
        rows = [sched.get_last_lr()]
        for value in metrics:
            opt.step()
            sched.step(value)
            rows.append([sched.get_last_lr(), sched.num_bad_epochs, sched.best])
        results.append(rows)
    assert_same_trace(*results)
    assert results[0][-1][0] != results[0][0]  # the schedule did cut the rate


# ------------------------------------------------------------------------------- state dicts
@pytest.mark.parametrize(
    "case",
    [
        "StepLR",
        "CosineAnnealingLR-periods",
        "SequentialLR-three",
        "LinearLR",
        "ConstantLR",
        "PolynomialLR-power",
        "ChainedScheduler-three",
    ],
)
def test_state_dict_round_trip_resumes_identically(case):
    build = CASES[case]

    def optimizer():
        return optim.SGD(
            [{"params": [Parameter(np.ones(1))], "lr": 0.1}, {"params": [Parameter(np.ones(1))]}],
            lr=0.01,
        )

    opt = optimizer()
    straight = trace(opt, build(lr_scheduler, opt), epochs=40)

    opt = optimizer()
    sched = build(lr_scheduler, opt)
    first = trace(opt, sched, epochs=20)
    saved_opt, saved_sched = opt.state_dict(), sched.state_dict()

    opt2 = optimizer()
    sched2 = build(lr_scheduler, opt2)
    opt2.load_state_dict(saved_opt)
    sched2.load_state_dict(saved_sched)
    rest = trace(opt2, sched2, epochs=20)
    assert first + rest[1:] == straight


def test_plateau_state_dict_round_trip():
    metrics = metric_sequence()

    def build():
        opt = optim.SGD([Parameter(np.ones(1))], lr=0.1)
        return opt, lr_scheduler.ReduceLROnPlateau(opt, patience=2, cooldown=1)

    opt, sched = build()
    for v in metrics:
        sched.step(v)
    straight = sched.get_last_lr()
    opt, sched = build()
    for v in metrics[:25]:
        sched.step(v)
    saved_opt, saved = opt.state_dict(), sched.state_dict()
    opt2, sched2 = build()
    opt2.load_state_dict(saved_opt)
    sched2.load_state_dict(saved)
    for v in metrics[25:]:
        sched2.step(v)
    assert sched2.get_last_lr() == straight


def test_warm_restarts_fractional_epochs_match_torch(torch):
    opt, topt = make_optimizers(torch)
    ours = lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=4, T_mult=2, eta_min=0.001)
    theirs = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(
        topt, T_0=4, T_mult=2, eta_min=0.001
    )
    for epoch in range(12):
        for i in range(5):
            opt.step()
            topt.step()
            ours.step(epoch + i / 5)
            theirs.step(epoch + i / 5)
            assert ours.get_last_lr() == theirs.get_last_lr()
            assert ours.T_cur == theirs.T_cur and ours.T_i == theirs.T_i


def test_base_lrs_last_epoch_and_initial_lr():
    opt = optim.SGD([Parameter(np.ones(1))], lr=0.5)
    sched = lr_scheduler.ExponentialLR(opt, gamma=0.5)
    assert sched.base_lrs == [0.5] and sched.last_epoch == 0
    assert opt.param_groups[0]["initial_lr"] == 0.5
    sched.step()
    sched.step()
    assert sched.last_epoch == 2 and sched.get_last_lr() == [0.125]
    assert math.isclose(opt.param_groups[0]["lr"], 0.125)
    # Resuming from a later epoch needs initial_lr in the groups, which a fresh optimizer lacks.
    with pytest.raises(KeyError, match="initial_lr"):
        lr_scheduler.StepLR(optim.SGD([Parameter(np.ones(1))], lr=0.5), step_size=2, last_epoch=3)


def test_resume_with_last_epoch_matches_torch(torch):
    opt, topt = make_optimizers(torch)
    for o in (opt, topt):
        for g in o.param_groups:
            g["initial_lr"] = g["lr"]
    ours = trace(opt, lr_scheduler.CosineAnnealingLR(opt, T_max=20, last_epoch=7), epochs=10)
    theirs = trace(
        topt, torch.optim.lr_scheduler.CosineAnnealingLR(topt, T_max=20, last_epoch=7), epochs=10
    )
    assert_same_trace(ours, theirs)


# ------------------------------------------------------------------------------- bad arguments
@pytest.mark.parametrize(
    ("build", "error", "message"),
    [
        (lambda o: lr_scheduler.StepLR(object(), 3), TypeError, "object is not an Optimizer"),
        (lambda o: lr_scheduler.LinearLR(o, start_factor=0), ValueError, "Starting mult"),
        (lambda o: lr_scheduler.LinearLR(o, end_factor=1.5), ValueError, "Ending mult"),
        (lambda o: lr_scheduler.LambdaLR(o, [lambda e: 1.0] * 3), ValueError, "same length"),
        (lambda o: lr_scheduler.CosineAnnealingWarmRestarts(o, T_0=0), ValueError, "T_0"),
        (lambda o: lr_scheduler.CosineAnnealingWarmRestarts(o, 2, T_mult=0), ValueError, "T_mult"),
        (lambda o: lr_scheduler.OneCycleLR(o, 0.1), ValueError, "total_steps OR"),
        (lambda o: lr_scheduler.OneCycleLR(o, 0.1, total_steps=0), ValueError, "total_steps"),
        (lambda o: lr_scheduler.OneCycleLR(o, 0.1, 10, pct_start=1.5), ValueError, "pct_start"),
        (
            lambda o: lr_scheduler.OneCycleLR(o, 0.1, 10, anneal_strategy="exp"),
            ValueError,
            "anneal_strategy",
        ),
        (lambda o: lr_scheduler.OneCycleLR(o, [0.1, 0.2], 10), ValueError, "max_lr must have"),
        (lambda o: lr_scheduler.ReduceLROnPlateau(o, factor=1.0), ValueError, "Factor should be"),
        (lambda o: lr_scheduler.ReduceLROnPlateau(o, mode="up"), ValueError, "mode up is unknown"),
        (
            lambda o: lr_scheduler.ReduceLROnPlateau(o, threshold_mode="x"),
            ValueError,
            "threshold mode x",
        ),
        (lambda o: lr_scheduler.ReduceLROnPlateau(o, min_lr=[0, 0]), ValueError, "min_lrs"),
        (
            lambda o: lr_scheduler.SequentialLR(o, [lr_scheduler.StepLR(o, 2)], milestones=[3]),
            ValueError,
            "one more than the number of milestone",
        ),
        (
            lambda o: lr_scheduler.SequentialLR(
                o, [lr_scheduler.ReduceLROnPlateau(o), lr_scheduler.StepLR(o, 2)], [3]
            ),
            ValueError,
            "ReduceLROnPlateau",
        ),
    ],
)
def test_bad_arguments(build, error, message):
    opt = optim.SGD([Parameter(np.ones(1))], lr=0.1, momentum=0.9)
    with pytest.raises(error, match=message):
        build(opt)


def test_one_cycle_needs_momentum():
    opt = optim.Adagrad([Parameter(np.ones(1))])
    with pytest.raises(ValueError, match="momentum or beta1"):
        lr_scheduler.OneCycleLR(opt, 0.1, total_steps=10)
    lr_scheduler.OneCycleLR(opt, 0.1, total_steps=10, cycle_momentum=False)


def test_sequential_needs_one_optimizer():
    a = optim.SGD([Parameter(np.ones(1))], lr=0.1)
    b = optim.SGD([Parameter(np.ones(1))], lr=0.1)
    with pytest.raises(ValueError, match="same optimizer"):
        lr_scheduler.SequentialLR(
            a, [lr_scheduler.StepLR(a, 2), lr_scheduler.StepLR(b, 2)], milestones=[3]
        )
