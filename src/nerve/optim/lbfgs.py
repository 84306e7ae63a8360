"""L-BFGS: a quasi-Newton method from the last ``history_size`` steps and gradient changes,
with an optional strong-Wolfe line search (Nocedal and Wright, Numerical Optimization, alg. 7.4
and 3.5-3.6), as ``torch.optim.LBFGS``."""

from __future__ import annotations

import math

import numpy as np

from nerve.autograd import enable_grad, no_grad
from nerve.backend import array_module_of
from nerve.optim.optimizer import Optimizer, check_lr


class LBFGS(Optimizer):
    """Limited-memory BFGS over all parameters as one flat vector, as ``torch.optim.LBFGS``.

    Each ``step(closure)`` runs up to ``max_iter`` iterations: the two-loop recursion turns the
    gradient into a direction ``d`` (``-grad`` scaled by the history's curvature), then a step
    ``t`` along it: ``lr`` (the first iteration ``min(1, 1 / |grad|_1) * lr``), or the step a
    strong-Wolfe line search finds. It stops early when the gradient, the step or the change in
    loss falls below its tolerance, or after ``max_eval`` evaluations.

    Args:
        params: the parameters (one group only).
        lr: learning rate (default 1).
        max_iter: iterations per ``step`` (default 20).
        max_eval: closure evaluations per ``step`` (default ``max_iter * 5 // 4``).
        tolerance_grad: stop when ``max |grad|`` is at most this (default 1e-7).
        tolerance_change: stop when the step or the loss change is below this (default 1e-9).
        history_size: how many (step, gradient change) pairs to keep (default 100).
        line_search_fn: None or "strong_wolfe".

    Raises:
        ValueError: more than one parameter group, or a bad option.

    >>> import nerve
    >>> w = nerve.tensor([1.5, -0.5], requires_grad=True)
    >>> opt = LBFGS([w], line_search_fn="strong_wolfe")
    >>> def closure():
    ...     opt.zero_grad()
    ...     loss = ((w - 3.0) ** 2).sum()
    ...     loss.backward()
    ...     return loss
    >>> _ = opt.step(closure)
    >>> w._data.round(4).tolist()
    [3.0, 3.0]
    """

    def __init__(
        self,
        params,
        lr: float = 1,
        max_iter: int = 20,
        max_eval: int | None = None,
        tolerance_grad: float = 1e-7,
        tolerance_change: float = 1e-9,
        history_size: int = 100,
        line_search_fn: str | None = None,
    ):
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        defaults = dict(
            lr=lr,
            max_iter=max_iter,
            max_eval=max_eval,
            tolerance_grad=tolerance_grad,
            tolerance_change=tolerance_change,
            history_size=history_size,
            line_search_fn=line_search_fn,
        )
        super().__init__(params, defaults)
        if len(self.param_groups) != 1:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")
        self._params = self.param_groups[0]["params"]

    def _check(self, options: dict) -> None:
        check_lr(options["lr"])
        if options["max_iter"] < 1 or options["history_size"] < 1:
            raise ValueError(
                f"LBFGS: max_iter and history_size must be >= 1, got {options['max_iter']} and "
                f"{options['history_size']}"
            )
        if options["line_search_fn"] not in (None, "strong_wolfe"):
            raise ValueError(
                f"LBFGS: only 'strong_wolfe' is supported as line_search_fn, got "
                f"{options['line_search_fn']!r}"
            )

    # ---------------------------------------------------------------- the flat vector
    def _flat_grad(self) -> np.ndarray:
        # made with the parameters' array module: the flat vector lives on their device
        parts = [
            array_module_of(p._data).zeros(p._data.size, p._data.dtype)
            if p.grad is None
            else p.grad._data.reshape(-1)
            for p in self._params
        ]
        return np.concatenate(parts)

    def _add(self, step, direction: np.ndarray) -> None:
        offset = 0
        for p in self._params:
            n = p._data.size
            p._data += (
                (step * direction[offset : offset + n])
                .reshape(p._data.shape)
                .astype(p._data.dtype, copy=False)
            )
            offset += n

    def _set(self, saved: list) -> None:
        for p, value in zip(self._params, saved):
            p._data[...] = value

    def _evaluate(self, closure) -> float:
        with enable_grad():
            return float(closure())

    def _directional(self, closure, saved, t, d):
        """Loss and flat gradient at ``x + t d``; the parameters are put back at ``x``."""
        self._add(t, d)
        loss = self._evaluate(closure)
        grad = self._flat_grad()
        self._set(saved)
        return loss, grad

    # ---------------------------------------------------------------- the step
    def step(self, closure=None):
        """Run up to ``max_iter`` iterations; ``closure`` clears the gradients, computes the
        loss, calls backward and returns the loss.

        Returns:
            The loss of the first evaluation (before this step moved the parameters).

        Raises:
            RuntimeError: no closure is given.
        """
        if closure is None:
            raise RuntimeError("LBFGS.step requires a closure that re-evaluates the model")
        group = self.param_groups[0]
        lr, max_iter, max_eval = group["lr"], group["max_iter"], group["max_eval"]
        tol_grad, tol_change = group["tolerance_grad"], group["tolerance_change"]
        history_size, line_search = group["history_size"], group["line_search_fn"]
        state = self.state[self._params[0]]
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)

        with enable_grad():
            orig_loss = closure()
        loss = float(orig_loss)
        evals = 1
        state["func_evals"] += 1
        flat_grad = self._flat_grad()
        if np.abs(flat_grad).max() <= tol_grad:
            return orig_loss

        d, t = state.get("d"), state.get("t")
        old_dirs, old_stps, ro = state.get("old_dirs"), state.get("old_stps"), state.get("ro")
        h_diag, prev_grad = state.get("H_diag"), state.get("prev_flat_grad")
        prev_loss = state.get("prev_loss")

        with no_grad():
            n_iter = 0
            while n_iter < max_iter:
                n_iter += 1
                state["n_iter"] += 1
                if state["n_iter"] == 1:
                    d = -flat_grad
                    old_dirs, old_stps, ro = [], [], []
                    h_diag = 1
                else:
                    y = flat_grad - prev_grad
                    s = d * t
                    ys = y.dot(s)
                    if ys > 1e-10:  # keep only pairs of positive curvature
                        if len(old_dirs) == history_size:
                            old_dirs.pop(0)
                            old_stps.pop(0)
                            ro.pop(0)
                        old_dirs.append(y)
                        old_stps.append(s)
                        ro.append(1.0 / ys)
                        h_diag = ys / y.dot(y)
                    d = _two_loop(flat_grad, old_dirs, old_stps, ro, h_diag)
                prev_grad = flat_grad.copy()
                prev_loss = loss
                if state["n_iter"] == 1:
                    t = min(1.0, 1.0 / np.abs(flat_grad).sum()) * lr
                else:
                    t = lr
                gtd = flat_grad.dot(d)
                if gtd > -tol_change:  # not a descent direction
                    break

                ls_evals = 0
                if line_search is not None:
                    saved = [p._data.copy() for p in self._params]

                    def objective(t_, saved=saved, d=d):
                        return self._directional(closure, saved, t_, d)

                    loss, flat_grad, t, ls_evals = _strong_wolfe(
                        objective, t, d, loss, flat_grad, gtd
                    )
                    self._add(t, d)
                    converged = np.abs(flat_grad).max() <= tol_grad
                else:
                    self._add(t, d)
                    converged = False
                    if n_iter != max_iter:
                        loss = self._evaluate(closure)
                        flat_grad = self._flat_grad()
                        converged = np.abs(flat_grad).max() <= tol_grad
                        ls_evals = 1
                evals += ls_evals
                state["func_evals"] += ls_evals

                if n_iter == max_iter or evals >= max_eval or converged:
                    break
                if np.abs(d * t).max() <= tol_change or abs(loss - prev_loss) < tol_change:
                    break

        state.update(
            d=d,
            t=t,
            old_dirs=old_dirs,
            old_stps=old_stps,
            ro=ro,
            H_diag=h_diag,
            prev_flat_grad=prev_grad,
            prev_loss=prev_loss,
        )
        return orig_loss


def _two_loop(grad, old_dirs, old_stps, ro, h_diag) -> np.ndarray:
    """The L-BFGS direction ``-H grad`` by the two-loop recursion over the stored pairs."""
    q = -grad
    al = [0.0] * len(old_dirs)
    for i in range(len(old_dirs) - 1, -1, -1):
        al[i] = old_stps[i].dot(q) * ro[i]
        q = q - al[i] * old_dirs[i]
    r = q * h_diag
    for i in range(len(old_dirs)):
        be_i = old_dirs[i].dot(r) * ro[i]
        r = r + (al[i] - be_i) * old_stps[i]
    return r


def _cubic_interpolate(x1, f1, g1, x2, f2, g2, bounds=None):
    """The minimizer of the cubic through (x1, f1, g1) and (x2, f2, g2), clipped to bounds
    (the bracket by default); the bounds' midpoint when the cubic has no minimum."""
    lo, hi = bounds if bounds is not None else ((x1, x2) if x1 <= x2 else (x2, x1))
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    d2_square = d1**2 - g1 * g2
    if d2_square >= 0:
        d2 = math.sqrt(d2_square)
        if x1 <= x2:
            min_pos = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
        else:
            min_pos = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
        return min(max(min_pos, lo), hi)
    return (lo + hi) / 2.0


def _strong_wolfe(objective, t, d, f, g, gtd, c1=1e-4, c2=0.9, tolerance_change=1e-9, max_ls=25):
    """A step ``t`` along ``d`` meeting the strong Wolfe conditions: bracket, then zoom.

    Returns (loss, flat gradient, t, evaluations) at the accepted step.
    """
    d_norm = np.abs(d).max()
    g = g.copy()
    f_new, g_new = objective(t)
    evals = 1
    gtd_new = g_new.dot(d)
    t_prev, f_prev, g_prev, gtd_prev = 0, f, g, gtd
    done = False
    ls_iter = 0
    while ls_iter < max_ls:
        if f_new > (f + c1 * t * gtd) or (ls_iter > 1 and f_new >= f_prev):
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, g_new.copy()], [gtd_prev, gtd_new]
            break
        if abs(gtd_new) <= -c2 * gtd:
            bracket, bracket_f, bracket_g = [t], [f_new], [g_new]
            done = True
            break
        if gtd_new >= 0:
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, g_new.copy()], [gtd_prev, gtd_new]
            break
        # extrapolate, between a little and ten times further
        min_step = t + 0.01 * (t - t_prev)
        max_step = t * 10
        tmp = t
        t = _cubic_interpolate(
            t_prev, f_prev, gtd_prev, t, f_new, gtd_new, bounds=(min_step, max_step)
        )
        t_prev, f_prev, g_prev, gtd_prev = tmp, f_new, g_new.copy(), gtd_new
        f_new, g_new = objective(t)
        evals += 1
        gtd_new = g_new.dot(d)
        ls_iter += 1
    if ls_iter == max_ls:
        bracket, bracket_f, bracket_g = [0, t], [f, f_new], [g, g_new]

    # zoom until the bracket holds a point meeting both conditions
    insuf_progress = False
    low, high = (0, 1) if bracket_f[0] <= bracket_f[-1] else (1, 0)
    while not done and ls_iter < max_ls:
        if abs(bracket[1] - bracket[0]) * d_norm < tolerance_change:
            break
        t = _cubic_interpolate(
            bracket[0], bracket_f[0], bracket_gtd[0], bracket[1], bracket_f[1], bracket_gtd[1]
        )
        # a point too close to an end of the bracket makes little progress: move it inside
        eps = 0.1 * (max(bracket) - min(bracket))
        if min(max(bracket) - t, t - min(bracket)) < eps:
            if insuf_progress or t >= max(bracket) or t <= min(bracket):
                if abs(t - max(bracket)) < abs(t - min(bracket)):
                    t = max(bracket) - eps
                else:
                    t = min(bracket) + eps
                insuf_progress = False
            else:
                insuf_progress = True
        else:
            insuf_progress = False
        f_new, g_new = objective(t)
        evals += 1
        gtd_new = g_new.dot(d)
        ls_iter += 1
        if f_new > (f + c1 * t * gtd) or f_new >= bracket_f[low]:
            bracket[high], bracket_f[high] = t, f_new
            bracket_g[high], bracket_gtd[high] = g_new.copy(), gtd_new
            low, high = (0, 1) if bracket_f[0] <= bracket_f[1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True
            elif gtd_new * (bracket[high] - bracket[low]) >= 0:
                bracket[high], bracket_f[high] = bracket[low], bracket_f[low]
                bracket_g[high], bracket_gtd[high] = bracket_g[low], bracket_gtd[low]
            bracket[low], bracket_f[low] = t, f_new
            bracket_g[low], bracket_gtd[low] = g_new.copy(), gtd_new
    return bracket_f[low], bracket_g[low], bracket[low], evals
