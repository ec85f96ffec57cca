"""Equations 3-10 of the paper: the pixel losses of GPS and the adaptive Gaussian ramp-up.

Notation follows section 3: logits of S1, S2 and T on labeled (l) and unlabeled (u) images; Y^l ground
truth, Y^t the teacher's pseudo-labels, Y^{s_k} a student's, Y^{s-bar} the students' average. Every CE is
the mean over pixels whose label is not 255 (the 1/(n x W x H) of eq. 2, with ignored pixels left out).
The training steps that use these terms are in gpslib/train/gps.py.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from .data.palette import IGNORE


def ce(logits: Tensor, target: Tensor) -> Tensor:
    """Pixel cross-entropy l_ce averaged over non-ignored pixels (eq. 2);
    0 when every pixel is ignored.

    Written as sum / count rather than reduction="mean" so it needs no
    host-device sync and never gives NaN.
    """
    total = F.cross_entropy(logits.float(), target, ignore_index=IGNORE,
                            reduction="sum")
    return total / (target != IGNORE).sum().clamp_min(1)


def sup_loss(logits_l1: Tensor, logits_l2: Tensor, y_l: Tensor) -> Tensor:
    """Eq. 4: L_sup^s = CE(S1(X^l), Y^l) + CE(S2(X^l), Y^l)."""
    return ce(logits_l1, y_l) + ce(logits_l2, y_l)


def gps_loss(logits_u1: Tensor, logits_u2: Tensor, y_t: Tensor) -> Tensor:
    """Eq. 5: L_gps = CE(S1(X^u), Y^t) + CE(S2(X^u), Y^t), the teacher
    guiding both students."""
    return ce(logits_u1, y_t) + ce(logits_u2, y_t)


def cps_loss(logits_u1: Tensor, logits_u2: Tensor, y_s1: Tensor,
             y_s2: Tensor) -> Tensor:
    """Eq. 6: L_cps = CE(S1(X^u), Y^{s2}) + CE(S2(X^u), Y^{s1}), each student
    teaching the other."""
    return ce(logits_u1, y_s2) + ce(logits_u2, y_s1)


def guide_loss(l_sup_s: Tensor, l_gps: Tensor | None, l_cps: Tensor | None,
               alpha: float, beta: float) -> Tensor:
    """Eq. 7: L_guide = L_sup^s + alpha L_gps + beta L_cps (a switched-off
    term is None)."""
    loss = l_sup_s
    if l_gps is not None:
        loss = loss + alpha * l_gps
    if l_cps is not None:
        loss = loss + beta * l_cps
    return loss


def fps_loss(logits_ut: Tensor, y_sbar: Tensor) -> Tensor:
    """Eq. 8: L_fps = CE(T(X^u), Y^{s-bar}), the students' averaged feedback to the teacher."""
    return ce(logits_ut, y_sbar)


def label_map(scores: Tensor) -> Tensor:
    """argmax over the class dimension of [B, C, H, W] scores: a pseudo-label or a prediction.

    `max(1).indices` keeps argmax's rule (the first maximal class wins a tie) and is about 10x faster than
    `argmax(1)` on the CPU, where argmax reduces across the strided class dimension one pixel at a time."""
    return scores.max(1).indices


def averaged_label(logits_1: Tensor, logits_2: Tensor) -> Tensor:
    """Y^{s-bar} = argmax of (softmax S1 + softmax S2) / 2 (section 3.3)."""
    return label_map((logits_1.float().softmax(1) + logits_2.float().softmax(1)) / 2)


def gaussian_rampup(e: float, r: float) -> float:
    """Eq. 9: w(e) = exp(-(1 - e/r)^2) if e <= r, else 1."""
    return math.exp(-((1.0 - e / r) ** 2)) if e <= r else 1.0


def gaussian_rampdown(e: float, r: float, max_epochs: float) -> float:
    """Section 4.4.3's ramp-down of L_gps after the latch, mirroring eq. 9: 1 at e = r, exp(-1) at e = E."""
    if e <= r or max_epochs <= r:
        return 1.0
    return math.exp(-(((e - r) / (max_epochs - r)) ** 2))


def feedback_loss(l_sup_t: Tensor, l_fps: Tensor | None, w: float, gamma: float) -> Tensor:
    """Eq. 10: L_fb = L_sup^t + w(e) gamma L_fps."""
    return l_sup_t if l_fps is None else l_sup_t + w * gamma * l_fps


class AdaptiveRampUp:
    """The state behind eq. 9: r starts at E and latches to the current epoch e once L_sup^s / 2 <= L_sup^t.

    mode "adaptive" latches; "fixed" keeps r = E (a plain Gaussian ramp-up); "none" gives w = 1 throughout.
    check "epoch" compares the epoch's mean losses at the end of each epoch (robust to one lucky batch);
    check "iteration" compares the losses of every iteration's labeled batch.
    """

    def __init__(self, max_epochs: int, mode: str = "adaptive", check: str = "epoch"):
        self.max_epochs, self.mode, self.check = max_epochs, mode, check
        self.r = float(max_epochs)
        self.latched_epoch: int | None = None
        self.latched_iteration: int | None = None
        self._sums: Tensor | None = None   # running sums of (L_sup^s, L_sup^t), kept on the losses' device
        self._count = 0

    def weight(self, e: int) -> float:
        if self.mode == "none":
            return 1.0
        return gaussian_rampup(e, self.r)

    def gps_scale(self, e: int) -> float:
        """Ramp-down factor of alpha (section 4.4.3); 1 until the latch fires."""
        if self.latched_epoch is None:
            return 1.0
        return gaussian_rampdown(e, self.r, self.max_epochs)

    def observe(self, l_sup_s: Tensor, l_sup_t: Tensor, e: int, iteration: int) -> None:
        """Feed one iteration's supervised losses (eq. 4 and the L_sup^t of eq. 10) on the same labeled batch."""
        if self.mode != "adaptive" or self.latched_epoch is not None:
            return
        if self.check == "iteration":
            if float(l_sup_s) / 2 <= float(l_sup_t):
                self._latch(e, iteration)
            return
        pair = torch.stack([l_sup_s.detach().double(), l_sup_t.detach().double()])
        self._sums = pair if self._sums is None else self._sums.to(pair.device) + pair
        self._count += 1

    def end_epoch(self, e: int, iteration: int) -> None:
        """Epoch check: latch r := e if the epoch-mean L_sup^s / 2 <= epoch-mean L_sup^t."""
        if self.check == "epoch" and self._count and self.latched_epoch is None:
            mean_s, mean_t = (self._sums / self._count).tolist()
            if mean_s / 2 <= mean_t:
                self._latch(e, iteration)
        self._sums, self._count = None, 0

    def _latch(self, e: int, iteration: int) -> None:
        self.r = float(e)
        self.latched_epoch, self.latched_iteration = e, iteration

    def state_dict(self) -> dict:
        return {"r": self.r, "latched_epoch": self.latched_epoch, "latched_iteration": self.latched_iteration,
                "sums": None if self._sums is None else self._sums.cpu(), "count": self._count}

    def load_state_dict(self, state: dict) -> None:
        self.r = state["r"]
        self.latched_epoch, self.latched_iteration = state["latched_epoch"], state["latched_iteration"]
        self._sums, self._count = state["sums"], state["count"]
