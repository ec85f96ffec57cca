"""The paired comparison over seeds (gpslib.compare): the t-interval by hand, its verdicts, and `gpslib compare`
on finished runs."""
import math

import pytest

from gpslib.cli import main
from gpslib.compare import compare_text, interval
from gpslib.errors import GpslibError
from gpslib.history import History


def test_interval_is_the_t_interval_of_same_seed_differences():
    result = interval([1.0, 2.0, 3.0])
    half = 4.302653 / math.sqrt(3)                    # t(0.975, 2) x sd 1 / sqrt(3 pairs)
    assert (result.mean, result.n) == (2.0, 3)
    assert (result.low, result.high) == (pytest.approx(2 - half, abs=1e-5), pytest.approx(2 + half, abs=1e-5))
    assert f"{result:cell}" == "+2.0 (-0.5\u00a0to\u00a04.5)" and result.verdict() == "not separated"
    assert interval([3.0, 4.0, 5.0]).verdict() == "confirmed"                  # 0.52 to 5.48
    assert interval([-3.0, -4.0, -5.0]).verdict() == "refuted"
    assert interval([-3.0, -4.0, -5.0]).verdict(expected=-1) == "confirmed"    # a loss: lower is better
    two = interval([1.0, 3.0])              # t(0.975, 1) = 12.706, sd sqrt(2): 2 +- 12.706
    assert (two.low, two.high) == (pytest.approx(2 - 12.7062, abs=1e-4), pytest.approx(2 + 12.7062, abs=1e-4))
    one = interval([2.5])
    assert one.verdict() == "not separated" and f"{one:cell}" == "+2.5 (one seed)"
    assert f"{interval([]):cell}" == "–" and interval([]).verdict() == "not recorded"
    assert f"{interval([-0.01, 0.01]):cell.3}".startswith("+0.000 (")
    assert f"{interval([0.0, 0.0], identical=True):cell}" == "identical runs"


def finished_run(folder, seed, val, test):
    """A finished run's out_dir: its history.json with S1's last val evaluation and its test score."""
    h = History({"method": "gps", "partition": "1/8", "seed": seed})
    h.evals = [{"epoch": 1, "miou_student1": val}]
    h.test = {"miou_student1": test}
    h.save(folder / "history.json")
    return str(folder)


def test_compare_pairs_finished_runs_by_seed_and_prints_the_interval(tmp_path, capsys):
    a = [finished_run(tmp_path / f"a{s}", s, v, t) for s, v, t in ((0, 0.70, 0.71), (1, 0.72, 0.74), (2, 0.71, 0.72))]
    b = [finished_run(tmp_path / f"b{s}", s, v, t) for s, v, t in ((2, 0.69, 0.70), (0, 0.69, 0.70), (1, 0.70, 0.71))]
    assert main(["compare", *a, "--against", *b]) == 0
    out = capsys.readouterr().out
    test_gap = interval([1.0, 3.0, 2.0])          # test: 71-70, 74-71, 72-70 points, paired by seed, not by order
    assert out.startswith("a = gps 1/8, b = gps 1/8\n") and "seeds 0, 1, 2" in out
    assert (f"test mIoU of S1: +2.0 points, 95 % CI {test_gap.low:.1f} to {test_gap.high:.1f}, 3 seeds - "
            "not separated") in out                  # -0.5 to 4.5
    val_gap = interval([1.0, 2.0, 2.0])           # val: 70-69, 72-70, 71-69
    assert f"val mIoU of S1 (last evaluation): +1.7 points, 95 % CI {val_gap.low:.1f} to" in out
    assert val_gap.low > 0 and out.rstrip().endswith("a is ahead")


def test_compare_refuses_groups_it_cannot_pair(tmp_path):
    a = [finished_run(tmp_path / "a0", 0, 0.7, 0.7), finished_run(tmp_path / "a0b", 0, 0.7, 0.7)]
    with pytest.raises(GpslibError, match="a second run with seed 0"):
        compare_text(a, [finished_run(tmp_path / "b0", 0, 0.6, 0.6)])
    with pytest.raises(GpslibError, match="no seed is on both sides"):
        compare_text(a[:1], [finished_run(tmp_path / "b1", 1, 0.6, 0.6)])
    with pytest.raises(GpslibError, match="No history at"):
        compare_text([str(tmp_path / "missing")], a[:1])
