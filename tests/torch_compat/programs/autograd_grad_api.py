# The autograd API beyond loss.backward(): torch.autograd.grad with create_graph for a second
# derivative and a gradient penalty, retain_graph, backward with a gradient argument on a
# non-scalar, gradient accumulation across two backward calls, tensor hooks, retain_grad.
# compat: rtol=1e-4 atol=1e-6
import numpy as np
import torch
import torch.nn as nn

rng = np.random.default_rng(41)
x = torch.tensor(rng.normal(size=5), dtype=torch.float64, requires_grad=True)

# First and second derivatives of sum(x^3 * sin(x)).
y = (x**3 * torch.sin(x)).sum()
(g,) = torch.autograd.grad(y, x, create_graph=True)
(gg,) = torch.autograd.grad(g.sum(), x)
RESULTS["first_derivative"] = g.detach().numpy()
RESULTS["second_derivative"] = gg.numpy()
RESULTS["grad_graph"] = f"{g.requires_grad} {gg.requires_grad} {x.grad is None}"

# retain_graph lets backward run twice; gradients add up in .grad.
z = (x.exp() * 2).sum()
z.backward(retain_graph=True)
once = x.grad.clone()
z.backward()
RESULTS["accumulated_twice"] = str(bool(torch.allclose(x.grad, 2 * once)))
x.grad.zero_()

# backward of a non-scalar needs the vector of a vector-Jacobian product.
v = torch.tensor(rng.normal(size=5), dtype=torch.float64)
(x * x).backward(gradient=v)
RESULTS["vjp"] = x.grad.numpy().copy()
x.grad = None

# Hooks: a hook on a tensor sees (and can replace) its gradient; retain_grad keeps a
# non-leaf's gradient.
seen = []
hidden = x * 4
hidden.retain_grad()
handle = hidden.register_hook(lambda grad: seen.append(grad.clone()) or grad * 0.5)
hidden.pow(2).sum().backward()
handle.remove()
RESULTS["hook_saw"] = seen[0].numpy()
RESULTS["leaf_grad_after_hook"] = x.grad.numpy()
RESULTS["nonleaf_grad"] = hidden.grad.numpy()
RESULTS["nonleaf_is_leaf"] = str(hidden.is_leaf)

# A gradient penalty on a small critic, as in WGAN-GP: grad of the output w.r.t. the input,
# kept in the graph so the penalty trains the weights.
critic = nn.Sequential(nn.Linear(3, 6), nn.Tanh(), nn.Linear(6, 1)).double()
with torch.no_grad():
    for p in critic.parameters():
        p.copy_(torch.from_numpy(rng.normal(0, 0.5, size=tuple(p.shape))))
points = torch.tensor(rng.normal(size=(4, 3)), requires_grad=True)
scores = critic(points)
(grad_points,) = torch.autograd.grad(
    outputs=scores,
    inputs=points,
    grad_outputs=torch.ones_like(scores),
    create_graph=True,
    retain_graph=True,
)
penalty = ((grad_points.norm(2, dim=1) - 1) ** 2).mean()
penalty.backward()
RESULTS["penalty"] = penalty.item()
RESULTS["penalty_weight_grad"] = critic[0].weight.grad.numpy()

# requires_grad_(False) freezes; detach shares data but not the graph.
frozen = torch.ones(5, dtype=torch.float64).requires_grad_(False)
out = (frozen * x).sum()
RESULTS["frozen"] = f"{frozen.requires_grad} {out.requires_grad}"
d = x.detach()
RESULTS["detach_shares"] = str(bool(d.data_ptr() == x.data_ptr()))
