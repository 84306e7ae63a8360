# Datasets and loaders: a custom Dataset with __len__/__getitem__ and a transform, DataLoader with
# batch_size / shuffle=False / drop_last, TensorDataset, random_split with a seeded Generator
# (sizes only: the permutation is the framework's own), and a training loop over the batches.
# compat: rtol=1e-4 atol=1e-5
import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, TensorDataset, random_split

rng = np.random.default_rng(8)
table = rng.normal(size=(50, 5)).astype(np.float32)
classes = (table[:, 0] * table[:, 1] > 0).astype(np.int64)


class Standardize:
    def __init__(self, mean, std):
        self.mean, self.std = mean, std

    def __call__(self, row):
        return (row - self.mean) / self.std


class TableDataset(Dataset):
    def __init__(self, rows, labels, transform=None):
        self.rows = rows
        self.labels = labels
        self.transform = transform

    def __len__(self):
        return len(self.rows)

    def __getitem__(self, idx):
        row = torch.from_numpy(self.rows[idx])
        if self.transform:
            row = self.transform(row)
        return row, int(self.labels[idx])


mean = torch.from_numpy(table.mean(axis=0))
std = torch.from_numpy(table.std(axis=0))
dataset = TableDataset(table, classes, transform=Standardize(mean, std))
RESULTS["len_dataset"] = len(dataset)
first_x, first_y = dataset[0]
RESULTS["first_item"] = first_x.numpy()
RESULTS["first_label"] = first_y

loader = DataLoader(dataset, batch_size=8, shuffle=False, drop_last=True)
RESULTS["len_loader"] = len(loader)
RESULTS["len_loader_keep_last"] = len(DataLoader(dataset, batch_size=8))
xb, yb = next(iter(loader))
RESULTS["batch_shapes"] = f"{tuple(xb.shape)} {tuple(yb.shape)}"
RESULTS["batch_dtypes"] = f"{xb.dtype == torch.float32} {yb.dtype == torch.int64}"
RESULTS["batch_labels"] = yb.numpy()
RESULTS["sizes_seen"] = str([len(b[1]) for b in DataLoader(dataset, batch_size=16)])

# random_split: exact sizes, and fractions; the same seed gives the same split twice.
train_set, val_set = random_split(dataset, [40, 10], generator=torch.Generator().manual_seed(42))
RESULTS["split_sizes"] = (len(train_set), len(val_set))
parts = random_split(range(50), [0.7, 0.2, 0.1], generator=torch.Generator().manual_seed(1))
RESULTS["fraction_sizes"] = tuple(len(p) for p in parts)
again = random_split(range(50), [0.7, 0.2, 0.1], generator=torch.Generator().manual_seed(1))
RESULTS["split_repeatable"] = str([list(p) for p in parts] == [list(p) for p in again])
RESULTS["split_covers_all"] = str(sorted(i for p in parts for i in p) == list(range(50)))

# TensorDataset + a training loop over batches; an epoch order made from a NumPy permutation.
tensors = TensorDataset(torch.from_numpy(table), torch.from_numpy(classes))
RESULTS["tensor_dataset_item"] = f"{tuple(tensors[3][0].shape)} {int(tensors[3][1])}"
model = nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 2))
with torch.no_grad():
    for p in model.parameters():
        p.copy_(torch.from_numpy(rng.normal(0, 0.5, size=tuple(p.shape)).astype(np.float32)))
opt = torch.optim.SGD(model.parameters(), lr=0.2)
loss_fn = nn.CrossEntropyLoss()
epoch_losses = []
for _ in range(3):
    order = rng.permutation(len(tensors)).tolist()
    epoch_loader = DataLoader(torch.utils.data.Subset(tensors, order), batch_size=10)
    total, count = 0.0, 0
    batches = 0
    for xb, yb in epoch_loader:
        loss = loss_fn(model(xb), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
        total += loss.item() * len(xb)
        count += len(xb)
        batches += 1
    RESULTS[f"batches_epoch_{len(epoch_losses)}"] = batches
    epoch_losses.append(total / count)
RESULTS["epoch_losses"] = np.array(epoch_losses)


# Dict samples collate into a dict of batches.
class DictDataset(Dataset):
    def __len__(self):
        return 6

    def __getitem__(self, i):
        return {"x": torch.full((2,), float(i)), "y": i % 3}


dict_batch = next(iter(DataLoader(DictDataset(), batch_size=4)))
RESULTS["dict_batch_x"] = dict_batch["x"].numpy()
RESULTS["dict_batch_y"] = dict_batch["y"].numpy()
