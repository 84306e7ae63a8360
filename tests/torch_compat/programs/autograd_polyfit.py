# Fit a cubic a + b x + c x^2 + d x^3 to sin(x) with bare tensors and autograd: the coefficients
# are leaves with requires_grad=True, updated by hand under torch.no_grad().
# compat: rtol=1e-3 atol=1e-5
import math

import numpy as np
import torch

rng = np.random.default_rng(3)
x = torch.linspace(-math.pi, math.pi, 500, dtype=torch.float32)
y = torch.sin(x)
start = rng.normal(size=4)
a, b, c, d = (torch.tensor(v, dtype=torch.float32, requires_grad=True) for v in start)

RESULTS["x_shape"] = tuple(x.shape)
RESULTS["leaf"] = f"{a.is_leaf} {a.requires_grad} {a.grad is None}"

learning_rate = 2e-6
history = []
for t in range(400):
    y_pred = a + b * x + c * x**2 + d * x**3
    loss = (y_pred - y).pow(2).sum()
    if t % 50 == 0:
        history.append(loss.item())
    if t == 0:
        RESULTS["graph"] = f"{y_pred.grad_fn is not None} {y_pred.is_leaf} {loss.requires_grad}"
    loss.backward()
    with torch.no_grad():
        a -= learning_rate * a.grad
        b -= learning_rate * b.grad
        c -= learning_rate * c.grad
        d -= learning_rate * d.grad
        # Both ways of clearing a gradient, as tutorials use them.
        if t % 2 == 1:
            a.grad = None
            b.grad = None
            c.grad.zero_()
            d.grad.zero_()
        else:
            for p in (a, b, c, d):
                p.grad = None

RESULTS["loss_history"] = np.array(history)
RESULTS["coefficients"] = np.array([a.item(), b.item(), c.item(), d.item()])
RESULTS["still_leaves"] = f"{a.is_leaf} {a.requires_grad} {d.grad is None}"
RESULTS["zeroed_grad"] = c.grad.numpy() if c.grad is not None else "none"

# A result of no_grad does not require a gradient; detach() cuts the graph too.
with torch.no_grad():
    frozen = a * x
RESULTS["no_grad_result"] = f"{frozen.requires_grad} {(a * x).detach().requires_grad}"
RESULTS["fit_at_1"] = (a + b * 1.0 + c * 1.0**2 + d * 1.0**3).item()

# In-place mistakes autograd catches: changing a tensor that backward still needs, and changing
# a leaf that requires grad outside no_grad.
w = torch.tensor([0.5, -1.0, 2.0], requires_grad=True)
h = w * 3
sq = h**2
h.add_(1)
try:
    sq.sum().backward()
    RESULTS["modified_saved_tensor"] = "no error"
except RuntimeError:
    RESULTS["modified_saved_tensor"] = "RuntimeError"
try:
    w.mul_(2)
    RESULTS["inplace_on_leaf"] = "no error"
except RuntimeError:
    RESULTS["inplace_on_leaf"] = "RuntimeError"
# An in-place op on a non-leaf that backward does not need is fine.
h2 = w * 3
out = h2.exp()
h2.mul_(0)
RESULTS["safe_inplace"] = f"{out.grad_fn is not None} {h2.sum().item()}"
