"""Optuna, the engine under nerve.tune: imported on first use, with an install hint when absent."""

from __future__ import annotations

import os

INSTALL_HINT = "pip install 'nerve[tune]'  (or: pip install optuna)"


def require_optuna(what: str):
    """The optuna module.

    Raises:
        ImportError: optuna is not installed; the message names what needs it and the fix.
    """
    try:
        import optuna
    except ImportError:
        raise ImportError(f"{what} needs optuna: {INSTALL_HINT}") from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def open_storage(storage, project_dir: str | None):
    """An Optuna storage: the one given (object or URL), else a journal file in the project.

    The journal file (``study.journal``, appended under a lock file) lets several processes, and
    machines sharing a filesystem, work on one study; a database URL (``sqlite:///...``,
    ``postgresql://...``) does the same through Optuna's RDB storage.
    """
    optuna = require_optuna("nerve.tune")
    if storage is not None and not isinstance(storage, str):
        return storage
    if isinstance(storage, str):
        if storage.startswith("sqlite:"):
            # Several processes on one SQLite file: wait for the lock instead of failing.
            return optuna.storages.RDBStorage(
                storage, engine_kwargs={"connect_args": {"timeout": 120}}
            )
        return optuna.storages.RDBStorage(storage)
    os.makedirs(project_dir, exist_ok=True)
    from optuna.storages.journal import JournalFileBackend

    return optuna.storages.JournalStorage(
        JournalFileBackend(os.path.join(project_dir, "study.journal"))
    )
