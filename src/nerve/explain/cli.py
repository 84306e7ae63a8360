"""``nerve explain MODEL``: attribute a saved model's predictions on a few test images.

    nerve explain runs/cnn-fashion_mnist/model.nerve --images 8 [--method integrated_gradients]
        [--dataset fashion_mnist] [--data-dir DIR] [--n-steps 50] [--output DIR]

Loads the model (``nerve.load_model``) and the first N test images of the dataset, explains the
predicted class of each with the chosen Captum-style method, and writes into the run folder
(``--output``, default ``explain-METHOD`` beside the model):

- ``attributions.png``: the images and their attribution maps in shap.image_plot's style;
- ``attributions.json``: the summary: per image the label, the predicted class and its
  probability, the attributions' sum, |max|, positive share, the strongest pixels, and (for
  the methods that have one) the convergence delta;
- ``attributions.npy``: the raw attributions, in the images' shape.

User errors (no model file, an unknown dataset, a bad option value) are raised as ValueError or
OSError, which the ``nerve`` command prints as one line with exit status 2.
"""

from __future__ import annotations

import json
import os

import numpy as np

METHODS = ("integrated_gradients", "saliency", "gradient_shap", "deeplift")
DATASETS = ("fashion_mnist", "mnist", "digits")
FASHION_NAMES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)  # fmt: skip
TITLES = {
    "integrated_gradients": "Integrated Gradients",
    "saliency": "Saliency",
    "gradient_shap": "GradientShap",
    "deeplift": "DeepLift",
}
TOP_PIXELS = 5


def add_explain_parser(sub) -> None:
    """Add the ``explain`` subcommand to the ``nerve`` command's subparsers.

    Args:
        sub: the object ``argparse.ArgumentParser.add_subparsers`` returned.
    """
    p = sub.add_parser("explain", help="attribute a saved model's predictions on test images")
    p.add_argument("model", help="a saved model (.nerve)")
    p.add_argument("--images", type=int, default=8, help="how many test images (default 8)")
    p.add_argument("--method", default="integrated_gradients", choices=METHODS)
    p.add_argument("--dataset", default="fashion_mnist", choices=DATASETS)
    p.add_argument(
        "--data-dir", default=None, help="directory with the dataset's IDX files (default: cache)"
    )
    p.add_argument(
        "--n-steps", type=int, default=50, help="integration steps (integrated_gradients)"
    )
    p.add_argument("--seed", type=int, default=0, help="for gradient_shap's random draws")
    p.add_argument("--output", default=None, help="run folder (default: explain-METHOD beside)")
    p.set_defaults(func=cmd_explain)


def _test_images(name: str, data_dir, count: int):
    """The first ``count`` test images (float32 in [0, 1], (N, H, W)), their labels, and the
    first training images (the background for gradient_shap)."""
    from nerve import datasets

    if name == "digits":
        if data_dir is not None:
            raise ValueError("explain: --data-dir applies to fashion_mnist and mnist, not digits")
        (x_train, _), (x_test, y_test) = datasets.digits.load_data()
    else:
        (x_train, _), (x_test, y_test) = getattr(datasets, name).load_data(data_dir)
    if count > len(x_test):
        raise ValueError(f"explain: --images {count} but {name} has {len(x_test)} test images")
    scale = 16.0 if name == "digits" else 255.0  # sklearn's digits go to 16
    x = np.asarray(x_test[:count], np.float32) / scale
    background = np.asarray(x_train[:16], np.float32) / scale
    if x.ndim == 2:  # digits come flat (N, 64)
        side = int(round(np.sqrt(x.shape[1])))
        x, background = x.reshape(-1, side, side), background.reshape(-1, side, side)
    return x, np.asarray(y_test[:count], np.int64), background


def _model_shape(model, images: np.ndarray) -> tuple:
    """The per-example input shape the model takes, for images (N, H, W)."""
    shape = getattr(model, "input_shape", None)
    if isinstance(shape, list):
        shape = shape[0]
    pixels = int(np.prod(images.shape[1:]))
    if shape is None or any(d is None for d in shape[1:]):
        return (*images.shape[1:], 1)  # Keras-style NHWC, as ``nerve train`` builds
    shape = tuple(int(d) for d in shape[1:])
    if int(np.prod(shape)) != pixels:
        raise ValueError(
            f"explain: the model takes inputs of shape {shape} but the test images are "
            f"{images.shape[1:]}; pick the dataset it was trained on (--dataset)"
        )
    return shape


def _attribute(method: str, model, x, target, background, n_steps: int):
    """(attributions, convergence delta or None) as arrays."""
    import nerve
    from nerve import explain

    inputs = nerve.from_numpy(x)
    if method == "saliency":
        return explain.Saliency(model).attribute(inputs, target=target).numpy(), None
    if method == "integrated_gradients":
        attr, delta = explain.IntegratedGradients(model).attribute(
            inputs, target=target, n_steps=n_steps, return_convergence_delta=True
        )
    elif method == "gradient_shap":
        attr, delta = explain.GradientShap(model).attribute(
            inputs,
            baselines=nerve.from_numpy(background),
            n_samples=20,
            target=target,
            return_convergence_delta=True,
        )
    else:
        attr, delta = explain.DeepLift(model).attribute(
            inputs, target=target, return_convergence_delta=True
        )
    return attr.numpy(), np.asarray(delta.numpy(), np.float64)


def _softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _summary(maps: np.ndarray, labels, predicted, probs, delta, names) -> list[dict]:
    """Per image: the attributions' totals and their strongest pixels."""
    rows = []
    for i, m in enumerate(maps):
        flat = np.abs(m).ravel()
        top = np.argsort(-flat, kind="stable")[:TOP_PIXELS]
        row = {
            "index": i,
            "label": int(labels[i]),
            "predicted": int(predicted[i]),
            "probability": float(probs[i, predicted[i]]),
            "sum": float(m.sum()),
            "max_abs": float(flat.max()),
            "positive_share": float((m > 0).mean()),
            "top_pixels": [
                {"row": int(r), "col": int(c), "value": float(m[r, c])}
                for r, c in zip(*np.unravel_index(top, m.shape))
            ],
        }
        if names is not None:
            row["label_name"], row["predicted_name"] = names[labels[i]], names[predicted[i]]
        if delta is not None:
            row["convergence_delta"] = float(delta[i])
        rows.append(row)
    return rows


def cmd_explain(args) -> int:
    """Run ``nerve explain``: write the picture and the JSON summary, print where.

    Args:
        args: the parsed options (see :func:`add_explain_parser`).

    Returns:
        0 on success.

    Raises:
        OSError: no model file, or the dataset's files cannot be found.
        ValueError: a bad option value, or a dataset whose images do not fit the model.
    """
    import nerve
    from nerve.files import atomic_write_bytes

    if args.images < 1:
        raise ValueError(f"explain: --images must be a positive integer, got {args.images}")
    if args.n_steps < 1:
        raise ValueError(f"explain: --n-steps must be a positive integer, got {args.n_steps}")
    if not os.path.isfile(args.model):
        raise OSError(f"explain: no model file at {args.model}")
    model = nerve.load_model(args.model)
    images, labels, background = _test_images(args.dataset, args.data_dir, args.images)
    shape = _model_shape(model, images)
    x = np.ascontiguousarray(images.reshape(len(images), *shape))
    if hasattr(model, "eval"):
        model.eval()
    with nerve.no_grad():
        logits = np.asarray(model(nerve.from_numpy(x)).numpy(), np.float64)
    if logits.ndim != 2 or logits.shape[0] != len(x):
        raise ValueError(
            f"explain: the model returned shape {logits.shape} for {len(x)} images; expected "
            "(N, classes) scores"
        )
    predicted = logits.argmax(axis=1)
    probs = logits if np.allclose(logits.sum(1), 1.0) and logits.min() >= 0 else _softmax(logits)
    nerve.manual_seed(args.seed)
    attr, delta = _attribute(
        args.method,
        model,
        x,
        [int(k) for k in predicted],
        background.reshape(len(background), *shape),
        args.n_steps,
    )
    # One map per image: channels summed, in the images' (H, W) layout
    maps = attr.reshape(len(x), -1)
    if attr.ndim == 4:
        channel_axis = 1 if attr.shape[1] in (1, 3) and attr.shape[-1] not in (1, 3) else 3
        maps = attr.sum(axis=channel_axis)
    maps = maps.reshape(images.shape).astype(np.float64)
    names = FASHION_NAMES if args.dataset == "fashion_mnist" else None

    folder = args.output or os.path.join(
        os.path.dirname(os.path.abspath(args.model)), f"explain-{args.method}"
    )
    os.makedirs(folder, exist_ok=True)
    report = {
        "model": os.path.abspath(args.model),
        "dataset": args.dataset,
        "method": args.method,
        "target": "predicted class",
        "n_steps": args.n_steps if args.method == "integrated_gradients" else None,
        "images": len(x),
        "input_shape": list(shape),
        "mean_abs_attribution": float(np.abs(maps).mean()),
        "per_image": _summary(maps, labels, predicted, probs, delta, names),
    }
    json_path = os.path.join(folder, "attributions.json")
    atomic_write_bytes(json_path, json.dumps(report, indent=2).encode("utf-8"))
    npy_path = os.path.join(folder, "attributions.npy")
    np.save(npy_path, attr)
    print(f"explain: {args.method} of the predicted class on {len(x)} {args.dataset} test images")
    print(f"wrote {json_path}")
    print(f"wrote {npy_path}")
    try:
        from nerve.explain import plot

        png_path = os.path.join(folder, "attributions.png")
        fig = plot.attributions(maps, images, labels=[TITLES[args.method]])
        # each row's first axes shows the image: caption it with the label and the prediction
        for row, ax in zip(report["per_image"], fig.axes[0::2]):
            said = row.get("predicted_name", row["predicted"])
            truth = row.get("label_name", row["label"])
            ax.set_title(f"{truth} -> {said} ({row['probability']:.2f})", fontsize=8)
        plot._save(fig, png_path)
        print(f"wrote {png_path}")
    except ImportError as exc:  # matplotlib is an optional extra
        print(f"explain: no picture: {exc}")
    return 0
