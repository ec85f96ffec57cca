"""The digits' "ImageNet": reserved source digits, a deterministic cached encoder, and the preset around it."""
import json

import numpy as np
import pytest
import torch

from gpslib import make_config, pretrain
from gpslib.data.digits import source_pools
from gpslib.data.transforms import train_transform
from gpslib.models import build_networks
from gpslib.train.schedule import make_optimizer

TINY = dict(images=12, test_images=8, iterations=2, batch=4, size=32)


def test_source_pools_are_disjoint_and_no_scene_uses_a_pretraining_digit(tiny_digits):
    val, reserved, train = source_pools(0)
    assert len(set(val) | set(reserved) | set(train)) == len(val) + len(reserved) + len(train) == 1797
    manifest = json.loads((tiny_digits / "digits.json").read_text())
    assert manifest["source_digits"]["pretrain"] == reserved.tolist()
    for scene_id, placements in manifest["scenes"].items():
        pool = set(train if scene_id.startswith("train") else val)
        assert all(p[0] in pool for p in placements), scene_id


def test_pretraining_is_deterministic_and_changes_the_encoder():
    first, facts = pretrain.pretrain_encoder("resnet18", TINY, log=None)
    again, _ = pretrain.pretrain_encoder("resnet18", TINY, log=None)
    assert all(torch.equal(first[k], again[k]) for k in first)
    untrained = make_config("digits", backbone="resnet18", encoder_weights="random")
    start = build_networks(untrained, ("teacher",))["teacher"].encoder.state_dict()
    assert any(not torch.equal(first[k], start[k]) for k in first if first[k].is_floating_point())
    assert facts["held_out_digits"] > 0 and 0 <= facts["held_out_accuracy"] <= 1


def test_pretraining_trains_on_one_thread_whatever_the_process_uses(monkeypatch, threads_restored):
    seen, fit = [], pretrain._fit
    monkeypatch.setattr(pretrain, "_fit", lambda *a: (seen.append(torch.get_num_threads()), fit(*a))[1])
    torch.set_num_threads(2)
    two, _ = pretrain.pretrain_encoder("resnet18", TINY, log=None)
    assert torch.get_num_threads() == 2                 # the caller's count is given back
    torch.set_num_threads(1)
    one, _ = pretrain.pretrain_encoder("resnet18", TINY, log=None)
    assert seen == [1, 1] and all(torch.equal(two[k], one[k]) for k in one)


def test_encoder_is_cached_and_shared_by_the_three_networks(tmp_path, monkeypatch):
    path = pretrain.ensure_digit_encoder("resnet18", tmp_path, TINY, log=None)
    monkeypatch.setattr(pretrain, "pretrain_encoder", lambda *a, **k: pytest.fail("trained again"))
    assert pretrain.ensure_digit_encoder("resnet18", tmp_path, TINY, log=None) == path
    nets = build_networks(make_config("digits", backbone="resnet18", encoder_weights=str(path), decoder_channels=32))
    state = torch.load(path, weights_only=True)
    for net in nets.values():    # the same encoder start, as the paper's networks share ImageNet weights ...
        assert all(torch.equal(v, state[k]) for k, v in net.encoder.state_dict().items())
    heads = [torch.cat([p.flatten() for p in nets[r].segmentation_head.parameters()]) for r in nets]
    assert not torch.equal(heads[0], heads[1]) and not torch.equal(heads[1], heads[2])   # ... and differ after it


def test_digits_preset_differs_from_the_paper_only_where_digits_need_it():
    digits, voc = make_config("digits", "1/8"), make_config("pascal", "1/8")
    assert (digits.hflip, digits.scales, digits.optimizer, digits.encoder_weights) == (False, (1.0,), "adamw", "digits")
    assert (voc.hflip, voc.scales, voc.optimizer) == (True, (0.5, 0.75, 1.0, 1.5, 1.75, 2.0), "sgd")
    net = torch.nn.Linear(2, 2)
    assert isinstance(make_optimizer([net], digits), torch.optim.AdamW)
    sgd = make_optimizer([net], voc)
    assert isinstance(sgd, torch.optim.SGD) and sgd.param_groups[0]["momentum"] == 0.9


def test_hflip_off_never_mirrors_a_chiral_image():
    image = np.zeros((16, 16, 3), dtype=np.uint8)
    image[:, :4] = 255                                   # a bright left edge
    mask = np.zeros((16, 16), dtype=np.uint8)
    mask[:, :4] = 1
    off, on = train_transform(16, (1.0,), hflip=False), train_transform(16, (1.0,), hflip=True)
    flips = 0
    for seed in range(20):
        torch.manual_seed(seed)
        assert (off(image, mask)[1][:, :4] == 1).all()
        torch.manual_seed(seed)
        flips += int((on(image, mask)[1][:, -4:] == 1).all())
    assert 0 < flips < 20
