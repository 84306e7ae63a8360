# The everyday nn + optim loop: an nn.Sequential MLP classifier trained with CrossEntropyLoss,
# SGD with momentum and a StepLR schedule, evaluated under model.eval() / torch.no_grad(); then a
# regression head trained with MSELoss and Adam. Weights come from NumPy.
# compat: rtol=1e-3 atol=1e-5
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import optim

rng = np.random.default_rng(11)
features = rng.normal(size=(120, 6)).astype(np.float32)
labels = (features[:, 0] + features[:, 1] > 0).astype(np.int64) + (features[:, 2] > 0.8)
inputs = torch.from_numpy(features)
targets = torch.from_numpy(labels.astype(np.int64))


def init_from_numpy(model, rng):
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.from_numpy(rng.normal(0, 0.4, size=tuple(p.shape)).astype(np.float32)))


model = nn.Sequential(
    nn.Linear(6, 16),
    nn.ReLU(),
    nn.Linear(16, 16),
    nn.Tanh(),
    nn.Linear(16, 3),
)
init_from_numpy(model, rng)
RESULTS["param_names"] = " ".join(name for name, _ in model.named_parameters())
RESULTS["n_params"] = sum(p.numel() for p in model.parameters() if p.requires_grad)

loss_fn = nn.CrossEntropyLoss()
optimizer = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
scheduler = optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)

epoch_losses, lrs, accuracies = [], [], []
for _ in range(5):
    model.train()
    running = 0.0
    for start in range(0, 120, 30):
        xb, yb = inputs[start : start + 30], targets[start : start + 30]
        optimizer.zero_grad()
        logits = model(xb)
        loss = loss_fn(logits, yb)
        loss.backward()
        optimizer.step()
        running += loss.item() * xb.size(0)
    scheduler.step()
    lrs.append(scheduler.get_last_lr()[0])
    epoch_losses.append(running / len(inputs))
    model.eval()
    with torch.no_grad():
        pred = model(inputs).argmax(dim=1)
        accuracies.append((pred == targets).float().mean().item())
        correct = (pred == targets).sum().item()

RESULTS["epoch_losses"] = np.array(epoch_losses)
RESULTS["lrs"] = np.array(lrs)
RESULTS["accuracies"] = np.array(accuracies)
RESULTS["correct"] = int(correct)
RESULTS["optimizer_lr"] = optimizer.param_groups[0]["lr"]
RESULTS["training_flag"] = f"{model.training} {model[0].training}"
with torch.no_grad():
    probs = F.softmax(model(inputs[:4]), dim=1)
RESULTS["probs"] = probs.numpy()
RESULTS["grads_before_zero_grad"] = str([p.grad is None for p in model.parameters()])
optimizer.zero_grad()
RESULTS["grads_after_zero_grad"] = str([p.grad is None for p in model.parameters()])

# Regression: a small head, MSELoss, Adam with weight decay.
head = nn.Sequential(nn.Linear(6, 8), nn.Sigmoid(), nn.Linear(8, 1))
init_from_numpy(head, rng)
y_reg = torch.from_numpy((features @ rng.normal(size=(6, 1))).astype(np.float32))
adam = optim.Adam(head.parameters(), lr=0.05, betas=(0.9, 0.99), weight_decay=1e-3)
mse = nn.MSELoss()
reg_losses = []
for _ in range(25):
    adam.zero_grad()
    loss = mse(head(inputs), y_reg)
    loss.backward()
    adam.step()
    reg_losses.append(loss.item())
RESULTS["mse_losses"] = np.array(reg_losses)
RESULTS["head_bias"] = head[2].bias.detach().numpy()
RESULTS["adam_state_step"] = float(adam.state[head[0].weight]["step"])
