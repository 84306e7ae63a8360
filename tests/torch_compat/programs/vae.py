# A fully connected variational autoencoder: encode to (mu, logvar), reparameterize with noise
# handed in from NumPy (so both runs draw the same), decode with a sigmoid, loss = summed binary
# cross-entropy + KL divergence, Adam; then decode fixed latent points under torch.no_grad().
# compat: rtol=1e-3 atol=1e-4
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn, optim


class VAE(nn.Module):
    def __init__(self, n_in=16, n_hidden=12, n_latent=2):
        super().__init__()
        self.fc1 = nn.Linear(n_in, n_hidden)
        self.fc21 = nn.Linear(n_hidden, n_latent)
        self.fc22 = nn.Linear(n_hidden, n_latent)
        self.fc3 = nn.Linear(n_latent, n_hidden)
        self.fc4 = nn.Linear(n_hidden, n_in)

    def encode(self, x):
        h1 = F.relu(self.fc1(x))
        return self.fc21(h1), self.fc22(h1)

    def reparameterize(self, mu, logvar, eps):
        std = torch.exp(0.5 * logvar)
        return mu + eps * std

    def decode(self, z):
        h3 = F.relu(self.fc3(z))
        return torch.sigmoid(self.fc4(h3))

    def forward(self, x, eps):
        mu, logvar = self.encode(x.view(-1, 16))
        z = self.reparameterize(mu, logvar, eps)
        return self.decode(z), mu, logvar


def loss_function(recon_x, x, mu, logvar):
    bce = F.binary_cross_entropy(recon_x, x.view(-1, 16), reduction="sum")
    kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return bce + kld, bce, kld


rng = np.random.default_rng(17)
images = torch.from_numpy(rng.uniform(size=(40, 4, 4)).astype(np.float32))
noise = torch.from_numpy(rng.normal(size=(3, 40, 2)).astype(np.float32))
model = VAE()
with torch.no_grad():
    for p in model.parameters():
        p.copy_(torch.from_numpy(rng.normal(0, 0.3, size=tuple(p.shape)).astype(np.float32)))
optimizer = optim.Adam(model.parameters(), lr=1e-2)

epoch_losses, parts = [], []
for epoch in range(3):
    model.train()
    train_loss = 0.0
    for i in range(0, 40, 10):
        data, eps = images[i : i + 10], noise[epoch, i : i + 10]
        optimizer.zero_grad()
        recon, mu, logvar = model(data, eps)
        loss, bce, kld = loss_function(recon, data, mu, logvar)
        loss.backward()
        train_loss += loss.item()
        optimizer.step()
    parts.append([bce.item(), kld.item()])
    epoch_losses.append(train_loss / len(images))
RESULTS["epoch_losses"] = np.array(epoch_losses)
RESULTS["last_bce_kld"] = np.array(parts)

model.eval()
with torch.no_grad():
    mu, logvar = model.encode(images[:3].view(-1, 16))
    sample = model.decode(torch.tensor([[0.0, 0.0], [1.0, -1.0]]))
RESULTS["mu"] = mu.numpy()
RESULTS["logvar"] = logvar.numpy()
RESULTS["decoded"] = sample.view(2, 1, 4, 4).numpy()
RESULTS["decoded_range"] = str(bool(sample.min() > 0 and sample.max() < 1))
