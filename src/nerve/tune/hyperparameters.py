"""HyperParameters: Keras Tuner's define-by-run search space, sampled by an Optuna trial.

A hypermodel's ``build(hp)`` asks ``hp.Int(...)``, ``hp.Float(...)``, ``hp.Choice(...)``, ...
for values. Each call registers the hyperparameter in ``hp.space`` and returns its value: the
one already in ``hp.values``, else (during a search) the one Optuna's trial suggests, else the
default. A hyperparameter inside a ``conditional_scope`` whose parent value does not match is
inactive: it is registered but returns None and is not sampled, as in Keras Tuner.
"""

from __future__ import annotations

import contextlib
import math

SAMPLINGS = ("linear", "log", "reverse_log")
_KINDS = ("Int", "Float", "Choice", "Boolean", "Fixed")


def _tidy(v: float) -> float:
    """A grid point without binary noise: 0.1 * 3 is 0.3, not 0.30000000000000004."""
    return float(round(v, 12))


class HyperParameter:
    """One registered hyperparameter: its kind, name, range or values, default and conditions.

    Attributes:
        name, kind: the name and ``"Int"``, ``"Float"``, ``"Choice"``, ``"Boolean"`` or
            ``"Fixed"``.
        config: the arguments it was declared with (min_value, max_value, step, sampling,
            values, ordered, value).
        default: the value used when nothing else decides.
        conditions: ``[(parent_name, [parent_values...]), ...]``, all of which must hold.
    """

    def __init__(self, kind, name, config, default, conditions):
        self.kind = kind
        self.name = name
        self.config = config
        self.default = default
        self.conditions = [(p, list(v)) for p, v in conditions]

    def get_config(self) -> dict:
        return {
            "kind": self.kind,
            "name": self.name,
            "config": dict(self.config),
            "default": self.default,
            "conditions": [[p, list(v)] for p, v in self.conditions],
        }

    @classmethod
    def from_config(cls, config: dict) -> HyperParameter:
        return cls(
            config["kind"],
            config["name"],
            config["config"],
            config["default"],
            [(p, v) for p, v in config["conditions"]],
        )

    def grid_values(self) -> list:
        """Every value GridSearch visits, in order.

        Raises:
            ValueError: a Float without ``step`` (a continuous range has no grid).
        """
        c = self.config
        if self.kind == "Fixed":
            return [c["value"]]
        if self.kind == "Boolean":
            return [False, True]
        if self.kind == "Choice":
            return list(c["values"])
        lo, hi, step = c["min_value"], c["max_value"], c["step"]
        if step is None:
            if self.kind == "Float":
                raise ValueError(
                    f"GridSearch: Float {self.name!r} needs a step to be enumerated "
                    f"(range [{lo}, {hi}] is continuous)"
                )
            step = 1
        if c["sampling"] == "linear":
            n = int(math.floor((hi - lo) / step + 1e-9)) + 1
            return [self._cast(_tidy(lo + i * step)) for i in range(n)]
        values, v = [], lo
        while v <= hi * (1 + 1e-9):
            values.append(self._cast(v))
            v *= step
        if c["sampling"] == "reverse_log":
            values = sorted(self._cast(hi + lo - v) for v in values)
        return values

    def _cast(self, v):
        return int(round(v)) if self.kind == "Int" else float(v)

    def __repr__(self) -> str:
        return f"{self.kind}(name={self.name!r}, {self.config})"


def _check_range(kind, name, min_value, max_value, step, sampling):
    if sampling not in SAMPLINGS:
        raise ValueError(
            f"hp.{kind}({name!r}): sampling must be one of {SAMPLINGS}, got {sampling!r}"
        )
    if min_value > max_value:
        raise ValueError(
            f"hp.{kind}({name!r}): min_value={min_value} is greater than max_value={max_value}"
        )
    if step is not None and step <= 0:
        raise ValueError(f"hp.{kind}({name!r}): step must be > 0, got {step}")
    if sampling != "linear":
        if min_value <= 0:
            raise ValueError(
                f"hp.{kind}({name!r}): sampling={sampling!r} needs min_value > 0, got {min_value}"
            )
        if step is not None and step <= 1:
            raise ValueError(
                f"hp.{kind}({name!r}): with sampling={sampling!r} the step is a factor and "
                f"must be > 1, got {step}"
            )


class HyperParameters:
    """The search space and the values of one trial (Keras Tuner's ``kt.HyperParameters``).

    Outside a search, every method returns the default (or the value already in ``values``),
    so ``hypermodel.build(kt.HyperParameters())`` builds the default model.

    Attributes:
        space: the registered HyperParameter objects, in declaration order.
        values: ``{name: value}`` of every hyperparameter given a value so far.

    >>> hp = HyperParameters()
    >>> hp.Int("units", 32, 512, step=32)
    32
    >>> hp.Choice("activation", ["relu", "tanh"])
    'relu'
    >>> with hp.conditional_scope("activation", ["tanh"]):
    ...     print(hp.Float("scale", 0.1, 1.0))
    None
    >>> hp.values
    {'units': 32, 'activation': 'relu'}
    """

    def __init__(self):
        self.space: list[HyperParameter] = []
        self.values: dict = {}
        self._by_name: dict[str, HyperParameter] = {}
        self._scopes: list[tuple[str, list]] = []
        # Set by the tuner during a search: the Optuna trial that samples new values, plus the
        # tuner's restrictions (``hyperparameters=``, ``tune_new_entries``, ...).
        self._trial = None
        self._fixed_space: dict[str, HyperParameter] = {}
        self._tune_new_entries = True
        self._allow_new_entries = True

    # ------------------------------------------------------------------ declaring
    def Int(  # noqa: N802 (Keras Tuner's name)
        self,
        name,
        min_value,
        max_value,
        step=None,
        sampling="linear",
        default=None,
        parent_name=None,
        parent_values=None,
    ):
        """An integer in ``[min_value, max_value]`` (both included).

        Args:
            name: unique name of the hyperparameter.
            min_value, max_value: the bounds, included.
            step: the distance between two values (``"linear"``) or their ratio (``"log"``);
                None: any integer.
            sampling: ``"linear"``, ``"log"`` or ``"reverse_log"`` (dense near max_value).
            default: the value outside a search (min_value when None).
            parent_name, parent_values: active only when ``parent_name``'s value is one of
                ``parent_values``.

        Returns:
            The value (an int), or None when inactive.

        Raises:
            ValueError: min_value > max_value, a step <= 0, or log sampling of values <= 0.
        """
        min_value, max_value = int(min_value), int(max_value)
        step = None if step is None else int(step)
        _check_range("Int", name, min_value, max_value, step, sampling)
        config = {"min_value": min_value, "max_value": max_value, "step": step}
        config["sampling"] = sampling
        default = min_value if default is None else int(default)
        return self._retrieve("Int", name, config, default, parent_name, parent_values)

    def Float(  # noqa: N802
        self,
        name,
        min_value,
        max_value,
        step=None,
        sampling="linear",
        default=None,
        parent_name=None,
        parent_values=None,
    ):
        """A float in ``[min_value, max_value]``; arguments as ``Int``.

        Returns:
            The value (a float), or None when inactive.

        Raises:
            ValueError: min_value > max_value, a step <= 0, or log sampling of values <= 0.
        """
        min_value, max_value = float(min_value), float(max_value)
        step = None if step is None else float(step)
        _check_range("Float", name, min_value, max_value, step, sampling)
        config = {"min_value": min_value, "max_value": max_value, "step": step}
        config["sampling"] = sampling
        default = min_value if default is None else float(default)
        return self._retrieve("Float", name, config, default, parent_name, parent_values)

    def Choice(  # noqa: N802
        self, name, values, ordered=None, default=None, parent_name=None, parent_values=None
    ):
        """One of ``values`` (ints, floats, strings or booleans, all of one type).

        Args:
            values: the candidates, in order.
            ordered: whether the values are ordered (default: True for numbers).
            default: one of ``values`` (the first when None).

        Returns:
            The chosen value, or None when inactive.

        Raises:
            ValueError: no values, a default that is not among them.
            TypeError: values of mixed types.
        """
        values = list(values)
        if not values:
            raise ValueError(f"hp.Choice({name!r}): values must not be empty")
        types = {type(v) for v in values}
        if len(types) > 1 and not types <= {int, float}:
            raise TypeError(
                f"hp.Choice({name!r}): a Choice can contain only one type of value, got "
                f"{sorted(t.__name__ for t in types)}"
            )
        if default is None:
            default = values[0]
        elif default not in values:
            raise ValueError(
                f"hp.Choice({name!r}): the default value should be one of the choices "
                f"{values}, got {default!r}"
            )
        if ordered is None:
            ordered = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
        config = {"values": values, "ordered": bool(ordered)}
        return self._retrieve("Choice", name, config, default, parent_name, parent_values)

    def Boolean(self, name, default=False, parent_name=None, parent_values=None):  # noqa: N802
        """True or False.

        Returns:
            The value, or None when inactive.
        """
        return self._retrieve("Boolean", name, {}, bool(default), parent_name, parent_values)

    def Fixed(self, name, value, parent_name=None, parent_values=None):  # noqa: N802
        """A value that is not tuned (recorded with the trial's values).

        Returns:
            ``value``, or None when inactive.
        """
        return self._retrieve("Fixed", name, {"value": value}, value, parent_name, parent_values)

    @contextlib.contextmanager
    def conditional_scope(self, parent_name, parent_values):
        """Hyperparameters declared inside are active only when ``parent_name``'s value is one of
        ``parent_values``.

        Raises:
            ValueError: ``parent_name`` is not declared yet.
        """
        if parent_name not in self._by_name:
            raise ValueError(
                f"conditional_scope: parent_name {parent_name!r} must be declared before the "
                f"scope; declared: {sorted(self._by_name)}"
            )
        values = parent_values if isinstance(parent_values, (list, tuple)) else [parent_values]
        self._scopes.append((parent_name, list(values)))
        try:
            yield
        finally:
            self._scopes.pop()

    # ------------------------------------------------------------------ reading
    def get(self, name):
        """The value of ``name`` (None when its conditions do not hold).

        Raises:
            KeyError: ``name`` has no value.
        """
        if name in self.values:
            hp = self._by_name.get(name)
            if hp is not None and not self._active(hp.conditions):
                return None
            return self.values[name]
        raise KeyError(f"HyperParameters: {name!r} does not exist; known: {sorted(self.values)}")

    def __getitem__(self, name):
        return self.get(name)

    def __contains__(self, name) -> bool:
        return name in self.values

    def is_active(self, hyperparameter) -> bool:
        """Whether the conditions of a hyperparameter (or of the one named) hold."""
        hp = self._by_name.get(getattr(hyperparameter, "name", hyperparameter))
        return hp is not None and self._active(hp.conditions)

    def copy(self) -> HyperParameters:
        """A copy with the same space and values, not tied to any trial."""
        new = HyperParameters()
        for hp in self.space:
            new._register(HyperParameter.from_config(hp.get_config()))
        new.values = dict(self.values)
        return new

    def get_config(self) -> dict:
        return {"space": [hp.get_config() for hp in self.space], "values": dict(self.values)}

    @classmethod
    def from_config(cls, config: dict) -> HyperParameters:
        hps = cls()
        for c in config.get("space", []):
            hps._register(HyperParameter.from_config(c))
        hps.values = dict(config.get("values", {}))
        return hps

    def __repr__(self) -> str:
        return f"HyperParameters({self.values})"

    # ------------------------------------------------------------------ internals
    def _register(self, hp: HyperParameter) -> HyperParameter:
        if hp.name not in self._by_name:
            self._by_name[hp.name] = hp
            self.space.append(hp)
        return self._by_name[hp.name]

    def _active(self, conditions) -> bool:
        for parent, allowed in conditions:
            parent_hp = self._by_name.get(parent)
            if parent_hp is not None and not self._active(parent_hp.conditions):
                return False
            if self.values.get(parent) not in allowed:
                return False
        return True

    def _retrieve(self, kind, name, config, default, parent_name, parent_values):
        if not isinstance(name, str) or not name:
            raise ValueError(f"hp.{kind}: name must be a non-empty string, got {name!r}")
        conditions = list(self._scopes)
        if parent_name is not None:
            if parent_values is None:
                raise ValueError(f"hp.{kind}({name!r}): parent_name needs parent_values")
            pv = parent_values if isinstance(parent_values, (list, tuple)) else [parent_values]
            conditions.append((parent_name, list(pv)))
        declared = HyperParameter(kind, name, config, default, conditions)
        if name in self._fixed_space:
            # The tuner's ``hyperparameters=`` overrides the hypermodel's declaration.
            fixed = self._fixed_space[name]
            declared = HyperParameter(
                fixed.kind, name, fixed.config, fixed.default, fixed.conditions or conditions
            )
        elif self._trial is not None and name not in self._by_name and not self._allow_new_entries:
            raise RuntimeError(
                f"hp.{kind}({name!r}): new entries are not allowed (allow_new_entries=False); "
                f"allowed: {sorted(self._fixed_space)}"
            )
        hp = self._register(declared)
        if not self._active(hp.conditions):
            return None
        if hp.name not in self.values:
            tune = self._trial is not None and (
                hp.name in self._fixed_space or self._tune_new_entries
            )
            self.values[hp.name] = _suggest(self._trial, hp) if tune else hp.default
        return self.values[hp.name]


def _suggest(trial, hp: HyperParameter):
    """The value Optuna's trial draws for ``hp`` (its own samplers do the work)."""
    c = hp.config
    if hp.kind == "Fixed":
        return c["value"]
    if hp.kind == "Boolean":
        return trial.suggest_categorical(hp.name, [False, True])
    if hp.kind == "Choice":
        return trial.suggest_categorical(hp.name, c["values"])
    lo, hi, step, sampling = c["min_value"], c["max_value"], c["step"], c["sampling"]
    if sampling != "linear" and step is not None:
        # A geometric grid (Keras Tuner's log step is a factor): one of its points.
        return trial.suggest_categorical(hp.name, hp.grid_values())
    if hp.kind == "Int":
        if sampling == "linear":
            step = step or 1
            hi = lo + (hi - lo) // step * step
            return trial.suggest_int(hp.name, lo, hi, step=step)
        v = trial.suggest_int(hp.name, lo, hi, log=True)
        return v if sampling == "log" else hi + lo - v
    if sampling == "linear":
        if step is not None:
            hi = lo + math.floor((hi - lo) / step + 1e-9) * step
        v = trial.suggest_float(hp.name, lo, hi, step=step)
        return v if step is None else _tidy(v)
    # reverse_log mirrors a log-uniform draw so values are dense near max_value.
    v = trial.suggest_float(hp.name, lo, hi, log=True)
    return v if sampling == "log" else min(hi, max(lo, hi + lo - v))
