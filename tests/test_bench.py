"""`gpslib bench`: the report's structure and the pass counting; never timing thresholds."""
from __future__ import annotations

import json
from argparse import Namespace

import pytest
import torch

from gpslib import bench
from gpslib.config import make_config

GPS_PHASES = {"data loading", "teacher pseudo-labels", "student pseudo-labels", "guide forward", "guide backward",
              "feedback pseudo-labels", "feedback forward", "feedback backward", "optimizer steps"}


def tiny_args(root, out):
    return Namespace(dataset="digits", backbone=None, crop=32, batch=2, amp="true", cutmix="true", iters=1, warmup=0,
                     device="cpu", out=str(out), data_root=str(root), profile=True)   # CutMix on: every phase of the paper's GPS


@pytest.fixture(scope="module")
def report(tiny_digits, tmp_path_factory):
    out = tmp_path_factory.mktemp("bench") / "bench.json"
    threads = torch.get_num_threads()
    torch.set_num_threads(1)   # tiny convolutions: one thread is several times faster on a shared CPU
    try:
        assert bench.main(tiny_args(tiny_digits, out)) == 0
    finally:
        torch.set_num_threads(threads)
    return json.loads(out.read_text()), out


def test_report_has_three_methods_and_every_gps_phase(report):
    data, _ = report
    assert list(data["methods"]) == ["supervised", "cps", "gps"]
    gps = data["methods"]["gps"]
    assert GPS_PHASES <= set(gps["phases_ms"])
    assert GPS_PHASES == set(gps["phase_names"])
    assert set(data["methods"]["supervised"]["phase_names"]) == {"data loading", "supervised forward",
                                                                 "supervised backward", "optimizer steps"}
    assert "teacher pseudo-labels" not in data["methods"]["cps"]["phases_ms"]
    for result in data["methods"].values():
        assert result["ms_per_iter"] > 0 and result["images_per_s"] > 0
        assert all(ms >= 0 for ms in result["phases_ms"].values())
        assert all(result["phases_ms"][p] > 0 for p in result["phase_names"])
        assert result["peak_memory_bytes"] is None          # CPU: n/a
    assert data["methods"]["supervised"]["images_per_iter"] == 2
    assert data["methods"]["gps"]["images_per_iter"] == 4
    assert data["bare_smp"]["images_per_s"] > 0


def test_report_records_the_setup(report):
    data, out = report
    assert data["setup"]["crop"] == 32 and data["setup"]["batch"] == 2
    assert data["setup"]["precision"].startswith("fp32")  # AMP is CUDA only
    assert data["synthetic_data"] is False
    assert data["torch"] == torch.__version__
    assert "--batch 2" in data["command"] and "--cutmix true" in data["command"] and str(out) in data["command"]
    assert data["setup"]["cutmix"] is True
    # 2 + 2 images: GPS 1*2 + 2*2 + 3*2*4 + 2*2 + 3*4 = 46, CPS 2*2 + 3*2*4 = 28
    assert data["methods"]["gps"]["pass_units"] == 46 and data["methods"]["cps"]["pass_units"] == 28
    assert data["ratio_gps_cps"]["passes"] == pytest.approx(46 / 28)
    text = bench.format_report(data)
    for word in ("supervised", "cps", "gps", "teacher pseudo-labels", "n/a", "GPS / CPS", "bare smp",
                 "fraction of the matmul rate", "supervised row / bare loop"):
        assert word in text


def test_report_measures_against_the_limit(report):
    data, _ = report
    methods = data["methods"]
    flops = {m: methods[m]["gflop_per_iter"] for m in methods}
    assert 0 < flops["supervised"] < flops["cps"] < flops["gps"]
    # the FLOP counter and the pass count agree on what GPS costs against CPS (a backward ~ 2 forwards)
    assert flops["gps"] / flops["cps"] == pytest.approx(data["ratio_gps_cps"]["passes"], rel=0.15)
    for result in methods.values():
        assert result["gflops"] == pytest.approx(result["gflop_per_iter"] / (result["ms_per_iter"] / 1000))
    limit = data["matmul"]
    assert limit["dtype"] == "float32" and len(limit["samples"]) == 2 and limit["gflops"] > 0
    assert data["bare_smp"]["optimizer"] == "AdamW"                       # the digits preset's optimiser
    assert data["supervised_vs_bare"] == pytest.approx(methods["supervised"]["images_per_s"]
                                                       / data["bare_smp"]["images_per_s"])


def test_profile_lists_the_operators_of_a_gps_iteration(report):
    data, _ = report
    prof = data["profile"]
    assert prof["method"] == "gps" and prof["clock"] == "cpu"
    ops = [row["op"] for row in prof["top"]]
    assert "aten::convolution_backward" in ops and all(op.startswith("aten::") for op in ops)
    assert 0 < prof["convolution_share"] < 1
    assert sum(row["share"] for row in prof["top"]) <= 1 + 1e-9
    assert "where a GPS iteration spends its time" in bench.format_report(data)


def test_matmul_rate_counts_two_n_cubed_per_product(monkeypatch):
    ticks = iter(range(100))
    monkeypatch.setattr(bench.time, "perf_counter", lambda: float(next(ticks)))   # every call is one second
    # start reads 0; the first 3 products skip the clock, the check after them reads 1 (past 0.5 s), the end reads 2
    assert bench.matmul_gflops(torch.device("cpu"), n=8, seconds=0.5) == pytest.approx(3 * 2 * 8**3 / 1e9 / 2)


def test_pass_units_by_hand():
    cfg = make_config("pascal", "1/8", batch_labeled=8, batch_unlabeled=8)
    # GPS: Y^t 8, Y^s 16, guide 3*2*16 = 96, Y^sbar 16, feedback 3*16 = 48 -> 184 = 23 per image pair
    assert bench.pass_units(cfg, "gps") == {"teacher pseudo-labels": 8, "student pseudo-labels": 16,
                                            "guide forward/backward": 96, "feedback pseudo-labels": 16,
                                            "feedback forward/backward": 48}
    assert sum(bench.pass_units(cfg, "cps").values()) == 16 + 96
    assert bench.pass_units(cfg, "supervised") == {"supervised forward/backward": 24}
    no_cutmix = make_config("pascal", "1/8", cutmix=False, use_fps=False)
    assert bench.pass_units(no_cutmix, "gps") == {"teacher pseudo-labels": 8, "guide forward/backward": 96,
                                                  "feedback forward/backward": 24}


def test_timer_records_each_phase_and_counts_only_while_recording():
    timer = bench.PhaseTimer(torch.device("cpu"))
    with timer("a"):
        sum(range(1000))
    timer.recording = False
    with timer("b"):
        pass
    with timer("a"):
        pass
    assert timer.names == ["a", "b", "a"]
    assert set(timer.totals) == {"a"} and timer.totals["a"] > 0


def test_missing_voc_falls_back_to_synthetic(tmp_path):
    cfg = make_config("pascal", "1/8", data_root=str(tmp_path / "nowhere"))
    data, text = bench.load_data(cfg)
    assert data is None and "synthetic" in text


def test_contention_candidates_and_table():
    from gpslib import contention

    choices = contention.candidates(4)
    assert [c["threads"] for c in choices.values()] == [4, 4, 4, 4, 4, 3]
    assert [name for name, c in choices.items() if c.get("follow")] == ["threads follow the free cores (gpslib's default)"]
    assert choices["4 threads, passive wait"]["env"] == {"OMP_WAIT_POLICY": "PASSIVE"}
    assert contention.candidates(1)["1 thread (cores - 1)"]["threads"] == 1
    result = {"cores": 2, "iters": 10, "warmup": 3, "candidates": {
        "a": {"idle": 500.0, "contended": 1000.0}, "b": {"idle": 550.0, "contended": 660.0}}}
    lines = contention.format_table(result).splitlines()
    assert lines[2].split()[1:] == ["500", "1000", "2.00", "1.00"]       # busy/idle, then idle against the first
    assert lines[3].split()[1:] == ["550", "660", "1.20", "1.10"]


def test_busy_process_burns_cpu_and_is_killed():
    import resource
    import time

    from gpslib import contention

    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime
    with contention.busy_process() as proc:
        time.sleep(1.5)
    used = resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime - before   # counted once the child is reaped
    assert proc.poll() is not None and used > 0.3
