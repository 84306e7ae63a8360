# From bare tensors to nn, step by step: a logistic regression written with raw weights, a
# hand-made log_softmax and negative log-likelihood (indexing with range()), then the same model
# as an nn.Module holding nn.Parameters, F.cross_entropy, optim, TensorDataset + DataLoader, and
# finally an nn.Sequential CNN with a custom Lambda module, all with one fit() / loss_batch().
# compat: rtol=1e-3 atol=1e-5
import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn, optim
from torch.utils.data import DataLoader, TensorDataset

rng = np.random.default_rng(61)
n, d, classes = 60, 16, 4
x_np = rng.normal(size=(n, d)).astype(np.float32)
y_np = (x_np[:, :4].argmax(axis=1)).astype(np.int64)
x_train, y_train = map(torch.tensor, (x_np[:48], y_np[:48]))
x_valid, y_valid = map(torch.tensor, (x_np[48:], y_np[48:]))
RESULTS["train_shapes"] = f"{tuple(x_train.shape)} {tuple(y_train.shape)} {int(y_train.min())}"

start_w = (rng.normal(size=(d, classes)) / math.sqrt(d)).astype(np.float32)
weights = torch.from_numpy(start_w.copy())
weights.requires_grad_()
bias = torch.zeros(classes, requires_grad=True)


def log_softmax(x):
    return x - x.exp().sum(-1).log().unsqueeze(-1)


def model(xb):
    return log_softmax(xb @ weights + bias)


def nll(input, target):
    return -input[range(target.shape[0]), target].mean()


def accuracy(out, yb):
    preds = torch.argmax(out, dim=1)
    return (preds == yb).float().mean()


loss_func = nll
bs, lr = 12, 0.5
RESULTS["start_loss"] = loss_func(model(x_train[:bs]), y_train[:bs]).item()
for _ in range(2):
    for i in range((48 - 1) // bs + 1):
        start_i = i * bs
        xb, yb = x_train[start_i : start_i + bs], y_train[start_i : start_i + bs]
        loss = loss_func(model(xb), yb)
        loss.backward()
        with torch.no_grad():
            weights -= weights.grad * lr
            bias -= bias.grad * lr
            weights.grad.zero_()
            bias.grad.zero_()
RESULTS["manual_loss_acc"] = np.array(
    [loss_func(model(x_train), y_train).item(), accuracy(model(x_train), y_train).item()]
)
RESULTS["cross_entropy_agrees"] = str(
    bool(
        torch.allclose(
            F.cross_entropy(x_train @ weights + bias, y_train), nll(model(x_train), y_train)
        )
    )
)


class LogisticRegression(nn.Module):
    def __init__(self):
        super().__init__()
        self.weights = nn.Parameter(torch.from_numpy(start_w.copy()))
        self.bias = nn.Parameter(torch.zeros(classes))

    def forward(self, xb):
        return xb @ self.weights + self.bias


def loss_batch(model, loss_func, xb, yb, opt=None):
    loss = loss_func(model(xb), yb)
    if opt is not None:
        loss.backward()
        opt.step()
        opt.zero_grad()
    return loss.item(), len(xb)


def fit(epochs, model, loss_func, opt, train_dl, valid_dl):
    history = []
    for _ in range(epochs):
        model.train()
        for xb, yb in train_dl:
            loss_batch(model, loss_func, xb, yb, opt)
        model.eval()
        with torch.no_grad():
            losses, nums = zip(*[loss_batch(model, loss_func, xb, yb) for xb, yb in valid_dl])
        history.append(np.sum(np.multiply(losses, nums)) / np.sum(nums))
    return np.array(history)


train_dl = DataLoader(TensorDataset(x_train, y_train), batch_size=bs)
valid_dl = DataLoader(TensorDataset(x_valid, y_valid), batch_size=bs * 2)
lr_model = LogisticRegression()
RESULTS["parameter_names"] = " ".join(name for name, _ in lr_model.named_parameters())
RESULTS["module_history"] = fit(
    3, lr_model, F.cross_entropy, optim.SGD(lr_model.parameters(), lr=lr), train_dl, valid_dl
)


class Lambda(nn.Module):
    def __init__(self, func):
        super().__init__()
        self.func = func

    def forward(self, x):
        return self.func(x)


cnn = nn.Sequential(
    Lambda(lambda x: x.view(-1, 1, 4, 4)),
    nn.Conv2d(1, 6, kernel_size=3, stride=1, padding=1),
    nn.ReLU(),
    nn.Conv2d(6, classes, kernel_size=3, stride=2, padding=1),
    nn.ReLU(),
    nn.AdaptiveAvgPool2d(1),
    Lambda(lambda x: x.view(x.size(0), -1)),
)
with torch.no_grad():
    for p in cnn.parameters():
        p.copy_(torch.from_numpy(rng.normal(0, 0.4, size=tuple(p.shape)).astype(np.float32)))
opt = optim.SGD(cnn.parameters(), lr=0.1, momentum=0.9)
RESULTS["cnn_history"] = fit(3, cnn, F.cross_entropy, opt, train_dl, valid_dl)
with torch.no_grad():
    RESULTS["cnn_valid_logits"] = cnn(x_valid[:3]).numpy()
    RESULTS["pooled_by_function"] = F.avg_pool2d(x_valid[:2].view(-1, 1, 4, 4), 2).numpy()
