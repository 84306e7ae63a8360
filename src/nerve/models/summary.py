"""model.summary(): Keras 3's table of layers, output shapes and parameter counts."""

from __future__ import annotations


def _count(module) -> tuple[int, int]:
    """(trainable, non-trainable) numbers of values held by ``module`` and its children."""
    trainable = frozen = 0
    for p in module.parameters():
        if p.requires_grad:
            trainable += p.numel()
        else:
            frozen += p.numel()
    frozen += sum(b.numel() for b in module.buffers() if b.dtype.kind == "f")
    return trainable, frozen


def _size(n: int) -> str:
    bytes_ = 4.0 * n
    for unit in ("B", "KB", "MB", "GB"):
        if bytes_ < 1024 or unit == "GB":
            return f"{bytes_:.2f} {unit}"
        bytes_ /= 1024
    return ""  # pragma: no cover


def _shape(layer) -> str:
    shape = layer.__dict__.get("output_shape")
    if shape is None:
        return "?"
    if isinstance(shape, list):
        return ", ".join(str(tuple(s)) for s in shape)
    return str(tuple(shape))


def summary_table(model, show_trainable: bool = False) -> str:
    """Keras 3's summary table; ``show_trainable`` adds its "Trainable" column (Y / N)."""
    rows = []
    for layer in model.layers:
        name = getattr(layer, "name", type(layer).__name__.lower())
        trainable, frozen = _count(layer)
        flag = "Y" if getattr(layer, "trainable", True) else "N"
        rows.append(
            (f"{name} ({type(layer).__name__})", _shape(layer), f"{trainable + frozen:,}", flag)
        )
    widths = [max(31, *(len(r[0]) for r in rows)) if rows else 31, 22, 13]
    if rows:
        widths[1] = max(22, *(len(r[1]) for r in rows))
    if show_trainable:
        widths.append(9)

    def line(left: str, mid: str, right: str, fill: str) -> str:
        return left + mid.join(fill * (w + 2) for w in widths) + right

    def row(cells, bar: str = "│") -> str:
        a, b, c = cells[:3]
        text = f"{bar} {a:<{widths[0]}} {bar} {b:<{widths[1]}} {bar} {c:>{widths[2]}} {bar}"
        if show_trainable:
            text += f" {cells[3]:^{widths[3]}} {bar}"
        return text

    trainable, frozen = _count(model)
    header = ("Layer (type)", "Output Shape", "Param #", "Trainable")
    out = [
        f'Model: "{model.name}"',
        line("┏", "┳", "┓", "━"),
        row(header, "┃"),
        line("┡", "╇", "┩", "━"),
    ]
    out += [row(r) for r in rows]
    out.append(line("└", "┴", "┘", "─"))
    out.append(f" Total params: {trainable + frozen:,} ({_size(trainable + frozen)})")
    out.append(f" Trainable params: {trainable:,} ({_size(trainable)})")
    out.append(f" Non-trainable params: {frozen:,} ({_size(frozen)})")
    return "\n".join(out)
