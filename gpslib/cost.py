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


LABELS = {"unlabeled_per_epoch": "unlabeled per epoch", "epochs": "epochs E", "iterations_per_epoch":
          "iterations per epoch", "unlabeled_total": "unlabeled in all", "per_epoch": "ours per epoch",
          "total": "ours in all"}


def table1(dataset: str, dagger: bool = False, data_root: str | None = None):
    """`cost_table` as a DataFrame, one column per partition, with the paper's GPS rows where it prints them."""
    import pandas as pd
    frame = pd.DataFrame(cost_table(dataset, dagger, data_root)).set_index("partition").rename(columns=LABELS)
    if dataset in PAPER_TABLE1 and not dagger:
        frame["paper per epoch"], frame["paper in all"] = PAPER_TABLE1[dataset]
    return frame.T


def table1_differs(t) -> list[str]:
    """The partitions of a `table1` whose counts, printed the paper's way, are not the paper's (none for VOC and
    Cityscapes)."""
    return [p for p in t if list(t.loc[["ours per epoch", "ours in all"], p]) !=
            list(t.loc[["paper per epoch", "paper in all"], p])]


def format_cost(dataset: str, dagger: bool = False, data_root: str | None = None) -> str:
    name = "GPS-dagger" if dagger else "GPS"
    return (f"{name} on {dataset}: unlabeled images seen (an epoch is one pass over the unlabeled set; 'ours' in "
            f"the paper's style)\n{table1(dataset, dagger, data_root).to_string()}")
