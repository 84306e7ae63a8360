"""What the deployment lessons share: a small CNN on Fashion-MNIST written with the torch door,
its training loop, and latency measured as the median of repeated timings.

Used by quantization.py, onnx_serving.py and explain.py (the leading underscore keeps it out of
``nerve examples``).
"""

from __future__ import annotations

import time
from contextlib import contextmanager

import numpy as np
from _common import accuracy, fashion_mnist

import nerve as torch
import nerve.nn.functional as F
from nerve import nn
from nerve.utils.data import DataLoader, TensorDataset

CLASSES = [
    "T-shirt",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Boot",
]


def threads_option(parser) -> None:
    """``--threads N`` (default 1): BLAS threads for nerve and intra-op threads for
    onnxruntime. One thread each gives stable, comparable timings on a shared machine, where
    spinning thread pools thrash."""
    parser.add_argument("--threads", type=int, default=1, help="CPU threads (default 1)")


@contextmanager
def blas_threads(n: int):
    """Within the block, NumPy's BLAS (nerve's matmuls) uses ``n`` threads (as
    ``nerve.set_num_threads``, but restored afterwards, so that calling an example's main()
    leaves the process as it was). onnxruntime sessions take their count from ``ort_session``."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # without threadpoolctl, BLAS keeps its own count
        yield
        return
    with threadpool_limits(limits=int(n), user_api="blas"):
        yield


def small_cnn() -> nn.Module:
    """Two conv-ReLU-maxpool blocks and two linear layers: about 106k parameters."""
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),  # 28 -> 14
        nn.Conv2d(16, 32, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),  # 14 -> 7
        nn.Flatten(),
        nn.Linear(32 * 7 * 7, 64),
        nn.ReLU(),
        nn.Linear(64, 10),
    )


def nchw_data(args, n_train: int, n_test: int):
    """Fashion-MNIST subsets as (N, 1, 28, 28) float32 arrays (torch's layout)."""
    (x, y), (x_test, y_test) = fashion_mnist(n_train, n_test, seed=args.seed)
    return (
        (np.ascontiguousarray(x.transpose(0, 3, 1, 2)), y),
        (np.ascontiguousarray(x_test.transpose(0, 3, 1, 2)), y_test),
    )


def train_cnn(args, x, y, epochs: int, lr: float = 2e-3, batch_size: int = 64):
    """Train ``small_cnn()`` with Adam on (x, y); returns the model (in eval mode) and the
    mean training loss of each epoch."""
    torch.manual_seed(args.seed)
    model = small_cnn()
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    loader = DataLoader(
        TensorDataset(torch.from_numpy(x), torch.from_numpy(y)),
        batch_size=batch_size,
        shuffle=True,
    )
    losses = []
    for _ in range(epochs):
        model.train()
        total, count = 0.0, 0
        for images, labels in loader:
            loss = F.cross_entropy(model(images), labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(labels)
            count += len(labels)
        losses.append(total / count)
    model.eval()
    return model, losses


def nerve_logits(model, x: np.ndarray, batch_size: int = 500) -> np.ndarray:
    """The model's logits on x, batch by batch, without building a graph."""
    with torch.no_grad():
        return np.concatenate(
            [
                model(torch.from_numpy(x[i : i + batch_size])).numpy()
                for i in range(0, len(x), batch_size)
            ]
        )


def nerve_accuracy(model, x, y) -> float:
    """Test accuracy of a nerve model."""
    return accuracy(nerve_logits(model, x), y)


def median_ms(fn, repeats: int, warmup: int = 2) -> tuple[float, float]:
    """Median milliseconds of ``fn()`` over ``repeats`` calls (after warmup): (CPU time of this
    process, wall time).

    With one thread, CPU time is the compute itself; on a shared machine the wall time of a
    call longer than a scheduler slice also holds the time other processes ran, so the CPU
    time is what a quiet machine would show.
    """
    for _ in range(warmup):
        fn()
    cpu, wall = [], []
    for _ in range(repeats):
        c0, w0 = time.process_time(), time.perf_counter()
        fn()
        cpu.append(time.process_time() - c0)
        wall.append(time.perf_counter() - w0)
    return round(float(np.median(cpu)) * 1e3, 3), round(float(np.median(wall)) * 1e3, 3)


def ort_session(path, optimize: bool = True, threads: int = 1):
    """An onnxruntime InferenceSession on the CPU (all graph optimizations, or none) with
    ``threads`` intra-op threads."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = (
        ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if optimize
        else ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    )
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def ort_logits(session, x: np.ndarray, batch_size: int = 500) -> np.ndarray:
    """A session's first output on x, batch by batch."""
    name = session.get_inputs()[0].name
    return np.concatenate(
        [session.run(None, {name: x[i : i + batch_size]})[0] for i in range(0, len(x), batch_size)]
    )
