# Saving and loading the PyTorch way: torch.save(model.state_dict(), path) and
# load_state_dict(torch.load(path)), the optimizer's state_dict round trip (training resumes
# exactly), a checkpoint dict with epoch and loss, strict=False partial loads, and state_dict
# entries inspected, cloned and compared.
# compat: rtol=1e-5 atol=1e-6
import numpy as np
import torch
from torch import nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(5, 7)
        self.bn = nn.BatchNorm1d(7)
        self.fc2 = nn.Linear(7, 2)

    def forward(self, x):
        return self.fc2(self.bn(torch.relu(self.fc1(x))))


def train_steps(model, optimizer, x, y, n):
    losses = []
    for _ in range(n):
        optimizer.zero_grad()
        loss = nn.functional.mse_loss(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


rng = np.random.default_rng(23)
x = torch.from_numpy(rng.normal(size=(12, 5)).astype(np.float32))
y = torch.from_numpy(rng.normal(size=(12, 2)).astype(np.float32))
model = Net()
with torch.no_grad():
    for p in model.parameters():
        p.copy_(torch.from_numpy(rng.normal(0, 0.5, size=tuple(p.shape)).astype(np.float32)))
optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
RESULTS["first_losses"] = np.array(train_steps(model, optimizer, x, y, 3))

sd = model.state_dict()
RESULTS["keys"] = " ".join(sd.keys())
RESULTS["shapes"] = str([tuple(v.shape) for k, v in model.state_dict().items()])
RESULTS["num_batches_tracked"] = int(sd["bn.num_batches_tracked"])
RESULTS["state_is_detached"] = str(not any(v.requires_grad for v in sd.values()))
snapshot = sd["fc1.weight"].clone()

torch.save(model.state_dict(), "model_weights.pth")
torch.save(optimizer.state_dict(), "optimizer.pth")
torch.save(
    {
        "epoch": 3,
        "model_state_dict": model.state_dict(),
        "optimizer_state_dict": optimizer.state_dict(),
        "loss": 0.5,
    },
    "checkpoint.tar",
)

# The state_dict shares memory with the parameters; the clone does not.
with torch.no_grad():
    model.fc1.weight.add_(1.0)
RESULTS["shares_memory"] = str(bool(torch.equal(sd["fc1.weight"], model.fc1.weight)))
RESULTS["clone_kept"] = str(not torch.allclose(snapshot, sd["fc1.weight"]))
with torch.no_grad():
    model.fc1.weight.copy_(snapshot)

restored = Net()
result = restored.load_state_dict(torch.load("model_weights.pth", weights_only=True))
RESULTS["load_result"] = f"{list(result.missing_keys)} {list(result.unexpected_keys)}"
restored_opt = torch.optim.Adam(restored.parameters(), lr=0.01)
restored_opt.load_state_dict(torch.load("optimizer.pth"))
osd = restored_opt.state_dict()
RESULTS["optimizer_state"] = (
    f"{sorted(osd)} {sorted(osd['state'][0])} {osd['param_groups'][0]['params']}"
)
RESULTS["adam_step"] = float(osd["state"][0]["step"])
RESULTS["exp_avg"] = osd["state"][4]["exp_avg"].clone().numpy()

model.eval()
restored.eval()
with torch.no_grad():
    RESULTS["same_eval_output"] = str(bool(torch.equal(model(x), restored(x))))
    RESULTS["eval_output"] = restored(x[:3]).numpy()

# Training resumes identically from the loaded model and optimizer.
model.train()
restored.train()
continued = train_steps(model, optimizer, x, y, 2)
resumed = train_steps(restored, restored_opt, x, y, 2)
RESULTS["continued"] = np.array(continued)
RESULTS["resumed_matches"] = str(continued == resumed)

checkpoint = torch.load("checkpoint.tar")
third = Net()
third.load_state_dict(checkpoint["model_state_dict"])
RESULTS["checkpoint_meta"] = f"{checkpoint['epoch']} {checkpoint['loss']}"
RESULTS["checkpoint_bn_mean"] = third.bn.running_mean.numpy()

# A partial dict: strict=False reports what is missing, strict=True refuses.
partial = {k: v for k, v in checkpoint["model_state_dict"].items() if k.startswith("fc2")}
result = third.load_state_dict(partial, strict=False)
RESULTS["partial_missing"] = " ".join(result.missing_keys)
try:
    third.load_state_dict(partial)
    RESULTS["strict_raises"] = "no"
except RuntimeError as err:
    RESULTS["strict_raises"] = f"RuntimeError, names the missing keys: {'fc1.weight' in str(err)}"
