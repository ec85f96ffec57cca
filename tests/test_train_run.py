"""Whole runs on a tiny digits set: schedules, the latch, resume after SIGKILL, DDP, non-finite losses, the CLI."""
import json
import math
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from gpslib import losses
from gpslib.checkpoint import load_checkpoint
from gpslib.errors import GpslibError
from gpslib.train import train

from conftest import TINY, TINY_BACKBONE, tiny_cfg

REPO = Path(__file__).resolve().parents[1]


def test_gps_schedules_and_the_recorded_latch(small_digits, tmp_path):
    cfg = tiny_cfg(small_digits, tmp_path / "run", latch_check="epoch")
    history = train(cfg, progress=False)
    rows, teacher = history.iterations, history.teacher
    max_iter, ipe = cfg.epochs * cfg.iters_per_epoch, cfg.iters_per_epoch
    assert [r["iteration"] for r in rows] == list(range(max_iter))
    assert len(teacher) == cfg.teacher_epochs * ipe
    # phase a: poly from lr; after it: the paper's fixed teacher lr; students: poly over the main phase
    for r in teacher:
        assert r["lr_teacher"] == pytest.approx(cfg.lr * (1 - r["iteration"] / len(teacher)) ** 0.9)
    for r in rows:
        assert r["lr_teacher"] == pytest.approx(cfg.lr * len(teacher) ** -0.9)   # the end of phase a's schedule
        assert r["lr_students"] == pytest.approx(cfg.lr * (1 - r["iteration"] / max_iter) ** 0.9)
    # the latch: the first epoch whose mean L_sup^s / 2 <= mean L_sup^t, recomputed from the history
    expected = None
    for e in range(1, cfg.epochs + 1):
        epoch_rows = [r for r in rows if r["epoch"] == e]
        mean_s = sum(r["sup_s"] for r in epoch_rows) / len(epoch_rows)
        mean_t = sum(r["sup_t"] for r in epoch_rows) / len(epoch_rows)
        if mean_s / 2 <= mean_t:
            expected = e
            break
    assert history.latch["latched_epoch"] == expected
    r = float(expected) if expected else float(cfg.epochs)
    for row in rows:   # w(e) follows eq. 9 with r = E until the latch and r = e after it
        r_then = r if expected and row["epoch"] > expected else float(cfg.epochs)
        assert row["w"] == pytest.approx(losses.gaussian_rampup(row["epoch"], r_then))
    assert {"miou_teacher", "miou_student1", "miou_student2", "acc_teacher", "acc_students", "agreement"} <= set(
        history.evals[-1])
    saved = json.loads((tmp_path / "run" / "history.json").read_text())
    assert saved["meta"]["git_commit"] is not None and saved["meta"]["wall_time_s"] > 0
    assert saved["meta"]["encoder_sha256"] is None      # random init: no weight file to name
    assert saved["config"]["method"] == "gps"


def test_iteration_latch_matches_the_first_qualifying_batch(small_digits, tmp_path):
    cfg = tiny_cfg(small_digits, tmp_path / "run", latch_check="iteration", teacher_epochs=2)
    history = train(cfg, progress=False)
    first = next((r for r in history.iterations if r["sup_s"] / 2 <= r["sup_t"]), None)
    assert history.latch["latched_iteration"] == (first["iteration"] if first else None)


def test_methods_train_the_networks_they_name(small_digits, tmp_path):
    for method, roles in (("supervised", {"student1"}), ("cps", {"student1", "student2"})):
        cfg = tiny_cfg(small_digits, tmp_path / method, method=method)
        history = train(cfg, progress=False)
        state = load_checkpoint(tmp_path / method / "last.pt")
        assert set(state["nets"]) == roles
        assert history.teacher == []
        assert {f"miou_{r}" for r in roles} <= set(history.evals[-1])
        assert ("cps" in history.iterations[0]) == (method == "cps")


def _strip(history_json):
    data = json.loads(Path(history_json).read_text())
    return data["teacher"], data["iterations"], [{k: v for k, v in e.items()} for e in data["evals"]]


KILL_SCRIPT = """
import os, signal, sys
from gpslib.config import make_config
from gpslib.train import train
cfg = make_config("digits", "1/4", **{overrides!r})
def kill(iteration, trainer):
    if iteration == {kill_at}:
        os.kill(os.getpid(), signal.SIGKILL)
train(cfg, resume={resume}, on_iteration=kill, progress=False)
"""


def test_sigkill_then_resume_reproduces_the_uninterrupted_history(small_digits, tmp_path):
    common = dict(TINY, data_root=str(small_digits), checkpoint_every=2, eval_every=2)
    def run(out, kill_at, resume):   # every run in a fresh process with the same environment
        overrides = dict(common, out_dir=str(tmp_path / out))
        return subprocess.run([sys.executable, "-c", KILL_SCRIPT.format(overrides=overrides, kill_at=kill_at,
                                                                         resume=resume)],
                              cwd=tmp_path, capture_output=True, text=True, timeout=600)

    straight = run("straight", -1, False)
    assert straight.returncode == 0, straight.stderr[-2000:]
    first = run("killed", 3, False)
    assert first.returncode == -signal.SIGKILL, first.stderr[-2000:]
    state = load_checkpoint(tmp_path / "killed" / "last.pt")
    assert state["iteration"] == 2            # the checkpoint before the kill at iteration 3
    second = run("killed", -1, True)
    assert second.returncode == 0, second.stderr[-2000:]
    t1, i1, e1 = _strip(tmp_path / "straight" / "history.json")
    t2, i2, e2 = _strip(tmp_path / "killed" / "history.json")
    assert len(i1) == 6 and len(t1) == 2 and len(e1) == 4
    assert t1 == t2 and i1 == i2 and e1 == e2


def test_refuses_to_overwrite_a_run_and_stops_on_non_finite_loss(small_digits, tmp_path):
    cfg = tiny_cfg(small_digits, tmp_path / "run", epochs=1, method="supervised")
    train(cfg, progress=False)
    with pytest.raises(GpslibError, match="already holds a run"):
        train(cfg, progress=False)
    bad = tiny_cfg(small_digits, tmp_path / "bad", lr=1e30, method="supervised", epochs=4, eval_every=100,
                   checkpoint_every=100)
    with pytest.raises(GpslibError, match="non-finite"):
        train(bad, progress=False)
    assert not (tmp_path / "bad" / "last.pt").exists()


def test_two_process_gloo_run(small_digits, tmp_path):
    overrides = dict(TINY, data_root=str(small_digits), epochs=1, out_dir=str(tmp_path / "ddp"))
    script = tmp_path / "ddp_run.py"
    script.write_text(
        "import torch, torch.distributed as dist\n"
        "from gpslib.config import make_config\nfrom gpslib.train import Trainer\n"
        f"cfg = make_config('digits', '1/4', **{overrides!r})\n"
        "trainer = Trainer(cfg, progress=False)\ntrainer.run()\n"
        "flat = torch.cat([p.detach().flatten() for p in trainer.nets['student1'].parameters()])\n"
        "gathered = [torch.zeros_like(flat) for _ in range(2)]\ndist.all_gather(gathered, flat)\n"
        "assert torch.equal(gathered[0], gathered[1]), 'ranks diverged'\n"
        "print('RANK', dist.get_rank(), 'WORLD', dist.get_world_size(), 'OK')\n")
    env = dict(os.environ, OMP_NUM_THREADS="1")
    out = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port",
                          "29517", str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=600, env=env)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.count("OK") == 2 and "WORLD 2" in out.stdout
    history = json.loads((tmp_path / "ddp" / "history.json").read_text())
    assert history["meta"]["world_size"] == 2
    assert all(math.isfinite(r["guide"]) for r in history["iterations"])


def _cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "gpslib", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=600)


def test_cli_bad_input_is_one_sentence_and_exit_2():
    out = _cli("train", "--partition", "abc")
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "1/8, 1_8 or 0.125" in out.stderr and len(out.stderr.strip().splitlines()) == 1
    out = _cli("train", "--dataset", "pascal", "--data-root", "/nonexistent/voc", "--epochs", "1")
    assert out.returncode == 2 and "/nonexistent/voc" in out.stderr and "Traceback" not in out.stderr


def test_cli_splits_and_cost_reproduce_the_paper():
    out = _cli("splits", "--dataset", "pascal", "--partition", "1/8")
    assert out.returncode == 0 and "1323" in out.stdout and "9259" in out.stdout
    for dataset, per_epoch in (("pascal", "9.9k 9.2k 7.9k 5.2k"), ("cityscapes", "2.7k 2.6k 2.2k 1.4k")):
        out = _cli("cost", "--dataset", dataset)
        rows = {" ".join(line.split()[:3]): " ".join(line.split()[3:]) for line in out.stdout.splitlines()}
        assert out.returncode == 0 and rows["ours per epoch"] == rows["paper per epoch"] == per_epoch
        assert rows["ours in all"] == rows["paper in all"]
    dagger = _cli("cost", "--dataset", "pascal", "--dagger")
    assert "10582" in dagger.stdout


def test_cli_train_eval_predict(small_digits, tmp_path):
    out = _cli("train", "--method", "supervised", "--partition", "1/4", "--data-root", str(small_digits),
               "--crop-size", "32", "--batch-labeled", "4", "--epochs", "1", "--iters-per-epoch", "2",
               "--val-limit", "4", "--decoder-channels", "32", "--backbone", TINY_BACKBONE,
               "--encoder-weights", "random", "--out-dir", str(tmp_path / "run"), "--device", "cpu")
    assert out.returncode == 0, out.stderr[-2000:]
    ckpt = tmp_path / "run" / "last.pt"
    out = _cli("eval", str(ckpt), "--limit", "4")
    assert out.returncode == 0 and "mIoU" in out.stdout and "background" in out.stdout, out.stderr[-2000:]
    image = next((small_digits / "JPEGImages").glob("*.jpg"))
    out = _cli("predict", str(ckpt), str(image), "--out", str(tmp_path / "pred"))
    assert out.returncode == 0, out.stderr[-2000:]
    assert "not writable" not in out.stderr        # PIL pixels are copied before torch shares them
    assert (tmp_path / "pred" / f"{image.stem}_overlay.png").is_file()
    with open(ckpt, "r+b") as handle:      # a corrupt checkpoint is one clear sentence
        handle.truncate(100)
    out = _cli("eval", str(ckpt))
    assert out.returncode == 2 and "corrupt" in out.stderr and "Traceback" not in out.stderr


def test_checkpoint_is_written_atomically(tmp_path):
    from gpslib.checkpoint import save_checkpoint
    save_checkpoint({"a": torch.ones(2)}, tmp_path / "last.pt")
    save_checkpoint({"a": torch.zeros(2)}, tmp_path / "last.pt")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.pt"]
    assert torch.equal(load_checkpoint(tmp_path / "last.pt")["a"], torch.zeros(2))


def test_short_gps_run_lowers_its_losses_and_beats_the_constant_predictor(small_digits, tmp_path):
    """Validation = the 4 labeled scenes, so a short CPU run can show that every network really learns."""
    import shutil

    from gpslib.evaluate import ConfusionMatrix
    from gpslib.data import build_datasets

    root = tmp_path / "digits"
    shutil.copytree(small_digits, root)
    ids = (root / "ImageSets/Segmentation/train.txt").read_text().split()
    (tmp_path / "labeled.txt").write_text("\n".join(ids[:4]))
    (tmp_path / "unlabeled.txt").write_text("\n".join(ids[4:]))
    (root / "ImageSets/Segmentation/val.txt").write_text("\n".join(ids[:4]))
    cfg = tiny_cfg(root, tmp_path / "run", labeled_file=str(tmp_path / "labeled.txt"), cutmix=False,
                   unlabeled_file=str(tmp_path / "unlabeled.txt"), teacher_epochs=6, iters_per_epoch=10, epochs=10,
                   val_limit=None, scales=(1.0,), optimizer="sgd", lr=0.05)   # the rate this check was set for
    history = train(cfg, progress=False)
    first, last = history.teacher[:10], history.teacher[-10:]
    assert sum(r["sup_t"] for r in last) < 0.5 * sum(r["sup_t"] for r in first)
    rows = history.iterations
    mean = lambda key, part: sum(r[key] for r in part) / len(part)      # noqa: E731
    assert mean("sup_s", rows[-10:]) < 0.5 * mean("sup_s", rows[:10])
    # the best constant prediction (background everywhere) on the same validation masks
    constant = ConfusionMatrix(cfg.num_classes)
    for _, mask in build_datasets(cfg).val:
        constant.update(torch.zeros_like(mask), mask)
    final = history.evals[-1]
    for role in ("teacher", "student1", "student2"):
        assert final[f"miou_{role}"] > constant.miou() + 0.1, (role, [(e["epoch"], e[f"miou_{role}"]) for e in history.evals])
