"""nerve.explain against Captum 0.9 on the same models, weights copied from torch.

Each torch model has a nerve twin built with the same constructors; the twin loads the torch
weights through ``load_state_dict``. Deterministic methods must agree to float32 tolerance;
randomized ones (NoiseTunnel, GradientShap) are checked with the same noise injected, and
statistically against Captum.
"""

import numpy as np
import pytest

import nerve
from nerve import backend
from nerve import nn as nnn
from nerve.explain import (
    Deconvolution,
    DeepLift,
    DeepLiftShap,
    FeatureAblation,
    GradientShap,
    GuidedBackprop,
    GuidedGradCam,
    InputXGradient,
    IntegratedGradients,
    LayerGradCam,
    NoiseTunnel,
    Occlusion,
    Saliency,
)

# Captum warns about every hook it sets and every input it marks as requiring grad; shap 0.51
# trips a NumPy 2 deprecation inside its additivity check
pytestmark = [
    pytest.mark.filterwarnings("ignore::UserWarning"),
    pytest.mark.filterwarnings("ignore:__array_wrap__:DeprecationWarning"),
]


@pytest.fixture(scope="module")
def ca(torch):
    return pytest.importorskip("captum.attr")


def _layers(lib, kind):
    """The same architecture from torch.nn or nerve.nn (no two nonlinear modules in a row)."""
    if kind == "mlp":
        return lib.Sequential(
            lib.Linear(6, 8), lib.ReLU(), lib.Linear(8, 8), lib.Sigmoid(), lib.Linear(8, 3)
        )
    if kind == "softmax":
        return lib.Sequential(lib.Linear(6, 8), lib.Tanh(), lib.Linear(8, 3), lib.Softmax(dim=1))
    return lib.Sequential(
        lib.Conv2d(1, 4, 3),
        lib.ReLU(),
        lib.Conv2d(4, 6, 3),
        lib.MaxPool2d(2),
        lib.Flatten(),
        lib.Linear(54, 10),
        lib.Tanh(),
        lib.Linear(10, 3),
    )


def twins(torch, kind, n=4, seed=0):
    """(torch model, nerve model, a float32 batch) for kind 'mlp', 'softmax' or 'cnn'."""
    torch.manual_seed(seed)
    tm = _layers(torch.nn, kind).eval()
    nm = _layers(nnn, kind).eval()
    nm.load_state_dict({k: v.detach().numpy() for k, v in tm.state_dict().items()})
    shape = (n, 1, 10, 10) if kind == "cnn" else (n, 6)
    x = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
    return tm, nm, x


def close(a, c, rtol=2e-4):
    """nerve's result (Tensor) equals Captum's (torch Tensor) to float32 tolerance."""
    a = a.numpy() if hasattr(a, "numpy") else np.asarray(a)
    c = c.detach().numpy()
    assert a.shape == c.shape and a.dtype == np.float32
    scale = max(float(np.abs(c).max()), 1e-12)
    np.testing.assert_allclose(a, c, rtol=rtol, atol=rtol * scale)


def T(x):
    return nerve.tensor(x)


# ------------------------------------------------------------------ gradients


@pytest.mark.parametrize("kind", ["mlp", "cnn"])
def test_saliency_and_input_x_gradient_match_captum(torch, ca, kind):
    tm, nm, x = twins(torch, kind)
    tx = torch.tensor(x)
    close(Saliency(nm).attribute(T(x), target=1), ca.Saliency(tm).attribute(tx, target=1))
    close(
        Saliency(nm).attribute(T(x), target=[0, 1, 2, 1], abs=False),
        ca.Saliency(tm).attribute(tx, target=[0, 1, 2, 1], abs=False),
    )
    close(
        InputXGradient(nm).attribute(T(x), target=2),
        ca.InputXGradient(tm).attribute(tx, target=2),
    )


@pytest.mark.parametrize(
    "method",
    ["gausslegendre", "riemann_left", "riemann_right", "riemann_middle", "riemann_trapezoid"],
)
@pytest.mark.parametrize("kind", ["mlp", "cnn"])
def test_integrated_gradients_match_captum(torch, ca, kind, method):
    tm, nm, x = twins(torch, kind)
    b = np.random.default_rng(5).standard_normal((1,) + x.shape[1:]).astype(np.float32) * 0.1
    kw = dict(target=[2, 0, 1, 1], n_steps=12, method=method, return_convergence_delta=True)
    a, d = IntegratedGradients(nm).attribute(T(x), baselines=T(b), internal_batch_size=10, **kw)
    c, e = ca.IntegratedGradients(tm).attribute(
        torch.tensor(x), baselines=torch.tensor(b), internal_batch_size=10, **kw
    )
    close(a, c)
    np.testing.assert_allclose(d.numpy(), e.detach().numpy(), atol=1e-5)


def test_integrated_gradients_local_and_scalar_baseline(torch, ca):
    tm, nm, x = twins(torch, "mlp")
    a = IntegratedGradients(nm, multiply_by_inputs=False).attribute(T(x), baselines=0.5, target=0)
    c = ca.IntegratedGradients(tm, multiply_by_inputs=False).attribute(
        torch.tensor(x), baselines=0.5, target=0
    )
    close(a, c)


def test_integrated_gradients_completeness(torch):
    _, nm, x = twins(torch, "cnn")
    b = np.full((1,) + x.shape[1:], 0.2, np.float32)
    a, delta = IntegratedGradients(nm).attribute(
        T(x), baselines=T(b), target=1, n_steps=64, return_convergence_delta=True
    )
    with nerve.no_grad():
        gap = nm(T(x)).numpy()[:, 1] - nm(T(np.repeat(b, len(x), 0))).numpy()[:, 1]
    total = a.numpy().reshape(len(x), -1).sum(1)
    np.testing.assert_allclose(total - gap, delta.numpy(), atol=1e-6)
    assert np.abs(delta.numpy()).max() < 2e-2 * np.abs(gap).max()


class TwoInputs(nnn.Module):
    """out = head(a) * scale + b.sum(1, keepdim) (one explained input pair, one extra arg)."""

    def __init__(self, lib):
        super().__init__()
        self.head = lib.Sequential(lib.Linear(3, 4), lib.Tanh(), lib.Linear(4, 2))

    def forward(self, a, b, scale):
        return self.head(a) * scale + b.sum(1, keepdim=True)


def test_tuple_inputs_and_additional_forward_args(torch, ca):
    class TorchTwo(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.head = torch.nn.Sequential(
                torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2)
            )

        forward = TwoInputs.forward

    torch.manual_seed(1)
    tm, nm = TorchTwo(), TwoInputs(nnn)
    nm.load_state_dict({k: v.detach().numpy() for k, v in tm.state_dict().items()})
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((5, 3), np.float32), rng.standard_normal((5, 4), np.float32)
    scale = rng.standard_normal((5, 1), np.float32)
    ours = IntegratedGradients(nm).attribute(
        (T(a), T(b)), target=1, additional_forward_args=T(scale), n_steps=8
    )
    theirs = ca.IntegratedGradients(tm).attribute(
        (torch.tensor(a), torch.tensor(b)),
        target=1,
        additional_forward_args=torch.tensor(scale),
        n_steps=8,
    )
    assert isinstance(ours, tuple) and len(ours) == 2
    close(ours[0], theirs[0])
    close(ours[1], theirs[1])


# ------------------------------------------------------------------ randomized methods


def _captum_noise_tunnel(torch, tm, ca, x, noise, nt_type, target):
    """Captum's base method on the noisy copies we drew, combined as NoiseTunnel does."""
    n, k = len(x), len(noise) // len(x)
    noisy = torch.tensor(np.repeat(x, k, 0) + noise)
    att = ca.Saliency(tm).attribute(noisy, target=target).detach().numpy()
    att = att.reshape((n, k) + x.shape[1:])
    mean, sq = att.mean(1), (att * att).mean(1)
    return {"smoothgrad": mean, "smoothgrad_sq": sq, "vargrad": sq - mean * mean}[nt_type]


@pytest.mark.parametrize("nt_type", ["smoothgrad", "smoothgrad_sq", "vargrad"])
def test_noise_tunnel_with_the_same_noise(torch, ca, nt_type):
    tm, nm, x = twins(torch, "mlp")
    nerve.manual_seed(3)
    ours = NoiseTunnel(Saliency(nm)).attribute(
        T(x), nt_type=nt_type, nt_samples=6, stdevs=0.4, target=1
    )
    nerve.manual_seed(3)
    noise = backend.rng().normal(0.0, 0.4, (len(x) * 6,) + x.shape[1:]).astype(np.float32)
    expected = _captum_noise_tunnel(torch, tm, ca, x, noise, nt_type, 1)
    np.testing.assert_allclose(ours.numpy(), expected, rtol=1e-4, atol=1e-7)


def test_noise_tunnel_agrees_with_captum_in_distribution(torch, ca):
    tm, nm, x = twins(torch, "mlp")
    ours = NoiseTunnel(IntegratedGradients(nm)).attribute(
        T(x), nt_samples=600, nt_samples_batch_size=200, stdevs=0.3, target=0, n_steps=8
    )
    theirs = ca.NoiseTunnel(ca.IntegratedGradients(tm)).attribute(
        torch.tensor(x), nt_samples=600, stdevs=0.3, target=0, n_steps=8
    )
    scale = np.abs(theirs.numpy()).max()
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), atol=0.05 * scale)


def test_gradient_shap_linear_model_is_exact(torch, ca):
    torch.manual_seed(0)
    tm, nm = torch.nn.Linear(6, 3), nnn.Linear(6, 3)
    nm.load_state_dict({k: v.detach().numpy() for k, v in tm.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((4, 6)).astype(np.float32)
    b = np.random.default_rng(1).standard_normal((1, 6)).astype(np.float32)
    a, d = GradientShap(nm).attribute(
        T(x), T(b), n_samples=7, target=2, return_convergence_delta=True
    )
    c = ca.GradientShap(tm).attribute(torch.tensor(x), torch.tensor(b), n_samples=7, target=2)
    close(a, c)
    assert d.shape == (4 * 7,) and np.abs(d.numpy()).max() < 1e-5


def test_gradient_shap_agrees_with_captum_in_distribution(torch, ca):
    tm, nm, x = twins(torch, "mlp")
    bg = np.random.default_rng(2).standard_normal((8, 6)).astype(np.float32)
    ours = GradientShap(nm).attribute(T(x), T(bg), n_samples=3000, stdevs=0.1, target=1)
    theirs = ca.GradientShap(tm).attribute(
        torch.tensor(x), torch.tensor(bg), n_samples=3000, stdevs=0.1, target=1
    )
    scale = np.abs(theirs.numpy()).max()
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), atol=0.05 * scale)


# ------------------------------------------------------------------ perturbations


def test_feature_ablation_matches_captum(torch, ca):
    tm, nm, x = twins(torch, "cnn")
    tx = torch.tensor(x)
    close(
        FeatureAblation(nm).attribute(T(x), target=1),
        ca.FeatureAblation(tm).attribute(tx, target=1),
    )
    mask = np.arange(100).reshape(1, 1, 10, 10) // 7
    kw = dict(target=[0, 1, 2, 0], baselines=0.5, perturbations_per_eval=3)
    close(
        FeatureAblation(nm).attribute(T(x), feature_mask=T(mask), **kw),
        ca.FeatureAblation(tm).attribute(tx, feature_mask=torch.tensor(mask), **kw),
    )


def test_occlusion_matches_captum(torch, ca):
    tm, nm, x = twins(torch, "cnn")
    kw = dict(strides=(1, 2, 2), target=2, perturbations_per_eval=4)
    close(
        Occlusion(nm).attribute(T(x), (1, 3, 3), **kw),
        ca.Occlusion(tm).attribute(torch.tensor(x), (1, 3, 3), **kw),
    )
    close(
        Occlusion(nm).attribute(T(x), (1, 4, 4), baselines=0.1, target=0),
        ca.Occlusion(tm).attribute(torch.tensor(x), (1, 4, 4), baselines=0.1, target=0),
    )


# ------------------------------------------------------------------ layers and ReLU rules


def test_layer_gradcam_matches_captum(torch, ca):
    tm, nm, x = twins(torch, "cnn")
    tx = torch.tensor(x)
    for kw in (
        dict(target=2),
        dict(target=[0, 1, 2, 0], relu_attributions=True),
        dict(target=1, attribute_to_layer_input=True, attr_dim_summation=False),
    ):
        c = ca.LayerGradCam(tm, tm[2]).attribute(tx, **kw)
        assert np.abs(c.detach().numpy()).max() > 0
        close(LayerGradCam(nm, nm[2]).attribute(T(x), **kw), c)


def test_guided_backprop_deconvolution_guided_gradcam_match_captum(torch, ca):
    tm, nm, x = twins(torch, "cnn")
    tx = torch.tensor(x)
    close(
        GuidedBackprop(nm).attribute(T(x), target=1), ca.GuidedBackprop(tm).attribute(tx, target=1)
    )
    close(Deconvolution(nm).attribute(T(x), target=0), ca.Deconvolution(tm).attribute(tx, target=0))
    c = ca.GuidedGradCam(tm, tm[2]).attribute(tx, target=[0, 1, 2, 0])
    assert np.abs(c.detach().numpy()).max() > 0
    close(GuidedGradCam(nm, nm[2]).attribute(T(x), target=[0, 1, 2, 0]), c)


# ------------------------------------------------------------------ DeepLift


@pytest.mark.parametrize("kind", ["mlp", "softmax", "cnn"])
def test_deeplift_matches_captum(torch, ca, kind):
    tm, nm, x = twins(torch, kind)
    b = np.random.default_rng(7).standard_normal((1,) + x.shape[1:]).astype(np.float32)
    a, d = DeepLift(nm).attribute(T(x), baselines=T(b), target=1, return_convergence_delta=True)
    c, e = ca.DeepLift(tm).attribute(
        torch.tensor(x), baselines=torch.tensor(b), target=1, return_convergence_delta=True
    )
    close(a, c)
    np.testing.assert_allclose(d.numpy(), e.detach().numpy(), atol=1e-5)
    local = DeepLift(nm, multiply_by_inputs=False).attribute(T(x), T(b), target=1)
    close(
        local,
        ca.DeepLift(tm, multiply_by_inputs=False).attribute(
            torch.tensor(x), torch.tensor(b), target=1
        ),
    )


@pytest.mark.parametrize("kind", ["mlp", "cnn"])
def test_deeplift_shap_matches_captum(torch, ca, kind):
    tm, nm, x = twins(torch, kind, n=3)
    bg = np.random.default_rng(8).standard_normal((5,) + x.shape[1:]).astype(np.float32)
    a, d = DeepLiftShap(nm).attribute(T(x), T(bg), target=[0, 2, 1], return_convergence_delta=True)
    c, e = ca.DeepLiftShap(tm).attribute(
        torch.tensor(x), torch.tensor(bg), target=[0, 2, 1], return_convergence_delta=True
    )
    close(a, c)
    assert d.shape == (15,)
    np.testing.assert_allclose(d.numpy(), e.detach().numpy(), atol=1e-5)


def test_deeplift_complete_with_adjacent_nonlinearities():
    # Conv -> ReLU -> MaxPool: Captum 0.9 feeds the pool's rule a stale gradient here
    # (meta-pytorch/captum#1104) and loses completeness; the rescale rule keeps it.
    nerve.manual_seed(0)
    model = nnn.Sequential(
        nnn.Conv2d(1, 3, 3), nnn.ReLU(), nnn.MaxPool2d(2), nnn.Flatten(), nnn.Linear(12, 2)
    ).eval()
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 1, 6, 6)).astype(np.float32)
    b = rng.standard_normal((1, 1, 6, 6)).astype(np.float32)
    _, delta = DeepLift(model).attribute(T(x), T(b), target=0, return_convergence_delta=True)
    assert np.abs(delta.numpy()).max() < 1e-5


# ------------------------------------------------------------------ the Keras door


def test_keras_door_model_matches_captum(torch, ca):
    from nerve import keras

    torch.manual_seed(0)
    tm = torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3)).eval()
    km = keras.Sequential(
        [keras.Input((6,)), keras.layers.Dense(8), keras.layers.ReLU(), keras.layers.Dense(3)]
    )
    w = [v.detach().numpy() for v in tm.parameters()]
    km.set_weights([w[0].T, w[1], w[2].T, w[3]])
    x = np.random.default_rng(0).standard_normal((4, 6)).astype(np.float32)
    tx = torch.tensor(x)
    close(Saliency(km).attribute(T(x), target=1), ca.Saliency(tm).attribute(tx, target=1))
    close(
        IntegratedGradients(km).attribute(T(x), target=2, n_steps=10),
        ca.IntegratedGradients(tm).attribute(tx, target=2, n_steps=10),
    )
    b = torch.full((1, 6), 0.3)
    close(DeepLift(km).attribute(T(x), 0.3, target=0), ca.DeepLift(tm).attribute(tx, b, target=0))
    close(
        GuidedBackprop(km).attribute(T(x), target=0), ca.GuidedBackprop(tm).attribute(tx, target=0)
    )
    # a Keras model's parameters are left trainable after the attribution
    assert all(p.requires_grad for p in km.parameters())


# ------------------------------------------------------------------ errors


def test_errors_name_the_method(torch):
    _, nm, x = twins(torch, "mlp")
    with pytest.raises(IndexError, match=r"Saliency.attribute: target 7 .*out of range.*\(4, 3\)"):
        Saliency(nm).attribute(T(x), target=7)
    with pytest.raises(ValueError, match="IntegratedGradients.attribute: target is None"):
        IntegratedGradients(nm).attribute(T(x))
    with pytest.raises(ValueError, match=r"target has 2 entries but the batch has 4"):
        InputXGradient(nm).attribute(T(x), target=[0, 1])
    with pytest.raises(
        ValueError, match=r"IntegratedGradients.attribute: baseline 0 has shape \(4, 5\)"
    ):
        IntegratedGradients(nm).attribute(T(x), baselines=T(np.zeros((4, 5), np.float32)), target=0)
    with pytest.raises(ValueError, match=r"DeepLift.attribute: baseline 0 has shape \(2, 6\)"):
        DeepLift(nm).attribute(T(x), baselines=T(np.zeros((2, 6), np.float32)), target=0)
    with pytest.raises(ValueError, match="unknown method 'riemann'"):
        IntegratedGradients(nm).attribute(T(x), target=0, method="riemann")
    with pytest.raises(ValueError, match="DeepLiftShap.attribute: baselines must be a batch"):
        DeepLiftShap(nm).attribute(T(x), T(np.zeros((1, 6), np.float32)), target=0)
    with pytest.raises(ValueError, match="GradientShap.attribute: baseline 0 has shape"):
        GradientShap(nm).attribute(T(x), T(np.zeros((3, 5), np.float32)), target=0)
    with pytest.raises(ValueError, match="NoiseTunnel.attribute: unknown nt_type 'smooth'"):
        NoiseTunnel(Saliency(nm)).attribute(T(x), nt_type="smooth", target=0)
    with pytest.raises(ValueError, match=r"Occlusion.attribute: sliding window \(9,\)"):
        Occlusion(nm).attribute(T(x), (9,), target=0)
    with pytest.raises(TypeError, match="DeepLift: model must be a nerve Module"):
        DeepLift(lambda t: t)
    with pytest.raises(TypeError, match="Saliency.attribute: input 0 has dtype int64"):
        Saliency(nm).attribute(np.zeros((2, 6), np.int64), target=0)


# ------------------------------------------------------------------ shap's interface


@pytest.fixture(scope="module")
def shap(torch):
    return pytest.importorskip("shap")


def test_deep_explainer_matches_shap(torch, shap):
    from nerve.explain import DeepExplainer

    tm, nm, x = twins(torch, "cnn", n=3)
    bg = np.random.default_rng(4).standard_normal((6, 1, 10, 10)).astype(np.float32)
    theirs = shap.DeepExplainer(tm, torch.tensor(bg))
    ours = DeepExplainer(nm, T(bg))
    np.testing.assert_allclose(ours.expected_value, theirs.expected_value, rtol=1e-5, atol=1e-6)
    c = theirs.shap_values(torch.tensor(x))
    a = ours.shap_values(T(x))
    assert a.shape == c.shape == (3, 1, 10, 10, 3)  # shap's layout: outputs last
    np.testing.assert_allclose(a, c, rtol=2e-4, atol=2e-4 * np.abs(c).max())
    # shap 0.51's own additivity check compares ranked values with the wrong columns
    c2, r2 = theirs.shap_values(torch.tensor(x), ranked_outputs=2, check_additivity=False)
    a2, q2 = ours.shap_values(T(x), ranked_outputs=2)
    np.testing.assert_array_equal(q2, r2.numpy())
    np.testing.assert_allclose(a2, c2, rtol=2e-4, atol=2e-4 * np.abs(c2).max())


def test_deep_explainer_additivity_error_names_the_cause(torch, shap):
    from nerve.explain import DeepExplainer

    class FunctionalRelu(nnn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = nnn.Linear(6, 8), nnn.Linear(8, 3)

        def forward(self, x):
            return self.b(nnn.functional.relu(self.a(x)))

    rng = np.random.default_rng(0)
    explainer = DeepExplainer(FunctionalRelu(), T(rng.standard_normal((4, 6), np.float32)))
    x = T(rng.standard_normal((5, 6), np.float32) * 5)
    with pytest.raises(ValueError, match="DeepExplainer.shap_values: the SHAP values do not sum"):
        explainer.shap_values(x)
    assert explainer.shap_values(x, check_additivity=False).shape == (5, 6, 3)


def test_gradient_explainer_agrees_with_shap_in_distribution(torch, shap):
    from nerve.explain import GradientExplainer

    tm, nm, x = twins(torch, "mlp", n=3)
    bg = np.random.default_rng(4).standard_normal((6, 6)).astype(np.float32)
    c = shap.GradientExplainer(tm, torch.tensor(bg)).shap_values(torch.tensor(x), nsamples=3000)
    a = GradientExplainer(nm, T(bg)).shap_values(T(x), nsamples=3000)
    assert a.shape == c.shape == (3, 6, 3)
    np.testing.assert_allclose(a, c, atol=0.05 * np.abs(c).max())
    # the same seed gives the same draws; variances come with return_variances
    v1, var = GradientExplainer(nm, T(bg)).shap_values(
        T(x), nsamples=50, rseed=1, return_variances=True
    )
    v2 = GradientExplainer(nm, T(bg)).shap_values(T(x), nsamples=50, rseed=1)
    np.testing.assert_array_equal(v1, v2)
    assert var.shape == v1.shape and (var >= 0).all()


def test_kernel_explainer_explains_keras_door_predict(torch, shap):
    from nerve import keras

    torch.manual_seed(0)
    tm = torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3)).eval()
    km = keras.Sequential(
        [keras.Input((6,)), keras.layers.Dense(8), keras.layers.ReLU(), keras.layers.Dense(3)]
    )
    w = [v.detach().numpy() for v in tm.parameters()]
    km.set_weights([w[0].T, w[1], w[2].T, w[3]])
    rng = np.random.default_rng(0)
    x, bg = rng.standard_normal((3, 6), np.float32), rng.standard_normal((5, 6), np.float32)
    ours = shap.KernelExplainer(lambda v: km.predict(v, verbose=0), bg)
    theirs = shap.KernelExplainer(
        lambda v: tm(torch.tensor(v, dtype=torch.float32)).detach().numpy(), bg
    )
    a = ours.shap_values(x, nsamples=100, silent=True)
    c = theirs.shap_values(x, nsamples=100, silent=True)
    np.testing.assert_allclose(a, c, rtol=1e-4, atol=1e-5)


# ------------------------------------------------------------------ pictures


def test_attribution_pictures(tmp_path):
    pytest.importorskip("matplotlib")
    from nerve.explain import plot

    rng = np.random.default_rng(0)
    images = rng.random((2, 1, 8, 8)).astype(np.float32)
    values = rng.standard_normal((2, 1, 8, 8, 3)).astype(np.float32)
    fig = plot.attributions(values, images, labels=["a", "b", "c"], path=tmp_path / "maps.png")
    # 2 rows x (image + 3 outputs) panels and one colour bar
    assert len(fig.axes) == 2 * 4 + 1
    assert [ax.get_title() for ax in fig.axes[1:4]] == ["a", "b", "c"]
    assert (tmp_path / "maps.png").read_bytes()[:4] == b"\x89PNG"
    # one overlay per output panel, red-transparent-blue on a symmetric scale
    overlay = fig.axes[1].images[-1]
    lo, hi = overlay.get_clim()
    assert hi > 0 and lo == -hi
    assert overlay.cmap(1.0)[:3] == pytest.approx((1.0, 13 / 255, 87 / 255))
    assert overlay.cmap(0.5)[3] < 0.02  # zero is transparent
    # shap's older layout (a list per output) and a Captum attribution (one output)
    assert len(plot.attributions(list(values.transpose(4, 0, 1, 2, 3)), images).axes) == 9
    assert len(plot.attributions(values[..., 0], images).axes) == 2 * 2 + 1
    with pytest.raises(ValueError, match=r"plot.attributions: attributions of shape \(2, 8, 8\)"):
        plot.attributions(values[:, 0, ..., 0], images)
    bars = plot.feature_importance(
        rng.standard_normal((10, 4, 2)), ["w", "x", "y", "z"], path=tmp_path / "bars.png"
    )
    ax = bars.axes[0]
    assert len(ax.patches) == 4 * 2 and len(ax.get_yticklabels()) == 4
    with pytest.raises(ValueError, match="3 feature names for 4 features"):
        plot.feature_importance(rng.standard_normal((10, 4)), ["a", "b", "c"])


def test_keras_door_conv_model_gradcam_matches_captum(torch, ca):
    from nerve import keras

    torch.manual_seed(0)
    tm = torch.nn.Sequential(
        torch.nn.Conv2d(1, 4, 3),
        torch.nn.ReLU(),
        torch.nn.Conv2d(4, 5, 3),
        torch.nn.AdaptiveAvgPool2d(1),
        torch.nn.Flatten(),
        torch.nn.Linear(5, 3),
    ).eval()
    km = keras.Sequential(
        [
            keras.Input((10, 10, 1)),
            keras.layers.Conv2D(4, 3),
            keras.layers.ReLU(),
            keras.layers.Conv2D(5, 3),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(3),
        ]
    )
    w = [v.detach().numpy() for v in tm.parameters()]
    km.set_weights(
        [w[0].transpose(2, 3, 1, 0), w[1], w[2].transpose(2, 3, 1, 0), w[3], w[4].T, w[5]]
    )
    x = np.random.default_rng(0).standard_normal((3, 1, 10, 10)).astype(np.float32)
    tx, kx = torch.tensor(x), T(x.transpose(0, 2, 3, 1))  # Keras images are channels last
    conv = km.layers[2]
    for kw in (dict(target=1), dict(target=[0, 1, 2], attr_dim_summation=False)):
        c = ca.LayerGradCam(tm, tm[2]).attribute(tx, **kw)
        close(T(LayerGradCam(km, conv).attribute(kx, **kw).numpy().transpose(0, 3, 1, 2)), c)
    c = ca.GuidedGradCam(tm, tm[2]).attribute(tx, target=2)
    assert np.abs(c.detach().numpy()).max() > 0
    ours = GuidedGradCam(km, conv).attribute(kx, target=2).numpy()
    close(T(ours.transpose(0, 3, 1, 2)), c)


def test_keras_door_deeplift_with_pooling_and_activation_layers(torch, ca):
    from nerve import keras

    torch.manual_seed(0)
    tm = torch.nn.Sequential(
        torch.nn.Conv2d(1, 4, 3),
        torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(4, 5, 2),
        torch.nn.Tanh(),
        torch.nn.AdaptiveAvgPool2d(1),
        torch.nn.Flatten(),
        torch.nn.Linear(5, 3),
    ).eval()
    km = keras.Sequential(
        [
            keras.Input((10, 10, 1)),
            keras.layers.Conv2D(4, 3),
            keras.layers.MaxPooling2D(2),
            keras.layers.Conv2D(5, 2),
            keras.layers.Activation("tanh"),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(3),
        ]
    )
    w = [v.detach().numpy() for v in tm.parameters()]
    km.set_weights(
        [w[0].transpose(2, 3, 1, 0), w[1], w[2].transpose(2, 3, 1, 0), w[3], w[4].T, w[5]]
    )
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 1, 10, 10)).astype(np.float32)
    b = rng.standard_normal((1, 1, 10, 10)).astype(np.float32)
    c = ca.DeepLift(tm).attribute(torch.tensor(x), torch.tensor(b), target=1)
    a = DeepLift(km).attribute(T(x.transpose(0, 2, 3, 1)), T(b.transpose(0, 2, 3, 1)), target=1)
    close(T(a.numpy().transpose(0, 3, 1, 2)), c)
