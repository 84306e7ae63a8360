# A small ResNet: a stem, two basic residual blocks (the second downsamples through a 1x1 conv
# shortcut), `out += identity` on an intermediate result, BatchNorm2d, ReLU(inplace=True),
# adaptive average pooling, a few SGD steps, then model.eval() inference with running stats.
# compat: rtol=1e-3 atol=1e-4
import numpy as np
import torch
import torch.nn as nn


class BasicBlock(nn.Module):
    def __init__(self, inplanes, planes, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = None
        if stride != 1 or inplanes != planes:
            self.downsample = nn.Sequential(
                nn.Conv2d(inplanes, planes, 1, stride=stride, bias=False), nn.BatchNorm2d(planes)
            )

    def forward(self, x):
        identity = x
        out = self.conv1(x)
        out = self.bn1(out)
        out = self.relu(out)
        out = self.conv2(out)
        out = self.bn2(out)
        if self.downsample is not None:
            identity = self.downsample(x)
        out += identity
        out = self.relu(out)
        return out


class TinyResNet(nn.Module):
    def __init__(self, num_classes=3):
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(3, 4, 3, padding=1, bias=False), nn.BatchNorm2d(4), nn.ReLU(inplace=True)
        )
        self.layer1 = BasicBlock(4, 4)
        self.layer2 = BasicBlock(4, 8, stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(8, num_classes)

    def forward(self, x):
        x = self.stem(x)
        x = self.layer1(x)
        x = self.layer2(x)
        x = self.avgpool(x)
        x = torch.flatten(x, 1)
        return self.fc(x)


rng = np.random.default_rng(6)
model = TinyResNet()
with torch.no_grad():
    for name, p in model.named_parameters():
        if p.dim() > 1:
            values = rng.normal(0, 0.4, size=tuple(p.shape))
        elif name.endswith("weight"):
            values = 1 + rng.normal(0, 0.1, size=tuple(p.shape))
        else:
            values = rng.normal(0, 0.1, size=tuple(p.shape))
        p.copy_(torch.from_numpy(values.astype(np.float32)))
RESULTS["n_params"] = sum(p.numel() for p in model.parameters())
RESULTS["state_keys"] = " ".join(model.state_dict().keys())

images = torch.from_numpy(rng.normal(size=(6, 3, 8, 8)).astype(np.float32))
labels = torch.from_numpy(rng.integers(0, 3, size=6))
criterion = nn.CrossEntropyLoss()
optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-4)
losses = []
model.train()
for _ in range(4):
    optimizer.zero_grad()
    loss = criterion(model(images), labels)
    loss.backward()
    optimizer.step()
    losses.append(loss.item())
RESULTS["losses"] = np.array(losses)
RESULTS["conv1_grad"] = model.layer1.conv1.weight.grad[0, 0].numpy()
bn = model.layer2.downsample[1]
RESULTS["running_mean"] = bn.running_mean.numpy()
RESULTS["running_var"] = bn.running_var.numpy()
RESULTS["num_batches_tracked"] = int(bn.num_batches_tracked)

model.eval()
with torch.no_grad():
    logits = model(images[:3])
    features = model.layer2(model.layer1(model.stem(images[:2])))
RESULTS["eval_logits"] = logits.numpy()
RESULTS["feature_shape"] = tuple(features.shape)
RESULTS["features_nonneg"] = str(bool((features >= 0).all()))
RESULTS["predictions"] = logits.argmax(dim=1).numpy()
