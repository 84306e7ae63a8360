# A hand-written autograd.Function (the third Legendre polynomial, plus a two-input soft clip),
# used in a fit, with its gradient checked against finite differences and torch.autograd.gradcheck.
# compat: rtol=1e-3 atol=1e-5
import math

import numpy as np
import torch


class Legendre3(torch.autograd.Function):
    """P3(x) = (5 x^3 - 3 x) / 2, with its derivative written out."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return 0.5 * (5 * x**3 - 3 * x)

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output * 1.5 * (5 * x**2 - 1)


class SoftClip(torch.autograd.Function):
    """scale * tanh(x / scale): differentiable in x and in scale; `power` is a plain number."""

    @staticmethod
    def forward(ctx, x, scale, power):
        t = torch.tanh(x / scale)
        ctx.save_for_backward(x, scale, t)
        ctx.power = power
        return scale * t**power

    @staticmethod
    def backward(ctx, grad_output):
        x, scale, t = ctx.saved_tensors
        p = ctx.power
        dt = (1 - t**2) * p * t ** (p - 1)
        grad_x = grad_scale = None
        if ctx.needs_input_grad[0]:
            grad_x = grad_output * dt
        if ctx.needs_input_grad[1]:
            grad_scale = (grad_output * (t**p - dt * x / scale)).sum().reshape(scale.shape)
        return grad_x, grad_scale, None


rng = np.random.default_rng(5)
x = torch.linspace(-math.pi, math.pi, 400)
y = torch.sin(x)
a, b, c, d = (
    torch.tensor(v, dtype=torch.float32, requires_grad=True) for v in [0.05, -1.0, 0.1, 0.3]
)

P3 = Legendre3.apply
losses = []
for t in range(300):
    y_pred = a + b * P3(c + d * x)
    loss = (y_pred - y).pow(2).sum()
    if t % 30 == 0:
        losses.append(loss.item())
    loss.backward()
    with torch.no_grad():
        for p in (a, b, c, d):
            p -= 5e-6 * p.grad
            p.grad = None
RESULTS["fit_losses"] = np.array(losses)
RESULTS["fit_coefficients"] = np.array([p.item() for p in (a, b, c, d)])
probe = P3(torch.tensor([0.5], requires_grad=True))
RESULTS["has_grad_fn"] = f"{probe.grad_fn is not None} {probe.requires_grad}"

# The custom backward against central differences, in float64.
inp = torch.tensor(rng.normal(size=(3, 4)), dtype=torch.float64, requires_grad=True)
out = Legendre3.apply(inp)
out.backward(torch.ones_like(out))
analytic = inp.grad.numpy().copy()
base = inp.detach().numpy()
eps = 1e-6
numeric = np.zeros_like(base)
for idx in np.ndindex(base.shape):
    hi, lo = base.copy(), base.copy()
    hi[idx] += eps
    lo[idx] -= eps
    numeric[idx] = (
        Legendre3.apply(torch.from_numpy(hi)).sum().item()
        - Legendre3.apply(torch.from_numpy(lo)).sum().item()
    ) / (2 * eps)
RESULTS["legendre_grad"] = analytic
RESULTS["legendre_matches_fd"] = bool(np.abs(analytic - numeric).max() < 1e-6)

xs = torch.tensor(rng.normal(size=(5,)), dtype=torch.float64, requires_grad=True)
scale = torch.tensor([1.7], dtype=torch.float64, requires_grad=True)
RESULTS["gradcheck_legendre"] = torch.autograd.gradcheck(
    Legendre3.apply, (inp,), eps=1e-6, atol=1e-5
)
RESULTS["gradcheck_softclip"] = torch.autograd.gradcheck(
    lambda u, s: SoftClip.apply(u, s, 3), (xs, scale), eps=1e-6, atol=1e-5
)
out = SoftClip.apply(xs, scale, 2)
out.sum().backward()
RESULTS["softclip_out"] = out.detach().numpy()
RESULTS["softclip_grads"] = np.concatenate([xs.grad.numpy(), scale.grad.numpy()])

# needs_input_grad follows requires_grad: no gradient is made for a constant scale.
xs.grad = None
const = torch.tensor([2.0], dtype=torch.float64)
SoftClip.apply(xs, const, 1).sum().backward()
RESULTS["const_scale_grad"] = f"{const.grad is None} {xs.grad is not None}"
