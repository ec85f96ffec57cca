"""Partitions: the shipped CPS lists, parsing of fractions, seeded splits, user lists and GPS-dagger."""
from fractions import Fraction

import pytest

from gpslib import make_config
from gpslib.config import parse_partition
from gpslib.data import build_datasets
from gpslib.data.partitions import resolve_partition, summary
from gpslib.errors import GpslibError

from conftest import VOC_TRAIN, write_lists

SHIPPED_COUNTS = [
    ("pascal", "1/16", 662, 9920), ("pascal", "1/8", 1323, 9259),
    ("pascal", "1/4", 2646, 7936), ("pascal", "1/2", 5291, 5291),
    ("cityscapes", "1/16", 186, 2789), ("cityscapes", "1/8", 372, 2603),
    ("cityscapes", "1/4", 744, 2231), ("cityscapes", "1/2", 1488, 1487),
]


@pytest.mark.parametrize("dataset, partition, n_labeled, n_unlabeled", SHIPPED_COUNTS)
def test_shipped_counts_without_data(tmp_path, dataset, partition, n_labeled, n_unlabeled):
    part = resolve_partition(dataset, tmp_path / "absent", partition)
    assert (len(part.labeled), len(part.unlabeled)) == (n_labeled, n_unlabeled)
    assert not set(part.labeled) & set(part.unlabeled)
    assert "shipped" in part.source


def test_shipped_ids_look_right():
    voc = resolve_partition("pascal", None, "1/8")
    city = resolve_partition("cityscapes", None, "1_8")
    assert voc.labeled[0] == "2007_000032"
    assert all("_" in i and i.split("_", 1)[0].isalpha() for i in city.labeled)


@pytest.mark.parametrize("text", ["1/8", "1_8", "0.125", 0.125])
def test_parse_accepts(text):
    assert parse_partition(text) == Fraction(1, 8)


@pytest.mark.parametrize("text", ["abc", "0", "3/2", "1/0", "-0.5"])
def test_parse_rejects(text):
    with pytest.raises(GpslibError, match="Partition"):
        parse_partition(text)


def test_wrong_partition_string_in_resolve(tmp_path):
    with pytest.raises(GpslibError, match="abc"):
        resolve_partition("pascal", tmp_path, "abc")


def test_dagger_adds_labeled_to_unlabeled():
    part = resolve_partition("cityscapes", None, "1/4", dagger=True)
    assert len(part.unlabeled) == 2231 + 744
    assert set(part.labeled) <= set(part.unlabeled)
    assert "dagger" in part.source


def test_seeded_split_on_digits(tiny_digits):
    a = resolve_partition("digits", tiny_digits, "1/8", seed=3)
    b = resolve_partition("digits", tiny_digits, "1_8", seed=3)
    c = resolve_partition("digits", tiny_digits, "1/8", seed=4)
    assert a == b
    assert len(a.labeled) == 5 and len(a.unlabeled) == 35  # round(40 / 8)
    assert set(a.labeled) != set(c.labeled)
    assert sorted(a.labeled + a.unlabeled) == sorted(f"train_{i:05d}" for i in range(40))
    assert "seed=3" in a.source


@pytest.mark.parametrize("dataset", ["pascal", "cityscapes"])
def test_non_paper_fraction_is_refused_where_the_paper_has_published_lists(voc_aug, dataset):
    with pytest.raises(GpslibError, match=r"'1/3' has no published .* 1/16, 1/8, 1/4, 1/2 .* labeled_file"):
        resolve_partition(dataset, voc_aug, "1/3", seed=1)
    part = resolve_partition("digits", voc_aug, "0.3", seed=1)  # digits (no published lists): a seeded split
    assert len(part.labeled) == 2 and len(part.unlabeled) == 6  # round(0.3 * 8)
    assert set(part.labeled + part.unlabeled) == set(VOC_TRAIN)


def test_user_files(voc_aug, tmp_path):
    labeled, unlabeled = write_lists(tmp_path / "lists", VOC_TRAIN[:3], VOC_TRAIN[3:])
    part = resolve_partition("pascal", voc_aug, "1/8", labeled_file=labeled, unlabeled_file=unlabeled)
    assert part.labeled == VOC_TRAIN[:3] and part.unlabeled == VOC_TRAIN[3:]
    assert str(labeled) in part.source


def test_user_file_missing(voc_aug, tmp_path):
    labeled, _ = write_lists(tmp_path / "lists", VOC_TRAIN[:3], VOC_TRAIN[3:])
    with pytest.raises(GpslibError, match="nope.txt"):
        resolve_partition("pascal", voc_aug, "1/8", labeled_file=labeled, unlabeled_file=tmp_path / "nope.txt")


def test_user_file_with_unknown_id(voc_aug, tmp_path):
    """The split reads the lists; building the datasets finds the id without an image and names the list."""
    labeled, unlabeled = write_lists(tmp_path / "lists", VOC_TRAIN[:3] + ["2099_999999"], VOC_TRAIN[3:])
    cfg = make_config("pascal", "1/8", data_root=str(voc_aug), labeled_file=str(labeled),
                      unlabeled_file=str(unlabeled), crop_size=16)
    with pytest.raises(GpslibError, match=r"JPEGImages/2099_999999.jpg for id '2099_999999' \(listed in .*labeled.txt"):
        build_datasets(cfg)


def test_summary_shipped_without_root(tmp_path):
    text = summary("pascal", tmp_path / "absent", "1/16", dagger=True)
    assert "labeled:   662" in text and "unlabeled: 10582" in text and "pascal/1_16" in text


def test_summary_digits(tiny_digits):
    text = summary("digits", tiny_digits, "1/4", seed=0)
    assert "labeled:   10" in text and "unlabeled: 30" in text and "seed=0" in text


def test_config_partition_feeds_resolve(tiny_digits):
    cfg = make_config("digits", "1/4", data_root=str(tiny_digits), seed=2)
    part = resolve_partition(cfg.dataset, cfg.data_root, cfg.partition, seed=cfg.seed)
    assert len(part.labeled) == 10
