"""Module's API: registration, traversal, modes, state dicts, hooks, repr, init, freezing."""

import numpy as np
import pytest

import nerve
from nerve import nn
from nerve.testing import assert_close


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Linear(4, 8), nn.ReLU())
        self.head = nn.Linear(8, 3)
        self.register_buffer("steps", nerve.zeros(1))

    def forward(self, x):
        return self.head(self.features(x))


def test_registration_and_traversal():
    net = Net()
    names = [n for n, _ in net.named_parameters()]
    assert names == ["features.0.weight", "features.0.bias", "head.weight", "head.bias"]
    assert [n for n, _ in net.named_buffers()] == ["steps"]
    assert len(list(net.children())) == 2
    assert len(list(net.modules())) == 5
    assert list(net.state_dict()) == ["steps"] + names  # own state first, as in torch


def test_shared_parameters_are_listed_once():
    lin = nn.Linear(3, 3)
    seq = nn.Sequential(lin, lin)
    assert len(list(seq.parameters())) == 2


def test_train_eval_and_zero_grad():
    net = Net()
    net.eval()
    assert not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())
    net(nerve.randn(2, 4)).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())


def test_load_state_dict_strict_and_shape_errors():
    a, b = Net(), Net()
    b.load_state_dict(a.state_dict())
    x = nerve.randn(2, 4)
    assert_close(a(x), b(x))
    state = dict(a.state_dict())
    state.pop("head.bias")
    state["extra"] = np.zeros(1)
    with pytest.raises(
        KeyError, match=r"missing keys \['head.bias'\].*unexpected keys \['extra'\]"
    ):
        b.load_state_dict(state)
    result = b.load_state_dict(state, strict=False)
    assert result.missing_keys == ["head.bias"] and result.unexpected_keys == ["extra"]
    state = dict(a.state_dict())
    state["head.weight"] = np.zeros((2, 2))
    with pytest.raises(ValueError, match=r"head.weight.*\(2, 2\).*\(3, 8\)"):
        b.load_state_dict(state)


def test_state_dict_is_copied_in_not_shared():
    a, b = Net(), Net()
    b.load_state_dict(a.state_dict())
    a.head.weight.data[...] = 0
    assert b.head.weight.data.any()


def test_forward_hooks():
    net = Net()
    seen = []
    handle = net.head.register_forward_hook(lambda m, args, out: seen.append(out.shape))
    pre = net.register_forward_pre_hook(lambda m, args: (args[0] * 0.0,))
    out = net(nerve.randn(2, 4))
    assert seen == [(2, 3)]
    handle.remove()
    pre.remove()
    assert_close(out, net.head(net.features(nerve.zeros(2, 4))))
    net(nerve.randn(2, 4))
    assert seen == [(2, 3)]


def test_repr_tree():
    text = repr(Net())
    assert "(features): Sequential(" in text and "(0): Linear(in_features=4, out_features=8" in text


def test_apply_and_requires_grad():
    net = Net()
    net.apply(lambda m: nn.init.zeros_(m.bias) if isinstance(m, nn.Linear) else None)
    assert not net.head.bias.data.any()
    net.features.requires_grad_(False)
    assert not any(p.requires_grad for p in net.features.parameters())


def test_assigning_a_plain_tensor_over_a_parameter_is_refused():
    lin = nn.Linear(2, 2)
    with pytest.raises(TypeError, match="nn.Parameter"):
        lin.weight = nerve.zeros(2, 2)


def test_attribute_before_init_says_what_to_do():
    class Bad(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(np.zeros(1))

    with pytest.raises(AttributeError, match="super\\(\\).__init__"):
        Bad()


def test_linear_wrong_input_size_names_layer_and_shapes():
    with pytest.raises(ValueError, match=r"Linear\(in_features=4, out_features=8\).*\(2, 5\)"):
        nn.Linear(4, 8)(nerve.randn(2, 5))


def test_conv_wrong_channels_names_layer_and_shapes():
    with pytest.raises(ValueError, match=r"Conv2d\(3, 8.*\(2, 1, 9, 9\)"):
        nn.Conv2d(3, 8, 3)(nerve.randn(2, 1, 9, 9))


def test_bad_constructor_arguments():
    with pytest.raises(ValueError, match="divisible by groups"):
        nn.Conv2d(3, 8, 3, groups=2)
    with pytest.raises(ValueError, match="p must be in"):
        nn.Dropout(1.5)
    with pytest.raises(ValueError, match="reduction"):
        nn.MSELoss(reduction="avg")


def test_default_inits_have_torchs_bounds():
    nerve.manual_seed(0)
    lin = nn.Linear(100, 50)
    assert np.abs(lin.weight.data).max() <= 0.1 and np.abs(lin.weight.data).max() > 0.09
    conv = nn.Conv2d(4, 8, 3)
    bound = 1 / np.sqrt(4 * 9)
    assert np.abs(conv.weight.data).max() <= bound


@pytest.mark.parametrize(
    "fn,expected_std",
    [
        (lambda w: nn.init.xavier_uniform_(w), np.sqrt(2 / (200 + 300))),
        (lambda w: nn.init.xavier_normal_(w), np.sqrt(2 / (200 + 300))),
        (lambda w: nn.init.kaiming_uniform_(w, nonlinearity="relu"), np.sqrt(2 / 300)),
        (
            lambda w: nn.init.kaiming_normal_(w, mode="fan_out", nonlinearity="relu"),
            np.sqrt(2 / 200),
        ),  # fmt: skip
        (lambda w: nn.init.normal_(w, 0, 0.02), 0.02),
        (lambda w: nn.init.trunc_normal_(w, std=0.02), 0.02 * 0.98),
    ],
)
def test_init_statistics(fn, expected_std):
    w = nerve.empty(200, 300)
    fn(w)
    assert abs(w.data.std() - expected_std) < 0.03 * expected_std
    assert w.dtype == np.float32


def test_orthogonal_init_is_orthogonal():
    w = nerve.empty(6, 10)
    nn.init.orthogonal_(w)
    assert_close(w.data @ w.data.T, np.eye(6), atol=1e-5)


def test_trunc_normal_respects_bounds_and_gain():
    w = nerve.empty(1000)
    nn.init.trunc_normal_(w, a=-0.5, b=0.5)
    assert w.data.min() >= -0.5 and w.data.max() <= 0.5
    assert nn.init.calculate_gain("leaky_relu", 0.2) == pytest.approx(np.sqrt(2 / 1.04))


def test_frozen_layers_stay_bit_identical_while_the_head_learns():
    nerve.manual_seed(0)
    base = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 16), nn.ReLU())
    model = nn.Sequential(base, nn.Linear(16, 3))
    base.requires_grad_(False)
    before = {k: v.copy() for k, v in base.state_dict().items()}
    rng = np.random.default_rng(0)
    x = nerve.tensor(rng.standard_normal((64, 8)))
    y = nerve.tensor(x.data[:, :3].argmax(axis=1))  # learnable from the frozen features
    losses = []
    for _ in range(200):
        loss = nn.functional.cross_entropy(model(x), y)
        model.zero_grad()
        loss.backward()
        with nerve.no_grad():
            for p in model.parameters():
                if p.grad is not None:
                    p -= 0.5 * p.grad
        losses.append(loss.item())
    for k, v in base.state_dict().items():
        assert np.array_equal(v, before[k]), k
    assert all(p.grad is None for p in base.parameters())
    assert losses[-1] < 0.8 * losses[0]
