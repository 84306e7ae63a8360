"""Files split by family keep every name importable from where it was, as the same object."""

import importlib

import pytest

import nerve
from nerve.autograd.registry import registered_ops

# old module -> (new module, names that moved there)
MOVED = {
    "nerve.nn.module": (
        "nerve.nn.module_state",
        ["IncompatibleKeys", "StateDictKeyError", "StateDictShapeError", "STRUCTURE_VERSION"],
    ),
    "nerve.models.model": ("nerve.models.model_saving", ["register_saving_hooks"]),
    "nerve.primitives.elementwise": (
        "nerve.primitives.selection",
        ["clamp", "clip", "clamp_min", "clamp_max", "maximum", "minimum", "where", "Clamp"],
    ),
    "nerve.primitives.shape": (
        "nerve.primitives.join_split",
        ["cat", "concat", "concatenate", "stack", "split", "chunk", "unbind", "Split"],
    ),
    "nerve.primitives.reduction": (
        "nerve.primitives.minmax",
        ["max", "min", "amax", "amin", "argmax", "argmin", "MaxDim", "Amax"],
    ),
}


@pytest.mark.parametrize("old", sorted(MOVED))
def test_moved_names_are_the_same_objects_at_the_old_path(old):
    new, names = MOVED[old]
    old_mod, new_mod = importlib.import_module(old), importlib.import_module(new)
    for name in names:
        assert getattr(old_mod, name) is getattr(new_mod, name), f"{old}.{name}"
        if name in getattr(new_mod, "__all__", ()):
            assert name in old_mod.__all__, f"{name} left {old}.__all__"


def test_casts_and_joins_stay_in_their_old_star_exports():
    from nerve.primitives import casting, elementwise

    assert elementwise.cast is casting.cast and "cast" in elementwise.__all__
    assert nerve.clamp is nerve.primitives.selection.clamp
    assert nerve.cat is nerve.primitives.join_split.cat


def test_split_classes_keep_their_behaviour_and_base_classes():
    from nerve.callbacks.doctor import Doctor
    from nerve.callbacks.doctor_findings import DoctorFindings
    from nerve.layers.recurrent import GRU, LSTM, Bidirectional, SimpleRNN
    from nerve.layers.rnn_base import _RNN
    from nerve.models.functional import FunctionalGraph
    from nerve.models.model import Model
    from nerve.models.model_saving import ModelSaving
    from nerve.nn.module import Module
    from nerve.nn.module_state import ModuleState

    assert issubclass(Module, ModuleState) and issubclass(Doctor, DoctorFindings)
    assert issubclass(Model, FunctionalGraph) and issubclass(Model, ModelSaving)
    assert all(issubclass(c, _RNN) for c in (SimpleRNN, LSTM, GRU))
    assert Bidirectional.__module__ == "nerve.layers.recurrent"
    m = nerve.nn.Linear(2, 3)
    assert list(m.double().state_dict()) == ["weight", "bias"]
    assert m.weight.dtype == nerve.float64


def test_ops_of_the_new_files_are_registered_on_import():
    ops = registered_ops()
    homes = {
        "nerve.primitives.selection": ("clamp", "maximum", "minimum", "where"),
        "nerve.primitives.casting": ("cast", "clone"),
        "nerve.primitives.join_split": ("cat", "stack", "split"),
        "nerve.primitives.minmax": ("max", "min", "amax", "amin"),
    }
    for module, names in homes.items():
        for name in names:
            assert ops[name].__module__ == module, name
