"""nerve vs PyTorch, side by side: ``python -m benchmarks [--quick] [--only NAME] [--out DIR]``.

- ``data.py``: the Fashion-MNIST batches both sides see (random data when the files are absent)
- ``workloads.py``: the models, written once against either framework's ``nn``, and the plans
- ``runner.py``: interleaved timing, the command line; ``report.py``: statistics, Markdown, JSON
- ``memory.py``: peak resident memory, one subprocess per workload and side
- ``system.py``: threads, float32 GEMM rate, import times, installed sizes
- ``bench_tune.py``: the tuner's own cost per trial (``--only tune``)
"""
