"""nerve.memory: freed blocks stay in the process (no page faults on the next allocation),
empty_cache hands them back, and opting out restores glibc's behaviour."""

import os
import resource
import subprocess
import sys

import numpy as np
import pytest

import nerve
from nerve import memory

pytestmark = pytest.mark.skipif(memory._glibc() is None, reason="glibc malloc only")

MIB = 1 << 20


def _huge_pages_always() -> bool:
    """With transparent huge pages on for all memory, faults count 2 MiB pages, not 4 KiB."""
    try:
        with open("/sys/kernel/mm/transparent_hugepage/enabled") as f:
            return "[always]" in f.read()
    except OSError:
        return False


counts_small_pages = pytest.mark.skipif(
    _huge_pages_always(), reason="page-fault counts assume 4 KiB pages"
)


def _step(count: int = 16, size: int = 3 * MIB) -> None:
    """A training step's pattern: several activations allocated, touched, freed together
    (3 MiB each: under the 4 MiB from which NumPy asks for huge pages)."""
    arrays = [np.ones(size // 4, np.float32) for _ in range(count)]
    del arrays


def _faults_per_step(steps: int = 4) -> float:
    """Minor page faults per step; 48 MiB faulted back in is 12,288 4-KiB pages."""
    _step()  # the heap grows once
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(steps):
        _step()
    return (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / steps


def _rss_mib() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


@counts_small_pages
def test_import_keeps_freed_memory_so_reallocating_does_not_fault():
    assert memory.keep_freed_memory() is True  # what import did; idempotent
    assert _faults_per_step() < 100


@counts_small_pages
def test_turning_it_off_brings_the_faults_back_and_on_again_removes_them():
    try:
        assert memory.keep_freed_memory(False) is True
        assert _faults_per_step() > 10_000
    finally:
        memory.keep_freed_memory(True)
    assert _faults_per_step() < 100


def test_empty_cache_returns_free_memory_to_the_kernel():
    # Measured against the RSS while the array lives: glibc keeps the freed block (the usual
    # case) until empty_cache; when the heap could not grow in place (a mapping above it, left
    # by an earlier test) it gave the block from mmap and returned it at free already.
    a = np.ones(256 * MIB // 4, np.float32)
    holding = _rss_mib()
    del a
    assert memory.empty_cache() is True
    assert _rss_mib() < holding - 200


@counts_small_pages
def test_the_environment_variable_opts_out_at_import():
    code = (
        "import resource, numpy as np, nerve\n"
        "def step():\n"
        "    arrays = [np.ones(3 << 18, np.float32) for _ in range(16)]\n"
        "step()\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt\n"
        "step()\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)\n"
    )
    faults = {}
    for value in ("0", "1"):
        env = dict(os.environ, NERVE_KEEP_FREED_MEMORY=value)
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
        faults[value] = int(out.stdout)
    assert faults["0"] > 10_000 > 100 > faults["1"]  # 48 MiB faulted in again, or reused


def test_nerve_exposes_the_module():
    assert nerve.memory is memory
