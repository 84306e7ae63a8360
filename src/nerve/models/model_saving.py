"""Model's saving methods: ``save``, ``save_weights``, ``load_weights``, ``get_config``,
``to_json`` and ``from_config``.

The file formats live in nerve.saving (level 8, above models): it installs its functions here
through :func:`register_saving_hooks` when imported, and the first save or load imports it through
the package facade. ``ModelSaving`` is a base class of :class:`nerve.models.model.Model`.
"""

from __future__ import annotations

_SAVING_HOOKS: dict = {}


def register_saving_hooks(**hooks) -> None:
    """Called by nerve.saving when imported: the functions behind save/save_weights/load_weights."""
    _SAVING_HOOKS.update(hooks)


def _saving_hook(name: str):
    if name not in _SAVING_HOOKS:
        import nerve

        nerve.saving  # noqa: B018  (the facade imports nerve.saving, which registers the hooks)
    return _SAVING_HOOKS[name]


class ModelSaving:
    """Model's save / load / config methods (a base class of Model, not used alone)."""

    def save(self, filepath, overwrite: bool = True, zipped=None, **kwargs) -> None:
        """Write the whole model (architecture, weights, compile and optimizer state) to a
        ``.nerve`` file, or Keras's ``.keras`` / ``.h5``; ``nerve.load_model`` reads it back.
        See ``nerve.saving.save_model``. Keras's ``include_optimizer=`` and ``zipped=`` are
        accepted; ``include_optimizer=False`` is refused (the optimizer state is always kept)."""
        if kwargs.pop("include_optimizer", True) is False:
            raise ValueError(
                f"model {self.name!r}: save(include_optimizer=False) is not supported; the "
                "optimizer state is always saved (save_weights writes the weights alone)"
            )
        if kwargs:
            raise TypeError(f"save() got unexpected keyword argument(s) {sorted(kwargs)}")
        _saving_hook("save_model")(self, filepath, overwrite=overwrite)

    def save_weights(self, filepath, overwrite: bool = True) -> None:
        """Write the weights (the state_dict) to a ``.weights.safetensors`` file, atomically."""
        _saving_hook("save_weights")(self, filepath, overwrite=overwrite)

    def load_weights(self, filepath) -> None:
        """Read weights from ``.weights.safetensors``, a ``.nerve`` file, or an old ``.npz``."""
        _saving_hook("load_weights")(self, filepath)

    def _build_from(self, inputs) -> None:
        # Remembered so that a saved subclassed model can build its weights again on loading.
        items = inputs if isinstance(inputs, (list, tuple)) else [inputs]
        shapes = [tuple(x.shape) for x in items if hasattr(x, "shape")]
        if len(shapes) == len(items):
            self.__dict__["_build_input_shape"] = shapes if len(shapes) > 1 else shapes[0]
        super()._build_from(inputs)

    def get_config(self) -> dict:
        """The constructor arguments; for a functional model its whole topology (layers and
        the calls between them), which ``Model.from_config`` rebuilds."""
        if self._graph is not None:
            return _saving_hook("functional_config")(self)
        return super().get_config()

    def to_json(self, **kwargs) -> str:
        """The architecture as JSON (``keras.models.model_from_json`` rebuilds it)."""
        import json

        return json.dumps(
            {"class_name": type(self).__name__, "config": self.get_config()}, **kwargs
        )

    @classmethod
    def from_config(cls, config: dict, custom_objects=None):
        """The model ``config`` describes: a functional topology from ``get_config`` (its
        custom layer classes found through ``custom_objects`` or the registry), or the
        constructor arguments of a subclassed model."""
        if "nodes" in config and "outputs" in config:
            return _saving_hook("functional_from_config")(config, custom_objects)
        return cls(**config)
