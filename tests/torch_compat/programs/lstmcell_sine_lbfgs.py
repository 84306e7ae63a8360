# Sequence prediction with two stacked LSTMCells and a Linear read-out, unrolled by hand over
# time, trained with L-BFGS and a closure, then asked to continue the waves by feeding its own
# outputs back in. Double precision throughout, as the classic example does.
# compat: rtol=1e-4 atol=1e-6
import numpy as np
import torch
import torch.nn as nn
import torch.optim as optim


class Forecaster(nn.Module):
    def __init__(self, hidden=12):
        super().__init__()
        self.hidden = hidden
        self.cell1 = nn.LSTMCell(1, hidden)
        self.cell2 = nn.LSTMCell(hidden, hidden)
        self.readout = nn.Linear(hidden, 1)

    def forward(self, signal, future=0):
        batch = signal.size(0)
        h1 = torch.zeros(batch, self.hidden, dtype=torch.double)
        c1 = torch.zeros(batch, self.hidden, dtype=torch.double)
        h2 = torch.zeros(batch, self.hidden, dtype=torch.double)
        c2 = torch.zeros(batch, self.hidden, dtype=torch.double)
        outputs = []
        for step_input in signal.split(1, dim=1):
            h1, c1 = self.cell1(step_input, (h1, c1))
            h2, c2 = self.cell2(h1, (h2, c2))
            out = self.readout(h2)
            outputs.append(out)
        for _ in range(future):
            h1, c1 = self.cell1(out, (h1, c1))
            h2, c2 = self.cell2(h1, (h2, c2))
            out = self.readout(h2)
            outputs.append(out)
        return torch.cat(outputs, dim=1)


rng = np.random.default_rng(2)
steps = 16
shifts = rng.integers(-8, 8, size=(7, 1))
waves = np.sin((np.arange(steps)[None, :] + shifts) / 4.0)
train_in = torch.from_numpy(waves[:5, :-1])
train_target = torch.from_numpy(waves[:5, 1:])
test_in = torch.from_numpy(waves[5:, :-1])
test_target = torch.from_numpy(waves[5:, 1:])

model = Forecaster()
model.double()
with torch.no_grad():
    for p in model.parameters():
        p.copy_(torch.from_numpy(rng.uniform(-0.3, 0.3, size=tuple(p.shape))))
RESULTS["param_names"] = " ".join(name for name, _ in model.named_parameters())
RESULTS["param_dtype"] = str(next(model.parameters()).dtype == torch.float64)

criterion = nn.MSELoss()
optimizer = optim.LBFGS(model.parameters(), lr=0.8, max_iter=6)
closure_losses = []
step_losses = []
for _ in range(3):

    def closure():
        optimizer.zero_grad()
        out = model(train_in)
        loss = criterion(out, train_target)
        closure_losses.append(loss.item())
        loss.backward()
        return loss

    step_losses.append(optimizer.step(closure).item())
    with torch.no_grad():
        future = 6
        pred = model(test_in, future=future)
        test_loss = criterion(pred[:, :-future], test_target)

RESULTS["closure_calls"] = len(closure_losses)
RESULTS["closure_losses"] = np.array(closure_losses)
RESULTS["step_losses"] = np.array(step_losses)
RESULTS["test_loss"] = test_loss.item()
RESULTS["prediction_shape"] = tuple(pred.shape)
RESULTS["prediction"] = pred.detach().numpy()
lbfgs_state = optimizer.state_dict()["state"][0]
RESULTS["lbfgs_counters"] = (int(lbfgs_state["func_evals"]), int(lbfgs_state["n_iter"]))
