"""What the book's chapters 2-6 and 12 compute, so that each notebook cell stays a call or two.

Every function here calls the library's real code (datasets, `gps.guide_objective`, `pseudo_label`,
`AdaptiveRampUp`, `fixed_teacher_lr`); nothing re-implements the paper's maths. Images come back as
uint8 HxWx3 arrays ready for `figures.image_grid`; sentences come back as Markdown for `say`, tables
as DataFrames that fit the text column, with "–" where there is no value.
"""
from __future__ import annotations

import copy
import inspect
import io
import re
import tempfile
import textwrap
import tokenize
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .. import losses, paths
from . import COLUMN_CHARS
from .claims import latch_text
from ..config import PAPER_PARTITIONS, make_config, preset
from ..cost import PAPER_TABLE1, cost_table
from ..data.cutmix import box_masks, mix
from ..data.palette import IGNORE, colorize, palette_for
from ..data.transforms import denormalize
from ..evaluate import PSEUDO_SEED, evaluate
from ..models import build_segmenter, count_parameters
from .tables import latch_losses
from ..train import gps
from ..train.batch import assemble
from ..train.schedule import fixed_teacher_lr


# ------------------------------------------------------------------ what every chapter shows
MISSING = "–"   # the book's mark for "no value" in a table cell


def filled(frame):
    """A table for the page: "–" where a cell has no value (never NaN, <NA> or None)."""
    return frame.astype(object).where(frame.notna(), MISSING)


def relative_paths(text: str, markdown: bool = False) -> str:
    """`text` with every absolute path below the project, the data or runs folder or the temporary folder
    written as `paths.shown` writes it, so an output never names the folders of the machine that ran it.
    For Markdown each path becomes code, or "<temporary folder>" would read as an HTML tag."""
    bases = {paths.REPO_ROOT, paths.DATA_DIR, paths.RUNS_DIR, Path(tempfile.gettempdir())}
    bases |= {base.resolve() for base in bases}
    for base in sorted(map(str, bases), key=len, reverse=True):     # the longest first: data/ inside the project
        text = re.sub(re.escape(base) + r"(?:/[\w.<>*{}-]+)*",
                      lambda m: _shown_path(m.group(0), markdown), text)
    return text


def _shown_path(path: str, markdown: bool) -> str:
    trail = path[len(path.rstrip(".")):]                           # a sentence's full stop is not the path's
    shown = paths.shown(path.rstrip("."))
    return (f"`{shown}`" if markdown else shown) + trail


def printable(text: str, width: int = COLUMN_CHARS) -> str:
    """A report such as `gpslib splits` prints it, its paths relative and every line within `width`: a long
    line wraps under the text that follows its "label:" column."""
    lines, keep = [], "<temporary\u00a0folder>"                        # never broken across lines
    for line in relative_paths(text).replace("<temporary folder>", keep).splitlines():
        label = re.match(r"\s*[\w ]+:\s+", line)
        indent = " " * (len(label.group(0)) if label and len(label.group(0)) < 20 else 4)
        lines += textwrap.wrap(line, width, subsequent_indent=indent, break_on_hyphens=False,
                               break_long_words=False) if len(line) > width else [line]
    return "\n".join(lines).replace(keep, "<temporary folder>")


def warnings_text(caught) -> str:
    """The warnings caught by `warnings.catch_warnings(record=True)`, each as one Markdown paragraph (its
    first line, paths relative, without a last clause that announces what followed it, such as "Pixel
    histogram:"), or "No warning."."""
    firsts = [re.sub(r"\s*[^.;:]*:$", "", str(w.message).splitlines()[0]) for w in caught]
    return "\n\n".join(f"**Warning**: {relative_paths(first, markdown=True)}" for first in firsts) or "No warning."


def source_markdown(*functions, width: int = COLUMN_CHARS) -> str:
    """The source of `functions` as a Markdown code block whose lines fit the page and stay valid Python:
    a trailing comment moves above its line, a long code line breaks after a comma inside brackets, a long
    docstring or comment line wraps at a space."""
    blocks = [_fit_source(textwrap.dedent(inspect.getsource(fn)), width).rstrip() for fn in functions]
    return "```python\n" + "\n\n".join(blocks) + "\n```"


def _fit_source(source: str, width: int) -> str:
    while True:
        lines = source.splitlines()
        fixed = next((fix for row, line in enumerate(lines) if len(line) > width
                      and (fix := _fit_line(source, row, width)) is not None), None)
        if fixed is None:
            return source
        row, new = fixed
        source = "\n".join(lines[:row] + new + lines[row + 1:]) + "\n"


def _fit_line(source: str, row: int, width: int) -> tuple[int, list[str]] | None:
    """One change that shortens line `row` (0-based) of `source`, or None when none is possible."""
    line = source.splitlines()[row]
    indent = line[:len(line) - len(line.lstrip())]
    tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    wrap = dict(width=width, break_long_words=False, break_on_hyphens=False)
    for tok in tokens:                                             # in a docstring: wrap its text
        first, last = tok.start[0] - 1, tok.end[0] - 1
        if tok.type == tokenize.STRING and tok.string.lstrip("rbuRBU")[:3] in ('"""', "'''") and (
                first < row <= last or (first == row and tok.start[1] == len(indent))):
            wrapped = textwrap.wrap(line.strip(), initial_indent=indent, subsequent_indent=indent, **wrap)
            return (row, wrapped) if len(wrapped) > 1 else None
    comment = next((t for t in tokens if t.type == tokenize.COMMENT and t.start[0] == row + 1), None)
    if comment and line[:comment.start[1]].strip():                # a trailing comment goes above its line
        return row, [indent + comment.string, line[:comment.start[1]].rstrip()]
    if comment:                                                    # a comment line: wrap it
        wrapped = textwrap.wrap(line.strip().lstrip("# "), initial_indent=indent + "# ",
                                subsequent_indent=indent + "# ", **wrap)
        return (row, wrapped) if len(wrapped) > 1 else None
    # Break inside brackets (still valid Python): the shallowest place first, after a comma rather than
    # before an operator, as far right as fits.
    opened, cuts = [], []
    for tok in tokens:
        if tok.start[0] > row + 1:
            break
        here = tok.start[0] == row + 1 and opened
        if here and tok.string in ("and", "or", "if", "else", "for", "+", "-", "*", "/", "==", "!=", "<", ">") \
                and len(indent) < tok.start[1] < width:
            cuts.append((len(opened), 1, -tok.start[1], tok.start[1], opened[-1]))
        if tok.type != tokenize.OP:
            continue
        if tok.string in "([{":
            opened.append(tok)
        elif tok.string in ")]}":
            opened.pop()
        elif tok.string == "," and here and tok.end[1] < width:
            cuts.append((len(opened), 0, -tok.end[1], tok.end[1], opened[-1]))
    cuts = [c for c in cuts if line[c[3]:].strip()]
    if not cuts:
        return None
    *_, at, bracket = min(cuts, key=lambda c: c[:3])
    rest = line[at:].strip()
    align = bracket.end[1] if bracket.start[0] == row + 1 else len(indent)
    if align + len(rest) > width and bracket.start[0] == row + 1:
        align = len(indent) + 8
    return row, [line[:at].rstrip(), " " * align + rest]


# ------------------------------------------------------------------ chapter 2: data
def scene_rows(dataset, indices, name: str = "digits") -> list[list[np.ndarray]]:
    """Two rows for `image_grid`: the raw images and their coloured masks (255 in VOC's near-white)."""
    pairs = [dataset.load(int(i)) for i in indices]
    palette = palette_for(name)
    return [[image for image, _ in pairs], [colorize(mask, palette) for _, mask in pairs]]


def augmentation_rows(dataset, index: int, seeds, name: str = "digits") -> list[list[np.ndarray]]:
    """The raw scene, then the training transform under each seed (`dataset[(i, seed)]`): images and masks."""
    palette = palette_for(name)
    image, mask = dataset.load(int(index))
    images, masks = [image], [colorize(mask, palette)]
    for seed in seeds:
        x, y = dataset[(int(index), int(seed))]
        images.append(denormalize(x))
        masks.append(colorize(y, palette))
    return [images, masks]


def cutmix_example(dataset, indices=(0, 1), seed: int = 0, crop_seed: int = 0, n_boxes: int = 3,
                   area=(0.25, 0.5), name: str = "digits") -> dict:
    """CutMix on a batch of unlabeled images: partner of image i is image i-1; boxes, mixed image and label.

    The label mixed here is the hidden ground truth, to show that labels are pasted with the same boxes.
    """
    items = [dataset[(int(i), crop_seed + k)] for k, i in enumerate(indices)]
    x = torch.stack([a for a, _ in items])
    y = torch.stack([b for _, b in items])
    boxes = box_masks(len(x), x.shape[-2], x.shape[-1], n_boxes, area, torch.Generator().manual_seed(seed))
    x_mix, y_mix = mix(x, boxes), mix(y, boxes)
    palette = palette_for(name)
    row = 0  # image 0 receives boxes from its partner, image -1 (the last of the batch)
    box_img = (boxes[row, 0].numpy()[..., None].repeat(3, -1) * 255).astype(np.uint8)
    return {"rows": [[denormalize(x[row]), denormalize(x[row - 1]), box_img, denormalize(x_mix[row])],
                     [colorize(y[row], palette), colorize(y[row - 1], palette), box_img,
                      colorize(y_mix[row], palette)]],
            "titles": ["image $i$", "partner $i-1$", "box mask", "mixed"],
            "covered": float(boxes[row].mean())}


def dataset_text(root, data) -> str:
    """What the generated digits dataset holds and how partition 1/8 splits it, as Markdown."""
    from ..data.digits import describe

    facts = describe(root).replace(str(root), f"`{paths.shown(root, paths.DATA_DIR)}`")
    return (f"{facts}\n\nAt 1/8: **{len(data.labeled)} labeled**, {len(data.unlabeled)} unlabeled and "
            f"{len(data.val)} val scenes.")


def partition_table(paper=("pascal", "cityscapes"), fractions=PAPER_PARTITIONS, digits=("1/8",)):
    """Labeled and unlabeled counts per dataset and fraction, and where the lists come from (CPS's shipped
    lists, or a split seeded by the run's seed)."""
    import pandas as pd

    from ..data.partitions import default_root, resolve_partition, shipped_dir

    rows = []
    for dataset, partition in [(d, f) for d in paper for f in fractions] + [("digits", f) for f in digits]:
        part = resolve_partition(dataset, default_root(dataset, None), partition, seed=0)
        folder = shipped_dir(dataset, partition)
        rows.append({"dataset": dataset, "partition": partition, "labeled": len(part.labeled),
                     "unlabeled": len(part.unlabeled),
                     "lists": f"CPS, {paths.shown(folder)}" if folder else "split seeded by the run's seed"})
    return pd.DataFrame(rows).set_index(["dataset", "partition"])


def table1_comparison(dataset: str):
    """Table 1 from the presets (`cost_table`), one row per partition, next to the numbers printed in the
    paper where it has them (VOC and Cityscapes)."""
    import pandas as pd

    rows = cost_table(dataset)
    paper_epoch, paper_total = PAPER_TABLE1.get(dataset, (None, None))
    frame = pd.DataFrame(rows)[["partition", "labeled", "unlabeled_per_epoch", "epochs", "iterations_per_epoch",
                                "unlabeled_total", "per_epoch", "total"]]
    if dataset in PAPER_TABLE1:
        frame["paper per epoch"], frame["paper total"] = paper_epoch, paper_total
    frame = frame.rename(columns={"per_epoch": "ours per epoch", "total": "ours total",
                                  "unlabeled_per_epoch": "unlabeled per epoch",
                                  "iterations_per_epoch": "iterations per epoch",
                                  "unlabeled_total": "unlabeled in total"})
    return filled(frame.set_index("partition"))


def table1_verdict(*datasets: str) -> str:
    """Whether the presets give every count of the paper's Table 1 (per epoch and in total), as Markdown."""
    rows, differ = 0, []
    for dataset in datasets:
        for partition, row in table1_comparison(dataset).iterrows():
            rows += 1
            if (row["ours per epoch"], row["ours total"]) != (row["paper per epoch"], row["paper total"]):
                differ.append(f"{dataset} {partition}")
    if differ:
        return f"**Refuted**: {len(differ)} of {rows} rows differ from the paper's Table 1 ({', '.join(differ)})."
    return (f"**Confirmed**: the presets give the paper's Table 1 counts, per epoch and in total, in all {rows} "
            f"rows ({' and '.join(datasets)}).")


# ------------------------------------------------------------------ chapter 3: networks
def parameter_table(backbones=("resnet18", "resnet50", "resnet101"), num_classes: int = 21,
                    decoder_channels: int = 256):
    """Parameters (millions) of encoder, decoder and head of DeepLabV3+ for each backbone (random init)."""
    import pandas as pd

    rows = []
    for name in backbones:
        counts = count_parameters(build_segmenter(name, num_classes, None, decoder_channels))
        rows.append({"backbone": name, **{k: counts[k] / 1e6 for k in counts},
                     "total": sum(counts.values()) / 1e6})
    return pd.DataFrame(rows).set_index("backbone").round(3)


def network_text(cfg) -> str:
    """The size of one network of a preset, and of the three GPS trains, as Markdown."""
    from ..models import build_networks

    counts = count_parameters(build_networks(cfg, ("teacher",))["teacher"])
    parts = ", ".join(f"{part} {n / 1e6:.2f} M" if n >= 1e4 else f"{part} {n:,}" for part, n in counts.items())
    return (f"The digits preset ({cfg.backbone}, {cfg.decoder_channels} decoder channels, {cfg.num_classes} "
            f"classes): {parts}; **{3 * sum(counts.values()) / 1e6:.1f} M parameters** for three networks.")


def encoder_text(cfg, nets: dict[str, nn.Module]) -> str:
    """How the digits encoder was pre-trained and whether T and S1 share it but not their heads, as Markdown."""
    from ..pretrain import encoder_facts

    facts = encoder_facts(cfg.backbone)
    student = nets["student1"].encoder.state_dict()
    shared = all(torch.equal(v, student[k]) for k, v in nets["teacher"].encoder.state_dict().items())
    heads_differ = not torch.equal(nets["teacher"].segmentation_head[0].weight,
                                   nets["student1"].segmentation_head[0].weight)
    return (f"The encoder classifies renders of {facts['held_out_digits']} held-out reserved digits with "
            f"**{facts['held_out_accuracy']:.1%} accuracy** (chance: 10%), after {facts['iterations']} "
            f"iterations of batch {facts['batch']} (AdamW, lr {facts['lr']}) on {facts['images']} renders of "
            f"{facts['source_digits']} reserved source digits ({facts['seconds'] / 60:.1f} min on a CPU). "
            f"T and S1 {'share' if shared else 'do not share'} this encoder start; their heads "
            f"{'differ' if heads_differ else 'are equal'}.")


def disagreement_table(diff: dict):
    """The fraction of pixels where two networks' argmax differ, from `init_differences`, as a table."""
    import pandas as pd

    return pd.Series(diff["disagreement"], name="pixels that differ").to_frame().round(3)


@torch.no_grad()
def init_differences(nets: dict[str, nn.Module], image: torch.Tensor) -> dict:
    """How T, S1, S2 differ at initialisation: a weight statistic per net and their predictions on one image.

    Returns `stats` (first encoder conv and head weights: mean and std; the class most predicted),
    `labels` (argmax maps, HxW) and `disagreement` (fraction of pixels where two nets' argmax differ).
    """
    labels, stats = {}, {}
    for role, net in nets.items():
        net.eval()
        logits = net(image[None])
        labels[role] = losses.label_map(logits)[0]
        conv1 = next(p for p in net.encoder.parameters() if p.dim() == 4)   # the first convolution, any encoder
        head = net.segmentation_head[0].weight
        stats[role] = {"conv1 mean": float(conv1.mean()), "conv1 std": float(conv1.std()),
                       "head mean": float(head.mean()), "head std": float(head.std()),
                       "most predicted class": int(labels[role].flatten().mode().values)}
    roles = list(nets)
    disagreement = {f"{a} vs {b}": float((labels[a] != labels[b]).float().mean())
                    for k, a in enumerate(roles) for b in roles[k + 1:]}
    return {"stats": stats, "labels": labels, "disagreement": disagreement}


# ------------------------------------------------------------------ chapters 4-6: a trainer in a temp dir
def short_config(partition: str = "1/8", **overrides):
    """The digits preset with a temporary out_dir and one checkpoint at most per phase (nothing in the repo)."""
    values = dict(out_dir=tempfile.mkdtemp(prefix="gpslib-book-"), checkpoint_every=10**9, amp=False)
    values.update(overrides)
    return make_config("digits", partition, **values)


def teacher_quality(trainer, n_images: int = 6, val_limit: int | None = 100, seed: int = PSEUDO_SEED) -> dict:
    """The teacher after phase a: val mIoU, and Y^t on a few unlabeled images next to their hidden masks."""
    cfg, teacher = trainer.cfg, trainer.nets["teacher"]
    result = evaluate(teacher, trainer.data.val, cfg.num_classes, crop=cfg.crop_size, limit=val_limit)
    palette = palette_for(cfg.dataset)
    images, preds, truths, acc = [], [], [], []
    for i in range(n_images):
        x, y = trainer.data.unlabeled[(i, seed + i)]
        y_t = losses.label_map(gps.predict_no_grad(teacher, x[None], cfg.pseudo_label_mode))[0]
        keep = y != IGNORE
        acc.append(float((y_t[keep] == y[keep]).float().mean()))
        images.append(denormalize(x))
        preds.append(colorize(y_t, palette))
        truths.append(colorize(y, palette))
    return {"miou": result["miou"], "iou": result["iou"], "rows": [images, preds, truths],
            "pixel_accuracy": acc, "val_images": val_limit or len(trainer.data.val)}


def phase_a_text(trainer, seconds: float) -> str:
    """How long this chapter's phase a was, next to the presets' lengths, as Markdown."""
    cfg = trainer.cfg
    digits = make_config("digits", cfg.partition).teacher_epochs
    return (f"This phase a: **{trainer.teacher_iters} iterations** (`teacher_epochs={cfg.teacher_epochs:g}`), "
            f"{seconds:.0f} s on {trainer.rt.device}. The presets' `teacher_epochs`: digits {digits:g} "
            f"({round(digits * trainer.iters_per_epoch)} iterations at {cfg.partition}), pascal "
            f"{make_config('pascal').teacher_epochs:g}, cityscapes {make_config('cityscapes').teacher_epochs:g}.")


def teacher_text(quality: dict, class_names: list[str], iterations: int, floor: float = 0.05) -> str:
    """The teacher's val mIoU after phase a and which digits it segments (IoU above `floor`), as Markdown."""
    digits = dict(zip(class_names[1:], quality["iou"][1:]))
    found = [name for name, iou in digits.items() if iou > floor]
    missed = [name for name in digits if name not in found]
    text = (f"After {iterations} phase-a iterations the teacher reaches **{100 * quality['miou']:.1f}% "
            f"mIoU** on {quality['val_images']} val scenes. ")
    if not found:
        return text + (f"It segments no digit: every digit's IoU is at most {floor:.0%}, so it predicts "
                       "background or noise. This phase a is too short; the preset's is longer.")
    if not missed:
        return text + f"It segments every digit (each IoU above {floor:.0%})."
    return text + (f"It segments digits {', '.join(found)} (IoU above {floor:.0%}) and still misses "
                   f"{', '.join(missed)}.")


def make_batch(data, cfg, index: int = 0) -> gps.Batch:
    """A deterministic GPS batch: labeled and unlabeled images `index*B ...`, augmented with fixed seeds."""
    def stack(ds, n):
        items = [ds[((index * n + k) % len(ds), 1000 + index * n + k)] for k in range(n)]
        return torch.stack([a for a, _ in items]), torch.stack([b for _, b in items])

    x_l, y_l = stack(data.labeled, cfg.batch_labeled)
    x_u, y_hidden = stack(data.unlabeled, cfg.batch_unlabeled)
    batch = assemble(cfg, index, x_l, y_l, x_u)     # the training loop's CutMix boxes for iteration `index`
    batch.hidden = y_hidden  # the unlabeled images' true masks: for the book's pictures only, never a target
    return batch


def _snapshot(net: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in net.state_dict().items()}


def _change(before: dict, net: nn.Module, params: bool) -> float:
    names = {n for n, _ in net.named_parameters()} if params else {n for n, _ in net.named_buffers()}
    after = net.state_dict()
    diffs = [float((after[n].float() - before[n].float()).abs().max()) for n in names if after[n].is_floating_point()]
    return max(diffs) if diffs else 0.0


def guide_step(nets: dict[str, nn.Module], optimizer: torch.optim.Optimizer, batch: gps.Batch, cfg) -> dict:
    """ONE guide step (eq. 3-7) through the library's own `gps.guide_objective`, then one student optimiser step.

    Returns the loss terms and their weights, the pseudo-labels the step used (Y^t and Y^{s_k}, computed on
    the unmixed X^u by `gps.pseudo_label`, then mixed), and how far each network's parameters and BN
    buffers moved (max |change|): the teacher's must not move at all.
    """
    t, s1, s2 = nets["teacher"], nets["student1"], nets["student2"]
    for net in (t, s1, s2):
        net.train()
    mode = cfg.pseudo_label_mode
    shown = {"Y^t unmixed": losses.label_map(gps.predict_no_grad(t, batch.x_u, mode)),
             "Y^t": gps.pseudo_label(t, batch, mode),
             "Y^s1": gps.pseudo_label(s1, batch, mode),
             "Y^s2": gps.pseudo_label(s2, batch, mode)}
    before = {role: _snapshot(net) for role, net in nets.items()}
    loss, terms = gps.guide_objective(t, s1, s2, batch, cfg)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    moved = {role: {"parameters": _change(before[role], net, True), "BN buffers": _change(before[role], net, False)}
             for role, net in nets.items()}
    weights = {"sup_s": 1.0, "gps": cfg.alpha, "cps": cfg.beta}
    table = [{"term": k, "value": float(terms[k].detach()), "weight": w, "contribution": w * float(terms[k].detach())}
             for k, w in weights.items() if k in terms]
    return {"terms": {k: float(v.detach()) for k, v in terms.items()}, "table": table, "labels": shown, "moved": moved}


def guide_table(step: dict):
    """The terms of eq. 7 in one guide step, their weights and weighted sum ("–": L_guide has no weight)."""
    import pandas as pd

    table = pd.DataFrame(step["table"]).set_index("term")
    table.loc["L_guide (eq. 7)"] = [step["terms"]["guide"], None, table["contribution"].sum()]
    return filled(table.round(4))


def background_text(step: dict, batch: gps.Batch) -> str:
    """How much of the step's Y^t says background, next to the hidden masks' share, as Markdown."""
    guide = float((step["labels"]["Y^t"] == 0).float().mean())
    text = f"The teacher's Y^t calls **{guide:.0%}** of this batch's pixels background"
    hidden = getattr(batch, "hidden", None)
    if hidden is None:
        return text + "."
    truth = float((hidden == 0).float().mean())
    return text + f"; the hidden masks, {truth:.0%}."


def guide_rows(batch: gps.Batch, labels: dict, k: int = 0, name: str = "digits") -> tuple[list, list[str]]:
    """One unlabeled image k of a guide step: inputs, CutMix and every pseudo-label, as image_grid rows."""
    palette = palette_for(name)
    x_mixed = batch.mixed(batch.x_u)
    hidden = getattr(batch, "hidden", None)
    box = np.zeros((*batch.x_u.shape[-2:], 3), np.uint8) if batch.boxes is None else \
        (batch.boxes[k, 0].numpy()[..., None].repeat(3, -1) * 255).astype(np.uint8)
    top = [denormalize(batch.x_u[k]), denormalize(batch.x_u[k - 1]), box, denormalize(x_mixed[k])]
    bottom = [colorize(labels["Y^t unmixed"][k], palette), colorize(labels["Y^t"][k], palette),
              colorize(labels["Y^s1"][k], palette), colorize(labels["Y^s2"][k], palette)]
    titles = ["$X^u_i$", "partner $X^u_{i-1}$", "box mask", "mixed input",
              "$Y^t$ (unmixed)", "$Y^t$ mixed", "$Y^{s_1}$ mixed", "$Y^{s_2}$ mixed"]
    rows = [top, bottom]
    if hidden is not None:
        rows.append([colorize(hidden[k], palette), colorize(batch.mixed(hidden)[k], palette)])
        titles += ["hidden truth", "hidden truth mixed", "", ""]
    return rows, titles


# ------------------------------------------------------------------ chapter 6: feedback and ramp-up
def rampup_schedules(max_epochs: int, latch_epoch: int | None):
    """w(e) per epoch e = 1..E for each `rampup` mode, from the real AdaptiveRampUp.

    For "adaptive" the latch is forced at the end of `latch_epoch` by feeding it losses that satisfy
    L_sup^s / 2 <= L_sup^t; before that it is fed losses that do not.
    """
    import pandas as pd

    rows = []
    for mode in ("adaptive", "fixed", "none"):
        ramp = losses.AdaptiveRampUp(max_epochs, mode=mode, check="epoch")
        for e in range(1, max_epochs + 1):
            rows.append({"epoch": e, "mode": mode, "w": ramp.weight(e), "r": ramp.r})
            caught_up = latch_epoch is not None and e >= latch_epoch
            sup_s = torch.tensor(1.0 if caught_up else 3.0)
            ramp.observe(sup_s, torch.tensor(1.0), e, e)
            ramp.end_epoch(e, e)
    return pd.DataFrame(rows)


def teacher_lr_examples() -> list[dict]:
    """The paper's fixed teacher lr after phase a, lr (E max_iter)^-0.9, for VOC 1/8 and the digits preset."""
    rows = []
    for dataset in ("pascal", "digits"):
        per_epoch = next(r for r in cost_table(dataset) if r["partition"] == "1/8")["iterations_per_epoch"]
        cfg = make_config(dataset, "1/8")
        max_iter = cfg.epochs * per_epoch
        fixed = fixed_teacher_lr(cfg, max_iter)
        rows.append({"dataset": dataset, "partition": "1/8", "lr": cfg.lr, "epochs E": cfg.epochs,
                     "iterations/epoch": per_epoch, "E x max_iter": max_iter, "teacher lr": fixed,
                     "teacher lr / lr": fixed / cfg.lr,
                     "teacher lr x all iterations": fixed * max_iter})
    return rows


def teacher_lr_table():
    """`teacher_lr_examples` as a table for the page: one column per dataset, numbers to 3 digits."""
    import pandas as pd

    frame = pd.DataFrame(teacher_lr_examples()).set_index("dataset").T
    return frame.map(lambda v: f"{v:.3g}" if isinstance(v, float) else v)


def latch_report(history) -> dict:
    """Where the latch fired in a run (from its History), with the per-epoch mean supervised losses; `text`
    says it in Markdown, with the teacher's lr after phase a."""
    latch = history.latch
    lr = history.iterations[0].get("lr_teacher") if history.iterations else None
    text = latch_text(history)
    if lr is not None:
        text += (f"\n\nThe teacher's lr after phase a was {lr:.2e} (lr × {history.meta['max_iter']}^-0.9): "
                 "a short run gives a far larger value than VOC 1/8's 7.3e-7.")
    return {"epoch": latch.get("latched_epoch"), "iteration": latch.get("latched_iteration"), "text": text,
            "per_epoch": latch_losses(history)}


# An evaluation's columns, as the page labels them: mIoU of each network and the pseudo-labels' pixel accuracy.
EVAL_LABELS = {"miou_teacher": "T mIoU", "miou_student1": "S1 mIoU", "miou_student2": "S2 mIoU",
               "acc_teacher": "Y^t acc.", "acc_students": "Y^s acc.", "agreement": "Y^t = Y^s"}


def evals_table(history):
    """Every evaluation of a run, in %: each network's val mIoU, the pixel accuracy of Y^t and of the
    students' averaged Y^s on unlabeled images, and how often the two agree (columns the run logged)."""
    frame = history.frame("evals").set_index("epoch")
    table = 100 * frame[[c for c in EVAL_LABELS if c in frame]]
    table.index = [f"{e:g}" for e in table.index]
    table.index.name = "epoch"
    return filled(table.rename(columns=EVAL_LABELS).round(1))


# latch_summary's columns, shortened so that the table fits the page.
LATCH_LABELS = {"partition": "part.", "latch epoch": "latched", "before the last epoch": "before E",
                "epochs w raised": "w raised", "last epoch: L^s_sup/2": "Ls/2 last", "last epoch: L^t_sup": "Lt last"}


def latch_table(histories):
    """claims.latch_summary with short column names, yes/no for the test and "–" where a run never latched."""
    from .claims import latch_summary

    table = latch_summary(histories)
    for column in table.columns[table.dtypes == bool]:
        table[column] = table[column].map({True: "yes", False: "no"})
    return filled(table.rename(columns=LATCH_LABELS))


def paper_epochs(dataset: str) -> dict[str, int]:
    """Epochs E per paper partition, from the presets."""
    return {p: preset(dataset, p)["epochs"] for p in PAPER_PARTITIONS}


def copy_nets(nets: dict[str, nn.Module]) -> dict[str, nn.Module]:
    """Deep copies, so a demonstration step leaves a trainer's networks untouched."""
    return {role: copy.deepcopy(net) for role, net in nets.items()}


# ------------------------------------------------------------------ chapter 12: a folder of one's own
def run_text(history) -> str:
    """What made a run, its wall time and where its labeled and unlabeled lists came from, as Markdown."""
    from .tables import describe_run

    return (f"{describe_run(history)}; {history.meta['wall_time_s']:.0f} s.\n\nThe lists: "
            f"{relative_paths(str(history.meta.get('partition_source')), markdown=True)}.")


def error_text(error: Exception) -> str:
    """An error as the reader should see it: its type in bold, then its message with relative paths."""
    return f"**{type(error).__name__}**: {relative_paths(str(error), markdown=True)}"
