"""Bad input gets one clear sentence that names the file or value and the fix; interrupted runs lose nothing.

The plain data errors (missing image or mask, size mismatch, labels out of range, RGB masks, an id list
naming an absent image) are in test_data.py and test_partitions.py; this file covers the rest of the list.
"""
import errno
import json
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from gpslib import make_config
from gpslib.checkpoint import load_checkpoint, save_checkpoint
from gpslib.data import build_datasets
from gpslib.data.partitions import resolve_partition
from gpslib.errors import CorruptFileError, GpslibError
from gpslib.train import train

from conftest import CITY_TRAIN, CITY_VAL, TINY, VOC_TRAIN, tiny_cfg, write_cityscapes, write_lists

BOOK = Path(__file__).resolve().parents[1] / "book"


# ---------------------------------------------------------------- values
@pytest.mark.parametrize("text", ["abc", "0", "2", "-1/8", "1/0", ""])
def test_malformed_partition_names_the_value_and_the_accepted_forms(text):
    with pytest.raises(GpslibError, match=rf"Partition '{text}'.*1/8, 1_8 or 0\.125"):
        make_config("digits", text)


def test_unsupported_partition_on_a_paper_dataset_names_the_published_ones(voc_aug):
    with pytest.raises(GpslibError, match=r"'1/3' has no published pascal split; use one of 1/16, 1/8, 1/4, 1/2"):
        build_datasets(make_config("pascal", "1/3", data_root=str(voc_aug)))


@pytest.mark.parametrize("field, value", [("method", "fixmatch"), ("rampup", "linear"), ("update", "both"),
                                          ("on_corrupt", "ignore")])
def test_unknown_choice_names_the_field_and_the_choices(field, value):
    with pytest.raises(GpslibError, match=rf"{field}='{value}' is not valid; choose one of"):
        make_config("digits", "1/8", **{field: value})


def test_unknown_dataset_and_unknown_field():
    with pytest.raises(GpslibError, match="Unknown dataset 'coco'"):
        make_config("coco", "1/8")
    with pytest.raises(GpslibError, match="Unknown config field.*learning_rate"):
        make_config("digits", "1/8", learning_rate=0.1)


def test_bad_papermill_parameter_fails_in_the_first_cell(tmp_path):
    papermill = pytest.importorskip("papermill")
    with pytest.raises(papermill.PapermillExecutionError) as failure:
        papermill.execute_notebook(str(BOOK / "train.ipynb"), str(tmp_path / "out.ipynb"),
                                   parameters={"partition": "1/0"}, cwd=str(tmp_path), progress_bar=False)
    assert "1/8, 1_8 or 0.125" in str(failure.value) and "config_from_parameters" in failure.value.source


def test_malformed_yaml_config_names_the_file_and_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("lr: 0.01\nepochs: [4\nbatch_labeled: 8\n")
    with pytest.raises(GpslibError, match=r"bad.yaml is not valid YAML at line 3, column \d+ .*field: value"):
        make_config("digits", "1/8", yaml_file=bad)
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"\x80\x81\x82")
    with pytest.raises(GpslibError, match=r"binary.yaml is not text"):
        make_config("digits", "1/8", yaml_file=binary)


def test_malformed_yaml_through_the_cli_is_one_sentence_and_exit_2(tmp_path, capsys):
    from gpslib.cli import main
    bad = tmp_path / "bad.yaml"
    bad.write_text("epochs: [4\nlr: 0.1\n")
    assert main(["train", "--config", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and str(bad) in err and "not valid YAML" in err and "Traceback" not in err


def test_malformed_yaml_through_papermill_fails_in_the_first_cell(tmp_path):
    papermill = pytest.importorskip("papermill")
    bad = tmp_path / "bad.yaml"
    bad.write_text("epochs: [4\nlr: 0.1\n")
    with pytest.raises(papermill.PapermillExecutionError) as failure:
        papermill.execute_notebook(str(BOOK / "train.ipynb"), str(tmp_path / "out.ipynb"),
                                   parameters={"config_file": str(bad)}, cwd=str(tmp_path), progress_bar=False)
    assert failure.value.ename == "GpslibError"
    assert f"Config file {bad} is not valid YAML at line 2" in failure.value.evalue


# ---------------------------------------------------------------- data roots and lists
def test_empty_data_root(tmp_path):
    (tmp_path / "voc").mkdir()
    with pytest.raises(GpslibError, match=r"data root .*voc is empty; it should hold JPEGImages"):
        build_datasets(make_config("pascal", "1/8", data_root=str(tmp_path / "voc")))


def test_a_data_root_that_is_a_file_is_called_a_file(tmp_path):
    (tmp_path / "voc.tar").write_bytes(b"not a folder")
    with pytest.raises(GpslibError, match=r"data root .*voc.tar is a file, not a folder"):
        build_datasets(make_config("pascal", "1/8", data_root=str(tmp_path / "voc.tar")))


def test_too_few_classes_fail_before_any_training_step(voc_aug, tmp_path, monkeypatch):
    from gpslib.train import Trainer, loop
    steps = []
    monkeypatch.setattr(loop, "supervised_step", lambda *a, **k: steps.append(1))
    labeled, unlabeled = write_lists(tmp_path / "lists", VOC_TRAIN[:4], VOC_TRAIN[4:])
    cfg = make_config("pascal", "1/8", data_root=str(voc_aug), labeled_file=str(labeled),
                      unlabeled_file=str(unlabeled), num_classes=5, crop_size=16, batch_labeled=2, batch_unlabeled=2,
                      encoder_weights="random", device="cpu", out_dir=str(tmp_path / "run"))
    with pytest.raises(GpslibError, match=r"label\(s\) \[5, 20\] outside 0..4"):
        Trainer(cfg, progress=False)                 # the masks hold 5 and 20: refused while building
    assert not steps and not (tmp_path / "run" / "last.pt").exists()


def test_data_root_laid_out_for_another_dataset(voc_aug, tmp_path):
    with pytest.raises(GpslibError, match=r"laid out for Pascal VOC .*JPEGImages/.*dataset='pascal'"):
        build_datasets(make_config("cityscapes", "1/8", data_root=str(voc_aug)))
    city = write_cityscapes(tmp_path / "city", CITY_TRAIN, CITY_VAL)
    with pytest.raises(GpslibError, match=r"laid out for Cityscapes .*leftImg8bit/.*dataset='cityscapes'"):
        build_datasets(make_config("pascal", "1/8", data_root=str(city)))
    (tmp_path / "other" / "photos").mkdir(parents=True)
    with pytest.raises(GpslibError, match=r"other has no JPEGImages/ folder"):
        build_datasets(make_config("pascal", "1/8", data_root=str(tmp_path / "other")))


def test_empty_split_file(voc_aug, tmp_path):
    labeled, unlabeled = write_lists(tmp_path / "lists", VOC_TRAIN[:2], VOC_TRAIN[2:])
    unlabeled.write_text("\n\n")
    with pytest.raises(GpslibError, match=rf"{unlabeled} is empty"):
        resolve_partition("pascal", voc_aug, "1/8", labeled_file=labeled, unlabeled_file=unlabeled)


def test_overlapping_lists_are_refused_unless_dagger(voc_aug, tmp_path):
    labeled, unlabeled = write_lists(tmp_path / "lists", VOC_TRAIN[:3], VOC_TRAIN[2:])
    with pytest.raises(GpslibError, match=rf"both name '{VOC_TRAIN[2]}'.*dagger=true"):
        resolve_partition("pascal", voc_aug, "1/8", labeled_file=labeled, unlabeled_file=unlabeled)
    part = resolve_partition("pascal", voc_aug, "1/8", labeled_file=labeled, unlabeled_file=unlabeled, dagger=True)
    assert sorted(part.unlabeled) == sorted(VOC_TRAIN)    # each id once, labeled ones included


# ---------------------------------------------------------------- corrupt files
def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _voc_bundle(root, tmp_path, **kw):
    labeled, unlabeled = write_lists(tmp_path / "lists", VOC_TRAIN[:4], VOC_TRAIN[4:])
    return build_datasets(make_config("pascal", "1/8", data_root=str(root), labeled_file=str(labeled),
                                      unlabeled_file=str(unlabeled), crop_size=16, **kw))


@pytest.mark.parametrize("kind", ["image", "mask"])
def test_truncated_file_stops_by_default_and_names_it(voc_aug, tmp_path, kind):
    path = (voc_aug / "JPEGImages" / f"{VOC_TRAIN[1]}.jpg" if kind == "image"
            else voc_aug / "SegmentationClassAug" / f"{VOC_TRAIN[1]}.png")
    _truncate(path)
    bundle = _voc_bundle(voc_aug, tmp_path)
    bundle.labeled[0]                                    # intact items still load
    with pytest.raises(CorruptFileError, match=rf"{path.name} cannot be read.*on_corrupt=skip"):
        bundle.labeled[1]


def test_skip_mode_serves_the_next_item_and_logs_the_file_once(voc_aug, tmp_path):
    from gpslib.data.dataset import skip_corrupt, skipped_files
    _truncate(voc_aug / "JPEGImages" / f"{VOC_TRAIN[1]}.jpg")
    bundle = _voc_bundle(voc_aug, tmp_path)
    log = tmp_path / "run" / "skipped_files.txt"
    skip_corrupt(bundle.labeled, log)
    with pytest.warns(UserWarning, match=f"Skipped: .*{VOC_TRAIN[1]}.jpg"):
        image, mask = bundle.labeled.load_or_skip(1)
    assert np.array_equal(image, bundle.labeled.load(2)[0])       # the next readable item stands in
    bundle.labeled.load_or_skip(1)
    assert len(skipped_files(log)) == 1 and VOC_TRAIN[1] in skipped_files(log)[0]
    assert len(list(bundle.labeled)) == len(bundle.labeled)      # iteration still ends at the last item


def test_a_run_with_on_corrupt_skip_counts_the_skipped_file_in_its_history(small_digits, tmp_path):
    import shutil
    data = tmp_path / "digits"
    shutil.copytree(small_digits, data)
    for victim in sorted((data / "JPEGImages").glob("train_*.jpg"))[::2]:   # half: a batch surely meets one
        victim.write_bytes(b"")
    settings = dict(method="supervised", epochs=1, batch_labeled=2)
    with pytest.raises(CorruptFileError):
        train(tiny_cfg(data, tmp_path / "stop", **settings), progress=False)
    cfg = tiny_cfg(data, tmp_path / "run", on_corrupt="skip", **settings)
    with pytest.warns(UserWarning, match="Skipped"):
        history = train(cfg, progress=False)
    skipped = history.meta["skipped_files"]
    assert skipped and all("cannot be read" in line for line in skipped)
    assert json.loads((tmp_path / "run" / "history.json").read_text())["meta"]["skipped_files"] == skipped


# ---------------------------------------------------------------- checkpoints
def test_resume_refuses_a_checkpoint_of_another_config_or_method(small_digits, tmp_path):
    cfg = tiny_cfg(small_digits, tmp_path / "run", method="supervised", epochs=1)
    train(cfg, progress=False)
    for change in ({"lr": 0.5}, {"method": "cps"}):
        other = tiny_cfg(small_digits, tmp_path / "run", **{"method": "supervised", "epochs": 1, **change})
        with pytest.raises(GpslibError, match=rf"different settings \({next(iter(change))}\)"):
            train(other, resume=True, progress=False)


def test_resume_refuses_a_truncated_checkpoint_instead_of_starting_over(small_digits, tmp_path):
    cfg = tiny_cfg(small_digits, tmp_path / "run", method="supervised", epochs=1)
    train(cfg, progress=False)
    _truncate(tmp_path / "run" / "last.pt")
    with pytest.raises(GpslibError, match=r"last.pt could not be read.*corrupt"):
        train(cfg, resume=True, progress=False)


def test_a_failed_save_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    save_checkpoint({"step": torch.tensor(1)}, tmp_path / "last.pt")

    def disk_full(obj, handle):
        handle.write(b"half a checkpoint")
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(torch, "save", disk_full)
    with pytest.raises(OSError, match="No space"):
        save_checkpoint({"step": torch.tensor(2)}, tmp_path / "last.pt")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.pt"]
    assert int(load_checkpoint(tmp_path / "last.pt")["step"]) == 1


def test_non_finite_loss_names_iteration_and_terms_and_keeps_the_last_good_checkpoint(small_digits, tmp_path):
    cfg = tiny_cfg(small_digits, tmp_path / "bad", lr=1e30, method="supervised", epochs=4, checkpoint_every=1,
                   eval_every=100)
    with pytest.raises(GpslibError, match=r"non-finite at main iteration \d+ \(sup=[^)]*\).*last good"):
        train(cfg, progress=False)
    state = load_checkpoint(tmp_path / "bad" / "last.pt")
    rows = state["history"]["iterations"]
    assert rows and all(np.isfinite(r["sup"]) for r in rows)
    assert state["iteration"] == len(rows) >= 1


# ---------------------------------------------------------------- Ctrl-C
SIGINT_SCRIPT = """
import os, signal, sys
from gpslib.config import make_config
from gpslib.errors import TrainingInterrupted
from gpslib.train import train
cfg = make_config("digits", "1/4", **{overrides!r})
def interrupt(iteration, trainer):
    if iteration == {at}:
        os.kill(os.getpid(), signal.SIGINT)
try:
    train(cfg, resume={resume}, on_iteration=interrupt, progress=False)
except TrainingInterrupted as stop:
    print(stop)
    sys.exit(130)
"""


def test_sigint_saves_mid_epoch_and_the_resumed_run_equals_the_uninterrupted_one(small_digits, tmp_path):
    handler = signal.getsignal(signal.SIGINT)      # the default, or "ignored" when pytest runs in the background
    common = dict(TINY, data_root=str(small_digits), epochs=2, iters_per_epoch=3, checkpoint_every=100)

    def run(out, at, resume):
        script = SIGINT_SCRIPT.format(overrides=dict(common, out_dir=str(tmp_path / out)), at=at, resume=resume)
        return subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True,
                              timeout=600)

    straight = run("straight", -1, False)
    assert straight.returncode == 0, straight.stderr[-2000:]
    stopped = run("stopped", 4, False)                 # iteration 4 of 6: in the middle of epoch 2
    assert stopped.returncode == 130, stopped.stderr[-2000:]
    assert "interrupted after gps iteration 4" in stopped.stdout and "--resume" in stopped.stdout
    assert load_checkpoint(tmp_path / "stopped" / "last.pt")["iteration"] == 4
    resumed = run("stopped", -1, True)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    a = json.loads((tmp_path / "straight" / "history.json").read_text())
    b = json.loads((tmp_path / "stopped" / "history.json").read_text())
    for table in ("teacher", "iterations", "evals"):
        assert a[table] == b[table], table
    assert a["meta"]["rampup"] == b["meta"]["rampup"]
    assert signal.getsignal(signal.SIGINT) is handler                      # this process's handler untouched
