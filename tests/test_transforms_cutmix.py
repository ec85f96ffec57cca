"""Joint transforms keep image and mask aligned; CutMix boxes cover the asked-for area and paste exact pixels."""
import numpy as np
import pytest
import torch

from gpslib.data.cutmix import box_masks, mix
from gpslib.data.transforms import MEAN, STD, denormalize, eval_transform, train_transform


def _coded_pair(height=48, width=40):
    """An image whose grey level encodes the label (label * 20), in blocks so that edges are few."""
    blocks = np.random.default_rng(0).integers(0, 11, (height // 8, width // 8))
    mask = np.kron(blocks, np.ones((8, 8), dtype=np.int64)).astype(np.uint8)
    image = np.repeat((mask * 20)[..., None], 3, axis=2).astype(np.uint8)
    return image, mask


def test_train_transform_shapes_and_alignment():
    torch.manual_seed(0)        # the draws below are the transform's own (global RNG); fixed for a stable test
    image, mask = _coded_pair()
    transform = train_transform(32, (0.5, 0.75, 1.0, 1.5, 2.0))
    for _ in range(10):
        x, y = transform(image, mask)
        assert x.shape == (3, 32, 32) and x.dtype == torch.float32
        assert y.shape == (32, 32) and y.dtype == torch.int64
        assert set(y.unique().tolist()) <= set(np.unique(mask).tolist()) | {255}  # nearest: no new labels
        grey = denormalize(x)[..., 0].astype(np.int64)
        labels = y.numpy()
        interior = np.ones_like(labels, dtype=bool)  # pixels whose 3x3 neighbours share their label
        padded = np.pad(labels, 1, mode="edge")
        for dy in range(3):
            for dx in range(3):
                interior &= padded[dy:dy + 32, dx:dx + 32] == labels
        interior &= labels != 255
        assert interior.sum() > 100
        agree = np.abs(grey - labels * 20)[interior] <= 10
        assert agree.mean() > 0.9      # misaligned image/mask pairs agree on 6-38% of interior pixels


def test_padding_uses_ignore_for_mask_and_zero_for_image():
    image, mask = _coded_pair(16, 16)
    x, y = train_transform(32, (1.0,))(image, mask)
    assert (y == 255).sum() == 32 * 32 - 16 * 16
    padded = (y == 255)
    expected = (0 - torch.tensor(MEAN)) / torch.tensor(STD)
    assert torch.allclose(x[:, padded].mean(dim=1), expected, atol=1e-5)


def test_eval_transform_keeps_full_image():
    image, mask = _coded_pair()
    x, y = eval_transform()(image, mask)
    assert x.shape == (3, 48, 40)
    assert np.array_equal(y.numpy(), mask)
    assert np.abs(denormalize(x).astype(int) - image).max() <= 1


def test_seeded_transform_is_reproducible():
    image, mask = _coded_pair()
    transform = train_transform(24, (0.5, 1.0, 2.0))
    outs = []
    for _ in range(2):
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(11)
            outs.append(transform(image, mask))
    assert torch.equal(outs[0][0], outs[1][0]) and torch.equal(outs[0][1], outs[1][1])


def test_box_masks_area_and_values():
    gen = torch.Generator().manual_seed(0)
    masks = box_masks(64, 64, 64, n_boxes=3, area_range=(0.25, 0.5), generator=gen)
    assert masks.shape == (64, 1, 64, 64) and masks.dtype == torch.float32
    assert set(masks.unique().tolist()) <= {0.0, 1.0}
    covered = masks.mean(dim=(1, 2, 3))
    assert covered.min() > 0.2 and covered.max() < 0.53
    assert 0.3 < covered.mean() < 0.45


def test_box_masks_follow_generator():
    a = box_masks(4, 32, 48, generator=torch.Generator().manual_seed(5))
    b = box_masks(4, 32, 48, generator=torch.Generator().manual_seed(5))
    c = box_masks(4, 32, 48, generator=torch.Generator().manual_seed(6))
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert a.shape == (4, 1, 32, 48)


def test_mix_pastes_partner_pixels_for_images_and_labels():
    x = torch.randn(4, 3, 16, 16)
    labels = torch.randint(0, 11, (4, 16, 16))
    mask = box_masks(4, 16, 16, generator=torch.Generator().manual_seed(1))
    mixed, mixed_labels = mix(x, mask), mix(labels, mask)
    inside = mask[:, 0].bool()
    partner, partner_labels = x.roll(1, 0), labels.roll(1, 0)
    for i in range(4):
        assert torch.equal(mixed[i][:, inside[i]], partner[i][:, inside[i]])
        assert torch.equal(mixed[i][:, ~inside[i]], x[i][:, ~inside[i]])
        assert torch.equal(mixed_labels[i][inside[i]], partner_labels[i][inside[i]])
        assert torch.equal(mixed_labels[i][~inside[i]], labels[i][~inside[i]])
    assert mixed_labels.dtype == torch.int64
    assert torch.equal(mixed[1][:, inside[1]], x[0][:, inside[1]])  # image 1's partner is image 0


@pytest.mark.parametrize("shape", [(2, 8, 8)])
def test_mix_accepts_three_dim_mask(shape):
    labels = torch.arange(2).view(2, 1, 1).expand(*shape).clone()
    mask = torch.zeros(shape)
    mask[:, :4] = 1
    out = mix(labels, mask)
    assert out[0, :4].eq(1).all() and out[0, 4:].eq(0).all()


def test_read_only_pixels_are_copied_without_a_warning():
    import warnings
    image = np.zeros((20, 24, 3), np.uint8)
    image.flags.writeable = False              # what np.asarray of a PIL image gives
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        x, _ = eval_transform()(image, np.zeros((20, 24), np.uint8))
    assert x.shape == (3, 20, 24)
