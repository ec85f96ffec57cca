"""The threads follow the cores that other processes leave free; a count the user gives is kept."""
from __future__ import annotations

import time

import pytest
import torch

from gpslib import threads


class FakeMachine:
    """A clock, the machine's busy CPU seconds and this process's own, advanced by hand."""

    def __init__(self):
        self.now = self.busy = self.own = 0.0

    def advance(self, seconds: float, others: float, mine: float) -> None:
        self.now += seconds
        self.own += mine * seconds
        self.busy += (others + mine) * seconds


def _governor(machine: FakeMachine, cores: int = 2, sleep=time.sleep) -> threads.FreeCores:
    return threads.FreeCores(cores=cores, window=3.0, probe=0.5, machine=lambda: machine.busy,
                             own=lambda: machine.own, clock=lambda: machine.now, sleep=sleep)


def test_a_busy_process_takes_a_thread_and_gives_it_back(threads_restored):
    torch.set_num_threads(2)
    m = FakeMachine()
    g = _governor(m)
    m.advance(1.0, others=0.0, mine=2.0)
    g.step()                                   # inside the window: nothing measured yet
    assert torch.get_num_threads() == 2 and g.changes == []
    m.advance(3.0, others=0.67, mine=1.33)     # a busy loop shares the two cores with our two threads
    g.step()
    assert torch.get_num_threads() == 1 and g.changes == [(4.0, 1)]
    m.advance(3.0, others=1.0, mine=1.0)       # it keeps its core: still one thread
    g.step()
    assert torch.get_num_threads() == 1
    m.advance(3.0, others=0.05, mine=1.0)      # it ended
    g.step()
    assert torch.get_num_threads() == 2 and g.changes == [(4.0, 1), (10.0, 2)]


def test_before_the_first_pass_it_looks_at_once_instead_of_a_window_later(threads_restored):
    torch.set_num_threads(2)
    m = FakeMachine()
    slept = []
    g = _governor(m, sleep=lambda s: (slept.append(s), m.advance(s, 1.0, 0.0)))
    m.advance(0.1, others=1.0, mine=0.0)       # a busy process, and the run has not started computing
    g.step()
    assert torch.get_num_threads() == 2 and slept == []
    g.step(now_or_wait=True)                   # sleeps the rest of the 0.5 s probe, then measures
    assert slept == [pytest.approx(0.4)] and torch.get_num_threads() == 1


def test_free_keeps_at_least_one_thread_and_at_most_the_cores():
    g = threads.FreeCores(cores=8, machine=lambda: 0.0, own=lambda: 0.0, clock=lambda: 0.0)
    assert [g.free(x) for x in (0.0, 0.4, 2.6, 7.9, 12.0, -0.3)] == [8, 8, 5, 1, 1, 8]


def test_a_given_count_or_omp_num_threads_pins_the_run(monkeypatch, threads_restored):
    cpu = torch.device("cpu")
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    pinned = threads.for_run(1, cpu)
    assert isinstance(pinned, threads.Pinned) and torch.get_num_threads() == 1
    if threads.busy_seconds() is not None:
        assert isinstance(threads.for_run(None, cpu), threads.FreeCores)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert isinstance(threads.for_run(None, cpu), threads.Pinned)


def test_busy_seconds_grow_with_work():
    first = threads.busy_seconds()
    if first is None:
        pytest.skip("no /proc/stat here: runs keep their thread count")
    sum(i * i for i in range(2_000_000))
    assert threads.busy_seconds() > first
