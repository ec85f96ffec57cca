"""`gpslib train|eval|predict|splits|data|cost|bench` (also `python -m gpslib`).

User mistakes (GpslibError) print one sentence and exit 2; they never show a traceback. Ctrl-C during
training saves a checkpoint, prints how to resume and exits 130.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .config import CHOICES, DATASETS, field_help, field_names, field_types
from .errors import GpslibError, TrainingInterrupted
from .parameters import config_from_parameters


def _add_config_options(parser: argparse.ArgumentParser) -> None:
    """Every Config field becomes --field, its help made from the field's comment, choices, type and default."""
    group = parser.add_argument_group("config fields (gpslib/config.py); each overrides the dataset's preset; "
                                      "'none' sets None, a,b a tuple")
    helps, types = field_help(), field_types()
    for name in field_names():
        if name in ("dataset", "partition"):
            continue
        kind = str(types[name])
        metavar = ("{" + ",".join(CHOICES[name]) + "}" if name in CHOICES else "true|false" if kind.startswith("bool")
                   else "A,B" if kind.startswith("tuple") else "PATH" if name.endswith(("_root", "_file", "_dir"))
                   else kind.split(" ")[0].replace("str", "text").upper())
        group.add_argument(f"--{name.replace('_', '-')}", dest=name, default=None, metavar=metavar,
                           choices=CHOICES.get(name), help=helps[name].replace("%", "%%"))


def _config_from(args: argparse.Namespace):
    return config_from_parameters(vars(args))


def cmd_train(args) -> int:
    cfg = _config_from(args)          # a mistake in the options is answered before torch loads
    from .train import train
    history = train(cfg, resume=args.resume)
    final = history.final
    print(f"finished {cfg.method} on {cfg.dataset} {cfg.partition}: " +
          ", ".join(f"{k} {v:.4f}" for k, v in final.items() if k.startswith("miou")))
    print(f"history: {history.path}")
    print(f"gpslib report {history.path.parent} draws its curves and predictions")
    return 0


def cmd_report(args) -> int:
    from .report import write
    text, paths = write(args.run_dir, n_images=args.images, device=args.device)
    print(text)
    print("\n".join(["", "figures:", *map(str, paths)]))
    return 0


def cmd_compare(args) -> int:
    from .compare import compare_text
    print(compare_text(args.runs, args.against))
    return 0


def cmd_eval(args) -> int:
    from .data import build_datasets
    from .evaluate import evaluate
    from .predict import load_network
    net, cfg = load_network(args.checkpoint, args.network, args.device, data_root=args.data_root,
                            eval_mode=args.mode)
    data = build_datasets(cfg)
    result = evaluate(net, data.val, cfg.num_classes, mode=cfg.eval_mode, crop=cfg.eval_crop or cfg.crop_size,
                      device=args.device, limit=args.limit, progress=True, desc=f"val: {args.network}")
    print(f"{args.network} of {args.checkpoint} on {cfg.dataset} val ({cfg.eval_mode}): mIoU {result['miou']:.4f}")
    for name, iou in zip(data.class_names, result["iou"]):
        print(f"  {name:>14} {iou:.4f}")
    return 0


def cmd_predict(args) -> int:
    from .predict import load_image, load_network, overlay, predict_mask
    net, cfg = load_network(args.checkpoint, args.network, args.device)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for path in args.images:
        image = load_image(path)
        target = out / f"{Path(path).stem}_overlay.png"
        overlay(image, predict_mask(net, image, cfg, args.device)).save(target)
        print(target)
    return 0


def cmd_splits(args) -> int:
    if args.dataset == "folder":   # the tree's own split, classes and pixel histogram
        from .data.folder import summary as folder_summary
        print(folder_summary(args.data_root, args.labeled_file, args.unlabeled_file, args.dagger))
        return 0
    from .data.partitions import summary
    print(summary(args.dataset, args.data_root, args.partition, seed=args.seed, dagger=args.dagger,
                  labeled_file=args.labeled_file, unlabeled_file=args.unlabeled_file))
    return 0


def cmd_data(args) -> int:
    from .data.digits import describe, ensure_digits
    root = ensure_digits(Path(args.data_root) if args.data_root else None, seed=args.seed, progress=True)
    print(describe(root))
    return 0


def cmd_cost(args) -> int:
    from .cost import format_cost
    for dataset in args.dataset:
        print(format_cost(dataset, dagger=args.dagger))
        print()
    return 0


def cmd_bench(args) -> int:
    from .bench import main as bench_main
    return bench_main(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gpslib", description="GPS (Guided Pseudo Supervision): semi-supervised "
                                     "segmentation with one teacher and two students")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for add in (_add_train, _add_eval_and_predict, _add_data_commands, _add_bench):
        add(sub)
    return parser


def _add_train(sub) -> None:
    p = sub.add_parser("train", help="train GPS, CPS or a supervised baseline",
                       description="Train one method; every field starts from the preset of (--dataset, --partition).")
    p.add_argument("--dataset", default="digits", choices=DATASETS, help=field_help()["dataset"])
    p.add_argument("--partition", default="1/8", help="labeled fraction: 1/8, 1_8 or 0.125 (default 1/8; a folder "
                                                      "uses every mask)")
    p.add_argument("--config", dest="config_file", metavar="YAML", default=None, help="YAML file of config fields, applied before the flags")
    p.add_argument("--resume", action="store_true", help="continue from <out-dir>/last.pt")
    _add_config_options(p)
    p.set_defaults(func=cmd_train)


def _add_eval_and_predict(sub) -> None:
    p = sub.add_parser("eval", help="mIoU and per-class IoU of a checkpoint on the validation set")
    p.add_argument("checkpoint")
    p.add_argument("--network", default="student1", choices=("teacher", "student1", "student2"))
    p.add_argument("--mode", default=None, choices=("whole", "sliding"))
    p.add_argument("--data-root", default=None)
    p.add_argument("--device", default="cpu")
    p.add_argument("--limit", type=int, default=None, help="evaluate the first N images only")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("predict", help="colour-overlay PNGs of a checkpoint's predictions")
    p.add_argument("checkpoint")
    p.add_argument("images", nargs="+")
    p.add_argument("--out", default="predictions")
    p.add_argument("--network", default="student1", choices=("teacher", "student1", "student2"))
    p.add_argument("--device", default="cpu")
    p.set_defaults(func=cmd_predict)

    p = sub.add_parser("report", help="a finished run in words and figures (PNGs in RUN_DIR/report/)")
    p.add_argument("run_dir", metavar="RUN_DIR", help="the run's out_dir (history.json and last.pt)")
    p.add_argument("--images", type=int, default=4, help="validation images in the prediction panel")
    p.add_argument("--device", default="cpu")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("compare", help="a - b of finished runs, paired by seed, with the 95 %% paired t-interval")
    p.add_argument("runs", nargs="+", metavar="RUN_A", help="side a: one finished run per seed (out_dir or JSON)")
    p.add_argument("--against", nargs="+", required=True, metavar="RUN_B", help="side b, the same seeds")
    p.set_defaults(func=cmd_compare)


def _add_data_commands(sub) -> None:
    p = sub.add_parser("splits", help="labeled/unlabeled counts of a partition and where the lists come from")
    p.add_argument("--dataset", default="pascal", choices=DATASETS)
    p.add_argument("--partition", default="1/8")
    p.add_argument("--data-root", default=None)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--dagger", action="store_true", help="GPS-dagger: labeled images join the unlabeled set")
    p.add_argument("--labeled-file", default=None)
    p.add_argument("--unlabeled-file", default=None)
    p.set_defaults(func=cmd_splits)

    p = sub.add_parser("data", help="generate (once) and describe the embedded digits dataset")
    p.add_argument("--dataset", default="digits", choices=("digits",))
    p.add_argument("--data-root", default=None)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_data)

    p = sub.add_parser("cost", help="Table 1: unlabeled images per epoch and per run")
    p.add_argument("--dataset", nargs="+", default=["pascal", "cityscapes"],
                   choices=[d for d in DATASETS if d != "folder"])
    p.add_argument("--dagger", action="store_true")
    p.set_defaults(func=cmd_cost)


def _add_bench(sub) -> None:
    p = sub.add_parser("bench", help="time per iteration of supervised, CPS and GPS, split into phases")
    p.add_argument("--dataset", default="digits", choices=DATASETS)
    p.add_argument("--backbone", default=None)
    p.add_argument("--crop", type=int, default=None)
    p.add_argument("--batch", type=int, default=None, help="labeled and unlabeled batch (each)")
    p.add_argument("--amp", default="true", choices=("true", "false"))
    p.add_argument("--cutmix", default=None, choices=("true", "false"),
                   help="CutMix the unlabeled batch (default: the preset's, off for digits, on for VOC/Cityscapes)")
    p.add_argument("--iters", type=int, default=10)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--device", default="auto")
    p.add_argument("--out", default=None, help="also write the table as JSON here")
    p.add_argument("--profile", action="store_true",
                   help="also list the operators a GPS iteration spends its time in (torch.profiler)")
    p.add_argument("--contention", action="store_true",
                   help="instead: a GPS iteration per threading choice, idle and beside one busy process (CPU)")
    p.set_defaults(func=cmd_bench)


def commands_text(parser: argparse.ArgumentParser) -> str:
    """One line per command, for `gpslib` alone."""
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    lines = [f"usage: gpslib COMMAND [options]   ({parser.description})", "", "commands:"]
    width = max(len(c.dest) for c in sub._choices_actions)
    lines += [f"  {c.dest:<{width}}  {c.help}" for c in sub._choices_actions]
    lines += ["", "`gpslib COMMAND --help` lists the options of one command."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        print(commands_text(parser))
        return 0
    try:
        return args.func(args)
    except TrainingInterrupted as err:
        print(f"gpslib {args.command}: {err}", file=sys.stderr)
        return 130   # the shell's code for Ctrl-C
    except GpslibError as err:
        sys.stdout.flush()   # a progress bar's line is ended before the error is printed
        print(f"gpslib {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
