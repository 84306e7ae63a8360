"""Perturbation attributions with Captum's names and arguments: FeatureAblation and Occlusion.

Both replace parts of the input by a baseline and credit the change of the picked output to the
replaced elements. They need forward passes only (no gradient); ``perturbations_per_eval``
stacks several perturbed copies of the batch into one forward pass.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from nerve.explain import _common as C
from nerve.explain.gradient import Attribution


def _ablate(method, forward_func, arrays, bases, masks_per_input, target, args, per_eval):
    """Credit ``f(x) - f(x with mask replaced by baseline)`` to each mask's elements.

    ``masks_per_input[i]`` is a list of boolean masks over input i (feature shape, or with a
    leading batch axis of 1 or N). Returns (sum of credits, how often each element was masked).
    """
    n = arrays[0].shape[0]
    initial = C.evaluate(method, forward_func, arrays, target, args)
    totals, counts = [], []
    for i, (x, b) in enumerate(zip(arrays, bases)):
        total = np.zeros(x.shape, initial.dtype)
        count = np.zeros(x.shape, x.dtype)
        masks = masks_per_input[i]
        for start in range(0, len(masks), per_eval):
            group = masks[start : start + per_eval]
            p = len(group)
            ms = [np.broadcast_to(m, x.shape).astype(x.dtype) for m in group]
            # copy-major layout: p copies of the batch, copy j with mask j replaced
            ablated = np.concatenate([x * (1 - m) + b * m for m in ms])
            batch = tuple(
                ablated if j == i else np.concatenate([other] * p) for j, other in enumerate(arrays)
            )
            out = C.evaluate(
                method, forward_func, batch, C.expand_target(target, p), C.expand_args(args, p)
            )
            diffs = np.tile(initial, p) - out
            for j, m in enumerate(ms):
                d = diffs[j * n : (j + 1) * n].reshape((n,) + (1,) * (x.ndim - 1))
                total += d * m
                count += m
        totals.append(total)
        counts.append(count)
    return totals, counts


class FeatureAblation(Attribution):
    """Each feature (group of input elements) is replaced by its baseline in turn; its
    attribution is the resulting drop of the picked output.

    Args:
        forward_func: the model, or any callable from input Tensors to an output Tensor.
    """

    def attribute(
        self,
        inputs,
        baselines=None,
        target=None,
        additional_forward_args=None,
        feature_mask=None,
        perturbations_per_eval: int = 1,
        show_progress: bool = False,
        **kwargs,
    ):
        """f(x) - f(x with one feature ablated), for every element of that feature.

        Args:
            inputs: a Tensor (batch first) or a tuple of Tensors.
            baselines: the replacement values: None (zeros), a number, or an array of the
                input's shape or ``(1, ...)``.
            target: the output to explain: None, an int, a tuple, or one per example.
            additional_forward_args: extra arguments passed to the model after the inputs.
            feature_mask: integer ids grouping the elements into features, of the input's shape
                or with a batch axis of 1 (default: every element on its own).
            perturbations_per_eval: ablated copies per forward pass.
            show_progress: accepted for Captum's signature (no progress bar is shown).
            **kwargs: accepted for Captum's signature.

        Returns:
            Attributions in the form of ``inputs``.

        Raises:
            ValueError: a feature mask or baselines that do not fit the inputs; a bad target.
        """
        name = self._name()
        arrays, is_tuple = C.format_inputs(name, inputs)
        bases = C.format_baselines(name, baselines, arrays, allow_batch=False)
        args = C.format_args(additional_forward_args)
        if perturbations_per_eval < 1:
            raise ValueError(f"{name}: perturbations_per_eval must be >= 1")
        if feature_mask is None:
            fmasks = [None] * len(arrays)
        else:
            fmasks = (
                list(feature_mask) if isinstance(feature_mask, (tuple, list)) else [feature_mask]
            )
            if len(fmasks) != len(arrays):
                raise ValueError(
                    f"{name}: {len(fmasks)} feature masks given for {len(arrays)} inputs"
                )
        masks_per_input = []
        for k, (x, fm) in enumerate(zip(arrays, fmasks)):
            if fm is None:
                ids = np.arange(math.prod(x.shape[1:])).reshape((1,) + x.shape[1:])
            else:
                ids = fm._data if isinstance(fm, C.Tensor) else np.asarray(fm)
                try:
                    np.broadcast_shapes(ids.shape, x.shape)
                except ValueError:
                    raise ValueError(
                        f"{name}: feature_mask {k} has shape {ids.shape}, which does not "
                        f"broadcast to input {k} of shape {x.shape}"
                    ) from None
                if ids.ndim == x.ndim and ids.shape[0] not in (1, x.shape[0]):
                    raise ValueError(
                        f"{name}: feature_mask {k} has batch size {ids.shape[0]}; expected 1 or "
                        f"{x.shape[0]}"
                    )
            masks_per_input.append([ids == v for v in np.unique(ids)])
        totals, _ = _ablate(
            name, self.forward_func, arrays, bases, masks_per_input, target, args,
            perturbations_per_eval,
        )  # fmt: skip
        return C.format_output(totals, is_tuple)


class Occlusion(Attribution):
    """A window slides over the input; where it covers, the input is replaced by the baseline.
    Each element's attribution is the mean drop of the picked output over the windows that
    cover it (Zeiler and Fergus).

    Args:
        forward_func: the model, or any callable from input Tensors to an output Tensor.
    """

    def attribute(
        self,
        inputs,
        sliding_window_shapes,
        strides=None,
        baselines=None,
        target=None,
        additional_forward_args=None,
        perturbations_per_eval: int = 1,
        show_progress: bool = False,
    ):
        """Occlusion attributions.

        Args:
            inputs: a Tensor (batch first) or a tuple of Tensors.
            sliding_window_shapes: the window over one example's dimensions, e.g. (1, 3, 3) for
                (C, H, W) images; one per input for a tuple.
            strides: the window's step, an int or a tuple per dimension (default 1).
            baselines: the replacement values: None (zeros), a number, or an array of the
                input's shape or ``(1, ...)``.
            target: the output to explain: None, an int, a tuple, or one per example.
            additional_forward_args: extra arguments passed to the model after the inputs.
            perturbations_per_eval: occluded copies per forward pass.
            show_progress: accepted for Captum's signature (no progress bar is shown).

        Returns:
            Attributions in the form of ``inputs``.

        Raises:
            ValueError: a window or strides that do not fit the inputs; a bad target.
        """
        name = self._name()
        arrays, is_tuple = C.format_inputs(name, inputs)
        bases = C.format_baselines(name, baselines, arrays, allow_batch=False)
        args = C.format_args(additional_forward_args)
        if perturbations_per_eval < 1:
            raise ValueError(f"{name}: perturbations_per_eval must be >= 1")
        windows = sliding_window_shapes
        if not isinstance(windows[0], (tuple, list)):
            windows = (windows,)
        if len(windows) != len(arrays):
            raise ValueError(
                f"{name}: {len(windows)} sliding_window_shapes given for {len(arrays)} inputs"
            )
        if strides is None:
            strides = (1,) * len(arrays)
        elif len(arrays) == 1:
            strides = (strides,)
        elif not isinstance(strides, (tuple, list)) or len(strides) != len(arrays):
            raise ValueError(f"{name}: give one strides entry per input ({len(arrays)} inputs)")
        masks_per_input = []
        for k, (x, win, st) in enumerate(zip(arrays, windows, strides)):
            feat = x.shape[1:]
            win = tuple(win)
            st = (st,) * len(feat) if isinstance(st, int) else tuple(st)
            if len(win) != len(feat) or len(st) != len(feat):
                raise ValueError(
                    f"{name}: input {k} has example shape {feat} but the sliding window is "
                    f"{win} and the strides {st}; give one size per dimension"
                )
            if any(w < 1 or w > f for w, f in zip(win, feat)) or any(s < 1 for s in st):
                raise ValueError(
                    f"{name}: sliding window {win} (strides {st}) does not fit input {k}'s "
                    f"example shape {feat}"
                )
            counts = [math.ceil((f - w) / s) + 1 for f, w, s in zip(feat, win, st)]
            masks = []
            for index in itertools.product(*(range(c) for c in counts)):
                m = np.zeros((1,) + feat, bool)
                box = tuple(slice(i * s, i * s + w) for i, s, w in zip(index, st, win))
                m[(slice(None),) + box] = True
                masks.append(m)
            masks_per_input.append(masks)
        totals, counts = _ablate(
            name, self.forward_func, arrays, bases, masks_per_input, target, args,
            perturbations_per_eval,
        )  # fmt: skip
        return C.format_output([t / c for t, c in zip(totals, counts)], is_tuple)
