"""Equations 2-10 against hand computations on tiny tensors."""
import math

import pytest
import torch

from gpslib import losses


def test_ce_is_mean_over_non_ignored_pixels():
    # one image, 2 classes, 3 pixels (1x3); the last pixel is ignored
    logits = torch.tensor([[[[2.0, 0.0, 5.0]], [[0.0, 1.0, -5.0]]]])
    target = torch.tensor([[[0, 1, 255]]])
    p0 = math.exp(2) / (math.exp(2) + 1)          # softmax prob of class 0 at pixel 0
    p1 = math.exp(1) / (math.exp(1) + 1)          # of class 1 at pixel 1
    expected = (-math.log(p0) - math.log(p1)) / 2
    assert losses.ce(logits, target).item() == pytest.approx(expected, rel=1e-6)


def test_ce_all_ignored_is_zero_not_nan():
    logits = torch.randn(2, 3, 4, 4, requires_grad=True)
    value = losses.ce(logits, torch.full((2, 4, 4), 255))
    assert value.item() == 0.0
    value.backward()
    assert torch.all(logits.grad == 0)


def test_composite_losses_are_the_sums_of_eq_4_to_10():
    torch.manual_seed(0)
    a, b, t = (torch.randn(2, 4, 3, 3) for _ in range(3))
    y, y_t, y_s1, y_s2 = (torch.randint(0, 4, (2, 3, 3)) for _ in range(4))
    ce = losses.ce
    assert torch.allclose(losses.sup_loss(a, b, y), ce(a, y) + ce(b, y))
    assert torch.allclose(losses.gps_loss(a, b, y_t), ce(a, y_t) + ce(b, y_t))
    # eq. 6 crosses the labels: S1 learns from Y^{s2}, S2 from Y^{s1}
    assert torch.allclose(losses.cps_loss(a, b, y_s1, y_s2), ce(a, y_s2) + ce(b, y_s1))
    assert not torch.allclose(losses.cps_loss(a, b, y_s1, y_s2), ce(a, y_s1) + ce(b, y_s2))
    s, g, c = torch.tensor(1.0), torch.tensor(2.0), torch.tensor(3.0)
    assert losses.guide_loss(s, g, c, alpha=0.5, beta=1.5).item() == pytest.approx(1 + 0.5 * 2 + 1.5 * 3)
    assert losses.guide_loss(s, None, c, alpha=0.5, beta=1.5).item() == pytest.approx(1 + 1.5 * 3)
    assert torch.allclose(losses.fps_loss(t, y), ce(t, y))
    assert losses.feedback_loss(s, g, w=0.25, gamma=0.5).item() == pytest.approx(1 + 0.25 * 0.5 * 2)
    assert losses.feedback_loss(s, None, w=0.25, gamma=0.5).item() == 1.0


def test_averaged_label_averages_probabilities_not_votes_or_logits():
    # S1 prefers class 0, S2 class 2, their average probability prefers class 1.
    p1 = torch.tensor([0.6, 0.4, 1e-6]).log().view(1, 3, 1, 1)
    p2 = torch.tensor([1e-6, 0.45, 0.55]).log().view(1, 3, 1, 1)
    assert p1.argmax(1).item() == 0 and p2.argmax(1).item() == 2
    assert losses.averaged_label(p1, p2).item() == 1      # a vote between 0 and 2 could not give 1
    # a confident S1 outweighs S2 in probability space, whereas averaged logits would pick class 1
    l1 = torch.tensor([10.0, 0.0, 0.0]).view(1, 3, 1, 1)
    l2 = torch.tensor([-10.0, 1.0, 0.0]).view(1, 3, 1, 1)
    assert ((l1 + l2) / 2).argmax(1).item() == 1
    assert losses.averaged_label(l1, l2).item() == 0


def test_eq9_values():
    assert losses.gaussian_rampup(1, 34) == pytest.approx(math.exp(-((1 - 1 / 34) ** 2)))
    assert losses.gaussian_rampup(17, 34) == pytest.approx(math.exp(-0.25))
    assert losses.gaussian_rampup(34, 34) == 1.0
    assert losses.gaussian_rampup(35, 34) == 1.0
    assert losses.gaussian_rampdown(3, 3, 10) == 1.0
    assert losses.gaussian_rampdown(10, 3, 10) == pytest.approx(math.exp(-1))


def _feed(ramp, epoch_losses, iters=3):
    """Feed (L_sup^s, L_sup^t) pairs, `iters` identical iterations per epoch."""
    it = 0
    for e, (s, t) in enumerate(epoch_losses, start=1):
        for _ in range(iters):
            ramp.observe(torch.tensor(s), torch.tensor(t), e, it)
            it += 1
        ramp.end_epoch(e, it - 1)


def test_adaptive_latch_fires_at_the_first_epoch_where_students_catch_up():
    ramp = losses.AdaptiveRampUp(max_epochs=10)
    assert ramp.weight(2) == pytest.approx(losses.gaussian_rampup(2, 10))
    # L_sup^s is the SUM over two students: 2.2/2 = 1.1 > 1.0, then 1.9/2 = 0.95 <= 1.0 at epoch 3
    _feed(ramp, [(4.0, 1.0), (2.2, 1.0), (1.9, 1.0), (5.0, 1.0)])
    assert ramp.latched_epoch == 3 and ramp.r == 3.0
    assert ramp.weight(3) == 1.0 and ramp.weight(4) == 1.0
    assert ramp.weight(2) == pytest.approx(losses.gaussian_rampup(2, 3))
    assert ramp.gps_scale(4) < 1.0 and ramp.gps_scale(3) == 1.0


def test_epoch_check_uses_epoch_means_iteration_check_uses_each_batch():
    by_epoch = losses.AdaptiveRampUp(max_epochs=10, check="epoch")
    by_iter = losses.AdaptiveRampUp(max_epochs=10, check="iteration")
    for ramp in (by_epoch, by_iter):
        # epoch 1: one lucky batch (s/2 = 0.5 <= 1) among bad ones (mean s/2 = 2.5 > 1)
        for it, s in enumerate([6.0, 1.0, 8.0]):
            ramp.observe(torch.tensor(s), torch.tensor(1.0), 1, it)
        ramp.end_epoch(1, 2)
    assert by_epoch.latched_epoch is None
    assert by_iter.latched_epoch == 1 and by_iter.latched_iteration == 1


def test_fixed_and_none_never_latch():
    fixed = losses.AdaptiveRampUp(max_epochs=10, mode="fixed")
    none = losses.AdaptiveRampUp(max_epochs=10, mode="none")
    for ramp in (fixed, none):
        _feed(ramp, [(0.1, 1.0)] * 3)
        assert ramp.latched_epoch is None
    assert fixed.weight(3) == pytest.approx(losses.gaussian_rampup(3, 10))
    assert none.weight(1) == 1.0


def test_rampup_state_round_trip():
    ramp = losses.AdaptiveRampUp(max_epochs=5)
    ramp.observe(torch.tensor(3.0), torch.tensor(1.0), 1, 0)
    copy = losses.AdaptiveRampUp(max_epochs=5)
    copy.load_state_dict(ramp.state_dict())
    for r in (ramp, copy):
        r.observe(torch.tensor(1.0), torch.tensor(1.0), 1, 1)
        r.end_epoch(1, 1)
    assert ramp.latched_epoch == copy.latched_epoch == 1   # mean s/2 = 1.0 <= 1.0


def test_label_map_is_argmax_over_classes_with_its_tie_rule():
    scores = torch.randint(0, 3, (3, 11, 17, 9)).float()          # small integers: many ties
    assert torch.equal(losses.label_map(scores), scores.argmax(1))
    assert torch.equal(losses.label_map(torch.zeros(2, 5, 4, 4)), torch.zeros(2, 4, 4, dtype=torch.long))
    logits = torch.randn(2, 11, 8, 8), torch.randn(2, 11, 8, 8)
    expected = ((logits[0].softmax(1) + logits[1].softmax(1)) / 2).argmax(1)
    assert torch.equal(losses.averaged_label(*logits), expected)
