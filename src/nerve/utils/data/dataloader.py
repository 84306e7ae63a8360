"""``torch.utils.data.dataloader``'s names (the loader lives in nerve.data.dataloader)."""

from nerve.data.dataloader import DataLoader, default_collate, default_convert, get_worker_info

__all__ = ["DataLoader", "default_collate", "default_convert", "get_worker_info"]
