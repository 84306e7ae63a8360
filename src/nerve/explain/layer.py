"""Layer and ReLU-rule attributions with Captum's names: LayerGradCam, GuidedBackprop,
Deconvolution and GuidedGradCam.

A layer's activations are caught by a forward hook; the gradient rules of guided backprop and
deconvolution replace the output of each ReLU module by a node whose backward applies the rule
(on nerve's autograd: the node is an ordinary ``Function``, recorded by the same engine).
"""

from __future__ import annotations

import numpy as np

from nerve.autograd import Function, Tensor, enable_grad, grad
from nerve.explain import _common as C
from nerve.explain.gradient import Attribution


class _GradientRule(Function):
    """Passes the module's output through forward; backward returns ``rule(x, grad)`` for the
    module's input (the rule replaces the module's own gradient)."""

    def forward(self, x, *, y, rule):
        self.x = x
        self.rule = rule
        return y

    def backward(self, g):
        return self.rule(self.x, g)


def relu_modules(model) -> list:
    """The ReLU modules of a model, from both doors (nn.ReLU and layers.ReLU)."""
    from nerve.layers import ReLU as KerasReLU
    from nerve.nn import ReLU

    return [m for m in model.modules() if isinstance(m, (ReLU, KerasReLU))]


def hook_rule(modules, rule) -> list:
    """Make every module's output carry ``rule`` as its gradient; returns the hook handles."""

    def hook(module, args, out):
        return _GradientRule.apply(args[0], y=out._data, rule=rule)

    return [m.register_forward_hook(hook) for m in modules]


def layer_gradients(method, forward_func, layer, arrays, target, args, to_input=False):
    """The gradient of the picked outputs at a layer's output (or input) and its value there."""
    caught = []

    def hook(module, hook_args, out):
        caught.append(hook_args[0] if to_input else out)

    handle = layer.register_forward_hook(hook)
    try:
        leaves = tuple(Tensor(a, requires_grad=True) for a in arrays)
        with enable_grad(), C.InputsOnly(forward_func):
            out = forward_func(*leaves, *args)
    finally:
        handle.remove()
    if not caught:
        raise ValueError(f"{method}: the layer {type(layer).__name__} was not called by the model")
    if not isinstance(out, Tensor):
        raise TypeError(f"{method}: the model returned a {type(out).__name__}, expected a Tensor")
    act = caught[-1]
    mask = C.target_mask(method, out.shape, target, out._data.dtype)
    (g,) = grad(out, (act,), grad_outputs=Tensor._wrap(mask), materialize_grads=True)
    return g._data, act._data


def _channels_last(layer) -> bool:
    return getattr(layer, "data_format", None) == "channels_last"


class LayerGradCam(Attribution):
    """Grad-CAM: a conv layer's activations weighted by the spatial mean of their gradients,
    summed over channels.

    Args:
        forward_func: the model, or any callable from input Tensors to an output Tensor.
        layer: the module whose output is explained (usually the last conv layer).
        device_ids: accepted for Captum's signature.
    """

    def __init__(self, forward_func, layer, device_ids=None) -> None:
        super().__init__(forward_func)
        C.check_module("LayerGradCam", layer)
        self.layer = layer

    def attribute(
        self,
        inputs,
        target=None,
        additional_forward_args=None,
        attribute_to_layer_input: bool = False,
        relu_attributions: bool = False,
        attr_dim_summation: bool = True,
        grad_kwargs=None,
    ):
        """Grad-CAM attributions at the layer's resolution.

        Args:
            inputs: a Tensor (batch first) or a tuple of Tensors.
            target: the output to explain: None, an int, a tuple, or one per example.
            additional_forward_args: extra arguments passed to the model after the inputs.
            attribute_to_layer_input: explain the layer's input instead of its output.
            relu_attributions: keep only the positive part.
            attr_dim_summation: sum over channels (False keeps one map per channel).
            grad_kwargs: accepted for Captum's signature; must be empty.

        Returns:
            A Tensor of shape (N, 1, *spatial) (or (N, C, *spatial) without summation); for a
            channels-last Keras-door layer (N, *spatial, 1) (or (N, *spatial, C)).

        Raises:
            ValueError: a bad target; the layer not called by the model.
        """
        name = self._name()
        if grad_kwargs:
            raise ValueError(f"{name}: grad_kwargs is not supported by nerve's autograd.grad")
        arrays, _ = C.format_inputs(name, inputs)
        args = C.format_args(additional_forward_args)
        g, act = layer_gradients(
            name, self.forward_func, self.layer, arrays, target, args, attribute_to_layer_input
        )
        last = _channels_last(self.layer) and g.ndim > 2
        if last:  # a Keras-door layer (N, *spatial, C): channels to axis 1, back at the end
            g, act = np.moveaxis(g, -1, 1), np.moveaxis(act, -1, 1)
        if g.ndim > 2:
            g = g.mean(axis=tuple(range(2, g.ndim)), keepdims=True)
        cam = g * act
        if attr_dim_summation:
            cam = cam.sum(1, keepdims=True)
        if relu_attributions:
            cam = np.maximum(cam, 0)
        return Tensor._wrap(np.moveaxis(cam, 1, -1) if last else cam)


class LayerAttribution:
    """Helpers for layer attributions (Captum's ``LayerAttribution.interpolate``)."""

    @staticmethod
    def interpolate(layer_attribution, interpolate_dims, interpolate_mode: str = "nearest"):
        """Resize a layer attribution (N, C, *spatial) to the input's spatial size.

        Args:
            layer_attribution: the Tensor to resize.
            interpolate_dims: the target spatial size.
            interpolate_mode: a mode of ``nn.functional.interpolate`` ("nearest", "bilinear", ...).

        Returns:
            The resized Tensor.
        """
        from nerve.nn import functional as F

        return F.interpolate(layer_attribution, size=interpolate_dims, mode=interpolate_mode)


def _guided(x, g):
    # the ReLU's own gradient, then only its positive part
    return np.maximum(g, 0) * (x > 0)


def _deconv(x, g):
    return np.maximum(g, 0)


class _ReluRuleAttribution(Attribution):
    _rule = None

    def __init__(self, model) -> None:
        C.check_module(type(self).__name__, model)
        super().__init__(model)
        self.model = model

    def attribute(self, inputs, target=None, additional_forward_args=None):
        """Gradients with the ReLU rule of this method.

        Args:
            inputs: a Tensor (batch first) or a tuple of Tensors.
            target: the output to explain: None, an int, a tuple, or one per example.
            additional_forward_args: extra arguments passed to the model after the inputs.

        Returns:
            Attributions in the form of ``inputs``.

        Raises:
            ValueError, IndexError: a target that does not fit the model's output.
        """
        name = self._name()
        arrays, is_tuple = C.format_inputs(name, inputs)
        args = C.format_args(additional_forward_args)
        handles = hook_rule(relu_modules(self.model), type(self)._rule)
        try:
            grads = C.gradients(name, self.model, arrays, target, args)
        finally:
            for h in handles:
                h.remove()
        return C.format_output(grads, is_tuple)


class GuidedBackprop(_ReluRuleAttribution):
    """Gradients where every ReLU module passes back only positive gradients (Springenberg et
    al.). ReLUs called as functions (F.relu, a Dense layer's activation) keep their gradient.

    Args:
        model: an nn.Module or a Keras-door model.
    """

    _rule = staticmethod(_guided)


class Deconvolution(_ReluRuleAttribution):
    """Gradients where every ReLU module applies ReLU to the incoming gradient instead of its
    own gradient (Zeiler and Fergus).

    Args:
        model: an nn.Module or a Keras-door model.
    """

    _rule = staticmethod(_deconv)


class GuidedGradCam(Attribution):
    """Guided backprop times Grad-CAM (with ReLU) upsampled to the input's size.

    Args:
        model: an nn.Module or a Keras-door model.
        layer: the conv layer for Grad-CAM.
        device_ids: accepted for Captum's signature.
    """

    def __init__(self, model, layer, device_ids=None) -> None:
        C.check_module("GuidedGradCam", model)
        super().__init__(model)
        self.grad_cam = LayerGradCam(model, layer)
        self.guided_backprop = GuidedBackprop(model)

    def attribute(
        self,
        inputs,
        target=None,
        additional_forward_args=None,
        interpolate_mode: str = "nearest",
        attribute_to_layer_input: bool = False,
    ):
        """Guided Grad-CAM attributions.

        Args:
            inputs: a Tensor (batch first) or a tuple of Tensors (N, C, *spatial).
            target: the output to explain: None, an int, a tuple, or one per example.
            additional_forward_args: extra arguments passed to the model after the inputs.
            interpolate_mode: how Grad-CAM is resized to the input ("nearest", ...).
            attribute_to_layer_input: Grad-CAM on the layer's input instead of its output.

        Returns:
            Attributions in the form of ``inputs``.

        Raises:
            ValueError: an input without spatial dimensions; a bad target.
        """
        name = self._name()
        arrays, is_tuple = C.format_inputs(name, inputs)
        cam = self.grad_cam.attribute(
            inputs,
            target=target,
            additional_forward_args=additional_forward_args,
            attribute_to_layer_input=attribute_to_layer_input,
            relu_attributions=True,
        )
        guided = self.guided_backprop.attribute(
            inputs, target=target, additional_forward_args=additional_forward_args
        )
        guided = guided if is_tuple else (guided,)
        last = _channels_last(self.grad_cam.layer)
        if last:
            cam = Tensor._wrap(np.moveaxis(cam._data, -1, 1))
        out = []
        for k, (x, gb) in enumerate(zip(arrays, guided)):
            if x.ndim < 3:
                raise ValueError(
                    f"{name}: input {k} has shape {x.shape}; Guided Grad-CAM needs (N, C, "
                    "*spatial) inputs ((N, *spatial, C) for a channels-last layer)"
                )
            spatial = x.shape[1:-1] if last else x.shape[2:]
            up = LayerAttribution.interpolate(cam, spatial, interpolate_mode)._data
            out.append(gb._data * (np.moveaxis(up, 1, -1) if last else up))
        return C.format_output(out, is_tuple)
