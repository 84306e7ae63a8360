import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(__file__))  # so tests can import op_db


@pytest.fixture(autouse=True)
def _no_cuda(request):
    """Tests marked ``no_cuda`` check what nerve does without a GPU: on a GPU machine they run
    with CUDA hidden, so the whole suite holds on either kind of machine."""
    if request.node.get_closest_marker("no_cuda") is None:
        yield
        return
    from nerve.device import hidden_backend

    with hidden_backend("cuda"):
        yield


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
