"""Loaders on fixture trees in the real on-disk formats, the generated digits, and every user-error message."""
import json
import os

import numpy as np
import pytest
import torch
from PIL import Image

from gpslib import make_config
from gpslib.data import build_datasets
from gpslib.data.digits import describe, ensure_digits
from gpslib.data.palette import PALETTE, VOC_CLASSES, class_names, colorize
from gpslib.errors import GpslibError

from conftest import CITY_TRAIN, CITY_VAL, VOC_TRAIN, VOC_VAL, write_lists


def _bundle(dataset, root, tmp_path, labeled=VOC_TRAIN[:2], unlabeled=VOC_TRAIN[2:], **kw):
    lab, unl = write_lists(tmp_path / "lists", labeled, unlabeled)
    cfg = make_config(dataset, "1/8", data_root=str(root), labeled_file=str(lab), unlabeled_file=str(unl),
                      crop_size=16, **kw)
    return build_datasets(cfg)


def _check_item(item, num_classes, shape=None):
    image, mask = item
    assert image.dtype == torch.float32 and image.shape[0] == 3
    assert mask.dtype == torch.int64 and mask.shape == image.shape[1:]
    values = set(mask.unique().tolist())
    assert values <= set(range(num_classes)) | {255}
    if shape is not None:
        assert tuple(mask.shape) == shape


# ---------------------------------------------------------------- VOC
@pytest.mark.parametrize("fixture", ["voc_aug", "voc_palette"])
def test_voc_layouts(fixture, request, tmp_path):
    root = request.getfixturevalue(fixture)
    bundle = _bundle("pascal", root, tmp_path)
    assert (len(bundle.labeled), len(bundle.unlabeled), len(bundle.val)) == (2, 6, 2)
    assert bundle.num_classes == 21 and bundle.class_names == VOC_CLASSES
    _check_item(bundle.labeled[0], 21, (16, 16))
    _check_item(bundle.unlabeled[(1, 5)], 21, (16, 16))  # the hidden mask comes with it
    image, mask = bundle.val[0]
    folder = "SegmentationClassAug" if fixture == "voc_aug" else "SegmentationClass"
    stored = np.array(Image.open(root / folder / f"{VOC_VAL[0]}.png"))  # indices, for 'L' and 'P' alike
    assert np.array_equal(mask.numpy(), stored)
    assert set(np.unique(stored)) == {0, 1, 5, 20, 255}


def test_voc_user_lists_with_dagger(voc_aug, tmp_path):
    bundle = _bundle("pascal", voc_aug, tmp_path, dagger=True)
    assert len(bundle.labeled) == 2 and len(bundle.unlabeled) == 8
    assert set(bundle.labeled.ids) <= set(bundle.unlabeled.ids)


# ---------------------------------------------------------------- Cityscapes
def test_cityscapes_train_ids(city_train_ids, tmp_path):
    bundle = _bundle("cityscapes", city_train_ids, tmp_path, CITY_TRAIN[:2], CITY_TRAIN[2:])
    assert (len(bundle.labeled), len(bundle.unlabeled), len(bundle.val)) == (2, 6, 2)
    assert bundle.num_classes == 19 and bundle.class_names[13] == "car"
    _check_item(bundle.labeled[0], 19, (16, 16))
    assert sorted(bundle.val.ids) == sorted(CITY_VAL)
    _, mask = bundle.val[0]
    stored = np.array(Image.open(city_train_ids / "gtFine/val/frankfurt/frankfurt_000000_000294_gtFine_labelTrainIds.png"))
    assert np.array_equal(mask.numpy(), stored)


def test_cityscapes_label_ids_are_mapped(city_label_ids, tmp_path):
    bundle = _bundle("cityscapes", city_label_ids, tmp_path, CITY_TRAIN[:2], CITY_TRAIN[2:])
    _, mask = bundle.val[0]
    raw = np.array(Image.open(city_label_ids / "gtFine/val/frankfurt/frankfurt_000000_000294_gtFine_labelIds.png"))
    mask = mask.numpy()
    assert (mask[raw == 7] == 0).all()      # road
    assert (mask[raw == 26] == 13).all()    # car
    assert (mask[raw == 33] == 18).all()    # bicycle
    assert (mask[raw == 0] == 255).all()    # unlabeled
    assert (mask[raw == 4] == 255).all()    # static
    assert (raw == 26).any() and (raw == 0).any()


# ---------------------------------------------------------------- digits
def test_digits_layout(tiny_digits):
    root = tiny_digits
    train = (root / "ImageSets/Segmentation/train.txt").read_text().split()
    val = (root / "ImageSets/Segmentation/val.txt").read_text().split()
    assert len(train) == 40 and len(val) == 10 and not set(train) & set(val)
    assert (root / ".complete").is_file()
    for id_ in train[:3] + val[:3]:
        image = Image.open(root / "JPEGImages" / f"{id_}.jpg")
        mask = Image.open(root / "SegmentationClass" / f"{id_}.png")
        assert image.mode == "RGB" and image.size == (64, 64)
        assert mask.mode == "P" and mask.size == (64, 64)
        assert np.array_equal(np.array(mask.getpalette(), dtype=np.uint8).reshape(-1, 3)[:21], PALETTE[:21])
    assert "40 train, 10 val and 10 test scenes" in describe(root)


def test_digits_masks_and_ignore_band(tiny_digits):
    manifest = json.loads((tiny_digits / "digits.json").read_text())
    band_pixels, touching = 0, 0
    for id_, placements in manifest["scenes"].items():
        mask = np.array(Image.open(tiny_digits / "SegmentationClass" / f"{id_}.png"))
        assert set(np.unique(mask)) <= set(range(11)) | {255}
        assert (mask == 0).any()
        # the class of the digit drawn last appears in its mask (digit d -> class d + 1)
        assert (mask == placements[-1][1] + 1).any()
        ignore = mask == 255
        band_pixels += ignore.sum()
        # ignore pixels touch digit pixels: a 1-pixel band around digits (a later digit's band may
        # cover an earlier digit's edge, so a few touch only other band pixels)
        digit = (mask >= 1) & (mask <= 10)
        padded = np.pad(digit, 1)
        near = np.zeros_like(digit)
        for dy in range(3):
            for dx in range(3):
                near |= padded[dy:dy + 64, dx:dx + 64]
        touching += near[ignore].sum()
        assert ignore.sum() < 0.25 * mask.size  # thin: a band, not a region
    assert band_pixels > 0 and touching / band_pixels > 0.97


def test_digits_sources_disjoint(tiny_digits):
    manifest = json.loads((tiny_digits / "digits.json").read_text())
    train_pool, val_pool, reserved = (set(manifest["source_digits"][k]) for k in ("train", "val", "pretrain"))
    assert len(train_pool) + len(val_pool) + len(reserved) == len(train_pool | val_pool | reserved) == 1797
    for id_, placements in manifest["scenes"].items():
        pool = train_pool if id_.startswith("train") else val_pool
        assert 1 <= len(placements) <= 2
        assert all(p[0] in pool for p in placements)


def _tree_bytes(root):
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
            and p.name != ".lock"}


def test_digits_deterministic(tmp_path):
    a = _tree_bytes(ensure_digits(tmp_path / "a", seed=3, n_train=6, n_val=2, n_test=2))
    b = _tree_bytes(ensure_digits(tmp_path / "b", seed=3, n_train=6, n_val=2, n_test=2))
    c = _tree_bytes(ensure_digits(tmp_path / "c", seed=4, n_train=6, n_val=2, n_test=2))
    assert a == b
    assert a["JPEGImages/train_00000.jpg"] != c["JPEGImages/train_00000.jpg"]


def test_digits_regenerated_only_when_incomplete(tmp_path):
    root = ensure_digits(tmp_path / "d", n_train=4, n_val=2, n_test=2)
    image = root / "JPEGImages/train_00001.jpg"
    good = image.read_bytes()
    image.write_bytes(b"half-written")
    ensure_digits(root, n_train=4, n_val=2, n_test=2)
    assert image.read_bytes() == b"half-written"  # complete marker present: nothing is redone
    os.remove(root / ".complete")                 # as if generation had been interrupted
    ensure_digits(root, n_train=4, n_val=2, n_test=2)
    assert image.read_bytes() == good


def test_digits_bundle_and_seeded_items(tiny_digits):
    cfg = make_config("digits", "1/4", data_root=str(tiny_digits), crop_size=32, seed=0)
    bundle = build_datasets(cfg)
    assert (len(bundle.labeled), len(bundle.unlabeled), len(bundle.val)) == (10, 30, 10)
    assert bundle.class_names[0] == "background" and bundle.class_names[4] == "3"
    _check_item(bundle.val[0], 11, (64, 64))
    first, again = bundle.unlabeled[(2, 123)], bundle.unlabeled[(2, 123)]
    assert torch.equal(first[0], again[0]) and torch.equal(first[1], again[1])
    others = [bundle.unlabeled[(2, s)][0] for s in range(1, 6)]
    assert any(not torch.equal(first[0], o) for o in others)
    torch.manual_seed(0)
    state = torch.get_rng_state()
    bundle.labeled[(0, 9)]
    assert torch.equal(state, torch.get_rng_state())  # a seeded item leaves the global RNG alone
    _check_item(bundle.labeled[0], 11, (32, 32))


def test_digits_default_root_is_generated(tmp_path, monkeypatch):
    from gpslib import paths
    monkeypatch.setattr(paths, "DATA_DIR", tmp_path / "data")
    root = tmp_path / "data" / "digits"
    ensure_digits(root, n_train=8, n_val=2, n_test=2)  # keep the test fast: pre-generate small, then build on it
    bundle = build_datasets(make_config("digits", "1/2", crop_size=32))
    assert len(bundle.labeled) == 4 and paths.data_root("digits", None) == root


def test_palette():
    assert PALETTE.shape == (256, 3) and PALETTE.dtype == np.uint8
    assert tuple(PALETTE[1]) == (128, 0, 0) and tuple(PALETTE[15]) == (192, 128, 128)
    assert PALETTE[255].min() >= 192
    image = colorize(torch.tensor([[0, 1], [255, 15]]))
    assert image.shape == (2, 2, 3) and tuple(image[1, 1]) == (192, 128, 128)
    assert len(class_names("pascal")) == 21 and len(class_names("cityscapes")) == 19
    assert class_names("digits")[1:] == [str(d) for d in range(10)]


# ---------------------------------------------------------------- errors
def test_missing_root(tmp_path):
    for dataset in ("pascal", "cityscapes"):
        cfg = make_config(dataset, "1/8", data_root=str(tmp_path / "nowhere"))
        with pytest.raises(GpslibError, match="nowhere.*data/README.md"):
            build_datasets(cfg)


def test_missing_image(voc_aug, tmp_path):
    os.remove(voc_aug / "JPEGImages" / f"{VOC_TRAIN[1]}.jpg")
    with pytest.raises(GpslibError, match=f"{VOC_TRAIN[1]}.jpg"):
        _bundle("pascal", voc_aug, tmp_path)


def test_missing_mask(city_train_ids, tmp_path):
    os.remove(city_train_ids / "gtFine/train/jena" / f"{CITY_TRAIN[3]}_gtFine_labelTrainIds.png")
    with pytest.raises(GpslibError, match=f"{CITY_TRAIN[3]}_gtFine_labelTrainIds.png"):
        _bundle("cityscapes", city_train_ids, tmp_path, CITY_TRAIN[:2], CITY_TRAIN[2:])


def test_corrupt_image(voc_aug, tmp_path):
    (voc_aug / "JPEGImages" / f"{VOC_TRAIN[0]}.jpg").write_bytes(b"not a jpeg at all")
    bundle = _bundle("pascal", voc_aug, tmp_path)
    with pytest.raises(GpslibError, match=f"{VOC_TRAIN[0]}.jpg"):
        bundle.labeled[0]


def test_mask_size_mismatch(voc_aug, tmp_path):
    Image.new("L", (10, 10)).save(voc_aug / "SegmentationClassAug" / f"{VOC_TRAIN[0]}.png")
    bundle = _bundle("pascal", voc_aug, tmp_path)
    with pytest.raises(GpslibError, match=f"{VOC_TRAIN[0]}.png"):
        bundle.labeled[0]


def test_labels_out_of_range(voc_aug, tmp_path):
    Image.new("L", (32, 24), color=40).save(voc_aug / "SegmentationClassAug" / f"{VOC_TRAIN[0]}.png")
    bundle = _bundle("pascal", voc_aug, tmp_path)
    with pytest.raises(GpslibError, match=f"{VOC_TRAIN[0]}.png.*40"):
        bundle.labeled[0]


def test_rgb_mask_in_voc_colours_is_converted_and_other_colours_rejected(voc_aug, tmp_path):
    index = np.zeros((24, 32), dtype=np.uint8)
    index[2:10, 3:12], index[12:20, 5:9], index[0, :] = 15, 7, 255
    Image.fromarray(PALETTE[index]).save(voc_aug / "SegmentationClassAug" / f"{VOC_TRAIN[0]}.png")
    bundle = _bundle("pascal", voc_aug, tmp_path)
    assert np.array_equal(bundle.labeled.load(0)[1], index)
    rgb = PALETTE[index].copy()
    rgb[5, 5] = (1, 2, 3)
    Image.fromarray(rgb).save(voc_aug / "SegmentationClassAug" / f"{VOC_TRAIN[0]}.png")
    with pytest.raises(GpslibError, match=rf"{VOC_TRAIN[0]}.png.*\(1, 2, 3\).*index PNGs"):
        bundle.labeled[0]


def test_shipped_list_on_small_tree_names_missing_file(voc_aug):
    cfg = make_config("pascal", "1/8", data_root=str(voc_aug))
    with pytest.raises(GpslibError, match=r"2007_000032\.jpg.*shipped"):
        build_datasets(cfg)


def test_user_list_with_absent_id(voc_aug, tmp_path):
    with pytest.raises(GpslibError, match="unlabeled.txt"):
        _bundle("pascal", voc_aug, tmp_path, VOC_TRAIN[:2], ["2010_123456"])


def test_wrong_partition_string(tiny_digits):
    with pytest.raises(GpslibError, match="abc"):
        make_config("digits", "abc", data_root=str(tiny_digits))
