"""Table 1 from the presets: unlabeled images per epoch and for the whole run, per partition."""
from __future__ import annotations

import math

from .config import PAPER_PARTITIONS, preset
from .data.partitions import resolve_partition

# Table 1's GPS rows, as printed in the paper.
PAPER_TABLE1 = {
    "pascal": (["9.9k", "9.2k", "7.9k", "5.2k"], ["317k", "315k", "317k", "317k"]),
    "cityscapes": (["2.7k", "2.6k", "2.2k", "1.4k"], ["357k", "357k", "357k", "357k"]),
}


def per_epoch_text(n: int) -> str:
    """The paper writes images per epoch truncated to 0.1k (9,259 -> 9.2k)."""
    return f"{math.floor(n / 100) / 10:.1f}k"


def total_text(n: int) -> str:
    """... and whole-run totals rounded to 1k (314,806 -> 315k)."""
    return f"{round(n / 1000)}k"


def cost_table(dataset: str, dagger: bool = False, data_root: str | None = None, seed: int = 0) -> list[dict]:
    """One row per paper partition: labeled, unlabeled per epoch (D^u, plus D^l under GPS-dagger), epochs, total."""
    rows = []
    for partition in PAPER_PARTITIONS:
        split = resolve_partition(dataset, data_root, partition, seed=seed, dagger=dagger)
        epochs = preset(dataset, partition)["epochs"]
        per_epoch = len(split.unlabeled)
        rows.append({"partition": partition, "labeled": len(split.labeled), "unlabeled_per_epoch": per_epoch,
                     "epochs": epochs, "iterations_per_epoch": per_epoch // 8, "unlabeled_total": per_epoch * epochs,
                     "per_epoch": per_epoch_text(per_epoch), "total": total_text(per_epoch * epochs)})
    return rows


def format_cost(dataset: str, dagger: bool = False, data_root: str | None = None) -> str:
    rows = cost_table(dataset, dagger, data_root)
    name = "GPS-dagger" if dagger else "GPS"
    lines = [f"{name} on {dataset}: unlabeled images seen (an epoch is one pass over the unlabeled set)",
             f"{'partition':>9} {'labeled':>8} {'per epoch':>10} {'epochs':>6} {'whole run':>10}  table-1 style"]
    for row in rows:
        lines.append(f"{row['partition']:>9} {row['labeled']:>8} {row['unlabeled_per_epoch']:>10} {row['epochs']:>6} "
                     f"{row['unlabeled_total']:>10}  {row['per_epoch']} / {row['total']}")
    if dataset in PAPER_TABLE1 and not dagger:
        epoch_row, total_row = PAPER_TABLE1[dataset]
        lines.append(f"paper Table 1 (GPS): {' '.join(epoch_row)} per epoch, {' '.join(total_row)} whole run")
    return "\n".join(lines)
