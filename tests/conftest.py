import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(__file__))  # so tests can import op_db


@pytest.fixture(autouse=True)
def _seed():
    import nerve

    nerve.manual_seed(0)
    np.random.seed(0)
    yield


@pytest.fixture(scope="session")
def torch():
    return pytest.importorskip("torch")


@pytest.fixture(scope="session")
def keras():
    """Keras 3 on its torch backend, the reference for the Keras door (skips when absent)."""
    os.environ.setdefault("KERAS_BACKEND", "torch")
    pytest.importorskip("torch")
    keras = pytest.importorskip("keras")
    if keras.backend.backend() != "torch":
        pytest.skip("Keras is not on its torch backend")
    return keras
