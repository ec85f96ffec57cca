"""The book's recorded experiments: every run is a `train.ipynb` parameter set, which `record()` trains (the
notebook's code path) and stores with the papermill command that re-runs it; `load_results` reads them back."""
from __future__ import annotations

import json
import os
import platform
import sys
from pathlib import Path
from typing import Any

from ..config import make_config, preset
from ..errors import GpslibError
from ..history import History
from ..locks import locked
from ..paths import RESULTS_DIR, RUNS_DIR

# CutMix on 64 px scenes whose 1-2 digits are 28-40 px tall: CPS's three boxes covering 25-50 % of the image
# (cutmix_area: the default). One box of that area keeps twice as many digits whole, but `cutmix_recipe` found it
# no better for CPS at 1/8 (70.4 against 71.5 % S1, seed 0), so the paper's recipe stays.
CUTMIX_RECIPE: dict[str, Any] = {"cutmix": True, "cutmix_boxes": 3}
CONVERGED_EPOCHS = 16
SEEDS = (0, 1, 2)   # the main comparison is run three times; seed 0 keeps the plain name
LATCH_SEEDS = (0, 1)  # the E = 8 latch pair: two seeds, about 30 CPU minutes a run
PARTITIONS = ("1/16", "1/8", "1/4", "1/2")
CONVERGED_FACTOR = 4   # converged: four times the preset's E at every partition (16, 16, 20, 28), the paper's ratio


def seeded(name: str, seed: int) -> str:
    """A run's name at a seed: 'gps-1_8-s1'; seed 0 keeps the plain name."""
    return name if seed == 0 else f"{name}-s{seed}"


def _slug(partition: str) -> str:
    return partition.replace("/", "_")


def _grid(methods, partitions=PARTITIONS, **params: Any) -> dict[str, dict[str, Any]]:
    """Every method x partition x seed, SupOnly first (GPS's phase a loads it), seed 0 with the plain name."""
    return {seeded(f"{method}-{_slug(p)}", seed): {"method": method, "partition": p, "seed": seed, **params}
            for p in partitions for seed in SEEDS for method in methods}


def _converged(partition: str) -> int:
    return CONVERGED_FACTOR * preset("digits", partition)["epochs"]


# The lab's first recordings (all experiments in CURRENT excepted) were made with the earlier
# preset: phase a two epochs of the unlabeled set, SupOnly 2 + E epochs, CPS's cross loss on X^u only, and scores
# on val alone. Their grid keeps those settings, so that each still names the training it recorded.
FIRST_PRESET_TEACHER_EPOCHS = 2.0


_TABLE4 = [  # (use_gps, use_cps, use_fps), the rows of Table 4 (all without CutMix, as in the paper);
    # row 1 is "only adopting L_gps" (section 4.4.1), its check mark lost in the table's typesetting
    (True, False, False), (False, False, True), (True, False, True),
    (False, True, True), (True, True, False), (True, True, True)]

# One-factor ablations of the reference run, each variant recorded at every seed of SEEDS (seed 0 first): a
# variant whose seed-0 difference from the reference is within the reference's seed spread needs its other
# seeds before anything can be said about it.
ABLATIONS: dict[str, dict[str, dict[str, Any]]] = {
    "update": {"two_step": {"update": "two_step", "partition": "1/8"},
               "merged": {"update": "merged", "partition": "1/8"}},
    "table4": {"gps{:d}-cps{:d}-fps{:d}".format(*row): {"use_gps": row[0], "use_cps": row[1], "use_fps": row[2],
                                                         "cutmix": False, "partition": "1/8"} for row in _TABLE4},
    "rampup": {"adaptive": {"rampup": "adaptive", "partition": "1/8"},
               "fixed": {"rampup": "fixed", "partition": "1/8"},
               "none": {"rampup": "none", "partition": "1/8"},
               "rampdown": {"rampdown_gps": True, "partition": "1/8"}},
    # The teacher's lr after phase a: the paper's formula (2e-6 here) against one 44x larger, as a fixed value.
    "teacher_lr": {"literal": {"partition": "1/8"},
                   "larger": {"teacher_lr": 1e-4, "partition": "1/8"}},
}

EXPERIMENTS: dict[str, dict[str, dict[str, Any]]] = {
    # Tables 2/3 with the paper's teacher (phase a is the SupOnly run of the same seed), every score also on the
    # untouched test split: at the preset's E, with CutMix at 1/16 and 1/8, and converged (4 x E) at every partition.
    "tables": _grid(("supervised", "cps", "gps")),
    "tables_cutmix": _grid(("cps", "gps"), ("1/16", "1/8"), **CUTMIX_RECIPE),
    "tables_converged": {name: {**params, "epochs": _converged(params["partition"])}
                         for name, params in _grid(("supervised", "cps", "gps")).items()},
    # The ablation "a short phase a": GPS with the first preset's two-epoch phase a, on test as `tables`.
    "short_teacher": _grid(("gps",), teacher_epochs=FIRST_PRESET_TEACHER_EPOCHS),
    # CPS's collapse, shown and scored on test: CPS as `tables` but with L_cps on the unlabeled images only (eq. 6).
    "cps_unlabeled_only": _grid(("cps",), ("1/16", "1/8"), cps_on_labeled=False),
    # What may hold GPS below CPS trained until the curves flatten (1/8): a teacher that trails its students (variant
    # teacher_lr: 1e-4, 154x the paper's formula here) or L_gps at full weight late on (rampdown: section 4.4.3).
    "converged_causes": {name.replace("gps", variant, 1): params for variant, change in (
        ("teacher_lr", {"teacher_lr": 1e-4}), ("rampdown", {"rampdown_gps": True}))
        for name, params in _grid(("gps",), ("1/8",), epochs=_converged("1/8"), **change).items()},
    # The first preset's experiments; book/results/README.md says what each records.
    "main": _grid(("gps", "cps", "supervised"), ("1/8", "1/16", "1/4", "1/2")),
    **{experiment: {seeded(name, seed): {**params, "seed": seed}
                    for seed in SEEDS for name, params in variants.items()}
       for experiment, variants in ABLATIONS.items()},
    "longer": {f"{method}-1_8": {"method": method, "partition": "1/8", "epochs": 8}
               for method in ("gps", "cps", "supervised")}
              | {"gps-1_8-s1": {"method": "gps", "partition": "1/8", "epochs": 8, "seed": 1}},
    "cutmix": _grid(("gps", "cps"), ("1/8", "1/16"), **CUTMIX_RECIPE),
    "cutmix_recipe": {"three-boxes": {"method": "cps", "partition": "1/8", **CUTMIX_RECIPE},
                      "one-box": {"method": "cps", "partition": "1/8", "cutmix": True, "cutmix_boxes": 1}},
    "converged": _grid(("gps", "cps", "supervised"), ("1/8", "1/16"), epochs=CONVERGED_EPOCHS),
    # Fig. 4. The preset's epoch rule for |D^u| = 2,000: round(4 * 1,750 / 2,000) = 4 epochs of 2,000 / 8 it.
    "full": {seeded(name, seed): {**params, "partition": "1", "seed": seed, "epochs": 4, "iters_per_epoch": 250}
             for seed in SEEDS for name, params in (("supervised-all", {"method": "supervised"}),
                                                    ("gps-dagger-all", {"method": "gps", "dagger": True}))}
            | _grid(("gps",), ("1/2",)),
    # Where the latch can act: at E = 4 adaptive and fixed are one training, at E = 8 it raises w in four epochs.
    "latch": {seeded(name, seed): {"method": "gps", "partition": "1/8", "epochs": 8, "rampup": rampup, "seed": seed}
              for seed in LATCH_SEEDS for name, rampup in (("adaptive", "adaptive"), ("fixed", "fixed"))},
}


# Runs that are the very same training as another recorded run (the ablations' reference main/gps-1_8, seed by
# seed, which also is Table 4's last row; the `longer` GPS run): recorded once, read under both names.
SAME_AS = {(experiment, seeded(name, seed)): ("main", seeded("gps-1_8", seed)) for seed in SEEDS
           for experiment, name in (("update", "two_step"), ("rampup", "adaptive"), ("teacher_lr", "literal"),
                                    ("table4", "gps1-cps1-fps1"))} | {
    ("latch", seeded("adaptive", seed)): ("longer", seeded("gps-1_8", seed)) for seed in LATCH_SEEDS} | {
    ("full", seeded("gps-1_2", seed)): ("main", seeded("gps-1_2", seed)) for seed in SEEDS} | {
    ("cutmix_recipe", "three-boxes"): ("cutmix", "cps-1_8")}


def variant_of(name: str) -> str:
    """A recorded run's name without its seed suffix: 'merged-s2' -> 'merged'."""
    stem, _, seed = name.rpartition("-s")
    return stem if stem and seed.isdigit() else name


def result_path(experiment: str, name: str, results_dir: Path = RESULTS_DIR) -> Path:
    """Where a recorded run's history lives (a variant identical to the reference reads the reference's)."""
    experiment, name = SAME_AS.get((experiment, name), (experiment, name))
    return Path(results_dir) / experiment / f"{name}.json"


CURRENT = ("tables", "tables_cutmix", "tables_converged", "short_teacher", "cps_unlabeled_only",   # today's preset
           "converged_causes")


def parameters(experiment: str, name: str, **budget: Any) -> dict[str, Any]:
    """train.ipynb parameters of one recorded run (budget fields may be overridden, e.g. for a smoke run).

    Today's preset needs nothing beyond the grid: SupOnly trains E epochs and GPS's teacher is that network. The
    first recordings pin what their preset did (FIRST_PRESET_TEACHER_EPOCHS)."""
    params = {"dataset": "digits", "seed": 0, **budget, **EXPERIMENTS[experiment][name]}
    if experiment in CURRENT:
        return params
    method, partition = params.get("method", "gps"), params.get("partition", "1/8")
    if method == "gps":
        params.setdefault("teacher_epochs", FIRST_PRESET_TEACHER_EPOCHS)
    elif method == "cps":
        params.update(cps_on_labeled=False)
        params.pop("teacher_epochs", None)
    else:
        teacher_epochs = params.pop("teacher_epochs", FIRST_PRESET_TEACHER_EPOCHS)
        params["epochs"] = int(round(params.get("epochs", preset("digits", partition)["epochs"]) + teacher_epochs))
    return params


def supervised_run(experiment: str, name: str) -> Path | None:
    """The finished SupOnly checkpoint that is a current GPS run's phase a (same seed and partition), if on disk."""
    params = EXPERIMENTS[experiment][name]
    if experiment not in CURRENT or params.get("method") != "gps" or "teacher_epochs" in params:
        return None
    source = "tables_converged" if "epochs" in params else "tables"      # a converged grid names its E
    supervised = seeded(f"supervised-{_slug(params['partition'])}", params.get("seed", 0))
    path = RUNS_DIR / "recorded" / source / supervised / "last.pt"
    return path if path.is_file() else None


# The recordings' numerics: one thread (the thread count splits a convolution's sums) and ATen's and oneDNN's kernels
# held to AVX2, so that another x86-64 CPU repeats a recorded run bit for bit (an AVX-512 CPU did: book/performance.md);
# left to its own kernels, that CPU pre-trains another digits encoder (08e735e06a28, not the runs' edf407b3e7dd).
RECORDING_ENV = {"OMP_NUM_THREADS": "1", "ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2"}


def pin_numerics(argv: list[str]) -> None:
    """Start the recording command again under RECORDING_ENV (on x86-64), unless it runs under it already: torch
    reads these variables once, when it loads."""
    if platform.machine() in ("x86_64", "AMD64") and any(os.environ.get(k) != v for k, v in RECORDING_ENV.items()):
        os.execve(sys.executable, [sys.executable, "-m", "gpslib.book.experiments", *argv],
                  {**os.environ, **RECORDING_ENV})


def papermill_command(params: dict[str, Any]) -> str:
    """The command that re-runs a recorded run through the book's training notebook."""
    flags = " ".join(f"-p {k} {v}" for k, v in params.items())
    return f"papermill book/train.ipynb out.ipynb {flags}"


def record(experiment: str, name: str, results_dir: Path = RESULTS_DIR, **budget: Any) -> Path:
    """Train one run (resuming runs/recorded/<experiment>/<name> if it was interrupted) and store its history
    as <results_dir>/<experiment>/<name>.json with the papermill command that re-runs it."""
    from ..train import train
    experiment, name = SAME_AS.get((experiment, name), (experiment, name))
    params = parameters(experiment, name, **budget)
    dataset, partition = params.pop("dataset"), params.pop("partition", "1/8")
    work = RUNS_DIR / "recorded" / experiment / name
    cfg = make_config(dataset, partition, out_dir=str(work), **params)
    teacher = supervised_run(experiment, name) if not budget else None
    try:
        history = train(cfg, resume=True, progress=False, teacher_from=teacher)
    except GpslibError as err:   # an unfinished or different SupOnly run: phase a trains instead (the same result)
        if teacher is None or "phase a" not in str(err):
            raise
        history = train(cfg, resume=True, progress=False)
    history.meta["command"] = papermill_command({"dataset": dataset, "partition": partition, **params})
    return history.save(result_path(experiment, name, results_dir))


def load_results(experiment: str, results_dir: Path = RESULTS_DIR, variants=None) -> dict[str, History]:
    """Every recorded run of an experiment that exists on disk, by name (missing runs are simply absent),
    optionally only those of some variants (all their seeds)."""
    paths = {name: result_path(experiment, name, Path(results_dir)) for name in EXPERIMENTS[experiment]
             if variants is None or variant_of(name) in set(variants)}
    return {name: History.load(path) for name, path in paths.items() if path.is_file()}


def missing_text(experiment: str, names, have) -> str:
    """Which runs of an experiment are not recorded (yet), by variant and seed, with the command that records them."""
    missing = [n for n in names if n not in have]
    if not missing:
        return f"All {len(list(names))} runs of '{experiment}' are recorded."
    seeds: dict[str, list[str]] = {}
    for name in missing:
        variant = variant_of(name)
        seeds.setdefault(variant, []).append(name[len(variant) + 2:] or "0")
    listed = ", ".join(f"{variant} (seed{'s' if len(s) > 1 else ''} {', '.join(s)})" for variant, s in seeds.items())
    return (f"Not recorded yet in '{experiment}': {listed}. "
            f"`python -m gpslib.book.experiments {experiment}` records the missing runs.")


def main(argv: list[str] | None = None) -> None:
    """python -m gpslib.book.experiments EXPERIMENT [NAME ...]: record the named runs (again, if they are recorded
    already), or, without names, every run of the experiment that is not recorded yet; --missing only lists them."""
    import argparse
    parser = argparse.ArgumentParser(prog="python -m gpslib.book.experiments", description=main.__doc__)
    parser.add_argument("experiment", choices=sorted(EXPERIMENTS))
    parser.add_argument("names", nargs="*", metavar="NAME", help="runs of the experiment (default: the missing ones)")
    parser.add_argument("--missing", action="store_true", help="say which runs are not recorded, record nothing")
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in EXPERIMENTS[args.experiment]]
    if unknown:
        parser.error(f"no run {', '.join(unknown)} in '{args.experiment}'; "
                     f"its runs are {', '.join(EXPERIMENTS[args.experiment])}")
    if args.missing:
        print(missing_text(args.experiment, EXPERIMENTS[args.experiment], load_results(args.experiment, RESULTS_DIR)))
        return
    names = args.names or [n for n in EXPERIMENTS[args.experiment]
                           if not result_path(args.experiment, n, RESULTS_DIR).is_file()]
    for name in names:
        claim = RUNS_DIR / "recorded" / args.experiment / f"{name}.claim"
        with locked(claim, wait=False) as mine:   # a second worker on the same list skips this run
            if mine and not (not args.names and result_path(args.experiment, name, RESULTS_DIR).is_file()):
                path = record(args.experiment, name)
                print(path, json.loads(path.read_text())["evals"][-1].get("miou_student1"), flush=True)


if __name__ == "__main__":
    pin_numerics(sys.argv[1:])
    main()
