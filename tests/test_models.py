"""build_segmenter: DeepLabV3+, seeded different initialisations, local encoder weights."""
import pytest
import torch

from gpslib.config import make_config
from gpslib.errors import GpslibError
from gpslib.models import build_networks, build_segmenter, count_parameters


def _flat(net):
    return torch.cat([p.detach().flatten() for p in net.parameters()])


def test_three_networks_differ_and_are_reproducible():
    cfg = make_config("digits", "1/8", decoder_channels=32, encoder_weights="random")
    nets = build_networks(cfg)
    again = build_networks(cfg)
    assert set(nets) == {"teacher", "student1", "student2"}
    flats = {k: _flat(v) for k, v in nets.items()}
    assert not torch.equal(flats["teacher"], flats["student1"])
    assert not torch.equal(flats["student1"], flats["student2"])
    assert all(torch.equal(flats[k], _flat(again[k])) for k in nets)
    # a role keeps its initialisation across methods (CPS students start where GPS students do)
    assert torch.equal(_flat(build_networks(cfg, ("student2",))["student2"]), flats["student2"])
    out = nets["teacher"](torch.randn(2, 3, 64, 64))
    assert out.shape == (2, 11, 64, 64)


def test_local_encoder_weights_are_loaded_and_bad_files_explained(tmp_path):
    donor = build_segmenter("resnet18", 3, None, 32, seed=5)
    path = tmp_path / "resnet18.pth"
    torch.save(donor.encoder.state_dict(), path)
    net = build_segmenter("resnet18", 3, str(path), 32, seed=6)
    assert torch.equal(_flat(net.encoder), _flat(donor.encoder))
    assert not torch.equal(_flat(net.decoder), _flat(donor.decoder))     # the head stays randomly initialised
    with pytest.raises(GpslibError, match="do not exist"):
        build_segmenter("resnet18", 3, str(tmp_path / "missing.pth"))
    torch.save({"conv9.weight": torch.zeros(1)}, tmp_path / "other.pth")
    with pytest.raises(GpslibError, match="do not match"):
        build_segmenter("resnet18", 3, str(tmp_path / "other.pth"))
    with pytest.raises(GpslibError, match="Unknown backbone"):
        build_segmenter("resnet7", 3)


def test_parameter_counts_add_up():
    net = build_segmenter("resnet18", 11, None, 128)
    counts = count_parameters(net)
    assert sum(counts.values()) == sum(p.numel() for p in net.parameters())
    assert counts["encoder"] == 11_176_512      # torchvision's ResNet-18 without its fc layer


def test_a_run_records_which_local_encoder_it_started_from(tmp_path):
    """The fingerprint is the SHA-256 prefix of the weight file (the digits encoder's bits depend on the torch
    build and CPU that pre-trained it); hub or random weights have none."""
    import hashlib

    from gpslib.models import encoder_fingerprint
    path = tmp_path / "enc.pt"
    path.write_bytes(b"weights")
    assert encoder_fingerprint("resnet18", str(path)) == hashlib.sha256(b"weights").hexdigest()[:12]
    assert encoder_fingerprint("resnet18", "random") is None and encoder_fingerprint("resnet18", None) is None
    assert encoder_fingerprint("resnet18", "imagenet") is None
