"""Chapter 12's ("Your own data") tables, phrases and figures, one call per cell, so its argument stays in prose."""
import re
import shutil
import tempfile
import textwrap
import warnings
from pathlib import Path

import pandas as pd

from ..config import (FOLDER_ITERATIONS, FOLDER_LARGE_CROP, FOLDER_MAX_CROP, FOLDER_SMALL, Config, field_help,
                      folder_preset)
from ..errors import GpslibError
from ..history import History
from ..paths import RESULTS_DIR
from . import COLUMN_CHARS
from ..report.text import per_class_table

PRESET_RUN = RESULTS_DIR / "folder" / "preset.json"   # the preset's own command on the chapter's tree
FIELDS = ("num_classes", "crop_size", "batch_labeled", "batch_unlabeled", "epochs", "teacher_epochs", "backbone",
          "decoder_channels", "encoder_weights", "optimizer", "lr", "beta", "scales", "hflip", "cutmix")


def hide_folders(text: str, root) -> str:
    """`text` without this machine's folders: the tree's files as `my_data/...`."""
    return text.replace(str(Path(root).resolve().parent) + "/", "")


def checks(root, width: int = COLUMN_CHARS) -> str:
    """The first use's report (as `gpslib splits` prints it) in a code block that fits the page, then the warnings."""
    from ..data.folder import summary
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        report = summary(root)
    lines = [textwrap.fill(line, width, break_on_hyphens=False,     # a long "label: text" line wraps under its text
                           subsequent_indent=" " * len((re.match(r"[\w ]+:\s+", line) or ["    "])[0]))
             for line in hide_folders(report, root).splitlines()]
    said = [hide_folders(str(w.message).splitlines()[0].removesuffix(" Pixel histogram:"), root) for w in caught]
    return "\n\n".join(["```text\n" + "\n".join(lines) + "\n```", *(f"**Warning**: {s}" for s in said)])


def damaged_check(root, damage) -> str:
    """What the first-use check says of a copy of the tree that `damage` edits: the error's type and sentence."""
    from ..data.folder import summary
    with tempfile.TemporaryDirectory(prefix="gpslib-damaged-") as tmp:
        damage(copy := Path(shutil.copytree(root, Path(tmp) / Path(root).name)))
        try:
            summary(copy)
        except GpslibError as err:
            return f"**{type(err).__name__}**: {hide_folders(str(err), copy)}"
    return "The check found nothing wrong."


def tree_figure(data, n: int, rgb: int):
    """The first n labeled images and their masks as gpslib loads them (the first `rgb` masks were RGB)."""
    from ..data.palette import colorize
    from ..report.figures import image_grid
    pairs = [data.labeled.load(i) for i in range(min(n, len(data.labeled)))]
    return image_grid([[im for im, _ in pairs], [colorize(m, data.palette) for _, m in pairs]],
                      row_labels=["image", "mask"], titles=data.labeled.ids[:len(pairs)],
                      title=f"The first {len(pairs)} labeled images of the exported tree and their masks as loaded: "
                            f"the first {min(rgb, len(pairs))} masks were RGB, converted by classes.yaml's palette",
                      classes=data.class_names, palette=data.palette)


def _value(v) -> str:
    return ", ".join(map(_value, v)) if isinstance(v, tuple) else f"{v:g}" if isinstance(v, float) else str(v).lower()


def preset_table(configs: dict) -> str:
    """The fields the folder preset sets, one column per config, with each field's meaning from --help."""
    frame = pd.DataFrame({name: [f"`{_value(getattr(cfg, f))}`" for f in FIELDS] for name, cfg in configs.items()},
                         index=pd.Index([f"`{f}`" for f in FIELDS], name="field"))
    frame["meaning"] = [h.rsplit("; ", 2)[0] for h in map(field_help().get, FIELDS)]   # less its type and default
    return frame.to_markdown()


def preset_rules() -> dict[str, str]:
    """The folder preset's rules as phrases, read from gpslib/config.py, so the prose states its true numbers."""
    nets = {name: Config(**folder_preset(side, side, 11, 200, 400)) for name, side in
            (("small_network", 64), ("large_network", FOLDER_MAX_CROP))}
    return {"max_crop": str(FOLDER_MAX_CROP), "large_crop": str(FOLDER_LARGE_CROP), "budget_rule": "from {:,} "
            "iterations for small images to {:,} at {} px".format(*FOLDER_ITERATIONS, FOLDER_MAX_CROP),
            **{name: ", ".join(f"{f} `{_value(getattr(cfg, f))}`" for f in FIELDS[6:] if f in FOLDER_SMALL)
               for name, cfg in nets.items()}}


def iou_table(history: History, names) -> str:
    return per_class_table(history, names).round(1).rename_axis("class").to_markdown(floatfmt=".1f")


def recorded_text(history: History) -> str:
    """The recorded run's tree and command, read from its meta."""
    command = " \\\n".join(textwrap.wrap(history.meta["command"], 60, subsequent_indent="    ", break_on_hyphens=False))
    t = history.meta["tree"]
    return (f"{t['n_labeled']} labeled, {t['n_unlabeled']} unlabeled and {t['n_val']} validation scenes, exported "
            f"as above into `my_data`, then, in the folder that holds it:\n\n```bash\n{command}\n```")
