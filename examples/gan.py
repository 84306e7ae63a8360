"""Train the seed's two-layer GAN on Fashion-MNIST, then a small DCGAN, and measure what they draw.

The generator (Linear(100, 256) - LeakyReLU(0.2) - Linear(256, 784) - Tanh) and the
discriminator (Linear(784, 256) - LeakyReLU(0.2) - Linear(256, 1) - Sigmoid) are the seed's,
trained as in PyTorch's GAN tutorials: BCELoss, Adam(2e-4, betas=(0.5, 0.999)), images scaled
to [-1, 1], one discriminator step then one generator step per batch, the generator trained to
make the discriminator say "real" (the non-saturating loss). A DCGAN (ConvTranspose2d up from
7x7, strided Conv2d down, batch norm, N(0, 0.02) weights) then trains for a few epochs on fewer
images. Written with the torch door (``import nerve as torch``).

What it measures, honestly: the two losses and the discriminator's outputs per step, and the
quality of the samples as seen by a Fashion-MNIST classifier trained here on real images: its
mean confidence on generated images, how many classes it spreads them over (the exponential of
the entropy of its mean prediction: 10 = all classes equally, 1 = one class), and the
"classifier score" exp(E[KL(p(y|x) || p(y))]), Inception Score's formula with this small
classifier in place of Inception (1 = nothing recognisable or a single class, 10 = each sample
a confident class and all classes equally). The same numbers for real test images and for
uniform noise frame them. Pixel mean and standard deviation compare the images' tone.

Run: python examples/gan.py [--quick]
"""

from __future__ import annotations

import numpy as np
from _common import fashion_mnist, finish, markdown_table, parse_args, pyplot, save_figure, timed

import nerve as torch
from nerve import nn
from nerve.utils.data import DataLoader, TensorDataset

LATENT = 100
GRID_COLUMNS = 10


def mlp_gan():
    """The seed's generator and discriminator, unchanged."""
    generator = nn.Sequential(
        nn.Linear(LATENT, 256),
        nn.LeakyReLU(0.2),
        nn.Linear(256, 784),
        nn.Tanh(),
    )
    discriminator = nn.Sequential(
        nn.Linear(784, 256),
        nn.LeakyReLU(0.2),
        nn.Linear(256, 1),
        nn.Sigmoid(),
    )
    return generator, discriminator


def dcgan(channels: int):
    """A small DCGAN for 28x28 images: 7x7 -> 14x14 -> 28x28 and back down."""
    c = channels
    generator = nn.Sequential(
        nn.Linear(LATENT, 2 * c * 7 * 7, bias=False),
        nn.BatchNorm1d(2 * c * 7 * 7),
        nn.ReLU(),
        nn.Unflatten(1, (2 * c, 7, 7)),
        nn.ConvTranspose2d(2 * c, c, 4, stride=2, padding=1, bias=False),
        nn.BatchNorm2d(c),
        nn.ReLU(),
        nn.ConvTranspose2d(c, 1, 4, stride=2, padding=1),
        nn.Tanh(),
        nn.Flatten(),  # (N, 784) like the MLP generator, so both share the training loop
    )
    discriminator = nn.Sequential(
        nn.Unflatten(1, (1, 28, 28)),
        nn.Conv2d(1, c, 4, stride=2, padding=1),
        nn.LeakyReLU(0.2),
        nn.Conv2d(c, 2 * c, 4, stride=2, padding=1, bias=False),
        nn.BatchNorm2d(2 * c),
        nn.LeakyReLU(0.2),
        nn.Flatten(),
        nn.Linear(2 * c * 7 * 7, 1),
        nn.Sigmoid(),
    )

    def dcgan_init(m):
        # The DCGAN paper's initialisation: weights N(0, 0.02), norm scales N(1, 0.02).
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, 0.02)
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)

    generator.apply(dcgan_init)
    discriminator.apply(dcgan_init)
    return generator, discriminator


def train_gan(generator, discriminator, images, epochs, batch_size, checkpoints, at_checkpoint):
    """Alternate one discriminator and one generator step per batch.

    Returns the per-step log (losses, D's mean output on real and fake, D's accuracy), each
    step's epoch, and ``{epoch: at_checkpoint(generator)}`` for the checkpoint epochs.
    """
    criterion = nn.BCELoss()
    opt_g = torch.optim.Adam(generator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(discriminator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    loader = DataLoader(
        TensorDataset(torch.tensor(images)), batch_size, shuffle=True, drop_last=True
    )
    log = {k: [] for k in ("d_loss", "g_loss", "d_real", "d_fake", "d_accuracy")}
    epoch_of_step, samples = [], {}
    for epoch in range(1, epochs + 1):
        generator.train()
        discriminator.train()
        for (real,) in loader:
            n = real.shape[0]
            ones, zeros = torch.ones(n, 1), torch.zeros(n, 1)
            fake = generator(torch.randn(n, LATENT))

            # Discriminator: real -> 1, fake -> 0 (fake detached: this step leaves G alone).
            opt_d.zero_grad()
            out_real = discriminator(real)
            out_fake = discriminator(fake.detach())
            d_loss = criterion(out_real, ones) + criterion(out_fake, zeros)
            d_loss.backward()
            opt_d.step()

            # Generator: make the (just updated) discriminator say "real".
            opt_g.zero_grad()
            g_loss = criterion(discriminator(fake), ones)
            g_loss.backward()
            opt_g.step()

            p_real, p_fake = out_real.detach().numpy(), out_fake.detach().numpy()
            log["d_loss"].append(d_loss.item())
            log["g_loss"].append(g_loss.item())
            log["d_real"].append(float(p_real.mean()))
            log["d_fake"].append(float(p_fake.mean()))
            log["d_accuracy"].append(float(((p_real > 0.5).mean() + (p_fake < 0.5).mean()) / 2))
            epoch_of_step.append(epoch)
        if epoch in checkpoints:
            samples[epoch] = at_checkpoint(generator)
    return log, np.asarray(epoch_of_step), samples


def generate(generator, noise) -> np.ndarray:
    """Images (N, 784) in [-1, 1] from the generator in inference mode (batch norm's running
    statistics, so a sample does not depend on the others in its batch)."""
    generator.eval()
    with torch.no_grad():
        out = generator(noise).numpy()
    generator.train()
    return out


def train_classifier(x, y, epochs, seed):
    """A Fashion-MNIST MLP on real images in [-1, 1]: the judge of the generated ones."""
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    loader = DataLoader(TensorDataset(torch.tensor(x), torch.tensor(y)), 128, shuffle=True)
    for _ in range(epochs):
        for xb, yb in loader:
            optimizer.zero_grad()
            loss_fn(model(xb), yb).backward()
            optimizer.step()
    model.eval()
    return model


def judge(classifier, images) -> dict:
    """What the classifier makes of ``images`` (N, 784) in [-1, 1]; see the module docstring."""
    with torch.no_grad():
        p = torch.softmax(classifier(torch.tensor(images)), dim=1).numpy().astype(np.float64)
    p_mean = p.mean(axis=0)
    eps = 1e-12
    kl = (p * (np.log(p + eps) - np.log(p_mean + eps))).sum(axis=1)
    return {
        "confidence": float(p.max(axis=1).mean()),
        "classes_used": float(np.exp(-(p_mean * np.log(p_mean + eps)).sum())),
        "classifier_score": float(np.exp(kl.mean())),
        "pixel_mean": float(images.mean()),
        "pixel_std": float(images.std()),
    }


def per_epoch(log: dict, epoch_of_step: np.ndarray) -> dict:
    """Each logged quantity averaged over each epoch's steps."""
    epochs = np.unique(epoch_of_step)
    return {
        k: [float(np.mean(np.asarray(v)[epoch_of_step == e])) for e in epochs]
        for k, v in log.items()
    }


def draw_grid(ax, rows: list[np.ndarray], labels: list[str], title: str):
    """Rows of 28x28 images (each row one array (GRID_COLUMNS, 784)) as one picture."""
    # A light-grey line (2 pixels) between tiles keeps their white backgrounds apart.
    tiles = ((np.asarray(rows) + 1) / 2).reshape(len(rows), GRID_COLUMNS, 28, 28)
    tiles = np.pad(tiles, ((0, 0), (0, 0), (1, 1), (1, 1)), constant_values=0.25)
    grid = tiles.transpose(0, 2, 1, 3).reshape(len(rows) * 30, GRID_COLUMNS * 30)
    # Nearest: each image pixel a block of screen pixels (sharper, and a far smaller PNG).
    ax.imshow(grid, cmap="gray_r", vmin=0, vmax=1, interpolation="nearest")
    ax.set_yticks([30 * i + 15 for i in range(len(rows))], labels)
    ax.set_xticks([])
    ax.set_title(title)


def smooth(values, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Moving average and moving standard deviation over ``width`` steps (fewer at the start)."""
    v = np.asarray(values, dtype=np.float64)
    c1, c2 = np.cumsum(np.insert(v, 0, 0.0)), np.cumsum(np.insert(v * v, 0, 0.0))
    hi = np.arange(1, len(v) + 1)
    lo = np.maximum(hi - width, 0)
    mean = (c1[hi] - c1[lo]) / (hi - lo)
    var = (c2[hi] - c2[lo]) / (hi - lo) - mean**2
    return mean, np.sqrt(np.maximum(var, 0.0))


def plot_curves(ax_loss, ax_d, log, epoch_of_step, name):
    steps = np.arange(1, len(log["d_loss"]) + 1)
    width = max(1, len(steps) // 50)
    for key, label, color in (("d_loss", "discriminator", "C0"), ("g_loss", "generator", "C1")):
        mean, sd = smooth(log[key], width)
        # A band of +-1 standard deviation shows the step-to-step noise (thousands of raw
        # points would hide the trend).
        ax_loss.fill_between(steps, mean - sd, mean + sd, color=color, alpha=0.2, linewidth=0)
        ax_loss.plot(steps, mean, color=color, label=f"{label} loss (moving mean +- sd)")
    ax_loss.axhline(np.log(4), color="C0", linestyle=":", label="D loss at D = 1/2 (ln 4)")
    ax_loss.axhline(np.log(2), color="C1", linestyle=":", label="G loss at D = 1/2 (ln 2)")
    ax_loss.set(xlabel="training step (batch of 64)", ylabel="BCE loss", title=f"{name}: losses")
    ax_loss.legend(fontsize=8)
    for key, label, color in (
        ("d_real", "D(real image)", "C2"),
        ("d_fake", "D(generated image)", "C3"),
        ("d_accuracy", "D accuracy (real + fake)", "k"),
    ):
        ax_d.plot(steps, smooth(log[key], width)[0], color=color, label=label)
    ax_d.axhline(0.5, color="gray", linestyle=":")
    ax_d.set(
        xlabel="training step (batch of 64)",
        ylabel="mean over the batch",
        ylim=(0, 1),
        title=f"{name}: the discriminator",
    )
    ax_d.legend(fontsize=8)
    # Epoch boundaries, so steps read as epochs too.
    for boundary in np.flatnonzero(np.diff(epoch_of_step)) + 1:
        for ax in (ax_loss, ax_d):
            ax.axvline(boundary, color="gray", alpha=0.15, linewidth=0.8)


def main(argv=None) -> dict:
    def extra(parser):
        parser.add_argument("--epochs", type=int, default=None, help="epochs of the seed's GAN")
        parser.add_argument("--dcgan-epochs", type=int, default=None, help="epochs of the DCGAN")
        parser.add_argument("--dcgan-channels", type=int, default=32, help="DCGAN width")

    args = parse_args("gan", __doc__.splitlines()[0], argv, extra)
    quick = args.quick
    n_gan, n_dcgan, n_clf = (4096, 256, 1000) if quick else (60000, 12800, 20000)
    epochs = args.epochs or (3 if quick else 12)
    dcgan_epochs = args.dcgan_epochs or (2 if quick else 6)
    if epochs < 1 or dcgan_epochs < 1 or args.dcgan_channels < 1:
        raise SystemExit(
            f"examples/gan.py: --epochs ({epochs}), --dcgan-epochs ({dcgan_epochs}) and "
            f"--dcgan-channels ({args.dcgan_channels}) must be at least 1"
        )
    checkpoints = {1, 2, epochs} | ({epochs // 4, epochs // 2} if epochs >= 8 else set())
    plt = pyplot()
    results: dict = {"settings": {"gan_images": n_gan, "dcgan_images": n_dcgan, "epochs": epochs}}
    results["settings"].update(dcgan_epochs=dcgan_epochs, dcgan_channels=args.dcgan_channels)

    (x_train, y_train), (x_test, y_test) = fashion_mnist(seed=args.seed, flat=True)
    x_train, x_test = x_train * 2 - 1, x_test * 2 - 1  # the Tanh generator's range
    rng = np.random.default_rng(args.seed)
    order = rng.permutation(len(x_train))

    # The judge: a classifier of real images, scored on the test set.
    with timed(results, "classifier_s"):
        clf_idx = order[:n_clf]
        classifier = train_classifier(x_train[clf_idx], y_train[clf_idx], 3, args.seed)
        with torch.no_grad():
            test_logits = classifier(torch.tensor(x_test)).numpy()
    results["classifier_test_accuracy"] = float((test_logits.argmax(1) == y_test).mean())
    n_judge = 1000 if quick else 5000
    noise_images = rng.uniform(-1, 1, (n_judge, 784)).astype(np.float32)
    references = {
        "real test images": judge(classifier, x_test[:n_judge]),
        "uniform noise": judge(classifier, noise_images),
    }

    torch.manual_seed(args.seed)
    fixed_noise = torch.randn(GRID_COLUMNS, LATENT)
    judge_noise = torch.randn(n_judge, LATENT)

    def at_checkpoint(generator):
        """The fixed-noise samples for the picture, and the judge's verdict on more."""
        return generate(generator, fixed_noise), judge(classifier, generate(generator, judge_noise))

    # The seed's GAN.
    generator, discriminator = mlp_gan()
    with timed(results, "gan_train_s"):
        log, epoch_of_step, samples = train_gan(
            generator, discriminator, x_train[order[:n_gan]], epochs, 64, checkpoints, at_checkpoint
        )

    # The DCGAN: the same loop, convolutional networks.
    torch.manual_seed(args.seed + 1)
    dc_generator, dc_discriminator = dcgan(args.dcgan_channels)
    with timed(results, "dcgan_train_s"):
        dc_log, dc_epoch_of_step, dc_samples = train_gan(
            dc_generator,
            dc_discriminator,
            x_train[order[:n_dcgan]],
            dcgan_epochs,
            64,
            set(range(1, dcgan_epochs + 1)),
            at_checkpoint,
        )

    rows = [{"images": name, **q} for name, q in references.items()]
    quality = dict(references)
    for key, name, lg, steps_epoch, snaps, n in (
        ("gan", "seed GAN", log, epoch_of_step, samples, n_gan),
        ("dcgan", "DCGAN", dc_log, dc_epoch_of_step, dc_samples, n_dcgan),
    ):
        results[key] = per_epoch(lg, steps_epoch)
        results[key]["steps"] = len(lg["d_loss"])
        results[key]["quality_by_epoch"] = {e: q for e, (_, q) in sorted(snaps.items())}
        rows += [{"images": f"{name}, epoch {e}", **q} for e, (_, q) in sorted(snaps.items())]
        quality[f"{name}, {max(snaps)} epochs on {n}"] = snaps[max(snaps)][1]
    results["quality"] = quality
    table = markdown_table(
        [{k: round(v, 3) if isinstance(v, float) else v for k, v in r.items()} for r in rows]
    )
    last = {
        name: {k: v[-1] for k, v in res.items() if isinstance(v, list)}
        for name, res in (("seed GAN", results["gan"]), ("DCGAN", results["dcgan"]))
    }
    table += "\n\nLast epoch's means:\n\n" + markdown_table(
        [{"model": name, **{k: round(v, 3) for k, v in q.items()}} for name, q in last.items()]
    )

    # Pictures: samples per checkpoint, samples of the DCGAN per epoch, the training curves.
    for snaps, name, title in (
        (samples, "gan_samples", "Seed GAN: the same noise vectors after each checkpoint epoch"),
        (dc_samples, "gan_dcgan_samples", "DCGAN: the same noise vectors after each epoch"),
    ):
        fig, ax = plt.subplots(figsize=(8, 0.8 * len(snaps) + 0.8))
        draw_grid(
            ax,
            [snaps[e][0] for e in sorted(snaps)],
            [f"epoch {e}\nscore {snaps[e][1]['classifier_score']:.2f}" for e in sorted(snaps)],
            title,
        )
        save_figure(args, fig, name)
    fig, axes = plt.subplots(2, 2, figsize=(11, 7.5))
    plot_curves(axes[0, 0], axes[0, 1], log, epoch_of_step, "Seed GAN")
    plot_curves(axes[1, 0], axes[1, 1], dc_log, dc_epoch_of_step, "DCGAN")
    fig.tight_layout()
    save_figure(args, fig, "gan_losses")
    return finish(args, results, table)


if __name__ == "__main__":
    main()
