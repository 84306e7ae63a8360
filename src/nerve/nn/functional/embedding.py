"""embedding ops (fused forward and backward)."""

__all__: list[str] = []
