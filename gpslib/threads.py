"""CPU threads that follow the free cores, so that a run on a busy laptop slows down by its share, not more.

OpenMP splits every kernel evenly over its threads and waits for the slowest. When another process takes a
core, the thread that shares it drags every kernel down, and the others spin while they wait: on a 2-core
machine one busy process beside a 2-thread run made a GPS iteration 3.3x slower (`gpslib bench --contention`,
book/performance.md). So, between iterations, a run on the CPU measures how many cores the *other* processes
used over the last few seconds (/proc/stat minus this process's own CPU time) and trains with the rest.

A number of threads given by the user (`threads` in the config, or OMP_NUM_THREADS) is kept as given: the
thread count changes how a convolution splits its sums, so only a pinned count repeats a run to the last bit.
"""
from __future__ import annotations

import contextlib
import os
import time

import torch


def busy_seconds() -> float | None:
    """CPU seconds all processes have spent on the machine since boot (Linux), None where /proc/stat is absent."""
    try:
        with open("/proc/stat") as f:
            fields = f.readline().split()
    except OSError:
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in fields[1:9])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


class FreeCores:
    """`step()` between iterations: every `window` seconds, set torch's threads to the cores others leave free."""

    def __init__(self, cores: int | None = None, window: float = 3.0, probe: float = 0.5, machine=busy_seconds,
                 own=time.process_time, clock=time.monotonic, sleep=time.sleep):
        self.cores, self.window, self.probe = cores or os.cpu_count() or 1, window, probe
        self.machine, self.own, self.clock, self.sleep = machine, own, clock, sleep
        self.changes: list[tuple[float, int]] = []     # (seconds since start, threads) at every change
        self._start = self.clock()
        self._last = (self._start, self.machine(), self.own())

    def free(self, others: float) -> int:
        """Threads for a machine on which other processes keep `others` cores busy (at least one)."""
        return max(1, min(self.cores, self.cores - round(others)))

    def step(self, now_or_wait: bool = False) -> None:
        """Between iterations: act once a window has passed. `now_or_wait` (before a run's first network pass, which
        may be a long evaluation): measure now, after sleeping until `probe` seconds have passed since the last look."""
        now = self.clock()
        if now_or_wait and now - self._last[0] < self.probe:
            self.sleep(self.probe - (now - self._last[0]))
            now = self.clock()
        elif not now_or_wait and now - self._last[0] < self.window:
            return
        busy, own = self.machine(), self.own()
        others = ((busy - self._last[1]) - (own - self._last[2])) / (now - self._last[0])
        self._last = (now, busy, own)
        threads = self.free(others)
        if threads != torch.get_num_threads():
            torch.set_num_threads(threads)
            self.changes.append((round(now - self._start, 1), threads))


class Pinned:
    """The user's thread count, kept for the whole run."""

    changes: tuple = ()

    def __init__(self, threads: int | None):
        if threads is not None:
            torch.set_num_threads(threads)

    def step(self, now_or_wait: bool = False) -> None:
        pass


def for_run(threads: int | None, device: torch.device):
    """FreeCores for a CPU run with no thread count given and /proc/stat to read; otherwise the count as given."""
    if threads is not None or device.type != "cpu" or "OMP_NUM_THREADS" in os.environ or busy_seconds() is None:
        return Pinned(threads)
    return FreeCores()


@contextlib.contextmanager
def one_thread():
    """The block on one torch thread (work that must give the same bits on every machine), then the count before."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)
