"""The optimisers training builds: the fast implementations, with the update of torch's reference loop."""
import torch

from gpslib.config import make_config
from gpslib.models import build_segmenter
from gpslib.train.schedule import make_optimizer


def _weights(net):
    return torch.cat([p.detach().flatten() for p in net.parameters()])


def _steps(net, optimizer, n=5):
    generator = torch.Generator().manual_seed(1)
    for _ in range(n):
        for p in net.parameters():
            p.grad = torch.randn(p.shape, generator=generator)
        optimizer.step()
    return _weights(net)


def test_training_optimisers_are_fused_on_the_cpu_and_match_the_reference_loop():
    for dataset in ("digits", "pascal"):            # AdamW (digits preset) and SGD with momentum (the paper's)
        cfg = make_config(dataset, "1/8")
        start = _weights(build_segmenter("resnet18", 11, None, 32, seed=0))
        fast_net, reference_net = (build_segmenter("resnet18", 11, None, 32, seed=0) for _ in range(2))
        fast = make_optimizer([fast_net], cfg)
        assert fast.defaults["fused"] is True, dataset
        settings = {k: fast.defaults[k] for k in ("lr", "weight_decay")}
        if isinstance(fast, torch.optim.SGD):
            settings["momentum"] = fast.defaults["momentum"]
        reference = type(fast)(reference_net.parameters(), foreach=False, **settings)   # torch's per-parameter loop
        after = _steps(fast_net, fast)
        assert (after - start).abs().max() > 1e-4, dataset                           # the steps moved the weights
        torch.testing.assert_close(after, _steps(reference_net, reference), rtol=0, atol=1e-6)
