"""One GPS iteration (section 3): the guide step (eq. 3-7) then the feedback step (eq. 8-10).

Read next to the paper: `guide_objective` is eq. 7 for S1, S2 (L_sup^s + alpha L_gps + beta L_cps, using the
teacher's pseudo-labels Y^t); `feedback_objective` is eq. 10 for T (L_sup^t + w(e) gamma L_fps, with the
averaged pseudo-labels Y^{s-bar} of the students *as just updated*). Each sums its terms with the formula of
the same equation in losses.py (`losses.guide_loss`, `losses.feedback_loss`); `gps_iteration` runs the two
steps. `update="merged"` (Fig. 6a) instead computes
Y^{s-bar} from the students before their update and takes one step on the summed loss.

CutMix follows CPS: every pseudo-label is computed on the unmixed images and then mixed with the same
boxes as the inputs; the networks that learn see only the mixed images. The CPS baseline is the guide
step without a teacher, whose cross loss also covers X^l without CutMix (`cps_on_labeled`, as CPS's own code);
phase a and the supervised baseline are `supervised_step`.
"""
from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext

import torch
from torch import Tensor, nn

from .. import losses
from ..models import predict_no_grad
from .batch import Batch

__all__ = ["Batch", "predict_no_grad", "pseudo_label", "feedback_label", "cps_on_labeled", "guide_objective",
           "feedback_objective",
           "gps_iteration", "cps_iteration", "supervised_step"]


Timer = Callable[[str], AbstractContextManager]


def no_timer(_phase: str) -> AbstractContextManager:
    """The default: phases are not timed. `gpslib bench` passes a timer that records each named phase."""
    return nullcontext()


def pseudo_label(net: nn.Module, batch: Batch, mode: str = "eval") -> Tensor:
    """argmax of one network on the unmixed X^u, mixed like the inputs (Y^t,
    or Y^{s_k} under CutMix)."""
    logits = predict_no_grad(net, batch.x_u, mode)
    return batch.mixed(losses.label_map(logits))


def feedback_label(s1: nn.Module, s2: nn.Module, batch: Batch, mode: str = "eval") -> Tensor:
    """Y^{s-bar}: argmax of the students' averaged softmax on the unmixed X^u, mixed like the inputs."""
    x = batch.x_u
    return batch.mixed(losses.averaged_label(predict_no_grad(s1, x, mode), predict_no_grad(s2, x, mode)))


def _forward_split(net: nn.Module, x_l: Tensor, x_u: Tensor | None) -> tuple[Tensor, Tensor | None]:
    """One forward over [X^l; X^u] (one BN batch), split back into the two halves."""
    if x_u is None:
        return net(x_l), None
    logits = net(torch.cat([x_l, x_u]))
    return logits[: len(x_l)], logits[len(x_l):]


def cps_on_labeled(cfg, t: nn.Module | None, batch: Batch) -> bool:
    """Whether L_cps also covers X^l. GPS (eq. 6): X^u only. The CPS baseline follows its reference code
    (TorchSemiSeg): without CutMix on the labeled and unlabeled images of a batch, with CutMix on X^u only."""
    if cfg.cps_on_labeled is not None:
        return bool(cfg.cps_on_labeled)
    return t is None and batch.boxes is None


def guide_objective(t: nn.Module | None, s1: nn.Module, s2: nn.Module,
                    batch: Batch, cfg, alpha_scale: float = 1.0,
                    timer: Timer = no_timer) -> tuple[Tensor, dict]:
    """Eq. 7 for the current students; without t (or use_gps) as in CPS."""
    mode = cfg.pseudo_label_mode
    use_u = batch.x_u is not None and (
        (cfg.use_gps and t is not None) or cfg.use_cps)
    y_t = None
    if use_u and cfg.use_gps and t is not None:
        with timer("teacher pseudo-labels"):
            y_t = pseudo_label(t, batch, mode)                        # Y^t
    if use_u and cfg.use_cps and batch.boxes is not None:
        # under CutMix, Y^{s_k} come from the unmixed images, then mixed
        with timer("student pseudo-labels"):
            y_s1 = pseudo_label(s1, batch, mode)
            y_s2 = pseudo_label(s2, batch, mode)
    with timer("guide forward"):
        x_in = batch.mixed(batch.x_u) if use_u else None
        l1, u1 = _forward_split(s1, batch.x_l, x_in)
        l2, u2 = _forward_split(s2, batch.x_l, x_in)
        terms = {"sup_s": losses.sup_loss(l1, l2, batch.y_l)}         # eq. 4
        l_gps = l_cps = None
        if y_t is not None:
            l_gps = terms["gps"] = losses.gps_loss(u1, u2, y_t)       # eq. 5
        if use_u and cfg.use_cps:
            if batch.boxes is None:
                # CPS without CutMix: each student's own training forward
                y_s1 = losses.label_map(u1.detach())
                y_s2 = losses.label_map(u2.detach())
            if cps_on_labeled(cfg, t, batch):
                # CPS's reference: its cross loss on X^l and X^u alike
                u1, u2 = torch.cat([l1, u1]), torch.cat([l2, u2])
                y_s1 = torch.cat([losses.label_map(l1.detach()), y_s1])
                y_s2 = torch.cat([losses.label_map(l2.detach()), y_s2])
            l_cps = losses.cps_loss(u1, u2, y_s1, y_s2)               # eq. 6
            terms["cps"] = l_cps
        loss = losses.guide_loss(terms["sup_s"], l_gps, l_cps,        # eq. 7
                                 cfg.alpha * alpha_scale, cfg.beta)
    terms["guide"] = loss
    return loss, terms


def feedback_objective(t: nn.Module, batch: Batch, y_sbar: Tensor | None, w: float, cfg,
                 timer: Timer = no_timer) -> tuple[Tensor, dict[str, Tensor]]:
    """Eq. 10: L_sup^t + w(e) gamma L_fps (L_fps left out when y_sbar is None)."""
    with timer("feedback forward"):
        x_in = batch.mixed(batch.x_u) if y_sbar is not None else None
        logits_l, logits_u = _forward_split(t, batch.x_l, x_in)
        terms = {"sup_t": losses.ce(logits_l, batch.y_l)}
        l_fps = None
        if y_sbar is not None:
            l_fps = terms["fps"] = losses.fps_loss(logits_u, y_sbar)             # eq. 8
        loss = losses.feedback_loss(terms["sup_t"], l_fps, w, cfg.gamma)         # eq. 10
    terms["feedback"] = loss
    return loss, terms


def _step(optimizers: list[torch.optim.Optimizer], loss: Tensor, timer: Timer = no_timer,
          name: str = "backward") -> None:
    for opt in optimizers:
        opt.zero_grad(set_to_none=True)
    with timer(name):
        loss.backward()
    with timer("optimizer steps"):
        for opt in optimizers:
            opt.step()


def gps_iteration(nets: dict[str, nn.Module], opt_students: torch.optim.Optimizer, opt_teacher: torch.optim.Optimizer,
                  batch: Batch, cfg, w: float, alpha_scale: float = 1.0,
                  timer: Timer = no_timer) -> dict[str, Tensor]:
    """Phases b and c of one iteration; returns the detached loss terms."""
    t, s1, s2 = nets["teacher"], nets["student1"], nets["student2"]
    fps_on = cfg.use_fps and batch.x_u is not None

    def feedback_labels():
        with timer("feedback pseudo-labels"):
            return feedback_label(s1, s2, batch, cfg.pseudo_label_mode) if fps_on else None

    if cfg.update == "merged":
        # Fig. 6a: every pseudo-label from the networks of the previous iteration, one update of all three.
        y_sbar = feedback_labels()
        g_loss, g_terms = guide_objective(t, s1, s2, batch, cfg, alpha_scale, timer)
        f_loss, f_terms = feedback_objective(t, batch, y_sbar, w, cfg, timer)
        _step([opt_students, opt_teacher], g_loss + f_loss, timer, "merged backward")
    else:
        g_loss, g_terms = guide_objective(t, s1, s2, batch, cfg, alpha_scale, timer)   # guide step (eq. 7) ...
        _step([opt_students], g_loss, timer, "guide backward")                      # ... updates S1 and S2 only
        y_sbar = feedback_labels()                                                   # from the UPDATED students
        f_loss, f_terms = feedback_objective(t, batch, y_sbar, w, cfg, timer)            # feedback step (eq. 10) ...
        _step([opt_teacher], f_loss, timer, "feedback backward")                    # ... updates T only
    return {k: v.detach() for k, v in {**g_terms, **f_terms}.items()}


def cps_iteration(nets: dict[str, nn.Module], opt_students: torch.optim.Optimizer, batch: Batch,
                  cfg, timer: Timer = no_timer) -> dict[str, Tensor]:
    """The CPS baseline: two students, L_sup^s + beta L_cps, no teacher."""
    loss, terms = guide_objective(None, nets["student1"], nets["student2"], batch, cfg, timer=timer)
    _step([opt_students], loss, timer, "guide backward")
    return {k: v.detach() for k, v in terms.items()}


def supervised_step(net: nn.Module, optimizer: torch.optim.Optimizer, x_l: Tensor, y_l: Tensor,
                    timer: Timer = no_timer) -> dict[str, Tensor]:
    """Eq. 2 for one network: phase a of the teacher, and the SupOnly baseline."""
    with timer("supervised forward"):
        loss = losses.ce(net(x_l), y_l)
    _step([optimizer], loss, timer, "supervised backward")
    return {"sup": loss.detach()}
