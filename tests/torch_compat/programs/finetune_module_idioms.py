# Module idioms from fine-tuning code: a backbone in ModuleList / ModuleDict, model.apply with
# an init function built on nn.init, freezing with requires_grad_(False), swapping the head,
# an optimizer over only the trainable parameters with two param groups, a forward hook that
# captures features, named_modules / children, and parameter counts.
# compat: rtol=1e-4 atol=1e-6
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


class Backbone(nn.Module):
    def __init__(self):
        super().__init__()
        self.blocks = nn.ModuleList([nn.Linear(6, 10), nn.Linear(10, 10)])
        self.norms = nn.ModuleDict({"first": nn.LayerNorm(10), "second": nn.LayerNorm(10)})

    def forward(self, x):
        x = F.gelu(self.norms["first"](self.blocks[0](x)))
        return F.gelu(self.norms["second"](self.blocks[1](x)))


class Classifier(nn.Module):
    def __init__(self, n_classes):
        super().__init__()
        self.backbone = Backbone()
        self.head = nn.Linear(10, n_classes)

    def forward(self, x):
        return self.head(self.backbone(x))


rng = np.random.default_rng(43)


def init_weights(m):
    if isinstance(m, nn.Linear):
        with torch.no_grad():
            m.weight.copy_(torch.from_numpy(rng.normal(0, 0.4, tuple(m.weight.shape))).float())
        nn.init.zeros_(m.bias)
    elif isinstance(m, nn.LayerNorm):
        nn.init.ones_(m.weight)
        nn.init.constant_(m.bias, 0.1)


model = Classifier(5)
model.apply(init_weights)
RESULTS["module_names"] = " ".join(name for name, _ in model.named_modules())
RESULTS["children"] = " ".join(type(c).__name__ for c in model.children())
RESULTS["n_params_before"] = sum(p.numel() for p in model.parameters())

x = torch.from_numpy(rng.normal(size=(16, 6)).astype(np.float32))
y = torch.from_numpy(rng.integers(0, 3, size=16))
RESULTS["pretrained_logits"] = model(x[:2]).detach().numpy()

# Fine-tune: freeze the backbone, replace the head with a 3-class one.
for param in model.backbone.parameters():
    param.requires_grad_(False)
model.head = nn.Linear(10, 3)
init_weights(model.head)
trainable = [p for p in model.parameters() if p.requires_grad]
RESULTS["n_trainable"] = sum(p.numel() for p in trainable)
RESULTS["trainable_names"] = " ".join(n for n, p in model.named_parameters() if p.requires_grad)

optimizer = torch.optim.SGD(
    [
        {"params": [model.head.weight], "lr": 0.2},
        {"params": [model.head.bias]},
    ],
    lr=0.05,
    momentum=0.5,
)
RESULTS["group_lrs"] = str([g["lr"] for g in optimizer.param_groups])

features = {}


def save_features(module, inputs, output):
    features["backbone"] = output.detach()


hook = model.backbone.register_forward_hook(save_features)
frozen_before = model.backbone.blocks[0].weight.clone()
losses = []
for _ in range(5):
    optimizer.zero_grad()
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    optimizer.step()
    losses.append(loss.item())
hook.remove()
RESULTS["losses"] = np.array(losses)
RESULTS["captured_shape"] = tuple(features["backbone"].shape)
RESULTS["captured"] = features["backbone"][:2].numpy()
RESULTS["backbone_unchanged"] = str(
    bool(torch.equal(frozen_before, model.backbone.blocks[0].weight))
)
RESULTS["frozen_grad"] = str(model.backbone.blocks[0].weight.grad is None)
RESULTS["head"] = np.concatenate(
    [model.head.weight.detach().numpy().ravel(), model.head.bias.detach().numpy()]
)

# Unfreezing one block puts it back in training.
model.backbone.blocks[1].requires_grad_(True)
RESULTS["n_trainable_after_unfreeze"] = sum(
    p.numel() for p in model.parameters() if p.requires_grad
)
