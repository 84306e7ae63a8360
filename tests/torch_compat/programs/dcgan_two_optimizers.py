# A DCGAN step loop in miniature: a ConvTranspose2d generator and a Conv2d discriminator with
# BatchNorm2d and LeakyReLU(0.2, inplace=True), a weights_init that picks layers by class name,
# BCELoss with real/fake labels made with torch.full, fake.detach() for the discriminator step,
# two Adam optimizers, and a fixed noise batch for the final samples. Noise comes from NumPy.
# compat: rtol=1e-3 atol=1e-4
import numpy as np
import torch
import torch.nn as nn
import torch.optim as optim

nz, ngf, ndf, nc = 4, 6, 6, 1
rng = np.random.default_rng(53)


def weights_init(m):
    classname = m.__class__.__name__
    if classname.find("Conv") != -1:
        with torch.no_grad():
            m.weight.copy_(torch.from_numpy(rng.normal(0.0, 0.2, tuple(m.weight.shape))))
    elif classname.find("BatchNorm") != -1:
        with torch.no_grad():
            m.weight.copy_(torch.from_numpy(rng.normal(1.0, 0.2, tuple(m.weight.shape))))
        nn.init.constant_(m.bias.data, 0)


class Generator(nn.Module):
    def __init__(self):
        super().__init__()
        self.main = nn.Sequential(
            nn.ConvTranspose2d(nz, ngf * 2, 4, 1, 0, bias=False),  # 4x4
            nn.BatchNorm2d(ngf * 2),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False),  # 8x8
            nn.BatchNorm2d(ngf),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False),  # 16x16
            nn.Tanh(),
        )

    def forward(self, input):
        return self.main(input)


class Discriminator(nn.Module):
    def __init__(self):
        super().__init__()
        self.main = nn.Sequential(
            nn.Conv2d(nc, ndf, 4, 2, 1, bias=False),  # 8x8
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False),  # 4x4
            nn.BatchNorm2d(ndf * 2),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf * 2, 1, 4, 1, 0, bias=False),  # 1x1
            nn.Sigmoid(),
        )

    def forward(self, input):
        return self.main(input)


net_g = Generator()
net_g.apply(weights_init)
net_d = Discriminator()
net_d.apply(weights_init)
RESULTS["g_out_shape"] = tuple(net_g(torch.zeros(2, nz, 1, 1)).shape)

criterion = nn.BCELoss()
fixed_noise = torch.from_numpy(rng.normal(size=(3, nz, 1, 1)).astype(np.float32))
real_label, fake_label = 1.0, 0.0
opt_d = optim.Adam(net_d.parameters(), lr=0.002, betas=(0.5, 0.999))
opt_g = optim.Adam(net_g.parameters(), lr=0.002, betas=(0.5, 0.999))

real_images = torch.from_numpy(np.tanh(rng.normal(size=(4, 4, nc, 16, 16))).astype(np.float32))
noises = torch.from_numpy(rng.normal(size=(4, 4, nz, 1, 1)).astype(np.float32))
g_losses, d_losses, d_x_list = [], [], []
for i in range(4):
    # (1) Update D: maximize log(D(x)) + log(1 - D(G(z)))
    net_d.zero_grad()
    real_cpu = real_images[i]
    b_size = real_cpu.size(0)
    label = torch.full((b_size,), real_label, dtype=torch.float)
    output = net_d(real_cpu).view(-1)
    err_d_real = criterion(output, label)
    err_d_real.backward()
    d_x = output.mean().item()
    fake = net_g(noises[i])
    label.fill_(fake_label)
    output = net_d(fake.detach()).view(-1)
    err_d_fake = criterion(output, label)
    err_d_fake.backward()
    err_d = err_d_real + err_d_fake
    opt_d.step()
    # (2) Update G: maximize log(D(G(z)))
    net_g.zero_grad()
    label.fill_(real_label)
    output = net_d(fake).view(-1)
    err_g = criterion(output, label)
    err_g.backward()
    opt_g.step()
    g_losses.append(err_g.item())
    d_losses.append(err_d.item())
    d_x_list.append(d_x)
RESULTS["G_losses"] = np.array(g_losses)
RESULTS["D_losses"] = np.array(d_losses)
RESULTS["D_x"] = np.array(d_x_list)

with torch.no_grad():
    samples = net_g(fixed_noise).detach().cpu()
RESULTS["samples"] = samples[:, 0, ::4, ::4].numpy()
net_g.eval()
with torch.no_grad():
    RESULTS["eval_samples"] = net_g(fixed_noise)[:, 0, 6:10, 6:10].numpy()
