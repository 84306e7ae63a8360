"""The modules, functionals and Module behaviours the torch door added in issue 14, each against
torch.nn with the same weights: outputs and every gradient."""

import numpy as np
import pytest

import nerve
from nerve import nn
from nerve.nn import functional as F
from nerve.testing import assert_close


def _copy(n, t):
    return n.load_state_dict({k: v.detach().numpy() for k, v in t.state_dict().items()})


def _pair(torch, arrays, grad=True):
    ns = [nerve.tensor(a, requires_grad=grad and a.dtype.kind == "f") for a in arrays]
    ts = [torch.tensor(a, requires_grad=grad and a.dtype.kind == "f") for a in arrays]
    return ns, ts


def _check(torch, n_out, t_out, ns, ts, n_mod=None, t_mod=None, rtol=1e-5, atol=1e-5):
    """Same outputs, then the same gradients of sum(out * w) for inputs and parameters."""
    n_outs = n_out if isinstance(n_out, tuple) else (n_out,)
    t_outs = t_out if isinstance(t_out, tuple) else (t_out,)
    n_total, t_total = 0, 0
    rng = np.random.default_rng(1)
    for a, b in zip(n_outs, t_outs):
        assert_close(a, b.detach().numpy(), rtol=rtol, atol=atol)
        w = rng.standard_normal(tuple(b.shape)).astype(np.float32)
        n_total = n_total + (a * nerve.tensor(w)).sum()
        t_total = t_total + (b * torch.tensor(w)).sum()
    n_total.backward()
    t_total.backward()
    for a, b in zip(ns, ts):
        if b.grad is not None:  # no gradient at all (None) counts as zeros, as torch gives
            got = a.grad if a.grad is not None else np.zeros(tuple(b.shape), np.float32)
            assert_close(got, b.grad.numpy(), rtol=rtol, atol=atol)
    if n_mod is not None:
        tp = dict(t_mod.named_parameters())
        for name, p in n_mod.named_parameters():
            if tp[name].grad is not None:
                assert_close(p.grad, tp[name].grad.numpy(), rtol=rtol, atol=atol, msg=name + ": ")


# ----------------------------------------------------------------------------- activations
ACTIVATIONS = [
    ("Hardtanh", ()),
    ("Hardtanh", (-0.5, 2.0)),
    ("ReLU6", ()),
    ("Hardsigmoid", ()),
    ("Hardswish", ()),
    ("Mish", ()),
    ("Softsign", ()),
    ("Tanhshrink", ()),
    ("Softshrink", ()),
    ("Softshrink", (0.3,)),
    ("Hardshrink", (0.7,)),
    ("Threshold", (0.1, 20.0)),
    ("LogSigmoid", ()),
    ("CELU", (0.6,)),
    ("GLU", ()),
    ("GLU", (2,)),
    ("Softmin", (1,)),
    ("Softmax2d", ()),
    ("PReLU", ()),
    ("PReLU", (3, 0.1)),
]


@pytest.mark.parametrize("name,args", ACTIVATIONS, ids=str)
def test_activation_matches_torch(torch, name, args):
    x = np.random.default_rng(0).standard_normal((2, 3, 4, 6)).astype(np.float32) * 4
    x[np.abs(np.abs(x) - 3) < 0.05] += 0.2  # away from the kinks at +-3
    t, n = getattr(torch.nn, name)(*args), getattr(nn, name)(*args)
    _copy(n, t)
    ns, ts = _pair(torch, [x])
    _check(torch, n(ns[0]), t(ts[0]), ns, ts, n, t)
    assert repr(n) == repr(t)


def test_rrelu_eval_is_the_mean_slope_and_training_draws_within_bounds(torch):
    x = np.random.default_rng(0).standard_normal((50, 8)).astype(np.float32)
    t, n = torch.nn.RReLU(0.1, 0.3).eval(), nn.RReLU(0.1, 0.3).eval()
    assert_close(n(nerve.tensor(x)), t(torch.tensor(x)).numpy())
    y = nn.RReLU(0.1, 0.3).train()(nerve.tensor(x)).numpy()
    slopes = y[x < 0] / x[x < 0]
    assert slopes.min() >= 0.1 and slopes.max() <= 0.3 and slopes.std() > 0.01
    assert np.array_equal(y[x >= 0], x[x >= 0])


def test_activation_errors_name_the_op():
    with pytest.raises(ValueError, match="glu.*dimension 1 is size 5"):
        F.glu(nerve.randn(2, 5), 1)
    with pytest.raises(ValueError, match="prelu.*4 elements.*3 channels"):
        F.prelu(nerve.randn(2, 3, 4), nerve.ones(4))
    with pytest.raises(ValueError, match="softshrink.*lambda"):
        F.softshrink(nerve.randn(3), -1.0)
    with pytest.raises(ValueError, match="Softmax2d.*3 or 4 dims"):
        nn.Softmax2d()(nerve.randn(3, 4))


# ----------------------------------------------------------------------------- dropout
def test_channel_dropouts_and_alpha_dropout():
    x = nerve.ones(4, 16, 5, 5)
    y = nn.Dropout2d(0.5)(x).numpy()
    per_channel = y.reshape(4, 16, -1)
    assert np.all((per_channel == 0).all(-1) | (per_channel == 2).all(-1))
    assert nn.Dropout1d(0.5).eval()(x[:, :, 0]) is not None
    y3 = nn.Dropout3d(0.5)(nerve.ones(2, 8, 2, 2, 2)).numpy().reshape(2, 8, -1)
    assert np.all((y3 == 0).all(-1) | (y3 == 2).all(-1))
    assert repr(nn.Dropout2d(0.3)) == "Dropout2d(p=0.3, inplace=False)"
    # alpha dropout keeps a standard normal's mean and variance
    big = nerve.tensor(np.random.default_rng(0).standard_normal(200_000).astype(np.float32))
    out = nn.AlphaDropout(0.2)(big).numpy()
    assert out.dtype == np.float32
    assert abs(out.mean()) < 0.02 and abs(out.std() - 1) < 0.02
    alpha = -1.7580993408473766
    a = (0.8 * (1 + 0.2 * alpha**2)) ** -0.5
    dropped = np.isclose(out, a * alpha - a * alpha * 0.2)  # one value for every dropped unit
    assert abs(dropped.mean() - 0.2) < 0.01
    assert np.array_equal(nn.AlphaDropout(0.2).eval()(big).numpy(), big.numpy())


def test_alpha_dropout_is_torchs_affine_map_given_the_mask():
    x = np.random.default_rng(0).standard_normal((6, 7)).astype(np.float32)
    nerve.manual_seed(3)
    y = F.alpha_dropout(nerve.tensor(x), 0.3, training=True).numpy()
    alpha = -1.7580993408473766
    a = (0.7 * (1 + 0.3 * alpha**2)) ** -0.5
    b = -a * alpha * 0.3
    keep = ~np.isclose(y, a * alpha + b)
    assert 0 < keep.sum() < keep.size
    assert_close(y, np.where(keep, a * x + b, a * alpha + b), atol=1e-5)


# ----------------------------------------------------------------------------- recurrent cells
@pytest.mark.parametrize("name", ["RNNCell", "LSTMCell", "GRUCell"])
@pytest.mark.parametrize("bias", [True, False])
def test_cells_match_torch_over_a_few_steps(torch, name, bias):
    rng = np.random.default_rng(0)
    t, n = getattr(torch.nn, name)(5, 7, bias=bias), getattr(nn, name)(5, 7, bias=bias)
    _copy(n, t)
    assert [k for k, _ in n.named_parameters()] == [k for k, _ in t.named_parameters()]
    xs = [rng.standard_normal((3, 5)).astype(np.float32) for _ in range(3)]
    ns, ts = _pair(torch, xs)
    hn = ht = None
    for xn, xt in zip(ns, ts):
        hn, ht = n(xn, hn), t(xt, ht)
    _check(torch, hn, ht, ns, ts, n, t)


def test_cells_unbatched_and_relu_and_errors(torch):
    t, n = torch.nn.RNNCell(4, 3, nonlinearity="relu"), nn.RNNCell(4, 3, nonlinearity="relu")
    _copy(n, t)
    x = np.random.default_rng(0).standard_normal(4).astype(np.float32)
    h0 = np.random.default_rng(1).standard_normal(3).astype(np.float32)
    assert_close(
        n(nerve.tensor(x), nerve.tensor(h0)), t(torch.tensor(x), torch.tensor(h0)).detach()
    )
    assert repr(n) == repr(t)
    lstm_t, lstm_n = torch.nn.LSTMCell(4, 3), nn.LSTMCell(4, 3)
    _copy(lstm_n, lstm_t)
    h, c = lstm_n(nerve.tensor(x))
    ht, ct = lstm_t(torch.tensor(x))
    assert_close(h, ht.detach()) and assert_close(c, ct.detach())
    with pytest.raises(ValueError, match=r"LSTMCell\(input_size=4\).*\(2, 5\)"):
        lstm_n(nerve.randn(2, 5))
    with pytest.raises(ValueError, match=r"GRUCell: expected hx of shape \(2, 3\)"):
        nn.GRUCell(4, 3)(nerve.randn(2, 4), nerve.randn(3, 3))


def test_rnn_flatten_parameters_is_a_no_op():
    lstm = nn.LSTM(3, 4)
    before = [p.numpy().copy() for p in lstm.parameters()]
    assert lstm.flatten_parameters() is None
    assert all(np.array_equal(a, p.numpy()) for a, p in zip(before, lstm.parameters()))


# ----------------------------------------------------------------------------- transformer
def test_transformer_defaults_and_mask_match_torch(torch):
    n = nn.Transformer()
    t = torch.nn.Transformer()
    assert list(n.state_dict()) == list(t.state_dict())
    assert all(tuple(v.shape) == tuple(t.state_dict()[k].shape) for k, v in n.state_dict().items())
    mask = nn.Transformer.generate_square_subsequent_mask(5)
    assert_close(mask, t.generate_square_subsequent_mask(5).numpy())
    assert mask.dtype == np.float32


@pytest.mark.parametrize("batch_first,norm_first", [(False, False), (True, True)])
def test_transformer_matches_torch(torch, batch_first, norm_first):
    kw = dict(
        d_model=16,
        nhead=4,
        num_encoder_layers=2,
        num_decoder_layers=2,
        dim_feedforward=32,
        dropout=0.0,
        batch_first=batch_first,
        norm_first=norm_first,
    )
    t, n = torch.nn.Transformer(**kw).eval(), nn.Transformer(**kw).eval()
    _copy(n, t)
    rng = np.random.default_rng(0)
    src_shape, tgt_shape = ((3, 6, 16), (3, 5, 16)) if batch_first else ((6, 3, 16), (5, 3, 16))
    src = rng.standard_normal(src_shape).astype(np.float32)
    tgt = rng.standard_normal(tgt_shape).astype(np.float32)
    ns, ts = _pair(torch, [src, tgt])
    n_mask = nn.Transformer.generate_square_subsequent_mask(5)
    t_mask = torch.nn.Transformer.generate_square_subsequent_mask(5)
    pad = np.zeros((3, 6), dtype=bool)
    pad[0, -2:] = True
    out_n = n(ns[0], ns[1], tgt_mask=n_mask, src_key_padding_mask=nerve.tensor(pad))
    out_t = t(ts[0], ts[1], tgt_mask=t_mask, src_key_padding_mask=torch.tensor(pad))
    _check(torch, out_n, out_t, ns, ts, n, t, rtol=1e-4, atol=1e-4)


def test_transformer_decoder_stack_matches_torch(torch):
    layer_t = torch.nn.TransformerDecoderLayer(8, 2, 16, dropout=0.0)
    layer_n = nn.TransformerDecoderLayer(8, 2, 16, dropout=0.0)
    t = torch.nn.TransformerDecoder(layer_t, 2, norm=torch.nn.LayerNorm(8)).eval()
    n = nn.TransformerDecoder(layer_n, 2, norm=nn.LayerNorm(8)).eval()
    _copy(n, t)
    rng = np.random.default_rng(0)
    tgt, mem = (rng.standard_normal(s).astype(np.float32) for s in ((4, 2, 8), (6, 2, 8)))
    ns, ts = _pair(torch, [tgt, mem])
    _check(torch, n(ns[0], ns[1]), t(ts[0], ts[1]), ns, ts, n, t, rtol=1e-4, atol=1e-4)


def test_transformer_shape_errors():
    model = nn.Transformer(16, 2, 1, 1, 32)
    with pytest.raises(ValueError, match="batch number of src and tgt"):
        model(nerve.randn(5, 3, 16), nerve.randn(4, 2, 16))
    with pytest.raises(ValueError, match="feature number.*d_model \\(16\\)"):
        model(nerve.randn(5, 3, 8), nerve.randn(4, 3, 8))


# ----------------------------------------------------------------------------- losses
def _loss_inputs(name, rng):
    x = rng.standard_normal((5, 4)).astype(np.float32)
    x2 = rng.standard_normal((5, 4)).astype(np.float32)
    sign4 = np.where(rng.random((5, 4)) < 0.5, -1.0, 1.0).astype(np.float32)
    sign = np.where(rng.random(5) < 0.5, -1.0, 1.0).astype(np.float32)
    if name == "PoissonNLLLoss":
        return [x, rng.poisson(2.0, (5, 4)).astype(np.float32)]
    if name == "GaussianNLLLoss":
        return [x, x2, rng.random((5, 4)).astype(np.float32) + 0.1]
    if name in ("MarginRankingLoss",):
        return [x[:, 0], x2[:, 0], sign]
    if name in ("HingeEmbeddingLoss", "SoftMarginLoss"):
        return [x, sign4]
    if name == "MultiLabelSoftMarginLoss":
        return [x, (rng.random((5, 4)) < 0.5).astype(np.float32)]
    if name == "CosineEmbeddingLoss":
        return [x, x2, sign]
    if name == "MultiMarginLoss":
        return [x, rng.integers(0, 4, 5)]
    if name == "MultiLabelMarginLoss":
        return [
            x,
            np.array([[3, 0, -1, 1], [1, 2, 3, 0], [-1, 0, 0, 0], [2, -1, 1, 1], [0, 0, -1, 2]]),
        ]
    if name == "TripletMarginLoss":
        return [x, x2, rng.standard_normal((5, 4)).astype(np.float32)]
    raise KeyError(name)


LOSSES = [
    ("PoissonNLLLoss", {}),
    ("PoissonNLLLoss", {"log_input": False, "full": True}),
    ("GaussianNLLLoss", {}),
    ("GaussianNLLLoss", {"full": True, "reduction": "sum"}),
    ("MarginRankingLoss", {"margin": 0.3}),
    ("HingeEmbeddingLoss", {"margin": 0.5}),
    ("SoftMarginLoss", {}),
    ("MultiLabelSoftMarginLoss", {}),
    ("MultiLabelSoftMarginLoss", {"weight": "w"}),
    ("CosineEmbeddingLoss", {"margin": 0.2}),
    ("MultiMarginLoss", {}),
    ("MultiMarginLoss", {"p": 2, "margin": 0.7, "weight": "w"}),
    ("MultiLabelMarginLoss", {}),
    ("TripletMarginLoss", {}),
    ("TripletMarginLoss", {"p": 1.0, "swap": True, "margin": 2.0}),
]


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("name,kwargs", LOSSES, ids=str)
def test_loss_matches_torch(torch, name, kwargs, reduction):
    kwargs = dict(kwargs)
    kwargs.setdefault("reduction", reduction)
    w = np.array([0.5, 1.0, 2.0, 0.3], np.float32)
    tk = {k: (torch.tensor(w) if v == "w" else v) for k, v in kwargs.items()}
    nk = {k: (nerve.tensor(w) if v == "w" else v) for k, v in kwargs.items()}
    arrays = _loss_inputs(name, np.random.default_rng(0))
    ns, ts = _pair(torch, arrays)
    if name not in ("GaussianNLLLoss", "TripletMarginLoss"):  # the target takes no gradient
        ns[-1], ts[-1] = nerve.tensor(arrays[-1]), torch.tensor(arrays[-1])
    if name in ("PoissonNLLLoss",) and kwargs.get("log_input") is False:
        ns[0], ts[0] = (
            nerve.tensor(np.abs(arrays[0]) + 0.1, requires_grad=True),
            torch.tensor(np.abs(arrays[0]) + 0.1, requires_grad=True),
        )
    n_out = getattr(nn, name)(**nk)(*ns)
    t_out = getattr(torch.nn, name)(**tk)(*ts)
    _check(torch, n_out, t_out, ns, ts, rtol=1e-4, atol=1e-5)


def test_loss_errors_name_the_op():
    with pytest.raises(ValueError, match="gaussian_nll_loss: var is of incorrect size"):
        F.gaussian_nll_loss(nerve.randn(4, 3), nerve.randn(4, 3), nerve.ones(2))
    with pytest.raises(ValueError, match="negative"):
        F.gaussian_nll_loss(nerve.randn(4), nerve.randn(4), -nerve.ones(4))
    with pytest.raises(ValueError, match=r"margin_ranking_loss: the shapes must match"):
        F.margin_ranking_loss(nerve.randn(3), nerve.randn(4), nerve.ones(3))
    with pytest.raises(IndexError, match="multi_margin_loss: target values must be in"):
        F.multi_margin_loss(nerve.randn(2, 3), nerve.tensor([0, 3]))
    with pytest.raises(ValueError, match="reduction must be one of"):
        nn.SoftMarginLoss(reduction="avg")
    # the deprecated flags still pick the reduction, as in torch
    assert nn.SoftMarginLoss(reduce=False).reduction == "none"
    assert nn.MarginRankingLoss(size_average=False).reduction == "sum"


# ----------------------------------------------------------------------------- distances
@pytest.mark.parametrize("dim", [1, -1, 0])
def test_cosine_similarity_matches_torch(torch, dim):
    rng = np.random.default_rng(0)
    a, b = (
        rng.standard_normal((4, 5)).astype(np.float32),
        rng.standard_normal((1, 5)).astype(np.float32),
    )
    ns, ts = _pair(torch, [a, b])
    _check(torch, nn.CosineSimilarity(dim)(*ns), torch.nn.CosineSimilarity(dim)(*ts), ns, ts)


@pytest.mark.parametrize("p,keepdim", [(2.0, False), (1.0, True), (3.0, False)])
def test_pairwise_distance_matches_torch(torch, p, keepdim):
    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal((4, 6)).astype(np.float32) for _ in range(2))
    ns, ts = _pair(torch, [a, b])
    n = nn.PairwiseDistance(p, keepdim=keepdim)(*ns)
    t = torch.nn.PairwiseDistance(p, keepdim=keepdim)(*ts)
    _check(torch, n, t, ns, ts)


def test_normalize_matches_torch(torch):
    a = np.random.default_rng(0).standard_normal((3, 4, 2)).astype(np.float32)
    ns, ts = _pair(torch, [a])
    _check(torch, F.normalize(ns[0], dim=1), torch.nn.functional.normalize(ts[0], dim=1), ns, ts)


# ----------------------------------------------------------------------------- resampling
def test_pixel_shuffle_and_unshuffle_match_torch(torch):
    a = np.random.default_rng(0).standard_normal((2, 2, 8, 3, 4)).astype(np.float32)
    ns, ts = _pair(torch, [a])
    _check(torch, nn.PixelShuffle(2)(ns[0]), torch.nn.PixelShuffle(2)(ts[0]), ns, ts)
    b = np.random.default_rng(1).standard_normal((2, 3, 4, 6)).astype(np.float32)
    ns, ts = _pair(torch, [b])
    _check(torch, nn.PixelUnshuffle(2)(ns[0]), torch.nn.PixelUnshuffle(2)(ts[0]), ns, ts)
    with pytest.raises(ValueError, match="divisible by the square of upscale_factor"):
        F.pixel_shuffle(nerve.randn(1, 6, 2, 2), 2)


UPSAMPLE = [
    ((1, 2, 5), {"scale_factor": 2}),
    ((1, 2, 5), {"size": 7, "mode": "linear"}),
    ((1, 2, 5), {"size": 3, "mode": "linear", "align_corners": True}),
    ((2, 3, 4, 5), {"scale_factor": 2}),
    ((2, 3, 4, 5), {"size": (7, 3)}),
    ((2, 3, 4, 5), {"scale_factor": 1.7}),
    ((2, 3, 4, 5), {"scale_factor": 0.6, "mode": "nearest-exact"}),
    ((2, 3, 4, 5), {"scale_factor": 2, "mode": "bilinear"}),
    ((2, 3, 4, 5), {"size": (9, 3), "mode": "bilinear"}),
    ((2, 3, 4, 5), {"scale_factor": 1.5, "mode": "bilinear", "align_corners": True}),
    ((2, 3, 4, 5), {"scale_factor": 2.5, "mode": "bilinear", "recompute_scale_factor": True}),
    ((2, 3, 6, 5), {"size": (3, 2), "mode": "area"}),
    ((1, 2, 3, 4, 5), {"scale_factor": 2, "mode": "trilinear"}),
    ((1, 2, 3, 4, 5), {"size": (4, 2, 7)}),
]


@pytest.mark.parametrize("shape,kwargs", UPSAMPLE, ids=str)
def test_interpolate_and_upsample_match_torch(torch, shape, kwargs):
    a = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    ns, ts = _pair(torch, [a])
    n = F.interpolate(ns[0], **kwargs)
    t = torch.nn.functional.interpolate(ts[0], **kwargs)
    _check(torch, n, t, ns, ts)
    if (
        kwargs.get("mode", "nearest") in ("nearest", "bilinear")
        and "recompute_scale_factor" not in kwargs
    ):
        mod_n, mod_t = nn.Upsample(**kwargs), torch.nn.Upsample(**kwargs)
        assert_close(mod_n(nerve.tensor(a)), mod_t(torch.tensor(a)).numpy())
        assert repr(mod_n) == repr(mod_t)


def test_upsampling_fixed_mode_modules_match_torch(torch):
    a = np.random.default_rng(0).standard_normal((1, 2, 3, 4)).astype(np.float32)
    for name in ("UpsamplingNearest2d", "UpsamplingBilinear2d"):
        n, t = getattr(nn, name)(scale_factor=2), getattr(torch.nn, name)(scale_factor=2)
        assert_close(n(nerve.tensor(a)), t(torch.tensor(a)).numpy())


@pytest.mark.parametrize("align_corners", [False, True])
@pytest.mark.parametrize("padding_mode", ["zeros", "border"])
@pytest.mark.parametrize("mode", ["bilinear", "nearest"])
def test_affine_grid_and_grid_sample_match_torch(torch, mode, padding_mode, align_corners):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 5, 6)).astype(np.float32)
    theta = np.array([[1, 0.2, 0.1], [-0.1, 0.9, 0.05]]) + rng.standard_normal((2, 2, 3)) * 0.3
    ns, ts = _pair(torch, [x, theta.astype(np.float32)])
    kw = dict(align_corners=align_corners)
    n_grid = F.affine_grid(ns[1], (2, 3, 4, 7), **kw) * 1.3  # some points fall outside
    t_grid = torch.nn.functional.affine_grid(ts[1], (2, 3, 4, 7), **kw) * 1.3
    n = F.grid_sample(ns[0], n_grid, mode=mode, padding_mode=padding_mode, **kw)
    t = torch.nn.functional.grid_sample(ts[0], t_grid, mode=mode, padding_mode=padding_mode, **kw)
    _check(torch, n, t, ns, ts, rtol=1e-4, atol=1e-4)


def test_interpolate_errors():
    with pytest.raises(ValueError, match="align_corners option can only be set"):
        F.interpolate(nerve.randn(1, 1, 4, 4), scale_factor=2, align_corners=True)
    with pytest.raises(ValueError, match="mode 'bilinear' expects a 4-d"):
        F.interpolate(nerve.randn(1, 1, 4), scale_factor=2, mode="bilinear")
    with pytest.raises(ValueError, match="exactly one of size and scale_factor"):
        F.interpolate(nerve.randn(1, 1, 4))
    with pytest.raises(NotImplementedError, match="bicubic"):
        F.interpolate(nerve.randn(1, 1, 4, 4), scale_factor=2, mode="bicubic")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"kernel_size": 2},
        {"kernel_size": (3, 2), "dilation": (1, 2), "padding": 1, "stride": (2, 1)},
    ],
)
def test_unfold_fold_match_torch(torch, kwargs):
    a = np.random.default_rng(0).standard_normal((2, 3, 7, 6)).astype(np.float32)
    ns, ts = _pair(torch, [a])
    n_cols, t_cols = nn.Unfold(**kwargs)(ns[0]), torch.nn.Unfold(**kwargs)(ts[0])
    _check(torch, n_cols, t_cols, ns, ts)
    assert repr(nn.Unfold(**kwargs)) == repr(torch.nn.Unfold(**kwargs))
    cols = np.random.default_rng(1).standard_normal(tuple(t_cols.shape)).astype(np.float32)
    ns, ts = _pair(torch, [cols])
    n_img = nn.Fold((7, 6), **kwargs)(ns[0])
    t_img = torch.nn.Fold((7, 6), **kwargs)(ts[0])
    _check(torch, n_img, t_img, ns, ts)
    ns, ts = _pair(torch, [cols[0]])  # unbatched
    _check(
        torch,
        F.fold(ns[0], (7, 6), **kwargs),
        torch.nn.functional.fold(ts[0], (7, 6), **kwargs),
        ns,
        ts,
    )


def test_fold_errors_say_what_was_expected():
    with pytest.raises(
        ValueError, match="calculated number of sliding blocks 3 \\* 3 = 9, but got 8"
    ):
        F.fold(nerve.randn(1, 4, 8), (4, 4), 2)
    with pytest.raises(ValueError, match="divisible by the product of kernel_size \\(4\\)"):
        F.fold(nerve.randn(1, 5, 9), (4, 4), 2)
    with pytest.raises(ValueError, match="unfold: the kernel"):
        F.unfold(nerve.randn(1, 1, 2, 2), 3)


# ----------------------------------------------------------------------------- embedding bag
BAGS = [
    ({"mode": "sum"}, "offsets"),
    ({"mode": "mean"}, "offsets"),
    ({"mode": "max"}, "offsets"),
    ({"mode": "mean"}, "2d"),
    ({"mode": "max"}, "2d"),
    ({"mode": "sum", "include_last_offset": True}, "offsets"),
    ({"mode": "mean", "padding_idx": 2}, "offsets"),
    ({"mode": "sum"}, "weights"),
]


@pytest.mark.parametrize("kwargs,layout", BAGS, ids=str)
def test_embedding_bag_matches_torch(torch, kwargs, layout):
    t, n = torch.nn.EmbeddingBag(10, 4, **kwargs), nn.EmbeddingBag(10, 4, **kwargs)
    _copy(n, t)
    assert repr(n) == repr(t)
    ids = np.array([1, 2, 4, 5, 4, 3, 2, 9, 2, 2])
    offsets = np.array([0, 2, 2, 5, 8])  # one empty bag
    if kwargs.get("include_last_offset"):
        offsets = np.append(offsets, ids.size)
    if layout == "2d":
        out_n = n(nerve.tensor(ids.reshape(2, 5)))
        out_t = t(torch.tensor(ids.reshape(2, 5)))
        _check(torch, out_n, out_t, [], [], n, t)
        return
    psw = np.random.default_rng(0).random(ids.size).astype(np.float32)
    ns, ts = _pair(torch, [psw])
    extra_n = {"per_sample_weights": ns[0]} if layout == "weights" else {}
    extra_t = {"per_sample_weights": ts[0]} if layout == "weights" else {}
    out_n = n(nerve.tensor(ids), nerve.tensor(offsets), **extra_n)
    out_t = t(torch.tensor(ids), torch.tensor(offsets), **extra_t)
    _check(torch, out_n, out_t, ns if layout == "weights" else [], ts, n, t)


def test_embedding_bag_errors():
    bag = nn.EmbeddingBag(5, 2)
    with pytest.raises(ValueError, match="offsets has to be a 1-d tensor"):
        bag(nerve.tensor([1, 2]))
    with pytest.raises(ValueError, match="per_sample_weights is only supported for mode='sum'"):
        bag(nerve.tensor([1, 2]), nerve.tensor([0]), per_sample_weights=nerve.ones(2))
    with pytest.raises(ValueError, match="mode has to be one of"):
        nn.EmbeddingBag(5, 2, mode="median")


# ----------------------------------------------------------------------------- 1-d, 3-d, instance
MORE_MODULES = [
    ("MaxPool1d", (3, 2, 1), (2, 3, 9)),
    ("MaxPool1d", (2,), (3, 8)),
    ("AvgPool1d", (3, 2, 1), (2, 3, 9)),
    ("AvgPool1d", (2,), (3, 8)),
    ("AdaptiveAvgPool1d", (4,), (2, 3, 9)),
    ("ConvTranspose1d", (3, 4, 3, 2, 1, 1), (2, 3, 6)),
    ("ConvTranspose1d", (4, 4, 2, 1, 0, 0, 2, False), (2, 4, 5)),
    ("BatchNorm3d", (3,), (2, 3, 2, 3, 2)),
    ("InstanceNorm1d", (3,), (2, 3, 7)),
    ("InstanceNorm1d", (3, 1e-5, 0.1, True), (3, 7)),
    ("InstanceNorm2d", (3, 1e-5, 0.2, True, True), (2, 3, 4, 5)),
]


@pytest.mark.parametrize("name,args,shape", MORE_MODULES, ids=str)
@pytest.mark.parametrize("mode", ["train", "eval"])
def test_more_modules_match_torch(torch, name, args, shape, mode):
    t, n = getattr(torch.nn, name)(*args), getattr(nn, name)(*args)
    _copy(n, t)
    getattr(t, mode)(), getattr(n, mode)()
    assert repr(n) == repr(t)
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    ns, ts = _pair(torch, [x])
    _check(torch, n(ns[0]), t(ts[0]), ns, ts, n, t, rtol=1e-4, atol=1e-5)
    for key, value in t.state_dict().items():  # running statistics move the same way
        assert_close(n.state_dict()[key], value.numpy(), rtol=1e-5, atol=1e-6)


PADS = [
    ("ZeroPad1d", (2,), (2, 3, 5)),
    ("ZeroPad2d", ((1, 2, 0, 3),), (2, 3, 4, 5)),
    ("ZeroPad3d", (1,), (1, 2, 3, 4, 5)),
    ("ConstantPad2d", (2, -1.5), (3, 4, 5)),
    ("ReflectionPad1d", ((2, 1),), (2, 3, 5)),
    ("ReflectionPad2d", (2,), (2, 3, 4, 5)),
    ("ReplicationPad2d", ((1, 0, 2, 3),), (2, 3, 4, 5)),
    ("ReplicationPad3d", (1,), (1, 2, 3, 4, 5)),
    ("CircularPad1d", (2,), (2, 3, 5)),
    ("CircularPad2d", ((1, 2, 1, 0),), (2, 3, 4, 5)),
]


@pytest.mark.parametrize("name,args,shape", PADS, ids=str)
def test_padding_modules_match_torch(torch, name, args, shape):
    t, n = getattr(torch.nn, name)(*args), getattr(nn, name)(*args)
    assert repr(n) == repr(t)
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    ns, ts = _pair(torch, [x])
    _check(torch, n(ns[0]), t(ts[0]), ns, ts)


def test_parameter_containers_register_and_train():
    plist = nn.ParameterList([nn.Parameter(nerve.ones(2)), nerve.zeros(3)])
    plist.append(np.ones((2, 2), np.float32))
    assert [k for k, _ in plist.named_parameters()] == ["0", "1", "2"]
    assert isinstance(plist[1], nn.Parameter) and len(plist) == 3
    pdict = nn.ParameterDict({"scale": nn.Parameter(nerve.ones(1))})
    pdict["shift"] = nerve.zeros(1)

    class Affine(nn.Module):
        def __init__(self):
            super().__init__()
            self.params, self.extra = pdict, plist

        def forward(self, x):
            return x * self.params["scale"] + self.params["shift"] + self.extra[0].sum()

    model = Affine()
    assert sorted(model.state_dict()) == [
        "extra.0", "extra.1", "extra.2", "params.scale", "params.shift"
    ]  # fmt: skip
    model(nerve.ones(4)).sum().backward()
    assert pdict["scale"].grad is not None and plist[0].grad is not None
    assert "shift" in pdict and list(pdict) == ["scale", "shift"]


def test_feature_alpha_dropout_drops_whole_channels_and_triplet_with_distance(torch):
    y = nn.FeatureAlphaDropout(0.5)(nerve.randn(8, 6, 10)).numpy()
    per_channel = np.ptp(y, axis=-1)
    assert (per_channel == 0).any() and (per_channel > 0).any()  # dropped channels are constant
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal((5, 4)).astype(np.float32) for _ in range(3)]
    for swap in (False, True):
        ns, ts = _pair(torch, arrays)
        n = nn.TripletMarginWithDistanceLoss(
            distance_function=lambda a, b: 1 - F.cosine_similarity(a, b), margin=0.5, swap=swap
        )(*ns)
        t = torch.nn.TripletMarginWithDistanceLoss(
            distance_function=lambda a, b: 1 - torch.nn.functional.cosine_similarity(a, b),
            margin=0.5,
            swap=swap,
        )(*ts)
        _check(torch, n, t, ns, ts)
    ns, ts = _pair(torch, arrays)
    _check(torch, nn.TripletMarginWithDistanceLoss()(*ns),
           torch.nn.TripletMarginWithDistanceLoss()(*ts), ns, ts)  # fmt: skip


def test_embedding_takes_torchs_arguments(torch):
    t = torch.nn.Embedding(10, 3, padding_idx=1, max_norm=1.0, scale_grad_by_freq=True)
    n = nn.Embedding(10, 3, padding_idx=1, max_norm=1.0, scale_grad_by_freq=True)
    _copy(n, t)
    assert repr(n) == repr(t)
    ids = np.array([[1, 2, 2, 5], [5, 5, 0, 9]])
    out_n, out_t = n(nerve.tensor(ids)), t(torch.tensor(ids))
    _check(torch, out_n, out_t, [], [], n, t)
    assert_close(n.weight.detach(), t.weight.detach().numpy())  # max_norm renormalized rows
    frozen = nn.Embedding.from_pretrained(np.ones((4, 2), np.float32), padding_idx=0)
    assert not frozen.weight.requires_grad and frozen.padding_idx == 0


# ----------------------------------------------------------------------------- CTC
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("layout", ["padded", "concatenated"])
def test_ctc_loss_matches_torch_through_log_softmax(torch, reduction, layout):
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((12, 4, 5)).astype(np.float32)
    targets = np.array([[1, 2, 2, 3], [4, 1, 0, 0], [3, 3, 0, 0], [0, 0, 0, 0]])
    targets[targets == 0] = 2  # blank 0 never appears as a label
    tl, il = np.array([4, 2, 1, 0]), np.array([12, 9, 3, 5])
    if layout == "concatenated":
        targets = np.concatenate([row[:n] for row, n in zip(targets, tl)])
    ns, ts = _pair(torch, [logits])
    n = nn.CTCLoss(reduction=reduction)(ns[0].log_softmax(2), targets, il, tl)
    t = torch.nn.CTCLoss(reduction=reduction)(
        ts[0].log_softmax(2), torch.tensor(targets), torch.tensor(il), torch.tensor(tl)
    )
    _check(torch, n, t, ns, ts, rtol=1e-4, atol=1e-5)


def test_ctc_loss_impossible_alignments_and_unbatched(torch):
    rng = np.random.default_rng(1)
    lp = rng.standard_normal((3, 2, 4)).astype(np.float32)
    targets, il, tl = np.array([[1, 1], [2, 3]]), np.array([2, 3]), np.array([2, 2])
    for zero_infinity in (False, True):
        ns, ts = _pair(torch, [lp])
        n = F.ctc_loss(ns[0].log_softmax(2), targets, il, tl, reduction="none",
                       zero_infinity=zero_infinity)  # fmt: skip
        t = torch.nn.functional.ctc_loss(
            ts[0].log_softmax(2), torch.tensor(targets), torch.tensor(il), torch.tensor(tl),
            reduction="none", zero_infinity=zero_infinity,
        )  # fmt: skip
        assert_close(n, t.detach().numpy(), rtol=1e-5)
        if zero_infinity:
            _check(torch, n, t, ns, ts)
    one = F.ctc_loss(nerve.tensor(lp[:, 1]).log_softmax(1), np.array([2, 3]), 3, 2)
    ref = torch.nn.functional.ctc_loss(
        torch.tensor(lp[:, 1]).log_softmax(1),
        torch.tensor([2, 3]),
        torch.tensor(3),
        torch.tensor(2),
    )
    assert_close(one, ref.numpy(), rtol=1e-5)
    with pytest.raises(ValueError, match="input_lengths must be in"):
        F.ctc_loss(nerve.randn(3, 2, 4), targets, np.array([4, 3]), tl)
