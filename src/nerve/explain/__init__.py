"""Attributions for nerve models with Captum's names and arguments (and shap's interface).

Every method wraps a model (an ``nn.Module``, a Keras-door model, or any callable from Tensors to
a Tensor) and explains it on nerve's own autograd::

    from nerve.explain import IntegratedGradients
    attributions, delta = IntegratedGradients(model).attribute(
        images, target=labels, n_steps=50, return_convergence_delta=True
    )
"""

from nerve.explain import plot
from nerve.explain.deep_lift import DeepLift, DeepLiftShap
from nerve.explain.gradient import (
    Attribution,
    GradientShap,
    InputBaselineXGradient,
    InputXGradient,
    IntegratedGradients,
    NoiseTunnel,
    Saliency,
)
from nerve.explain.layer import (
    Deconvolution,
    GuidedBackprop,
    GuidedGradCam,
    LayerAttribution,
    LayerGradCam,
)
from nerve.explain.perturbation import FeatureAblation, Occlusion
from nerve.explain.shap_style import DeepExplainer, GradientExplainer

__all__ = [
    "Attribution",
    "Deconvolution",
    "DeepExplainer",
    "DeepLift",
    "DeepLiftShap",
    "FeatureAblation",
    "GradientExplainer",
    "GuidedBackprop",
    "GuidedGradCam",
    "LayerAttribution",
    "LayerGradCam",
    "Occlusion",
    "GradientShap",
    "InputBaselineXGradient",
    "InputXGradient",
    "IntegratedGradients",
    "NoiseTunnel",
    "Saliency",
]
