"""The `folder` dataset on tiny trees built here: split rules, classes, presets, a short run and every error."""
import json
import math
import subprocess
import sys
import warnings

import numpy as np
import pytest
import yaml
from PIL import Image

from gpslib.cli import main
from gpslib.config import folder_preset, make_config, preset
from gpslib.parameters import configure
from gpslib.data import build_datasets
from gpslib.data.digits import export_digits_as_folder
from gpslib.data.folder import split, summary
from gpslib.data.scan import scan
from gpslib.errors import GpslibError
from gpslib.train import train

SIZE = (24, 32)                      # height, width
NAMES = ["background", "cat", "dog"]
COLOURS = [[0, 0, 0], [200, 30, 30], [30, 200, 30]]


def _mask(rng, values=(0, 1, 2, 255)):
    mask = rng.choice(np.asarray(values, dtype=np.uint8), size=SIZE)
    mask[0, : len(values)] = values  # every value occurs in every mask
    return mask


def write_tree(root, n_masked=6, n_maskless=0, n_unlabeled=3, classes=True, val=None, rgb=0, seed=0):
    """images/m*.jpg with masks/m*.png (the first `rgb` as RGB), images/n*.png without, unlabeled/u*.jpg."""
    rng = np.random.default_rng(seed)
    for folder in ("images", "masks", "unlabeled"):
        (root / folder).mkdir(parents=True, exist_ok=True)

    def image():
        return Image.fromarray(rng.integers(0, 256, (*SIZE, 3), dtype=np.uint8))

    for i in range(n_masked):
        image().save(root / "images" / f"m{i}.jpg")
        mask = _mask(rng)
        if i < rgb:
            table = np.zeros((256, 3), np.uint8)
            table[:3], table[255] = COLOURS, (255, 255, 255)
            Image.fromarray(table[mask]).save(root / "masks" / f"m{i}.png")
        else:
            Image.fromarray(mask, mode="L").save(root / "masks" / f"m{i}.png")
    for i in range(n_maskless):
        image().save(root / "images" / f"n{i}.png")
    for i in range(n_unlabeled):
        image().save(root / "unlabeled" / f"u{i}.jpg")
    if classes:
        content = {"names": NAMES, "palette": COLOURS, "ignore_color": [255, 255, 255]}
        content = classes if isinstance(classes, dict) else content
        (root / "classes.yaml").write_text(yaml.safe_dump(content))
    if val is not None:
        (root / "val.txt").write_text("\n".join(val) + "\n")
    return root


def _stored(path):
    return np.array(Image.open(path))


# ---------------------------------------------------------------- the happy path
def test_split_counts_classes_and_mask_less_images(tmp_path):
    root = write_tree(tmp_path / "tree", n_masked=6, n_maskless=2, n_unlabeled=3)
    with pytest.warns(UserWarning, match=r"2 image\(s\) in .*images have no mask"):
        cfg = configure("folder", data_root=str(root), crop_size=16)
    assert cfg.partition == "1" and cfg.num_classes == 3 and cfg.run_name == "folder-tree-gps-seed0"
    data = build_datasets(cfg)
    assert (len(data.labeled), len(data.unlabeled), len(data.val)) == (5, 5, 1)   # hold-out: 20 % of 6 -> 1
    assert data.class_names == NAMES and data.num_classes == 3
    assert sorted(data.unlabeled.ids) == ["n0", "n1", "unlabeled/u0", "unlabeled/u1", "unlabeled/u2"]
    assert set(data.labeled.ids) | set(data.val.ids) == {f"m{i}" for i in range(6)}
    assert not set(data.labeled.ids) & set(data.val.ids)
    image, mask = data.labeled[(0, 1)]
    assert image.shape == (3, 16, 16) and set(mask.unique().tolist()) <= {0, 1, 2, 255}
    _, hidden = data.unlabeled[0]
    assert (hidden == 255).all()                          # no mask: every pixel reads as ignore
    image, mask = data.val[0]
    assert tuple(mask.shape) == SIZE
    assert np.array_equal(mask.numpy(), _stored(root / "masks" / f"{data.val.ids[0]}.png"))
    assert "the partition fraction does not apply" in data.partition.source


def test_val_txt_and_a_holdout_that_ignores_the_run_seed(tmp_path):
    listed = write_tree(tmp_path / "listed", n_masked=6, val=["m4", "m1.jpg"])
    tree = scan(listed)
    assert tree.val == ["m4", "m1"] and "val.txt" in tree.val_source
    assert split(tree).labeled == ["m0", "m2", "m3", "m5"]
    held = write_tree(tmp_path / "held", n_masked=10)
    first = build_datasets(configure("folder", data_root=str(held), crop_size=16, seed=0)).val.ids
    again = build_datasets(configure("folder", data_root=str(held), crop_size=16, seed=5)).val.ids
    assert first == again and len(first) == 2             # 20 % of 10, the same for every run seed


def _load(data, id_):
    """The raw (image, mask) of id_, from whichever set holds it."""
    for dataset in (data.labeled, data.unlabeled, data.val):
        if id_ in dataset.ids:
            return dataset.load(dataset.ids.index(id_))
    raise AssertionError(id_)


def test_ignore_index_is_mapped_to_255(tmp_path):
    root = write_tree(tmp_path / "tree", classes={"names": NAMES, "ignore_index": 9})
    mask = _stored(root / "masks" / "m0.png").copy()
    mask[mask == 255] = 9
    Image.fromarray(mask, mode="L").save(root / "masks" / "m0.png")
    data = build_datasets(configure("folder", data_root=str(root), crop_size=16))
    loaded = _load(data, "m0")[1]
    assert 9 not in loaded and np.array_equal(loaded == 255, mask == 9)
    assert np.array_equal(loaded[mask != 9], mask[mask != 9])


def test_rgb_masks_are_converted_through_the_palette(tmp_path):
    root = write_tree(tmp_path / "tree", n_masked=4, rgb=2, val=["m3"])
    assert Image.open(root / "masks" / "m0.png").mode == "RGB"
    data = build_datasets(configure("folder", data_root=str(root), crop_size=16))
    for id_ in ("m0", "m1"):
        _, ids = _load(data, id_)
        colours = _stored(root / "masks" / f"{id_}.png")
        assert ids.ndim == 2 and set(np.unique(ids)) == {0, 1, 2, 255}
        assert (colours[ids == 1] == COLOURS[1]).all() and (colours[ids == 255] == 255).all()


def test_class_count_without_classes_yaml_is_the_largest_id_plus_one(tmp_path):
    root = write_tree(tmp_path / "tree", classes=False)
    tree = scan(root)
    assert tree.num_classes == 3 and tree.class_names() == ["class 0", "class 1", "class 2"]
    assert tree.histogram.sum() + tree.ignored == 6 * SIZE[0] * SIZE[1]
    assert "from" not in summary(root).split("classes:")[1].splitlines()[0]


def test_unbalanced_classes_warn_with_the_histogram(tmp_path):
    root = write_tree(tmp_path / "tree", classes={"names": NAMES + ["bird"]})
    with pytest.warns(UserWarning, match=r"(?s)3 \(bird\) never occur.*Pixel histogram.*bird\s+0\s"):
        tree = scan(root)
    assert tree.num_classes == 4 and tree.histogram[3] == 0


def test_label_lists_hide_masks_and_accept_outside_images(tmp_path):
    root = write_tree(tmp_path / "tree", n_masked=6, val=["m5"])
    outside = tmp_path / "elsewhere.jpg"
    Image.fromarray(np.zeros((*SIZE, 3), np.uint8)).save(outside)
    (tmp_path / "labeled.txt").write_text("m0\nm1\n")
    (tmp_path / "unlabeled.txt").write_text(f"m2\nunlabeled/u1.jpg\n{outside}\n")
    parts = split(scan(root), labeled_file=tmp_path / "labeled.txt")
    assert parts.labeled == ["m0", "m1"] and parts.unlabeled == ["m2", "m3", "m4", "unlabeled/u0",
                                                                 "unlabeled/u1", "unlabeled/u2"]
    cfg = configure("folder", data_root=str(root), crop_size=16, labeled_file=str(tmp_path / "labeled.txt"),
                      unlabeled_file=str(tmp_path / "unlabeled.txt"))
    data = build_datasets(cfg)
    assert data.unlabeled.ids == ["m2", "unlabeled/u1", str(outside)]
    assert data.unlabeled.samples[0].mask is not None       # kept, so pseudo-labels can be scored
    assert data.unlabeled.samples[2].image == outside


# ---------------------------------------------------------------- presets
def test_preset_from_the_tree_and_user_overrides(tmp_path):
    root = write_tree(tmp_path / "tree", n_masked=6, n_unlabeled=3)
    cfg = configure("folder", data_root=str(root))
    expected = folder_preset(24, 32, 3, 5, 3)
    assert {k: getattr(cfg, k) for k in expected} == expected
    assert (cfg.crop_size, cfg.batch_labeled, cfg.batch_unlabeled) == (16, 5, 3)   # 24 px -> 16, sets < 8
    assert cfg.backbone == "tu-resnet10t" and cfg.epochs == 1000                      # 1 iteration per epoch
    assert cfg.teacher_epochs is None and cfg.encoder_weights is None    # phase a: SupOnly's; weights: the user's
    mine = configure("folder", data_root=str(root), crop_size=32, batch_unlabeled=1, epochs=3, lr=0.1)
    assert (mine.crop_size, mine.batch_unlabeled, mine.epochs, mine.lr, mine.batch_labeled) == (32, 1, 3, 0.1, 5)


def test_preset_rule_scales_with_image_size():
    voc = folder_preset(375, 500, 21, 1464, 9118)
    assert voc["crop_size"] == 368 and voc["backbone"] == "resnet50" and voc["lr"] == 0.01
    assert (voc["optimizer"], voc["beta"], voc["cutmix"], voc["decoder_channels"]) == ("sgd", 1.5, True, 256)
    assert voc["scales"] == (0.5, 0.75, 1.0, 1.5, 1.75, 2.0) and voc["num_workers"] == 4
    assert voc["epochs"] == round(40_000 * (368 / 512) ** 2 / (9118 // 8))
    city = folder_preset(1024, 2048, 19, 372, 2603)
    assert city["crop_size"] == 512 and city["eval_mode"] == "sliding" and "teacher_epochs" not in city
    assert city["epochs"] == round(40_000 / (2603 // 8))


def test_small_images_follow_the_digits_preset():
    """Below 256 px the network and optimiser are the digits preset's (flips kept: only digits are chiral), the
    budget about its 900 main-loop iterations; the encoder's weights are left to the user."""
    small = folder_preset(64, 64, 11, 200, 1800)
    digits = preset("digits", "1/8")
    for name in ("backbone", "decoder_channels", "optimizer", "lr", "alpha", "beta", "gamma", "scales", "cutmix"):
        assert small[name] == digits[name], name
    assert (small["backbone"], small["optimizer"], small["lr"], small["decoder_channels"]) == (
        "tu-resnet10t", "adamw", 1e-3, 128)
    assert small["crop_size"] == 64 and small["epochs"] == round(1000 / 225) and small["num_workers"] == 0
    assert "hflip" not in small and "encoder_weights" not in small and "teacher_epochs" not in small
    assert folder_preset(240, 320, 5, 50, 400)["backbone"] == "tu-resnet10t"       # 240 px: still small
    assert folder_preset(256, 320, 5, 50, 400)["backbone"] == "resnet50"           # from 256 px: VOC's
    cfg = make_config("folder", data_root="tree", tree=dict(short_side=64, long_side=64, num_classes=11,
                                                            n_labeled=200, n_unlabeled=400))
    assert cfg.hflip and cfg.epochs == 20 and cfg.teacher_epochs is None and cfg.scales == (1.0,)


def test_a_checkpoint_config_does_not_need_the_tree(tmp_path):
    root = write_tree(tmp_path / "tree")
    saved = configure("folder", data_root=str(root), crop_size=16).to_dict()
    for path in sorted(root.rglob("*"), reverse=True):
        path.unlink() if path.is_file() else path.rmdir()
    again = make_config(**saved)                  # what predict.load_network does with a checkpoint's config
    assert again.num_classes == 3 and again.crop_size == 16


def test_config_is_pure_the_tree_facts_come_from_the_data_side(tmp_path):
    root = write_tree(tmp_path / "tree", n_masked=6, n_unlabeled=3)
    with pytest.raises(GpslibError, match=r"configure\('folder', data_root=PATH\)"):
        make_config("folder", data_root=str(root))
    from gpslib.data import tree_facts
    facts = tree_facts(str(root))
    assert facts == {"short_side": 24, "long_side": 32, "num_classes": 3, "n_labeled": 5, "n_unlabeled": 3}
    assert make_config("folder", data_root=str(root), tree=facts) == configure("folder", data_root=str(root))


def test_config_imports_nothing_from_data():
    code = "import sys, gpslib.config; print(sorted(m for m in sys.modules if m.split('.')[0] in ('gpslib', 'torch')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "'gpslib.config'" in out and "gpslib.data" not in out and "'torch'" not in out


# ---------------------------------------------------------------- the book's example tree
@pytest.mark.filterwarnings("ignore:The masks in")
def test_export_digits_as_folder(tiny_digits, tmp_path):
    root = export_digits_as_folder(tmp_path / "digits", n_labeled=6, n_unlabeled=4, n_val=3, rgb_masks=2,
                                   source=tiny_digits)
    assert len(list((root / "images").iterdir())) == 9 and len(list((root / "unlabeled").iterdir())) == 4
    tree = scan(root)
    assert tree.num_classes == 11 and tree.class_names()[1] == "0" and len(tree.val) == 3
    rgb = sorted((root / "masks").iterdir())[0]
    assert Image.open(rgb).mode == "RGB"
    data = build_datasets(configure("folder", data_root=str(root)))
    k = data.labeled.ids.index(rgb.stem)
    source = _stored(tiny_digits / "SegmentationClass" / rgb.name)
    assert np.array_equal(data.labeled.load(k)[1], source)
    with pytest.raises(GpslibError, match="not empty"):
        export_digits_as_folder(root, 1, 1, 1, source=tiny_digits)


# ---------------------------------------------------------------- training and the CLI
def _tiny_run(root, out_dir, **kw):
    return configure("folder", data_root=str(root), epochs=1, iters_per_epoch=2, teacher_epochs=1,
                       crop_size=16, batch_labeled=2, batch_unlabeled=2, val_limit=2, pseudo_eval_images=2,
                       device="cpu", amp=False, out_dir=str(out_dir), **kw)


def test_gps_trains_on_a_folder_tree(tmp_path):
    root = write_tree(tmp_path / "tree", n_masked=5, n_unlabeled=4)
    history = train(_tiny_run(root, tmp_path / "run"), progress=False)
    assert history.meta["n_labeled"] == 4 and history.meta["n_unlabeled"] == 4
    assert len(history.teacher) == 2 and len(history.iterations) == 2
    losses = [v for row in history.iterations + history.teacher for k, v in row.items()
              if k.startswith(("sup", "gps", "cps", "fps"))]
    assert losses and all(math.isfinite(v) for v in losses)
    final = history.final
    assert 0 <= final["miou_student1"] <= 1 and len(final["iou_teacher"]) == 3
    assert not any(k.startswith(("acc_", "pl_miou")) for k in final)   # mask-less unlabeled: nothing scored
    assert json.loads((tmp_path / "run" / "history.json").read_text())


def test_cli_train_and_splits_on_a_folder(tmp_path, capsys):
    root = write_tree(tmp_path / "tree", n_masked=5, n_unlabeled=4)
    code = main(["train", "--dataset", "folder", "--data-root", str(root), "--epochs", "1",
                 "--iters-per-epoch", "1", "--teacher-epochs", "0", "--crop-size", "16", "--batch-labeled", "2",
                 "--batch-unlabeled", "2", "--val-limit", "1", "--device", "cpu", "--out-dir", str(tmp_path / "r")])
    assert code == 0 and "finished gps on folder 1" in capsys.readouterr().out
    assert main(["splits", "--dataset", "folder", "--data-root", str(root)]) == 0
    out = capsys.readouterr().out
    assert "labeled:   4 images" in out and "unlabeled: 4 images" in out and "dog" in out
    assert main(["train", "--dataset", "folder", "--data-root", str(tmp_path / "nowhere")]) == 2
    assert "nowhere does not exist" in capsys.readouterr().err


# ---------------------------------------------------------------- user mistakes
def _break(case, root):
    """Damage a fresh tree one way; returns the text the error must name."""
    if case == "no images folder":
        for path in (root / "images").iterdir():
            path.unlink()
        (root / "images").rmdir()
        return f"{root} has no images/ folder"
    if case == "images empty":
        for path in list((root / "images").iterdir()) + list((root / "masks").iterdir()):
            path.unlink()
        return str(root / "images")
    if case == "mask without image":
        (root / "images" / "m2.jpg").unlink()
        return str(root / "masks" / "m2.png")
    if case == "no masks":
        for path in (root / "masks").iterdir():
            path.unlink()
        (root / "masks").rmdir()
        return str(root / "masks")
    if case == "jpeg mask":
        Image.fromarray(np.zeros(SIZE, np.uint8)).save(root / "masks" / "m9.jpg")
        Image.fromarray(np.zeros((*SIZE, 3), np.uint8)).save(root / "images" / "m9.jpg")
        return str(root / "masks" / "m9.jpg")
    if case == "size mismatch":
        Image.fromarray(np.zeros((8, 8), np.uint8), mode="L").save(root / "masks" / "m1.png")
        return str(root / "masks" / "m1.png")
    if case == "rgb without palette":
        (root / "classes.yaml").write_text(yaml.safe_dump({"names": NAMES}))
        Image.fromarray(np.zeros((*SIZE, 3), np.uint8)).save(root / "masks" / "m0.png")
        return str(root / "masks" / "m0.png")
    if case == "unknown colour":
        Image.fromarray(np.full((*SIZE, 3), 77, np.uint8)).save(root / "masks" / "m0.png")
        return str(root / "masks" / "m0.png")
    if case == "id above count":
        mask = np.zeros(SIZE, np.uint8)
        mask[3, 3] = 7
        Image.fromarray(mask, mode="L").save(root / "masks" / "m3.png")
        return str(root / "masks" / "m3.png")
    if case == "bad yaml":
        (root / "classes.yaml").write_text("names: [a, b\n")
        return str(root / "classes.yaml")
    if case == "unknown key":
        (root / "classes.yaml").write_text(yaml.safe_dump({"names": NAMES, "colours": COLOURS}))
        return "colours"
    if case == "palette length":
        (root / "classes.yaml").write_text(yaml.safe_dump({"names": NAMES, "palette": COLOURS[:2]}))
        return str(root / "classes.yaml")
    if case == "ignore is a class":
        (root / "classes.yaml").write_text(yaml.safe_dump({"names": NAMES, "ignore_index": 1}))
        return "ignore_index 1 is also class 1"
    if case == "val without mask":
        Image.fromarray(np.zeros((*SIZE, 3), np.uint8)).save(root / "images" / "n0.jpg")
        (root / "val.txt").write_text("m0\nn0\n")
        return "masks/n0.png"
    if case == "corrupt mask":
        (root / "masks" / "m2.png").write_bytes(b"not a png")
        return str(root / "masks" / "m2.png")
    if case == "corrupt image":
        (root / "images" / "m1.jpg").write_bytes(b"not a jpeg")
        return str(root / "images" / "m1.jpg")
    if case == "all ignore":
        (root / "classes.yaml").unlink()
        for path in (root / "masks").iterdir():
            Image.fromarray(np.full(SIZE, 255, np.uint8), mode="L").save(path)
        return f"Every mask in {root / 'masks'} is entirely ignore"
    if case == "duplicate stem":
        Image.fromarray(np.zeros((*SIZE, 3), np.uint8)).save(root / "images" / "m0.png")
        return f"{root / 'images' / 'm0.jpg'} and {root / 'images' / 'm0.png'}"
    raise AssertionError(case)


CASES = ["no images folder", "images empty", "mask without image", "no masks", "jpeg mask", "size mismatch",
         "rgb without palette", "unknown colour", "id above count", "bad yaml", "unknown key", "palette length",
         "ignore is a class", "val without mask", "corrupt mask", "corrupt image", "all ignore",
         "duplicate stem"]


@pytest.mark.parametrize("case", CASES)
def test_each_mistake_names_the_file(case, tmp_path):
    root = write_tree(tmp_path / "tree")
    named = _break(case, root)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(GpslibError) as err:
            configure("folder", data_root=str(root))
    assert named in str(err.value)


def test_missing_wrong_or_no_data_root(tmp_path, voc_aug):
    with pytest.raises(GpslibError, match="folder data root .*nowhere does not exist"):
        configure("folder", data_root=str(tmp_path / "nowhere"))
    with pytest.raises(GpslibError, match="pass data_root"):
        configure("folder")
    with pytest.raises(GpslibError, match=r"laid out for Pascal VOC .*pass dataset='pascal'"):
        configure("folder", data_root=str(voc_aug))


def test_mistakes_found_when_the_datasets_are_built(tmp_path):
    root = write_tree(tmp_path / "tree", n_unlabeled=0)
    with pytest.raises(GpslibError, match=r"has no unlabeled images; put images without masks in .*unlabeled"):
        build_datasets(configure("folder", data_root=str(root), crop_size=16))
    assert len(build_datasets(configure("folder", data_root=str(root), method="supervised")).unlabeled) == 0
    with pytest.raises(GpslibError, match=r"Mask .*m\d\.png holds class id 2 but num_classes is 2"):
        build_datasets(configure("folder", data_root=str(root), method="supervised", num_classes=2))
    (tmp_path / "labeled.txt").write_text("m0\nghost\n")
    with pytest.raises(GpslibError, match=r"labeled.txt names 'ghost' but .*images/ghost\.\* does not exist"):
        configure("folder", data_root=str(root), labeled_file=str(tmp_path / "labeled.txt"))


# ---------------------------------------------------------------- what chapter 12 shows (gpslib.book.folder_demo)
@pytest.mark.filterwarnings("ignore:The masks in")
def test_chapter_reports_fit_the_page_and_name_no_folder_of_the_machine(tmp_path):
    from gpslib.book import COLUMN_CHARS, folder_demo
    root = write_tree(tmp_path / "my_data", n_masked=6, n_unlabeled=3, rgb=2)
    shown = folder_demo.checks(root)
    block = shown.split("```text\n")[1].split("\n```")[0]
    assert "labeled:" in block and "dog" in block and str(tmp_path) not in shown
    assert max(len(line) for line in block.splitlines()) <= COLUMN_CHARS
    broken = folder_demo.damaged_check(root, lambda tree: (tree / "images" / "m0.jpg").unlink())
    assert broken.startswith("**GpslibError**: ") and "my_data/masks/m0.png" in broken and str(tmp_path) not in broken
    assert (root / "images" / "m0.jpg").is_file()                        # the damage hit a copy
    assert folder_demo.damaged_check(root, lambda tree: None) == "The check found nothing wrong."


def test_chapter_states_the_presets_true_numbers():
    from gpslib.book import folder_demo
    from gpslib.config import FOLDER_ITERATIONS
    rules = folder_demo.preset_rules()
    assert f"lr `{preset('digits', '1/8')['lr']:g}`" in rules["small_network"]
    assert "backbone `tu-resnet10t`" in rules["small_network"] and "lr `0.001`" in rules["small_network"]
    assert "backbone `resnet50`" in rules["large_network"] and "lr `0.01`" in rules["large_network"]
    assert all(f"{n:,}" in rules["budget_rule"] for n in FOLDER_ITERATIONS)


def test_chapter_result_names_every_network_and_the_weakest_class():
    from gpslib import report
    from gpslib.book import folder_demo
    from gpslib.history import History
    history = History(meta={"teacher_iters": 20, "max_iter": 10, "device": "cpu", "cpu_threads": 1, "n_labeled": 4,
                            "n_unlabeled": 8, "wall_time_s": 90.0})
    ious = {"teacher": [0.9, 0.5, 0.6], "student1": [0.95, 0.7, 0.31], "student2": [0.9, 0.6, 0.4]}
    history.evals = [{"iteration": 10, **{f"iou_{r}": v for r, v in ious.items()},
                      **{f"miou_{r}": float(np.mean(v)) for r, v in ious.items()}}]
    phrase = report.result_phrase(history, NAMES)
    assert phrase == ("validation mIoU T 66.7 %, S1 65.3 %, S2 63.3 %; the weakest class IoU of each: T 50.0 % "
                      "(class cat), S1 31.0 % (class dog), S2 40.0 % (class dog)")
    table = folder_demo.iou_table(history, NAMES).splitlines()
    assert len(table) == 2 + len(NAMES) + 1                              # header, rule, classes, mIoU
    assert [cell.strip() for cell in table[-2].split("|")[1:-1]] == ["dog", "60.0", "31.0", "40.0"]
    assert report.run_phrase(history) == ("20 phase-a + 10 main-loop iterations on the 1-thread CPU, on 4 "
                                          "labeled and 8 unlabeled images, in 1.5 min")


def test_the_recorded_run_of_the_presets_command_learned_every_class():
    from gpslib.book import folder_demo
    from gpslib.history import History
    history = History.load(folder_demo.PRESET_RUN)
    assert history.meta["command"].startswith("gpslib train --dataset folder --data-root my_data")
    assert history.meta["tree"]["n_labeled"] == 200 and history.config["epochs"] == 20
    assert min(min(history.final[f"iou_{r}"]) for r in ("teacher", "student1", "student2")) > 0.3
