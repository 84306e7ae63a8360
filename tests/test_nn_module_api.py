"""Module's API: registration, traversal, modes, state dicts, hooks, repr, init, freezing."""

import numpy as np
import pytest

import nerve
from nerve import nn
from nerve.testing import assert_close

# what nerve does without a GPU: on a GPU machine these run with CUDA hidden (conftest)
pytestmark = pytest.mark.no_cuda


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
    a.head.weight._data[...] = 0
    assert b.head.weight._data.any()


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
    assert not net.head.bias._data.any()
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
    assert np.abs(lin.weight._data).max() <= 0.1 and np.abs(lin.weight._data).max() > 0.09
    conv = nn.Conv2d(4, 8, 3)
    bound = 1 / np.sqrt(4 * 9)
    assert np.abs(conv.weight._data).max() <= bound


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
    assert abs(w._data.std() - expected_std) < 0.03 * expected_std
    assert w.dtype == np.float32


def test_orthogonal_init_is_orthogonal():
    w = nerve.empty(6, 10)
    nn.init.orthogonal_(w)
    assert_close(w._data @ w._data.T, np.eye(6), atol=1e-5)


def test_trunc_normal_respects_bounds_and_gain():
    w = nerve.empty(1000)
    nn.init.trunc_normal_(w, a=-0.5, b=0.5)
    assert w._data.min() >= -0.5 and w._data.max() <= 0.5
    assert nn.init.calculate_gain("leaky_relu", 0.2) == pytest.approx(np.sqrt(2 / 1.04))


def test_frozen_layers_stay_bit_identical_while_the_head_learns():
    nerve.manual_seed(0)
    base = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 16), nn.ReLU())
    model = nn.Sequential(base, nn.Linear(16, 3))
    base.requires_grad_(False)
    before = {k: v.clone() for k, v in base.state_dict().items()}
    rng = np.random.default_rng(0)
    x = nerve.tensor(rng.standard_normal((64, 8)))
    y = nerve.tensor(x._data[:, :3].argmax(axis=1))  # learnable from the frozen features
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


# ----------------------------------------------------------------------------- issue 14
def test_to_dtype_casts_floating_state_in_place_and_keeps_identity():
    net = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    weight = net[0].weight
    opt = nerve.optim.SGD(net.parameters(), lr=0.1)
    assert net.to(nerve.float64) is net
    assert net[0].weight is weight and opt.param_groups[0]["params"][0] is weight
    assert all(p.dtype == np.float64 for p in net.parameters())
    assert net[1].running_mean.dtype == np.float64
    assert net[1].num_batches_tracked.dtype == np.int64  # integer buffers keep their dtype
    out = net(nerve.tensor(np.ones((2, 3)), dtype=np.float64))
    assert out.dtype == np.float64
    assert net.float() is net and weight.dtype == np.float32
    net.half()
    assert weight.dtype == np.float16
    net.to(device="cpu", dtype=nerve.float32)
    assert weight.dtype == np.float32
    net.to(nerve.zeros(1, dtype=np.float64))  # to(tensor): its dtype (and device)
    assert weight.dtype == np.float64
    net.double().to("cpu")
    net.to(np.float32, non_blocking=True)
    assert weight.dtype == np.float32


def test_to_and_cuda_errors_are_clear():
    net = nn.Linear(2, 2)
    assert net.cpu() is net and net.to("cpu") is net
    with pytest.raises(RuntimeError, match="'cuda' is not available"):
        net.to("cuda")
    with pytest.raises(RuntimeError, match="is not available"):
        net.cuda()
    with pytest.raises(TypeError, match="only accepts floating point"):
        net.to(np.int64)
    with pytest.raises(TypeError, match="expects a device"):
        net.to([1, 2])


def test_state_dict_values_are_tensors_sharing_memory_with_the_parameters():
    net = Net()
    sd = net.state_dict()
    assert all(isinstance(v, nerve.Tensor) for v in sd.values())
    assert not any(v.requires_grad for v in sd.values())
    snapshot = {k: v.clone() for k, v in sd.items()}
    detached = sd["head.weight"].detach()
    sd["head.weight"]._data[...] = 0  # writes through, as torch's state_dict tensors do
    assert not net.head.weight._data.any() and not detached._data.any()
    assert snapshot["head.weight"]._data.any()
    net.load_state_dict(snapshot)  # Tensors load
    assert_close(net.head.weight, snapshot["head.weight"])
    net.load_state_dict({k: v.numpy() for k, v in snapshot.items()})  # and so do arrays
    kept = net.state_dict(keep_vars=True)
    assert kept["head.weight"] is net.head.weight
    prefixed = net.state_dict(prefix="model.")
    assert list(prefixed)[0] == "model.steps"


def test_state_dict_saves_and_loads_through_nerve_save(tmp_path):
    net = Net()
    path = str(tmp_path / "net.safetensors")
    nerve.save(net.state_dict(), path)
    fresh = Net()
    fresh.load_state_dict(nerve.load(path))
    for k, v in net.state_dict().items():
        assert_close(fresh.state_dict()[k], v)


def test_load_state_dict_errors_are_runtime_errors_as_in_torch():
    a, b = Net(), Net()
    state = dict(a.state_dict())
    state.pop("head.bias")
    with pytest.raises(RuntimeError, match="missing keys \\['head.bias'\\]"):
        b.load_state_dict(state)
    state = dict(a.state_dict())
    state["head.weight"] = np.zeros((2, 2))
    with pytest.raises(RuntimeError, match="size mismatch for 'head.weight'"):
        b.load_state_dict(state)
    bias = b.head.bias._data.copy()  # a failed load leaves the model untouched
    state["head.bias"] = np.ones(3)
    with pytest.raises(ValueError):
        b.load_state_dict(state)
    assert np.array_equal(b.head.bias._data, bias)


def test_non_persistent_buffers_and_registration_names():
    net = Net()
    net.register_buffer("scratch", nerve.ones(2), persistent=False)
    assert "scratch" not in net.state_dict()
    assert "scratch" in dict(net.named_buffers())
    net.register_buffer("scratch", nerve.ones(2))  # re-registered persistent
    assert "scratch" in net.state_dict()
    with pytest.raises(KeyError, match="contain"):
        net.register_buffer("a.b", nerve.ones(1))
    net.plain = 3
    with pytest.raises(KeyError, match="already exists"):
        net.register_buffer("plain", nerve.ones(1))
    with pytest.raises(KeyError, match="empty string"):
        net.register_module("", nn.ReLU())
    net.register_module("extra", nn.ReLU())
    assert net.get_submodule("extra") is net.extra


def test_get_submodule_parameter_and_buffer():
    net = Net()
    assert net.get_submodule("") is net
    assert net.get_submodule("features.0") is net.features[0]
    assert net.get_parameter("features.0.weight") is net.features[0].weight
    assert net.get_buffer("steps") is net.steps
    with pytest.raises(AttributeError, match="has no attribute `nope`"):
        net.get_submodule("features.nope")
    with pytest.raises(AttributeError, match="`steps` is not an nn.Parameter"):
        net.get_parameter("steps")
    with pytest.raises(AttributeError, match="not a buffer"):
        net.get_buffer("head.weight")


def test_named_modules_memo_prefix_and_duplicates():
    lin = nn.Linear(2, 2)
    seq = nn.Sequential(lin, nn.ReLU(), lin)
    assert [n for n, _ in seq.named_modules()] == ["", "0", "1"]
    assert [n for n, _ in seq.named_modules(remove_duplicate=False)] == ["", "0", "1", "2"]
    assert [n for n, _ in seq.named_modules(prefix="m")] == ["m", "m.0", "m.1"]
    memo = {id(lin)}
    assert [n for n, _ in seq.named_modules(memo)] == ["", "1"]
    assert len(list(seq.named_parameters(remove_duplicate=False))) == 4


def test_zero_grad_to_zeros_apply_returns_self_and_train_checks_its_argument():
    net = Net()
    net(nerve.randn(2, 4)).sum().backward()
    net.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not p.grad._data.any() for p in net.parameters())
    assert net.apply(lambda m: None) is net
    with pytest.raises(ValueError, match="boolean"):
        net.train("no")


def test_repr_matches_torch(torch):
    def build(m):
        return m.Sequential(
            m.Conv2d(1, 4, 3),
            m.ReLU(),
            m.Flatten(),
            m.Linear(16, 8),
            m.Dropout(0.25),
            m.Hardtanh(-2.0, 2.0),
            m.LSTMCell(8, 3),
        )

    assert repr(build(nn)) == repr(build(torch.nn))


def test_hooks_with_kwargs_prepend_and_context_manager():
    class Scale(nn.Module):
        def forward(self, x, factor=1.0):
            return x * factor

    m = Scale()
    order = []
    m.register_forward_hook(lambda mod, args, out: order.append("second"))
    m.register_forward_hook(lambda mod, args, out: order.append("first"), prepend=True)
    pre = m.register_forward_pre_hook(
        lambda mod, args, kwargs: (args, {**kwargs, "factor": 3.0}), with_kwargs=True
    )
    seen = []
    with m.register_forward_hook(
        lambda mod, args, kwargs, out: seen.append(kwargs["factor"]), with_kwargs=True
    ):
        out = m(nerve.ones(2), factor=2.0)
    assert out.tolist() == [3.0, 3.0] and seen == [3.0] and order == ["first", "second"]
    pre.remove()
    assert m(nerve.ones(2), factor=2.0).tolist() == [2.0, 2.0]
    assert seen == [3.0]  # the context manager removed its hook


def test_batchnorm_counter_may_be_absent_from_a_loaded_dict_as_in_torch(torch):
    ours = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2))
    theirs = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.BatchNorm1d(2))
    partial = {k: v for k, v in ours.state_dict().items() if k.startswith("0.")}
    t_partial = {k: v for k, v in theirs.state_dict().items() if k.startswith("0.")}
    got = ours.load_state_dict(partial, strict=False)
    want = theirs.load_state_dict(t_partial, strict=False)
    assert got.missing_keys == list(want.missing_keys)
    assert got.unexpected_keys == list(want.unexpected_keys) == []
