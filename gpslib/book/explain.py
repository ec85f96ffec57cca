"""The numbers chapters 2-6 put into their prose, computed by the library's own code, so a chapter can only say what
the code does: phrases as Markdown for `glue_md`, tables as DataFrames that fit the column ("–": no value)."""
from __future__ import annotations

import json
import tempfile
from fractions import Fraction

import numpy as np
import pandas as pd
import torch

from .. import losses
from ..config import PAPER_PARTITIONS, make_config, preset
from ..cost import cost_table, table1, table1_differs
from ..data.digits import MANIFEST
from ..evaluate import evaluate
from ..models import build_segmenter, count_parameters
from ..train import gps
from ..train.batch import assemble
from ..train.schedule import fixed_teacher_lr
from ..compare import DASH
from . import evidence, filled, glue_md, listed

def glue_all(phrases: dict[str, str]) -> None:
    """Each phrase into the chapter's prose, where a Markdown cell writes {glue:md}`name`."""
    for name, text in phrases.items():
        glue_md(name, text)


# ------------------------------------------------------------------ chapter 2: data
def data_facts(root, data, cfg) -> dict[str, str]:
    """What the generated dataset holds, how 1/8 splits it, and the preset's transform and epochs."""
    info = json.loads((root / MANIFEST).read_text())
    digits, epochs = info["source_digits"], {p: preset("digits", p)["epochs"] for p in PAPER_PARTITIONS}
    flip = "a random horizontal flip" if cfg.hflip else "no flip"
    scale = "no rescaling" if tuple(cfg.scales) == (1.0,) else f"scales {min(cfg.scales):g}–{max(cfg.scales):g}"
    return {"n_train": f"{info['n_train']:,}", "n_val": f"{info['n_val']:,}", "n_test": f"{info['n_test']:,}",
            "size": f"{info['size']}×{info['size']}", "labeled": f"{len(data.labeled):,}",
            "unlabeled": f"{len(data.unlabeled):,}", **{f"digits_{k}": f"{len(v):,}" for k, v in digits.items()},
            "transform": f"a {cfg.crop_size} px crop, {scale} and {flip}",
            "epochs": f"{listed(epochs.values())} epochs at {listed(epochs)}"}


def partition_table(paper=("pascal", "cityscapes"), fractions=PAPER_PARTITIONS, digits=("1/8",)) -> pd.DataFrame:
    """Labeled and unlabeled counts per dataset and fraction, and where the lists come from."""
    from ..data.partitions import resolve_partition, shipped_dir
    from ..paths import shown

    rows = {}
    for dataset, partition in [(d, f) for d in paper for f in fractions] + [("digits", f) for f in digits]:
        part, folder = resolve_partition(dataset, None, partition, 0), shipped_dir(dataset, partition)
        rows[dataset, partition] = {"labeled": len(part.labeled), "unlabeled": len(part.unlabeled),
                                    "lists": f"CPS, {shown(folder)}" if folder else "split seeded by the run's seed"}
    return pd.DataFrame(rows).T.rename_axis(["dataset", "partition"])


def table1_verdict(*datasets: str) -> str:
    """Whether the presets give every count of the paper's Table 1, per epoch and in all."""
    tables = {d: table1(d) for d in datasets}
    differ = [f"{d} {p}" for d, t in tables.items() for p in table1_differs(t)]
    if differ:
        return f"**refuted**: {len(differ)} rows differ ({listed(differ)})"
    return f"**confirmed** in all {sum(t.shape[1] for t in tables.values())} rows of {listed(datasets)}"


# ------------------------------------------------------------------ chapter 3: networks
def parameter_table(backbones=("resnet18", "resnet50", "resnet101"), num_classes: int = 21,
                    decoder_channels: int = 256) -> pd.DataFrame:
    """Parameters (millions) of encoder, decoder and head of DeepLabV3+ for each backbone (random init)."""
    counts = {name: count_parameters(build_segmenter(name, num_classes, None, decoder_channels)) for name in backbones}
    frame = pd.DataFrame(counts).T / 1e6
    return frame.assign(total=frame.sum(axis=1)).rename_axis("backbone").round(3)


def network_facts(cfg, nets: dict) -> dict[str, str]:
    """The preset's network size, which parts the three networks share at the start, and the encoder's pre-training."""
    from ..pretrain import encoder_facts

    counts = count_parameters(nets["teacher"])
    parts = {"encoder": "encoder", "decoder": "decoder", "segmentation_head": "head"}
    same = {shown: all(all(torch.equal(a, b) for a, b in zip(getattr(nets["teacher"], part).state_dict().values(),
                                                            getattr(net, part).state_dict().values()))
                       for net in nets.values()) for part, shown in parts.items()}
    total = sum(counts.values()) / 1e6
    phrases = {"net_total": f"{total:.2f} M", "nets_total": f"{3 * total:.1f} M",
               "net_encoder": f"{counts['encoder'] / 1e6:.2f} M",
               "shared": listed([p for p, s in same.items() if s] or ["nothing"]),
               "differ": listed([p for p, s in same.items() if not s] or ["nothing"])}
    if cfg.encoder_weights == "digits":
        f = encoder_facts(cfg.backbone)
        phrases.update({f"enc_{k}": f"{f[k]:,}" for k in ("held_out_digits", "source_digits", "images", "iterations",
                                                          "batch")}, enc_accuracy=f"{f['held_out_accuracy']:.1%}",
                       enc_minutes=f"{f['seconds'] / 60:.0f}")
    return phrases


# ------------------------------------------------------------------ chapter 4: phase a
def short_config(partition: str = "1/8", **overrides):
    """The digits preset with a temporary out_dir and no checkpoint but the last (nothing lands in the repo)."""
    values = dict(out_dir=tempfile.mkdtemp(prefix="gpslib-book-"), checkpoint_every=10**9, amp=False, **overrides)
    return make_config("digits", partition, **values)


def recorded_teachers(histories: dict) -> pd.DataFrame:
    """Per partition, phase a of the recorded preset runs: E, iterations, T's val mIoU at its end (mean and range
    over seeds, %) and the fixed lr it trains with afterwards."""
    runs = [h for h in histories.values() if h.config.get("method") == "gps" and h.teacher_evals]
    rows = {}
    for part in sorted({h.config["partition"] for h in runs}, key=Fraction):
        seeds = [h for h in runs if h.config["partition"] == part]
        t = [100 * h.teacher_evals[-1]["miou_teacher"] for h in seeds]
        rows[part] = {"epochs E": seeds[0].config["epochs"],
                      "phase-a iterations": f"{seeds[0].meta['teacher_iters']:,}",
                      "T val mIoU (%)": f"{np.mean(t):.1f}", "seeds": len(t),
                      "lowest–highest": f"{min(t):.1f}–{max(t):.1f}" if len(t) > 1 else DASH,
                      "lr after phase a": f"{seeds[0].iterations[-1]['lr_teacher']:.2g}"}
    return pd.DataFrame(rows).T.rename_axis("partition")


def phase_a_facts(trainer, seconds: float, val_limit: int | None, floor: float = 0.05) -> tuple[dict[str, str], dict]:
    """This chapter's short phase a against the preset's, its teacher's val mIoU and IoUs, and which digits it
    segments (IoU above `floor`)."""
    cfg, names = trainer.cfg, trainer.data.class_names[1:]
    result = evaluate(trainer.nets["teacher"], trainer.data.val, cfg.num_classes, crop=cfg.crop_size, limit=val_limit)
    full = make_config("digits", cfg.partition).epochs * trainer.iters_per_epoch
    found, missed = [[n for n, iou in zip(names, result["iou"][1:]) if (iou > floor) == keep] for keep in (True, False)]
    return {"demo_iters": f"{trainer.teacher_iters}", "preset_iters": f"{full}", "partition": cfg.partition,
            "shorter": f"{full / max(1, trainer.teacher_iters):.1f}", "seconds": f"{seconds:.0f}",
            "device": str(trainer.rt.device), "demo_miou": f"{100 * result['miou']:.1f} %", "floor": f"{floor:.0%}",
            "val_images": f"{val_limit or len(trainer.data.val)}",
            "found": "no digit" if not found else "every digit" if not missed else
                     f"digits {listed(found)} and misses {listed(missed)}"}, result


# ------------------------------------------------------------------ chapter 5: the guide step
def make_batch(data, cfg, index: int = 0) -> gps.Batch:
    """A deterministic GPS batch (fixed augmentation seeds), with the training loop's CutMix boxes for `index`."""
    def stack(ds, n):
        items = [ds[((index * n + k) % len(ds), 1000 + index * n + k)] for k in range(n)]
        return torch.stack([a for a, _ in items]), torch.stack([b for _, b in items])

    x_l, y_l = stack(data.labeled, cfg.batch_labeled)
    x_u, y_hidden = stack(data.unlabeled, cfg.batch_unlabeled)
    batch = assemble(cfg, index, x_l, y_l, x_u)
    batch.hidden = y_hidden  # the unlabeled images' true masks: for the pictures only, never a target
    return batch


def _moved(before: dict, net) -> dict[str, float]:
    """Largest |change| of any parameter and of any floating batch-norm buffer since `before`."""
    after, params = net.state_dict(), {n for n, _ in net.named_parameters()}
    change = {n: float((after[n].float() - before[n].float()).abs().max()) for n in after
              if after[n].is_floating_point()}
    return {"parameters": max((v for n, v in change.items() if n in params), default=0.0),
            "BN buffers": max((v for n, v in change.items() if n not in params), default=0.0)}


def guide_step(nets: dict, optimizer: torch.optim.Optimizer, batch: gps.Batch, cfg) -> dict:
    """ONE guide step through the library's `gps.guide_objective`, then one step of the students' optimiser: the
    loss terms, the pseudo-labels it used (on the unmixed X^u, then mixed) and how far each network moved."""
    for net in nets.values():
        net.train()
    mode, t = cfg.pseudo_label_mode, nets["teacher"]
    labels = {"Y^t unmixed": losses.label_map(gps.predict_no_grad(t, batch.x_u, mode)),
              "Y^t": gps.pseudo_label(t, batch, mode), "Y^s1": gps.pseudo_label(nets["student1"], batch, mode),
              "Y^s2": gps.pseudo_label(nets["student2"], batch, mode)}
    before = {role: {k: v.detach().clone() for k, v in net.state_dict().items()} for role, net in nets.items()}
    loss, terms = gps.guide_objective(t, nets["student1"], nets["student2"], batch, cfg)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    weights = {"sup_s": (1.0, "supervised, eq. 4"), "gps": (cfg.alpha, "teacher's guide, eq. 5"),
               "cps": (cfg.beta, "cross, eq. 6")}
    table = [{"term": name, "value": float(terms[k].detach()), "weight": w, "weighted": w * float(terms[k].detach())}
             for k, (w, name) in weights.items() if k in terms]
    return {"terms": {k: float(v.detach()) for k, v in terms.items()}, "table": table, "labels": labels,
            "moved": {role: _moved(before[role], net) for role, net in nets.items()}}


def guide_table(step: dict) -> pd.DataFrame:
    """The terms of eq. 7 in one guide step, their weights and weighted sum ("–": the sum has no weight)."""
    table = pd.DataFrame(step["table"]).set_index("term")
    table.loc["sum, eq. 7"] = [step["terms"]["guide"], None, table["weighted"].sum()]
    return filled(table.round(3))


def guide_facts(step: dict, batch: gps.Batch) -> dict[str, str]:
    """The step's eq. 7 sum, the teacher's move (0) and its background share next to the hidden masks'."""
    moved = step["moved"]
    return {"guide": f"{step['terms']['guide']:.2f}", "teacher_moved": f"{max(moved['teacher'].values()):g}",
            "students_moved": f"{max(moved[r]['parameters'] for r in ('student1', 'student2')):.1e}",
            "background_t": f"{float((step['labels']['Y^t'] == 0).float().mean()):.0%}",
            "background_truth": f"{float((batch.hidden == 0).float().mean()):.0%}"}


# ------------------------------------------------------------------ chapter 6: feedback and ramp-up
def rampup_schedules(max_epochs: int, latch_epoch: int | None) -> pd.DataFrame:
    """w(e) per epoch e = 1..E for each `rampup` mode, from the real AdaptiveRampUp, which is fed losses that
    pass the latch test from the end of `latch_epoch` on."""
    rows = []
    for mode in ("adaptive", "fixed", "none"):
        ramp = losses.AdaptiveRampUp(max_epochs, mode=mode, check="epoch")
        for e in range(1, max_epochs + 1):
            rows.append({"epoch": e, "mode": mode, "w": ramp.weight(e), "r": ramp.r})
            caught_up = latch_epoch is not None and e >= latch_epoch   # the latch test passes from latch_epoch on
            ramp.observe(torch.tensor(1.0 if caught_up else 3.0), torch.tensor(1.0), e, e)
            ramp.end_epoch(e, e)
    return pd.DataFrame(rows)


def teacher_lr_table() -> pd.DataFrame:
    """The paper's fixed teacher lr after phase a, lr · (E · max_iter)^-0.9, for VOC 1/8 and the digits preset."""
    rows = {}
    for dataset in ("pascal", "digits"):
        cfg = make_config(dataset, "1/8")
        per_epoch = next(r for r in cost_table(dataset) if r["partition"] == "1/8")["iterations_per_epoch"]
        total, fixed = cfg.epochs * per_epoch, fixed_teacher_lr(cfg, cfg.epochs * per_epoch)
        rows[f"{dataset} 1/8"] = {"lr": cfg.lr, "epochs E": cfg.epochs, "iterations per epoch": per_epoch,
                                  "E × iterations": total, "teacher lr": fixed, "teacher lr / lr": fixed / cfg.lr,
                                  "in iterations at lr": fixed * total / cfg.lr}
    return pd.DataFrame(rows).map(lambda v: f"{v:.3g}" if isinstance(v, float) and v % 1 else f"{v:,.0f}")


def raised_epochs(history) -> list[int]:
    """The epochs in which the latch gave a larger w than the plain ramp-up (r = E) would have."""
    r, E = history.latch.get("latched_epoch"), history.config.get("epochs")
    return [e for e in range(r + 1, E + 1) if losses.gaussian_rampup(e, r) > losses.gaussian_rampup(e, E)] if r else []


def latch_losses(history) -> pd.DataFrame:
    """Per epoch of the main loop, the two sides of the latch test (mean Lˢ/2 and Lᵗ) and the mean w(e) used."""
    per_epoch = history.frame("iterations").groupby("epoch")[["sup_s", "sup_t", "w"]].mean()
    per_epoch["sup_s"] /= 2
    return per_epoch.rename(columns={"sup_s": "Lˢ/2", "sup_t": "Lᵗ", "w": "mean w"}).round(3)


def latch_table(histories: dict) -> pd.DataFrame:
    """Per GPS run with the adaptive ramp-up: E, the latch epoch, the epochs it raised w, the last epoch's test."""
    rows = {name: {"part.": h.config["partition"], "E": h.config["epochs"], "latched": h.latch.get("latched_epoch"),
                   "w raised": len(raised_epochs(h)), **latch_losses(h).iloc[-1, :2].add_suffix(" last").to_dict()}
            for name, h in histories.items()
            if h.config.get("method") == "gps" and h.config.get("rampup") == "adaptive" and h.iterations}
    return filled(pd.DataFrame(rows).T.rename_axis("run"))


def latch_facts(histories: dict, label: str) -> dict[str, str]:
    """How many adaptive GPS runs there are, how many latched before their last epoch, and in how many it raised w."""
    table = latch_table(histories).replace(DASH, np.inf)
    return {f"{label}_runs": f"{len(table)}", f"{label}_early": f"{int((table['latched'] < table['E']).sum())}",
            f"{label}_raised": f"{int((table['w raised'] > 0).sum())}"}


def teacher_lr_facts(histories: dict, frame: pd.DataFrame) -> dict[str, str]:
    """T's mean rise over the main loop under each recorded teacher lr, and the larger lr's effect on S1 (val),
    paired by seed with `evidence.gap`."""
    rise = {f"rise_{variant}": [100 * (h.final["miou_teacher"] - h.evals[0]["miou_teacher"]) for h in runs]
            for variant, runs in evidence.by_variant(histories).items()}
    s1 = evidence.gap(frame, ("teacher_lr", "larger"), ("teacher_lr", "literal"), "val")
    return {"rise_literal": DASH, "rise_larger": DASH, "s1_gap": f"{s1}", "s1_verdict": s1.verdict(),
            **{k: f"{np.mean(v):+.1f} points ({len(v)} seeds)" for k, v in rise.items()}}


EVAL_LABELS = {"miou_teacher": "T mIoU", "miou_student1": "S1 mIoU", "miou_student2": "S2 mIoU",
               "acc_teacher": "Yᵗ acc.", "acc_students": "Yˢ acc.", "agreement": "Yᵗ = Yˢ"}


def evals_table(history) -> pd.DataFrame:
    """Every evaluation of a run, in %: each network's val mIoU, the pixel accuracy of Yᵗ and of the students'
    averaged label Yˢ on unlabeled images, and how often the two agree."""
    frame = history.frame("evals").set_index("epoch")
    table = 100 * frame[[c for c in EVAL_LABELS if c in frame]]
    table.index = pd.Index([f"{e:g}" for e in table.index], name="epoch")
    return filled(table.rename(columns=EVAL_LABELS).round(1))
