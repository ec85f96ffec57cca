"""`gpslib bench --contention`: how much one busy process beside a run slows a GPS iteration, per threading choice.

OpenMP reads its wait policy when it starts, so every candidate is timed in a fresh Python process with its own
environment: first on the machine as it is, then with one CPU-bound process (a Python busy loop) beside it. The
ratio contended / idle is what a researcher's busy laptop costs; idle against the first candidate's idle is what
the choice costs on a quiet machine.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from contextlib import contextmanager

from .errors import GpslibError

BUSY_LOOP = "while True: pass"


def candidates(cores: int) -> dict[str, dict]:
    """The threading choices measured: torch threads and the OpenMP environment each child starts with."""
    fewer = max(1, cores - 1)
    return {
        "threads follow the free cores (gpslib's default)": {"threads": cores, "env": {}, "follow": 1},
        f"{cores} threads, OpenMP's default wait": {"threads": cores, "env": {}},
        f"{cores} threads, passive wait": {"threads": cores, "env": {"OMP_WAIT_POLICY": "PASSIVE"}},
        f"{cores} threads, spin count 10,000": {"threads": cores, "env": {"GOMP_SPINCOUNT": "10000"}},
        f"{cores} threads, 1 interop thread": {"threads": cores, "env": {}, "interop": 1},
        f"{fewer} thread{'s' if fewer > 1 else ''} (cores - 1)": {"threads": fewer, "env": {}},
    }


@contextmanager
def busy_process():
    """One CPU-bound process beside the measurement, killed afterwards."""
    proc = subprocess.Popen([sys.executable, "-c", BUSY_LOOP])
    try:
        yield proc
    finally:
        proc.kill()
        proc.wait()


def time_in_child(choice: dict, iters: int, warmup: int) -> float:
    """ms per GPS iteration of the digits preset, measured in a fresh process started with `choice`."""
    env = {**os.environ, **choice["env"]}
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env.pop(name, None)
    args = [sys.executable, "-m", "gpslib.contention", str(choice["threads"]), str(choice.get("interop", 0)),
            str(choice.get("follow", 0)), str(iters), str(warmup)]
    done = subprocess.run(args, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise GpslibError(f"the contention child failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])["ms_per_iter"]


def measure(iters: int = 10, warmup: int = 3, repeats: int = 2) -> dict:
    """Every candidate idle and beside one busy process, the faster of `repeats` tries of each (a shared machine
    only ever adds time): {name: {"idle": ms, "contended": ms}}."""
    cores = os.cpu_count() or 1
    out = {}
    for name, choice in candidates(cores).items():
        idle, contended = [], []
        for _ in range(repeats):
            idle.append(time_in_child(choice, iters, warmup))
            with busy_process():
                contended.append(time_in_child(choice, iters, warmup))
        out[name] = {"threads": choice["threads"], "env": choice["env"], "idle": min(idle),
                     "contended": min(contended)}
    return {"cores": cores, "iters": iters, "warmup": warmup, "repeats": repeats, "candidates": out}


def format_table(result: dict) -> str:
    """The table `gpslib bench --contention` prints: ms per GPS iteration, idle and beside one busy process."""
    rows = result["candidates"]
    base = next(iter(rows.values()))["idle"]
    width = max(len(n) for n in rows) + 2
    lines = [f"GPS iteration of the digits preset on {result['cores']} cores, {result['iters']} timed iterations "
             f"after {result['warmup']} warm-up, the faster of {result.get('repeats', 1)} tries; "
             "'busy' = one Python busy loop beside it",
             f"{'choice':<{width}}{'idle ms':>10}{'busy ms':>10}{'busy/idle':>11}{'idle/first':>12}"]
    for name, r in rows.items():
        lines.append(f"{name:<{width}}{r['idle']:>10.0f}{r['contended']:>10.0f}"
                     f"{r['contended'] / r['idle']:>11.2f}{r['idle'] / base:>12.2f}")
    return "\n".join(lines)


def _child(threads: int, interop: int, follow: int, iters: int, warmup: int) -> None:
    import torch

    from .bench import bench_method, load_data
    from .config import make_config
    from .threads import FreeCores

    torch.set_num_threads(threads)
    if interop:
        torch.set_num_interop_threads(interop)
    cfg = make_config("digits", "1/8", device="cpu")
    data, _ = load_data(cfg)
    between = FreeCores().step if follow else None
    result = bench_method("gps", cfg, torch.device("cpu"), data, iters, warmup, between=between)
    print(json.dumps({"ms_per_iter": result["ms_per_iter"]}))


if __name__ == "__main__":
    _child(*map(int, sys.argv[1:6]))
