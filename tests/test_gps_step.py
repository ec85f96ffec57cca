"""The update rule of gps.py: who moves in which step, which labels feed which loss, what each switch changes."""
import copy

import pytest
import torch
from torch import nn

from gpslib import losses
from gpslib.config import make_config
from gpslib.data.cutmix import box_masks, mix
from gpslib.train import gps
from gpslib.train.gps import Batch

C = 4


def tiny_net(seed):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, C, 1))


def setup(cutmix=False, lr=0.5, **overrides):
    weights = dict(alpha=0.5, beta=1.5, gamma=0.5)     # VOC's, which the hand computations below write out
    cfg = make_config("digits", "1/8", lr=lr, cutmix=cutmix, **{**weights, **overrides})
    nets = {"teacher": tiny_net(0), "student1": tiny_net(1), "student2": tiny_net(2)}
    sgd = lambda ps: torch.optim.SGD(ps, lr=lr)                                       # noqa: E731
    opt_s = sgd(list(nets["student1"].parameters()) + list(nets["student2"].parameters()))
    opt_t = sgd(list(nets["teacher"].parameters()))
    g = torch.Generator().manual_seed(3)
    x_l, x_u = torch.randn(2, 3, 8, 8, generator=g), torch.randn(2, 3, 8, 8, generator=g)
    y_l = torch.randint(0, C, (2, 8, 8), generator=g)
    y_l[0, 0, :3] = 255
    boxes = box_masks(2, 8, 8, 3, (0.25, 0.5), torch.Generator().manual_seed(4)) if cutmix else None
    return cfg, nets, opt_s, opt_t, Batch(x_l, y_l, x_u, boxes)


def params(net):
    return [p.detach().clone() for p in net.parameters()]


def same(a, b):
    return all(torch.equal(x, y) for x, y in zip(a, b))


def test_guide_step_moves_only_students_and_feedback_only_teacher(monkeypatch):
    cfg, nets, opt_s, opt_t, batch = setup()
    before = {k: params(v) for k, v in nets.items()}
    at_feedback = {}
    original = gps.feedback_label

    def spy(s1, s2, b, mode="eval"):
        at_feedback.update({k: params(v) for k, v in nets.items()})
        return original(s1, s2, b, mode)

    monkeypatch.setattr(gps, "feedback_label", spy)
    gps.gps_iteration(nets, opt_s, opt_t, batch, cfg, w=1.0)
    # after the guide step (when feedback labels are asked for): students moved, teacher did not
    assert not same(at_feedback["student1"], before["student1"])
    assert not same(at_feedback["student2"], before["student2"])
    assert same(at_feedback["teacher"], before["teacher"])
    # the feedback step moved the teacher and left the students where the guide step put them
    assert not same(params(nets["teacher"]), before["teacher"])
    assert same(params(nets["student1"]), at_feedback["student1"])
    assert same(params(nets["student2"]), at_feedback["student2"])


def test_feedback_labels_come_from_the_updated_students(monkeypatch):
    cfg, nets, opt_s, opt_t, batch = setup(lr=2.0)
    stale = losses.averaged_label(nets["student1"](batch.x_u), nets["student2"](batch.x_u)).detach()
    seen = []
    original = gps.feedback_label
    monkeypatch.setattr(gps, "feedback_label", lambda *a, **k: seen.append(original(*a, **k)) or seen[-1])
    gps.gps_iteration(nets, opt_s, opt_t, batch, cfg, w=1.0)
    fresh = losses.averaged_label(nets["student1"](batch.x_u), nets["student2"](batch.x_u)).detach()
    assert torch.equal(seen[0], fresh)
    assert not torch.equal(fresh, stale), "the test needs a step large enough to change the labels"


def test_guide_terms_match_a_hand_computation():
    cfg, nets, opt_s, opt_t, batch = setup()
    t, s1, s2 = (copy.deepcopy(nets[k]) for k in ("teacher", "student1", "student2"))
    terms = gps.gps_iteration(nets, opt_s, opt_t, batch, cfg, w=0.3)
    y_t = t(batch.x_u).argmax(1)
    u1, u2 = s1(batch.x_u), s2(batch.x_u)
    sup = losses.ce(s1(batch.x_l), batch.y_l) + losses.ce(s2(batch.x_l), batch.y_l)
    gps_term = losses.ce(u1, y_t) + losses.ce(u2, y_t)
    cps_term = losses.ce(u1, u2.argmax(1)) + losses.ce(u2, u1.argmax(1))
    assert terms["sup_s"].item() == pytest.approx(sup.item(), rel=1e-5)
    assert terms["gps"].item() == pytest.approx(gps_term.item(), rel=1e-5)
    assert terms["cps"].item() == pytest.approx(cps_term.item(), rel=1e-5)
    assert terms["guide"].item() == pytest.approx((sup + 0.5 * gps_term + 1.5 * cps_term).item(), rel=1e-5)
    assert terms["sup_t"].item() == pytest.approx(losses.ce(t(batch.x_l), batch.y_l).item(), rel=1e-5)
    assert terms["feedback"].item() == pytest.approx(terms["sup_t"].item() + 0.3 * 0.5 * terms["fps"].item(),
                                                     rel=1e-5)


def test_cutmix_mixes_inputs_and_every_pseudo_label_from_unmixed_images():
    cfg, nets, opt_s, opt_t, batch = setup(cutmix=True)
    t, s1, s2 = (copy.deepcopy(nets[k]) for k in ("teacher", "student1", "student2"))
    seen = []
    nets["student1"].register_forward_hook(lambda m, inp, out: seen.append(inp[0].detach().clone()))
    terms = gps.gps_iteration(nets, opt_s, opt_t, batch, cfg, w=1.0)
    x_mixed = mix(batch.x_u, batch.boxes)
    assert not torch.equal(x_mixed, batch.x_u)
    training = [x for x in seen if len(x) == len(batch.x_l) + len(batch.x_u)]
    assert len(training) == 1 and torch.equal(training[0], torch.cat([batch.x_l, x_mixed]))   # sees mixed images
    assert all(torch.equal(x, batch.x_u) for x in seen if len(x) == len(batch.x_u))     # label passes: unmixed
    u1, u2 = s1(x_mixed), s2(x_mixed)
    y_t = mix(t(batch.x_u).argmax(1), batch.boxes)                      # Y^t: unmixed, then mixed
    y_s1, y_s2 = (mix(s(batch.x_u).argmax(1), batch.boxes) for s in (s1, s2))
    assert terms["gps"].item() == pytest.approx(losses.gps_loss(u1, u2, y_t).item(), rel=1e-5)
    assert terms["cps"].item() == pytest.approx(losses.cps_loss(u1, u2, y_s1, y_s2).item(), rel=1e-5)


def test_merged_update_uses_previous_students_and_differs_from_two_step():
    cfg2, nets2, opt_s2, opt_t2, batch = setup(lr=2.0)
    cfgm, netsm, opt_sm, opt_tm, _ = setup(lr=2.0, update="merged")
    gps.gps_iteration(nets2, opt_s2, opt_t2, batch, cfg2, w=1.0)
    gps.gps_iteration(netsm, opt_sm, opt_tm, batch, cfgm, w=1.0)
    for k in ("student1", "student2"):       # the guide step is the same in both
        assert same(params(nets2[k]), params(netsm[k]))
    assert not same(params(nets2["teacher"]), params(netsm["teacher"]))
    # merged == a feedback step with labels from the students of the previous iteration
    cfg, nets, opt_s, opt_t, _ = setup(lr=2.0)
    y_old = losses.averaged_label(nets["student1"](batch.x_u), nets["student2"](batch.x_u)).detach()
    loss, _ = gps.feedback_objective(nets["teacher"], batch, y_old, 1.0, cfg)
    opt_t.zero_grad()
    loss.backward()
    opt_t.step()
    assert all(torch.allclose(a, b, atol=1e-6) for a, b in zip(params(nets["teacher"]), params(netsm["teacher"])))


@pytest.mark.parametrize("switch, absent", [("use_gps", "gps"), ("use_cps", "cps"), ("use_fps", "fps")])
def test_each_switch_removes_exactly_its_term(switch, absent):
    cfg, nets, opt_s, opt_t, batch = setup()
    full = gps.gps_iteration(nets, opt_s, opt_t, batch, cfg, w=1.0)
    cfg_off, nets, opt_s, opt_t, batch = setup(**{switch: False})
    terms = gps.gps_iteration(nets, opt_s, opt_t, batch, cfg_off, w=1.0)
    assert absent not in terms and absent in full
    # terms computed before any update are untouched (L_fps follows the updated students, so it may change)
    for k in {"sup_s", "gps", "cps", "sup_t"} - {absent}:
        assert terms[k].item() == pytest.approx(full[k].item(), rel=1e-5), k
    a, b, c = (terms.get(k, torch.tensor(0.0)).item() for k in ("sup_s", "gps", "cps"))
    assert terms["guide"].item() == pytest.approx(a + 0.5 * b + 1.5 * c, rel=1e-5)
    fps = terms.get("fps", torch.tensor(0.0)).item()
    assert terms["feedback"].item() == pytest.approx(terms["sup_t"].item() + 0.5 * fps, rel=1e-5)


def test_switched_off_terms_skip_their_network_passes(monkeypatch):
    calls = []
    original = gps.predict_no_grad
    monkeypatch.setattr(gps, "predict_no_grad", lambda net, x, mode="eval": calls.append(net) or original(net, x, mode))
    cfg, nets, opt_s, opt_t, batch = setup(use_gps=False, use_fps=False)
    gps.gps_iteration(nets, opt_s, opt_t, batch, cfg, w=1.0)
    assert calls == []        # no teacher pseudo-labels, no feedback pass (CPS labels come from the forward)


def test_cps_baseline_has_no_teacher_and_supervised_one_network():
    cfg, nets, opt_s, _, batch = setup(method="cps")
    terms = gps.cps_iteration(nets, opt_s, batch, cfg)
    assert set(terms) == {"sup_s", "cps", "guide"}
    net = tiny_net(5)
    terms = gps.supervised_step(net, torch.optim.SGD(net.parameters(), lr=0.1), batch.x_l, batch.y_l)
    assert set(terms) == {"sup"}


def test_rampdown_scales_alpha():
    cfg, nets, opt_s, opt_t, batch = setup()
    loss, terms = gps.guide_objective(nets["teacher"], nets["student1"], nets["student2"], batch, cfg, alpha_scale=0.2)
    expected = terms["sup_s"] + 0.5 * 0.2 * terms["gps"] + 1.5 * terms["cps"]
    assert loss.item() == pytest.approx(expected.item(), rel=1e-6)


def test_cps_baseline_cross_loss_covers_labeled_images_without_cutmix_only():
    """TorchSemiSeg's CPS: without CutMix the cross loss is one CE over the labeled and unlabeled pixels together;
    with CutMix it is on the mixed unlabeled images only. GPS's L_cps (eq. 6) is always on X^u alone."""
    cfg, nets, opt_s, _, batch = setup(method="cps")
    s1, s2 = copy.deepcopy(nets["student1"]), copy.deepcopy(nets["student2"])
    terms = gps.cps_iteration(nets, opt_s, batch, cfg)
    a, b = s1(torch.cat([batch.x_l, batch.x_u])), s2(torch.cat([batch.x_l, batch.x_u]))
    both = losses.ce(a, b.argmax(1)) + losses.ce(b, a.argmax(1))
    u1, u2 = s1(batch.x_u), s2(batch.x_u)
    unlabeled_only = losses.ce(u1, u2.argmax(1)) + losses.ce(u2, u1.argmax(1))
    assert terms["cps"].item() == pytest.approx(both.item(), rel=1e-5)
    assert abs(both.item() - unlabeled_only.item()) > 1e-4
    cfg, nets, opt_s, _, batch = setup(method="cps", cutmix=True)
    s1, s2 = copy.deepcopy(nets["student1"]), copy.deepcopy(nets["student2"])
    terms = gps.cps_iteration(nets, opt_s, batch, cfg)
    x = batch.mixed(batch.x_u)
    y1, y2 = batch.mixed(s1(batch.x_u).argmax(1)), batch.mixed(s2(batch.x_u).argmax(1))
    assert terms["cps"].item() == pytest.approx((losses.ce(s1(x), y2) + losses.ce(s2(x), y1)).item(), rel=1e-5)
    cfg, nets, opt_s, opt_t, batch = setup(cps_on_labeled=True)     # the switch reaches GPS as well
    s1, s2 = copy.deepcopy(nets["student1"]), copy.deepcopy(nets["student2"])
    terms = gps.gps_iteration(nets, opt_s, opt_t, batch, cfg, w=0.3)
    a, b = s1(torch.cat([batch.x_l, batch.x_u])), s2(torch.cat([batch.x_l, batch.x_u]))
    assert terms["cps"].item() == pytest.approx((losses.ce(a, b.argmax(1)) + losses.ce(b, a.argmax(1))).item(),
                                                rel=1e-5)
