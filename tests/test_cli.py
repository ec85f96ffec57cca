"""`gpslib` as a new user meets it: the command list, and --help that is enough to use `train`."""
from gpslib.cli import main


def test_no_command_lists_every_command_with_a_line_each(capsys):
    assert main([]) == 0
    out = capsys.readouterr().out
    for command in ("train", "eval", "predict", "splits", "data", "cost", "bench"):
        line = next(line for line in out.splitlines() if line.strip().startswith(command + " "))
        assert len(line.split()) > 2, line        # the command and what it does


def test_train_help_shows_choices_defaults_and_meaning(capsys):
    try:
        main(["train", "--help"])
    except SystemExit as stop:
        assert stop.code == 0
    out = " ".join(capsys.readouterr().out.split())      # argparse wraps lines
    assert "--method {gps,cps,supervised}" in out and "GPS (teacher + two students)" in out
    assert "--optimizer {sgd,adamw}" in out and "--hflip true|false" in out
    assert "--lr FLOAT initial learning rate" in out and "default: the dataset's preset (digits: 0.001)" in out
    assert "--seed INT" in out and "default: 0" in out and "VALUE" not in out


def test_a_choice_flag_refuses_other_words(capsys):
    try:
        main(["train", "--method", "fixmatch"])
    except SystemExit as stop:
        assert stop.code == 2
    assert "invalid choice: 'fixmatch'" in capsys.readouterr().err


def test_report_writes_a_finished_runs_text_and_figures(small_digits, tmp_path, capsys):
    """`gpslib report RUN_DIR` after a run: what made it, its scores per class, the latch, and one PNG per figure."""
    from conftest import tiny_cfg
    from gpslib.train import train
    history = train(tiny_cfg(small_digits, tmp_path / "run"), progress=False)
    assert main(["report", str(tmp_path / "run")]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"digits 1/4, GPS, {history.meta['teacher_iters']:,} phase-a + 6 it")
    assert "S1" in out and "background" in out and "latch" in out and "**" not in out
    pngs = sorted(p.name for p in (tmp_path / "run" / "report").iterdir())
    assert pngs == ["latch.png", "losses.png", "miou.png", "predictions.png", "pseudo_labels.png"]
    assert all((tmp_path / "run" / "report" / name).stat().st_size > 10_000 for name in pngs)
