"""A character-level LSTM learns to write fortunes: truncated BPTT, Adam and gradient clipping.

The network is Embedding(97, 64) -> LSTM(64, 256) -> Linear(256, 97), written with the torch
door. It reads the fortunes corpus (Debian's ``fortunes`` package) as 64 parallel streams, 100
characters per step, and carries its state from one step to the next without backpropagating
into the past (truncated backpropagation through time). Adam with the seed's cosine schedule and
its ``clip_grad_norm_(model.parameters(), 0.5)``, on 1.2 million characters. Each epoch is
scored by perplexity on 100,000 held-out characters; after training it writes text at
temperatures 0.5 and 1.0. A second run of one epoch without clipping shows what clipping does.

Run: python examples/char_lstm.py [--quick]
"""

from __future__ import annotations

import math
import time

import numpy as np
from _chars import SEQ_LEN, Vocab, corpus, show, windows
from _common import finish, markdown_table, parse_args, pyplot, save_figure, timed

import nerve as torch
import nerve.nn.functional as F
from nerve import nn

EMBED = 64
PROMPT = "The "


class CharLSTM(nn.Module):
    """Embedding -> LSTM -> Linear to one logit per character."""

    def __init__(self, vocab_size: int, hidden: int, layers: int = 1):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, EMBED)
        self.lstm = nn.LSTM(EMBED, hidden, num_layers=layers, batch_first=True)
        self.head = nn.Linear(hidden, vocab_size)

    def forward(self, x, state=None):
        out, state = self.lstm(self.embed(x), state)
        return self.head(out), state


def train_epoch(model, optimizer, streams: np.ndarray, clip: float | None):
    """One pass over the (B, L) streams in steps of SEQ_LEN characters; the state is carried
    from step to step but detached, so gradients reach back at most SEQ_LEN characters.
    Returns the loss and the gradient norm (before clipping) of every step."""
    model.train()
    losses, norms = [], []
    state = None
    vocab = model.head.out_features
    for start in range(0, streams.shape[1] - 1, SEQ_LEN):
        x = torch.tensor(streams[:, start : start + SEQ_LEN])
        y = torch.tensor(streams[:, start + 1 : start + SEQ_LEN + 1])
        if x.shape[1] != y.shape[1]:
            break  # the ragged tail
        if state is not None:
            state = tuple(s.detach() for s in state)
        logits, state = model(x, state)
        loss = F.cross_entropy(logits.reshape(-1, vocab), y.reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        if clip is None:
            norm = nn.utils.clip_grad_norm_(model.parameters(), float("inf"))  # measure only
        else:
            norm = nn.utils.clip_grad_norm_(model.parameters(), clip)
        optimizer.step()
        losses.append(loss.item())
        norms.append(float(norm))
    return losses, norms


def perplexity(model, x: np.ndarray, y: np.ndarray, batch: int = 250) -> float:
    """exp(mean cross-entropy) over the windows, each read from a fresh (zero) state."""
    model.eval()
    total = 0.0
    with torch.no_grad():
        for i in range(0, len(x), batch):
            logits, _ = model(torch.tensor(x[i : i + batch]))
            yb = torch.tensor(y[i : i + batch])
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), yb.reshape(-1))
            total += loss.item() * yb.numel()
    return math.exp(total / y.size)


def stream_perplexity(model, ids: np.ndarray, n_streams: int = 10) -> float:
    """Perplexity when the state runs on through the whole held-out text (10 streams)."""
    model.eval()
    length = (len(ids) - 1) // n_streams
    xs = np.stack([ids[k * length : (k + 1) * length] for k in range(n_streams)])
    ys = np.stack([ids[k * length + 1 : (k + 1) * length + 1] for k in range(n_streams)])
    total, state = 0.0, None
    with torch.no_grad():
        for s in range(0, length, SEQ_LEN):
            logits, state = model(torch.tensor(xs[:, s : s + SEQ_LEN]), state)
            yb = torch.tensor(ys[:, s : s + SEQ_LEN])
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), yb.reshape(-1))
            total += loss.item() * yb.numel()
    return math.exp(total / ys.size)


def sample(model, vocab: Vocab, n: int, temperature: float, rng) -> str:
    """``n`` characters after PROMPT, each drawn from softmax(logits / temperature)."""
    model.eval()
    out = []
    with torch.no_grad():
        logits, state = model(torch.tensor(vocab.encode(PROMPT)[None]))
        for _ in range(n):
            # drawn with NumPy's generator: nerve has no torch.multinomial yet
            z = logits[0, -1].numpy().astype(np.float64) / temperature
            p = np.exp(z - z.max())
            nxt = int(rng.choice(len(vocab), p=p / p.sum()))
            out.append(nxt)
            logits, state = model(torch.tensor([[nxt]]), state)
    return PROMPT + vocab.decode(out)


def fit(args, vocab, streams, val, epochs, clip, log: bool):
    """A fresh seeded model trained ``epochs`` epochs; returns (model, per-epoch rows, norms,
    losses)."""
    torch.manual_seed(args.seed)
    model = CharLSTM(len(vocab), args.hidden)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs)
    rows, all_norms, all_losses = [], [], []
    for epoch in range(1, epochs + 1):
        lr = optimizer.param_groups[0]["lr"]
        start = time.perf_counter()
        losses, norms = train_epoch(model, optimizer, streams, clip)
        seconds = time.perf_counter() - start
        scheduler.step()
        row = {
            "epoch": epoch,
            "clip": "none" if clip is None else clip,
            "lr": lr,
            "train_ppl": math.exp(float(np.mean(losses))),
            "val_ppl": perplexity(model, *val),
            "grad_norm_median": float(np.median(norms)),
            "grad_norm_max": float(np.max(norms)),
            "clipped_share": float(np.mean(np.array(norms) > (clip or np.inf))),
            "train_s": round(seconds, 1),
        }
        rows.append(row)
        all_norms += norms
        all_losses += losses
        if log:
            print(
                f"epoch {epoch}: train ppl {row['train_ppl']:.2f}  val ppl {row['val_ppl']:.2f}"
                f"  grad norm median {row['grad_norm_median']:.2f}  {seconds:.0f} s"
            )
    return model, rows, all_norms, all_losses


def draw(args, rows, ablation, norms, norms_free, losses, losses_free, vocab_size):
    plt = pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    ax = axes[0]
    epochs = [r["epoch"] for r in rows]
    ax.plot(epochs, [r["train_ppl"] for r in rows], "o-", label="training (mean over epoch)")
    ax.plot(epochs, [r["val_ppl"] for r in rows], "s-", label="held-out")
    ax.plot([1], [ablation[0]["val_ppl"]], "x", ms=10, color="C3", label="held-out, no clipping")
    ax.set_xlabel("epoch")
    ax.set_ylabel("perplexity (characters)")
    ax.set_title(f"Perplexity per epoch (uniform guess = {vocab_size})")
    ax.set_xticks(epochs)
    ax.legend()
    ax.grid(alpha=0.3)

    ax = axes[1]
    steps_free = np.arange(1, len(norms_free) + 1)
    ax.plot(np.arange(1, len(norms) + 1), norms, lw=0.8, label=f"clipped at {args.clip}")
    ax.plot(steps_free, norms_free, lw=0.8, color="C3", alpha=0.8, label="no clipping")
    ax.axhline(args.clip, color="k", ls="--", lw=1, label="max_norm")
    ax.set_yscale("log")
    ax.set_xlabel("training step")
    ax.set_ylabel("gradient norm before clipping")
    ax.set_title("Global gradient norm per step")
    ax.legend()
    ax.grid(alpha=0.3)

    ax = axes[2]
    n = len(losses_free)
    ax.plot(steps_free, losses[:n], lw=0.8, label=f"clipped at {args.clip}")
    ax.plot(steps_free, losses_free, lw=0.8, color="C3", alpha=0.8, label="no clipping")
    ax.set_xlabel("training step (first epoch)")
    ax.set_ylabel("training cross-entropy (nats)")
    ax.set_title("First epoch with and without clipping")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return save_figure(args, fig, "char_lstm")


def main(argv=None) -> dict:
    def extra(parser):
        parser.add_argument("--epochs", type=int, default=None, help="default 4 (quick: 2)")
        parser.add_argument("--hidden", type=int, default=256, help="LSTM units (256)")
        parser.add_argument("--batch", type=int, default=None, help="streams (64; quick 32)")
        parser.add_argument("--lr", type=float, default=3e-3, help="Adam's learning rate")
        parser.add_argument("--clip", type=float, default=0.5, help="clip_grad_norm_ max_norm")
        parser.add_argument(
            "--train-chars", type=int, default=1_200_000, help="training characters (1.2M)"
        )

    args = parse_args("char_lstm", __doc__.splitlines()[0], argv, extra)
    args.epochs = args.epochs or (2 if args.quick else 4)
    args.batch = args.batch or (32 if args.quick else 64)
    rng = np.random.default_rng(args.seed)

    train_text, val_text = corpus(args.quick, args.seed, args.train_chars)
    vocab = Vocab()
    train_ids, val_ids = vocab.encode(train_text), vocab.encode(val_text)
    per_stream = len(train_ids) // args.batch
    streams = train_ids[: per_stream * args.batch].reshape(args.batch, per_stream)
    val = windows(val_ids)

    results = {
        "train_chars": len(train_ids),
        "val_chars": len(val_ids),
        "vocab_size": len(vocab),
        "seq_len": SEQ_LEN,
        "batch": args.batch,
        "hidden": args.hidden,
        "lr": args.lr,
        "max_norm": args.clip,
    }
    with timed(results, "train_s"):
        model, rows, norms, losses = fit(args, vocab, streams, val, args.epochs, args.clip, True)
    results["params"] = sum(p.numel() for p in model.parameters())
    results["steps"] = len(norms)
    results["chars_per_s"] = round(results["steps"] * args.batch * SEQ_LEN / results["train_s"])
    results["epochs"] = rows
    results["val_ppl"] = rows[-1]["val_ppl"]
    results["val_ppl_carried_state"] = stream_perplexity(model, val_ids)
    results["samples"] = {
        str(t): sample(model, vocab, 150 if args.quick else 400, t, rng) for t in (0.5, 1.0)
    }
    # the same first epoch without clipping (same seed, data and schedule)
    with timed(results, "ablation_s"):
        _, ablation, norms_free, losses_free = fit(args, vocab, streams, val, 1, None, False)
    results["no_clip"] = ablation[0]
    results["loss_first"] = losses[0]
    results["loss_last"] = losses[-1]

    draw(args, rows, ablation, norms, norms_free, losses, losses_free, len(vocab))
    for t, text in results["samples"].items():
        print(f"--- temperature {t} ---\n{show(text)}\n")
    columns = ["epoch", "clip", "lr", "train_ppl", "val_ppl", "grad_norm_median"]
    columns += ["clipped_share", "train_s"]
    return finish(args, results, markdown_table(rows + ablation, columns))


if __name__ == "__main__":
    main()
