"""Bring your own data: a plain folder of images and index masks, checked once and turned into datasets.

    <root>/images/<stem>.{jpg,jpeg,png,tif,tiff,bmp}
    <root>/masks/<stem>.png       class ids: an index PNG (mode L or P), or RGB drawn in the declared palette
    <root>/unlabeled/<stem>.*     optional: images without masks (ids "unlabeled/<stem>")
    <root>/classes.yaml           optional (or classes.json): names, ignore_index, palette, ignore_color
    <root>/val.txt                optional: stems of masked images that form the validation set

Choices, so that a user's tree behaves like the built-in datasets:

* Labeled = every image of images/ with a mask, minus validation. Unlabeled = the images of images/
  without a mask (a warning gives their count) plus unlabeled/. `labeled_file` and/or `unlabeled_file`
  (one id per line; unlabeled lines may also be image paths) replace either side; masked images that the
  labeled list leaves out then join the unlabeled set with their masks hidden, which also lets the run score
  its pseudo-labels. The `partition` fraction does not apply: make_config records it as 1 (every mask used).
* Validation = val.txt, else a hold-out of 20 % (at least one) of the masked images drawn with a fixed seed,
  the same for every run seed, so runs with different seeds are scored on the same images.
* Classes: `names` (or the palette's length) declare the count and a mask id beyond it is an error;
  without either, the count is the largest id found + 1. `ignore_index` is mapped to 255 through
  `Sample.lut`; it may not be a class id. RGB masks are converted through `palette` (row i = class i)
  and `ignore_color`.
* First use reads every mask once (sizes, ids, the pixel histogram) and warns when a declared class never
  occurs or the rarest class has under 0.1 % of the commonest one's pixels. The result is cached per process
  until a file in the tree changes.
"""
from __future__ import annotations

from pathlib import Path

from ..errors import GpslibError
from .dataset import DataBundle, Sample, bundle
from .palette import PALETTE
from .partitions import Partition, add_dagger, describe
from .scan import Tree, _line_id, _lines, histogram_text, read_list, scan


def _unlabeled_entries(tree: Tree, path: Path) -> dict[str, Path]:
    """An unlabeled list: ids of the tree, or image paths (absolute, or relative to the list or the root)."""
    found: dict[str, Path] = {}
    for line in _lines(path):
        id_ = _line_id(line)
        if id_ in tree.images:
            found[id_] = tree.images[id_]
            continue
        candidates = [Path(line).expanduser(), path.parent / line, tree.root / line]
        file = next((c for c in candidates if c.is_file()), None)
        if file is None:
            raise GpslibError(f"The list {path} names {line!r}, which is neither an image of {tree.root} "
                              f"(images/ or unlabeled/) nor an existing image file; fix the list.")
        found[line] = file
    return found


def _labeled_list(tree: Tree, labeled_file: Path) -> list[str]:
    """The ids of a user's labeled list, each checked to have a mask and not to be a validation image."""
    labeled = read_list(labeled_file)
    for id_ in labeled:
        if id_ not in tree.masks:
            what = f"masks/{id_}.png" if id_ in tree.images else f"images/{id_}.*"
            raise GpslibError(f"The list {labeled_file} names {id_!r} but {tree.root / what} does not exist; "
                              f"labeled images need an image and a mask.")
        if id_ in tree.val:
            raise GpslibError(f"The list {labeled_file} names {id_!r}, a validation image ({tree.val_source}); "
                              f"remove it, or write {tree.root / 'val.txt'} without it.")
    return labeled


def split(tree: Tree, labeled_file: str | Path | None = None, unlabeled_file: str | Path | None = None,
          dagger: bool = False) -> Partition:
    """Labeled, unlabeled and validation ids of the tree (see the module docstring for the rules)."""
    val = set(tree.val)
    paths = dict(tree.images)
    masked = sorted(i for i in tree.masks if i not in val)
    if labeled_file is not None:
        labeled = _labeled_list(tree, Path(labeled_file))
        rest = [i for i in masked if i not in set(labeled)]
        source = f"labeled list {labeled_file}"
    else:
        labeled, rest = masked, []
        source = f"every masked image of {tree.root} not used for validation"
    if unlabeled_file is not None:
        entries = _unlabeled_entries(tree, Path(unlabeled_file))
        clash = sorted(set(entries) & (val | set(labeled)))
        if clash:
            raise GpslibError(f"The list {unlabeled_file} names {clash[0]!r}, which is already a labeled or "
                              f"validation image; remove it (dagger=True adds labeled images to the unlabeled set).")
        paths.update(entries)
        unlabeled = list(entries)
        source += f"; unlabeled list {unlabeled_file}"
    else:
        unlabeled = rest + tree.maskless + tree.extra_unlabeled
        kinds = (("masked images the labeled list leaves out (masks hidden)", rest),
                 ("images without a mask in images/", tree.maskless), ("unlabeled/", tree.extra_unlabeled))
        source += "; unlabeled: " + (", ".join(kind for kind, ids in kinds if ids) or "none")
    if not labeled:
        raise GpslibError(f"No labeled images are left in {tree.root} after validation ({tree.val_source}); "
                          f"add masks or move some stems out of val.txt.")
    source += f"; validation: {tree.val_source}; the partition fraction does not apply to a folder"
    part = Partition(labeled, unlabeled, source, list(tree.val), paths)
    return add_dagger(part) if dagger else part


def tree_facts(root: str | Path | None, labeled_file=None, unlabeled_file=None, dagger: bool = False) -> dict:
    """What config.folder_preset needs to know about the tree: image sides, class count, split sizes."""
    tree = scan(root)
    parts = split(tree, labeled_file, unlabeled_file, dagger)
    return {"short_side": tree.short_side, "long_side": tree.long_side, "num_classes": tree.num_classes,
            "n_labeled": len(parts.labeled), "n_unlabeled": len(parts.unlabeled)}


def datasets(cfg, transforms) -> DataBundle:
    """Labeled, unlabeled and validation sets of cfg's folder tree, drawn in its classes file's colours."""
    tree = scan(cfg.data_root)
    parts = split(tree, cfg.labeled_file, cfg.unlabeled_file, cfg.dagger)
    if tree.max_label >= cfg.num_classes:
        raise GpslibError(f"Mask {tree.max_label_file} holds class id {tree.max_label} but num_classes is "
                          f"{cfg.num_classes}; raise num_classes to at least {tree.max_label + 1}.")
    if not parts.unlabeled and cfg.method != "supervised":
        raise GpslibError(f"The folder {tree.root} has no unlabeled images; put images without masks in "
                          f"{tree.root / 'unlabeled'} (or pass unlabeled_file), or train with method=supervised.")
    lut, palette = tree.classes.lut, tree.classes.palette

    samples = {split: [Sample(i, parts.paths[i], tree.masks.get(i), lut, palette) for i in ids]
               for split, ids in (("labeled", parts.labeled), ("unlabeled", parts.unlabeled), ("val", parts.val))}
    return bundle(samples, Partition(parts.labeled, parts.unlabeled, parts.source), transforms, cfg,
                  tree.class_names(cfg.num_classes), PALETTE if palette is None else palette,
                  {"val": tree.val_source, "train": str(tree.root)})


def summary(root: str | Path, labeled_file=None, unlabeled_file=None, dagger: bool = False) -> str:
    """Counts, classes and the pixel histogram of a folder tree, for `gpslib splits` and the book."""
    tree = scan(root)
    parts = split(tree, labeled_file, unlabeled_file, dagger)
    classes = tree.classes
    declared = f"from {classes.source}" if classes.declared is not None else "largest mask id + 1"
    return describe(parts, f"folder dataset {tree.root}", (
        f"images:    median {tree.short_side}x{tree.long_side} px (short x long side)",
        f"classes:   {tree.num_classes} ({declared}); ignore index {classes.ignore_index}"
        + ("; RGB masks are converted with the declared palette" if classes.colours is not None else ""),
        histogram_text(tree)))
