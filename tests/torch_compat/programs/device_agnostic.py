# Device-agnostic code as tutorials write it: pick "cuda" when there is one, else "cpu", move the
# model and every batch with .to(device), bring results back with .cpu().numpy(), print losses
# with f-strings. The results record agreements, not the device name, so a CUDA machine passes too.
import numpy as np
import torch
from torch import nn

device = "cuda" if torch.cuda.is_available() else "cpu"
accel = torch.accelerator.current_accelerator().type if torch.accelerator.is_available() else "cpu"
RESULTS["accelerator_agrees"] = str(accel in (device, "mps", "xpu"))
dev = torch.device(device)
RESULTS["device_type"] = str(dev.type == device)
RESULTS["cpu_device"] = f"{torch.device('cpu')} {torch.device('cpu').type}"


class TinyNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.flatten = nn.Flatten()
        self.stack = nn.Sequential(nn.Linear(12, 10), nn.ReLU(), nn.Linear(10, 4))

    def forward(self, x):
        return self.stack(self.flatten(x))


rng = np.random.default_rng(21)
model = TinyNet()
with torch.no_grad():
    for p in model.parameters():
        p.copy_(torch.tensor(rng.normal(0, 0.3, size=tuple(p.shape)), dtype=torch.float32))
returned = model.to(device)
RESULTS["to_returns_model"] = str(returned is model)
RESULTS["params_on_device"] = str(all(p.device.type == device for p in model.parameters()))

x_np = rng.normal(size=(16, 3, 4)).astype(np.float32)
y_np = rng.integers(0, 4, size=16)
X = torch.from_numpy(x_np).to(device)
y = torch.tensor(y_np).to(device)
RESULTS["batch_device"] = str(X.device.type == device and y.device == dev)
RESULTS["label_dtype"] = str(y.dtype == torch.int64)

loss_fn = nn.CrossEntropyLoss()
optimizer = torch.optim.SGD(model.parameters(), lr=1e-1)
printed = []
for batch in range(4):
    xb, yb = X[batch * 4 : batch * 4 + 4], y[batch * 4 : batch * 4 + 4]
    pred = model(xb)
    loss = loss_fn(pred, yb)
    loss.backward()
    optimizer.step()
    optimizer.zero_grad()
    loss, current = loss.item(), (batch + 1) * len(xb)
    printed.append(f"loss: {loss:>7f}  [{current:>5d}/{len(X):>5d}]")
    print(printed[-1])
RESULTS["printed"] = "\n".join(printed)

model.eval()
with torch.no_grad():
    logits = model(X)
    test_loss = loss_fn(logits, y).item()
    correct = (logits.argmax(1) == y).type(torch.float).sum().item()
RESULTS["report"] = f"Accuracy: {(100 * correct / len(X)):>0.1f}%, Avg loss: {test_loss:>8f}"
RESULTS["logits"] = logits.cpu().numpy()
RESULTS["logits_device"] = str(logits.device.type == device)
RESULTS["item_type"] = type(logits[0, 0].item()).__name__
RESULTS["tensor_format"] = f"{loss_fn(logits, y):.3f}"
RESULTS["tolist"] = str(y[:5].cpu().tolist())
RESULTS["numpy_dtype"] = str(logits.cpu().numpy().dtype)
