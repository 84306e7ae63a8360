"""A small causal Transformer writes fortunes: what its attention heads see; perplexity vs LSTM.

Written with the Keras door: Embedding plus a learned position embedding, two pre-norm blocks
of MultiHeadAttention (4 heads, causal mask) and a feed-forward layer, LayerNormalization, a
Dense layer to the 97 characters; about as many parameters as char_lstm.py's LSTM (369k vs
361k). It trains with ``fit`` on random 100-character windows of the same 1.2 million training
characters (4 epochs of 125 batches of 64: 3.2 million characters, two thirds of what the LSTM
reads, since a step costs about 1.5 LSTM steps) and is scored on the same held-out windows, so
the two perplexities compare directly. It draws every
head's attention weights (``return_attention_scores=True``) for one sentence, measures how far
back each head looks, and samples text at temperatures 0.5 and 1.0. When char_lstm.py's results
lie beside its own (runs/examples/char_lstm/, same mode), the LSTM's curve is drawn with it.

Run: python examples/attention.py [--quick]
"""

from __future__ import annotations

import json
import math
import time

import numpy as np
from _chars import SEQ_LEN, Vocab, corpus, show, windows
from _common import finish, markdown_table, parse_args, pyplot, save_figure, timed

from nerve import keras
from nerve.keras import layers, ops

WIDTH, HEADS, BLOCKS = 128, 4, 2
PROBE = "Nature abhors a hero.  For one thing,"  # from the held-out text
PROMPT = "The "


class PositionEmbedding(layers.Layer):
    """Adds a learned vector per position (positions 0 .. max_length - 1) to its input."""

    def __init__(self, max_length: int, **kwargs):
        super().__init__(**kwargs)
        self.max_length = max_length

    def build(self, input_shape):
        self.positions = self.add_weight(
            shape=(self.max_length, input_shape[-1]),
            initializer=keras.initializers.RandomNormal(stddev=0.02),
            name="positions",
        )

    def call(self, x):
        return x + self.positions[: ops.shape(x)[1]]

    def get_config(self):
        return {**super().get_config(), "max_length": self.max_length}


def build(vocab_size: int):
    """The language model (ids -> logits) and, sharing its layers, the model that returns every
    block's attention weights, each (batch, heads, query, key)."""
    tokens = keras.Input(shape=(None,), dtype="int32", name="tokens")
    x = layers.Embedding(vocab_size, WIDTH, name="embed")(tokens)
    x = PositionEmbedding(SEQ_LEN, name="positions")(x)
    scores = []
    for i in range(1, BLOCKS + 1):
        h = layers.LayerNormalization(epsilon=1e-5, name=f"norm{i}a")(x)
        h, s = layers.MultiHeadAttention(HEADS, WIDTH // HEADS, name=f"attention{i}")(
            h, h, use_causal_mask=True, return_attention_scores=True
        )
        scores.append(s)
        x = layers.Add()([x, h])
        h = layers.LayerNormalization(epsilon=1e-5, name=f"norm{i}b")(x)
        h = layers.Dense(3 * WIDTH, activation="gelu", name=f"ff{i}a")(h)
        x = layers.Add()([x, layers.Dense(WIDTH, name=f"ff{i}b")(h)])
    x = layers.LayerNormalization(epsilon=1e-5, name="norm")(x)
    logits = layers.Dense(vocab_size, name="logits")(x)
    return keras.Model(tokens, logits), keras.Model(tokens, scores)


class RandomWindows(keras.utils.PyDataset):
    """Each epoch, ``steps`` batches of windows cut at fresh random places of the text."""

    def __init__(self, ids: np.ndarray, steps: int, batch: int, rng):
        super().__init__()
        self.ids, self.steps, self.batch, self.rng = ids, steps, batch, rng
        self.on_epoch_end()

    def __len__(self):
        return self.steps

    def __getitem__(self, index):
        starts = self.starts[index][:, None] + np.arange(SEQ_LEN)
        return self.ids[starts], self.ids[starts + 1]

    def on_epoch_end(self):
        high = len(self.ids) - SEQ_LEN - 1
        self.starts = self.rng.integers(0, high, size=(self.steps, self.batch))


class EpochClock(keras.callbacks.Callback):
    """Wall seconds of each epoch's training (validation excluded as far as fit allows)."""

    def __init__(self):
        super().__init__()
        self.seconds = []

    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_test_begin(self, logs=None):
        self.seconds.append(time.perf_counter() - self.start)


def sample(model, vocab: Vocab, n: int, temperature: float, rng) -> str:
    """``n`` characters after PROMPT; the model sees the last SEQ_LEN characters each step."""
    ids = list(vocab.encode(PROMPT))
    for _ in range(n):
        logits = ops.convert_to_numpy(model(np.array([ids[-SEQ_LEN:]])))[0, -1]
        z = logits.astype(np.float64) / temperature  # softmax(z / T), drawn by NumPy
        p = np.exp(z - z.max())
        ids.append(int(rng.choice(len(vocab), p=p / p.sum())))
    return vocab.decode(ids)


def head_stats(weights_model, x: np.ndarray) -> tuple[list[dict], float]:
    """Per block and head, over the windows ``x``: the mean distance looked back, and the share
    of attention on the character itself and on the one before it; and the largest weight any
    head gives to a later character (zero, if the causal mask holds)."""
    scores = weights_model.predict(x, batch_size=100, verbose=0)
    q = np.arange(x.shape[1])
    distance = (q[:, None] - q[None, :]).clip(0)
    future = q[None, :] > q[:, None]
    rows, leak = [], 0.0
    for block, s in enumerate(scores, 1):
        s = np.asarray(s, dtype=np.float64)
        leak = max(leak, float(s[..., future].max()))
        for head in range(s.shape[1]):
            w = s[:, head]
            rows.append(
                {
                    "block": block,
                    "head": head + 1,
                    "mean_distance": float((w * distance).sum(-1).mean()),
                    "on_self": float(w[:, q, q].mean()),
                    "on_previous": float(w[:, q[1:], q[1:] - 1].mean()),
                }
            )
    return rows, leak


def matplotlib_colors():
    import matplotlib.colors

    return matplotlib.colors


def draw_heads(args, weights_model, vocab: Vocab) -> None:
    plt = pyplot()
    scores = weights_model.predict(vocab.encode(PROBE)[None], verbose=0)
    labels = [{" ": "␣"}.get(c, c) for c in PROBE]
    fig, axes = plt.subplots(
        BLOCKS, HEADS, figsize=(4.2 * HEADS + 1, 4.5 * BLOCKS + 0.5), layout="constrained"
    )
    ticks = np.arange(len(PROBE))
    # a square-root colour scale, so that the small weights of a spread-out head still show
    norm = matplotlib_colors().PowerNorm(gamma=0.5, vmin=0, vmax=1)
    for b in range(BLOCKS):
        for h in range(HEADS):
            ax = axes[b, h]
            image = ax.imshow(np.asarray(scores[b])[0, h], cmap="viridis", norm=norm)
            ax.set_xticks(ticks, labels, fontsize=7, family="monospace")
            ax.set_yticks(ticks, labels, fontsize=7, family="monospace")
            ax.tick_params(length=0, pad=1)
            ax.set_title(f"block {b + 1}, head {h + 1}", fontsize=11)
            ax.set_xlabel("key (attended character)", fontsize=9)
            ax.set_ylabel("query (predicting after it)", fontsize=9)
    fig.colorbar(image, ax=axes, shrink=0.5, label="attention weight (square-root scale)")
    fig.suptitle(f"Attention weights for {PROBE!r} (causal: nothing above the diagonal)")
    save_figure(args, fig, "attention_heads")


def lstm_curve(args):
    """char_lstm.py's results beside ours, when they were written in the same mode."""
    path = args.out.parent / "char_lstm" / "results.json"
    if not path.is_file():
        return None
    lstm = json.loads(path.read_text())
    return lstm if lstm.get("quick") == bool(args.quick) else None


def draw_curves(args, rows, chars_per_epoch, lstm) -> None:
    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    seen = [r["epoch"] * chars_per_epoch / 1e6 for r in rows]
    clock = np.cumsum([r["train_s"] for r in rows])
    for ax, x in zip(axes, (seen, clock)):
        ax.plot(x, [r["val_ppl"] for r in rows], "s-", label="Transformer, held-out")
        ax.plot(
            x,
            [r["train_ppl"] for r in rows],
            "o--",
            color="C0",
            alpha=0.5,
            label="Transformer, training",
        )
        if lstm is not None:
            ep = lstm["epochs"]
            lx = (
                [e["epoch"] * lstm["train_chars"] / 1e6 for e in ep]
                if x is seen
                else np.cumsum([e["train_s"] for e in ep])
            )
            ax.plot(lx, [e["val_ppl"] for e in ep], "^-", color="C1", label="LSTM, held-out")
        ax.set_ylabel("perplexity (characters)")
        ax.grid(alpha=0.3)
        ax.legend()
    axes[0].set_xlabel("training characters seen (millions)")
    axes[0].set_title("Perplexity vs training characters")
    axes[1].set_xlabel("training wall time (s, shared machine)")
    axes[1].set_title("Perplexity vs training time")
    fig.tight_layout()
    save_figure(args, fig, "attention")


def main(argv=None) -> dict:
    def extra(parser):
        parser.add_argument("--epochs", type=int, default=None, help="default 4 (quick: 2)")
        parser.add_argument("--steps", type=int, default=None, help="batches per epoch (125)")
        parser.add_argument("--batch", type=int, default=64, help="windows per batch (64)")
        parser.add_argument("--lr", type=float, default=2e-3, help="peak learning rate")
        parser.add_argument("--clip", type=float, default=0.5, help="Adam's global_clipnorm")

    args = parse_args("attention", __doc__.splitlines()[0], argv, extra)
    args.epochs = args.epochs or (2 if args.quick else 4)
    args.steps = args.steps or (10 if args.quick else 125)
    if args.quick:
        args.batch = 32
    keras.utils.set_random_seed(args.seed)
    rng = np.random.default_rng(args.seed)

    train_text, val_text = corpus(args.quick, args.seed, None if args.quick else 1_200_000)
    vocab = Vocab()
    train_ids, val_ids = vocab.encode(train_text), vocab.encode(val_text)
    x_val, y_val = windows(val_ids)

    model, weights_model = build(len(vocab))
    total = args.epochs * args.steps
    schedule = keras.optimizers.schedules.CosineDecay(
        0.0, total - total // 20, warmup_target=args.lr, warmup_steps=total // 20
    )
    model.compile(
        optimizer=keras.optimizers.Adam(schedule, global_clipnorm=args.clip),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    clock = EpochClock()
    results = {
        "train_chars": len(train_ids),
        "val_chars": len(val_ids),
        "vocab_size": len(vocab),
        "seq_len": SEQ_LEN,
        "batch": args.batch,
        "steps_per_epoch": args.steps,
        "width": WIDTH,
        "heads": HEADS,
        "blocks": BLOCKS,
        "params": model.count_params(),
        "lr": args.lr,
        "global_clipnorm": args.clip,
    }
    data = RandomWindows(train_ids, args.steps, args.batch, rng)
    with timed(results, "train_s"):
        history = model.fit(
            data,
            epochs=args.epochs,
            validation_data=(x_val, y_val),
            validation_batch_size=250,
            callbacks=[clock],
            verbose=2,
        ).history
    rows = [
        {
            "epoch": e + 1,
            "train_ppl": math.exp(history["loss"][e]),
            "val_ppl": math.exp(history["val_loss"][e]),
            "train_s": round(clock.seconds[e], 1),
        }
        for e in range(args.epochs)
    ]
    results["epochs"] = rows
    results["val_ppl"] = rows[-1]["val_ppl"]
    results["loss_first"], results["loss_last"] = history["loss"][0], history["loss"][-1]
    chars_per_epoch = args.steps * args.batch * SEQ_LEN
    results["chars_seen"] = args.epochs * chars_per_epoch
    results["chars_per_s"] = round(results["chars_seen"] / sum(clock.seconds))
    results["heads_table"], results["max_weight_on_later"] = head_stats(weights_model, x_val[:100])
    results["samples"] = {
        str(t): sample(model, vocab, 150 if args.quick else 400, t, rng) for t in (0.5, 1.0)
    }
    lstm = lstm_curve(args)
    if lstm is not None:
        results["lstm"] = {k: lstm[k] for k in ("params", "val_ppl", "train_s", "train_chars")}

    draw_curves(args, rows, chars_per_epoch, lstm)
    draw_heads(args, weights_model, vocab)
    for t, text in results["samples"].items():
        print(f"--- temperature {t} ---\n{show(text)}\n")
    heads = markdown_table(
        results["heads_table"], ["block", "head", "mean_distance", "on_self", "on_previous"]
    )
    table = markdown_table(rows, ["epoch", "train_ppl", "val_ppl", "train_s"]) + "\n\n" + heads
    return finish(args, results, table)


if __name__ == "__main__":
    main()
