# An image-classification loop in the CIFAR tutorial's shape, without a download: uint8 HWC images
# made with NumPy, a Dataset applying torchvision transforms (Compose, ToTensor, Normalize), a
# DataLoader, a CNN with Conv2d / MaxPool2d / Linear and torch.flatten, SGD with momentum,
# per-class accuracy under torch.no_grad().
# compat: rtol=1e-3 atol=1e-4
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision.transforms as transforms
from torch.utils.data import DataLoader, Dataset

rng = np.random.default_rng(47)
n_images = 24
labels = rng.integers(0, 3, size=n_images)
images = rng.integers(0, 256, size=(n_images, 12, 12, 3)).astype(np.uint8)
images[labels == 1, :6] //= 3  # classes differ in brightness by region
images[labels == 2, :, :6] //= 3

transform = transforms.Compose(
    [transforms.ToTensor(), transforms.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))]
)


class ImageSet(Dataset):
    def __init__(self, images, labels, transform):
        self.images, self.labels, self.transform = images, labels, transform

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        return self.transform(self.images[i]), int(self.labels[i])


trainset = ImageSet(images, labels, transform)
sample, _ = trainset[0]
RESULTS["sample_shape"] = tuple(sample.shape)
RESULTS["sample_dtype"] = str(sample.dtype == torch.float32)
RESULTS["sample_pixels"] = sample[:, 0, :3].numpy()
RESULTS["sample_range"] = (float(sample.min()), float(sample.max()))
trainloader = DataLoader(trainset, batch_size=6, shuffle=False)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 4, 3)
        self.pool = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(4, 6, 3)
        self.fc1 = nn.Linear(6 * 1 * 1, 8)
        self.fc2 = nn.Linear(8, 3)

    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))
        x = self.pool(F.relu(self.conv2(x)))
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        return self.fc2(x)


net = Net()
with torch.no_grad():
    for p in net.parameters():
        p.copy_(torch.from_numpy(rng.normal(0, 0.3, size=tuple(p.shape)).astype(np.float32)))
criterion = nn.CrossEntropyLoss()
optimizer = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
epoch_losses = []
for _ in range(3):
    running_loss = 0.0
    for data in trainloader:
        inputs, targets = data
        optimizer.zero_grad()
        outputs = net(inputs)
        loss = criterion(outputs, targets)
        loss.backward()
        optimizer.step()
        running_loss += loss.item()
    epoch_losses.append(running_loss / len(trainloader))
RESULTS["epoch_losses"] = np.array(epoch_losses)

correct_pred = {c: 0 for c in range(3)}
total_pred = {c: 0 for c in range(3)}
with torch.no_grad():
    for inputs, targets in trainloader:
        _, predictions = torch.max(net(inputs), 1)
        for label, prediction in zip(targets, predictions):
            if label == prediction:
                correct_pred[label.item()] += 1
            total_pred[label.item()] += 1
RESULTS["per_class"] = str([(correct_pred[c], total_pred[c]) for c in range(3)])
RESULTS["logits"] = net(next(iter(trainloader))[0][:2]).detach().numpy()
