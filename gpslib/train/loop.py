"""The run around the update rule: data streams, phase a, learning rates, evaluation, history, checkpoints, resume.

`train(cfg)` runs one method end to end and returns its History. The update rules themselves live in
gps.py; this file only decides *when* things happen. Every quantity a resumed run needs (networks,
optimisers, ramp-up state, RNG states, the iteration that fixes the data position) is in the checkpoint.
"""
from __future__ import annotations

import math
import signal
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager, nullcontext
from pathlib import Path

import torch
from tqdm import tqdm

from .. import losses
from ..checkpoint import load_checkpoint, save_checkpoint
from ..config import Config
from ..data import build_datasets
from ..data.cutmix import box_masks
from ..data.dataset import skip_corrupt, skipped_files
from ..errors import GpslibError, TrainingInterrupted
from ..evaluate import ConfusionMatrix, evaluate
from ..history import History, environment
from ..models import ROLES, build_networks
from ..paths import RUNS_DIR
from . import distributed
from .gps import Batch, cps_iteration, gps_iteration, predict_no_grad, supervised_step
from .schedule import fixed_teacher_lr, make_optimizer, poly_lr, set_lr
from .stream import stream_loader

ROLES_OF = {"gps": ROLES, "cps": ROLES[1:], "supervised": ROLES[1:2]}
LABELED, UNLABELED, TEACHER = 0, 1, 2      # stream ids
PSEUDO_SEED = 7919                          # fixed augmentation of the images that score pseudo-labels


def out_dir_of(cfg: Config) -> Path:
    """cfg.out_dir, or a new runs/<dataset>-<partition>-<method>-seed<k>-<time> so that no run overwrites another."""
    if cfg.out_dir:
        return Path(cfg.out_dir)
    return RUNS_DIR / f"{cfg.run_name}-{time.strftime('%Y%m%d-%H%M%S')}"


class Trainer:
    """Builds everything from a Config; `run()` trains, evaluates and checkpoints."""

    def __init__(self, cfg: Config, on_iteration: Callable[[int, "Trainer"], None] | None = None,
                 progress: bool = True):
        self.cfg, self.on_iteration, self.progress = cfg, on_iteration, progress
        self.rt = distributed.setup(cfg.device)
        self.out_dir = out_dir_of(cfg)
        torch.manual_seed(cfg.seed)
        self.data = build_datasets(cfg)
        self.skip_log = self.out_dir / "skipped_files.txt"
        if cfg.on_corrupt == "skip":   # training sets only: a skipped val image would change what mIoU measures
            for dataset in (self.data.labeled, self.data.unlabeled):
                skip_corrupt(dataset, self.skip_log)
        n_unlabeled = len(self.data.unlabeled)
        if n_unlabeled < cfg.batch_unlabeled and cfg.method != "supervised":
            raise GpslibError(f"The unlabeled set has {n_unlabeled} images, fewer than batch_unlabeled="
                              f"{cfg.batch_unlabeled}; lower the batch or use a smaller labeled fraction.")
        if len(self.data.labeled) < cfg.batch_labeled:
            raise GpslibError(f"The labeled set has {len(self.data.labeled)} images, fewer than batch_labeled="
                              f"{cfg.batch_labeled}; lower batch_labeled or use a larger partition.")
        self.iters_per_epoch = cfg.iters_per_epoch or max(1, n_unlabeled // cfg.batch_unlabeled)
        self.max_iter = cfg.epochs * self.iters_per_epoch
        self.teacher_iters = round(cfg.teacher_epochs * self.iters_per_epoch) if cfg.method == "gps" else 0
        self.eval_every = cfg.eval_every or self.iters_per_epoch
        self.checkpoint_every = cfg.checkpoint_every or self.eval_every

        cuda = self.rt.device.type == "cuda"
        self.autocast = (lambda: torch.autocast("cuda", dtype=torch.bfloat16)) if (cuda and cfg.amp) else nullcontext
        self.memory_format = torch.channels_last if cuda else torch.contiguous_format
        self.nets = {}
        for role, net in build_networks(cfg, ROLES_OF[cfg.method]).items():
            self.nets[role] = distributed.wrap(net.to(self.rt.device, memory_format=self.memory_format), self.rt)
        students = [self.nets[r] for r in ("student1", "student2") if r in self.nets]
        self.opt_students = make_optimizer(students, cfg)
        self.opt_teacher = make_optimizer([self.nets["teacher"]], cfg) if "teacher" in self.nets else None
        self.rampup = losses.AdaptiveRampUp(cfg.epochs, cfg.rampup, cfg.latch_check)
        self.history = History(cfg.to_dict(), {"method": cfg.method, "iters_per_epoch": self.iters_per_epoch,
                                               "teacher_iters": self.teacher_iters, "max_iter": self.max_iter,
                                               "device": str(self.rt.device), "world_size": self.rt.world_size,
                                               "partition_source": self.data.partition.source,
                                               "n_labeled": len(self.data.labeled), "n_unlabeled": n_unlabeled,
                                               "wall_time_s": 0.0, **environment()})
        self.teacher_iteration = 0     # next phase-a iteration
        self.iteration = 0             # next main iteration (also the data position of both streams)
        self._pending: list[tuple[int, dict]] = []
        self._t0 = time.perf_counter()
        self._writer = None
        self._interrupted = False      # set by Ctrl-C; the loops save and stop at the next iteration boundary

    # ------------------------------------------------------------------ state
    def state_dict(self) -> dict:
        self._account_time()
        state = {"format": 1, "config": self.cfg.to_dict(), "iteration": self.iteration,
                 "teacher_iteration": self.teacher_iteration,
                 "data_position": {"labeled_stream": self.iteration, "unlabeled_stream": self.iteration,
                                   "teacher_stream": self.teacher_iteration},
                 "nets": {role: distributed.unwrap(net).state_dict() for role, net in self.nets.items()},
                 "opt_students": self.opt_students.state_dict(),
                 "rampup": self.rampup.state_dict(), "history": self.history.state_dict(),
                 "rng": {"torch": torch.get_rng_state()}}
        if self.opt_teacher is not None:
            state["opt_teacher"] = self.opt_teacher.state_dict()
        if torch.cuda.is_available():
            state["rng"]["cuda"] = torch.cuda.get_rng_state_all()
        return state

    def load_state_dict(self, state: dict) -> None:
        for role, net in self.nets.items():
            distributed.unwrap(net).load_state_dict(state["nets"][role])
        self.opt_students.load_state_dict(state["opt_students"])
        if self.opt_teacher is not None:
            self.opt_teacher.load_state_dict(state["opt_teacher"])
        self.rampup.load_state_dict(state["rampup"])
        self.history = History.from_state(state["history"])
        self.iteration, self.teacher_iteration = state["iteration"], state["teacher_iteration"]
        torch.set_rng_state(state["rng"]["torch"])
        if "cuda" in state["rng"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["rng"]["cuda"])

    def _account_time(self) -> None:
        now = time.perf_counter()
        self.history.meta["wall_time_s"] = self.history.meta.get("wall_time_s", 0.0) + now - self._t0
        self._t0 = now

    def checkpoint(self) -> None:
        self.history.meta["skipped_files"] = skipped_files(self.skip_log)
        if self.rt.is_main:
            save_checkpoint(self.state_dict(), self.out_dir / "last.pt")
            self.history.save(self.out_dir / "history.json")

    def resume(self) -> bool:
        """Continue from <out_dir>/last.pt when it exists; refuse a checkpoint made with another config."""
        path = self.out_dir / "last.pt"
        if not path.exists():
            return False
        state = load_checkpoint(path)
        where = ("out_dir", "device", "num_workers", "tensorboard", "on_corrupt")  # may change between sessions
        saved = {k: v for k, v in state["config"].items() if k not in where}
        now = {k: v for k, v in self.cfg.to_dict().items() if k not in where}
        plain = lambda v: list(v) if isinstance(v, (tuple, list)) else v      # noqa: E731 - tuples load as tuples or lists
        changed = sorted(k for k in now if plain(saved.get(k)) != plain(now[k]))
        if changed:
            raise GpslibError(f"{path} was written with different settings ({', '.join(changed)}); resume with the "
                              "same config or start a new out_dir.")
        self.load_state_dict(state)
        return True

    # ------------------------------------------------------------------ data
    def _loader(self, dataset, batch: int, stream: int, start: int, stop: int):
        return stream_loader(dataset, batch, self.cfg.seed, stream, start, stop, self.cfg.num_workers,
                             pin_memory=self.rt.device.type == "cuda", rank=self.rt.rank,
                             world_size=self.rt.world_size)

    def _to_device(self, x, y):
        x = x.to(self.rt.device, non_blocking=True).contiguous(memory_format=self.memory_format)
        return x, y.to(self.rt.device, non_blocking=True)

    def _boxes(self, iteration: int, x_u: torch.Tensor) -> torch.Tensor | None:
        if not self.cfg.cutmix:
            return None
        generator = torch.Generator().manual_seed(self.cfg.seed * 1_000_003 + iteration)
        boxes = box_masks(len(x_u), x_u.shape[-2], x_u.shape[-1], self.cfg.cutmix_boxes, self.cfg.cutmix_area,
                          generator)
        return boxes.to(self.rt.device, non_blocking=True)

    # ------------------------------------------------------------------ logging
    def _record(self, which: str, iteration: int, values: dict) -> None:
        self._pending.append((iteration, {"_table": which, **values}))

    def _flush(self) -> None:
        """One host-device sync for all pending rows; stop on a non-finite loss before any checkpoint."""
        if not self._pending:
            return
        keys = [[k for k, v in row.items() if isinstance(v, torch.Tensor)] for _, row in self._pending]
        flat = [row[k] for (_, row), ks in zip(self._pending, keys) for k in ks]
        numbers = torch.stack([v.float() for v in flat]).tolist() if flat else []
        cursor = 0
        for (iteration, row), ks in zip(self._pending, keys):
            out = {k: v for k, v in row.items() if k not in ks and k != "_table"}
            for k in ks:
                out[k] = numbers[cursor]
                cursor += 1
            bad = [k for k in ks if not math.isfinite(out[k])]
            if bad:
                self._pending.clear()
                last = self.out_dir / "last.pt"
                kept = f"the last good checkpoint is {last}" if last.exists() else "no checkpoint was written yet"
                terms = ", ".join(f"{k}={out[k]:.4g}" for k in ks)
                phase = "phase a" if row["_table"] == "teacher" else "main"
                raise GpslibError(f"Loss {', '.join(bad)} became non-finite at {phase} iteration "
                                  f"{iteration} ({terms}); the run stopped and {kept}. Lower lr or check the data.")
            getattr(self.history, row["_table"]).append({"iteration": iteration, **out})
            if self._writer is not None:
                for k in ks:
                    self._writer.add_scalar(f"{row['_table']}/{k}", out[k], iteration)
        self._pending.clear()

    def _rank_mean(self, *values: torch.Tensor) -> torch.Tensor:
        """Average over DDP ranks, so every rank latches the ramp-up at the same moment (identity on one process)."""
        pair = torch.stack([v.detach().float() for v in values])
        if self.rt.distributed:
            torch.distributed.all_reduce(pair)
            pair = pair / self.rt.world_size
        return pair

    # ------------------------------------------------------------------ evaluation
    def evaluate_all(self, iteration: int, epoch: float) -> dict:
        """mIoU of every network on val, and the quality of each pseudo-label source on unlabeled images."""
        cfg = self.cfg
        row = {"iteration": iteration, "epoch": epoch}
        for role, net in self.nets.items():
            result = evaluate(distributed.unwrap(net), self.data.val, cfg.num_classes, mode=cfg.eval_mode,
                              crop=cfg.eval_crop or cfg.crop_size, device=self.rt.device, limit=cfg.val_limit,
                              amp=cfg.amp)
            row[f"miou_{role}"] = result["miou"]
            row[f"iou_{role}"] = result["iou"]
        row.update(self.pseudo_label_quality())
        self.history.evals.append(row)
        if self._writer is not None:
            for k, v in row.items():
                if k.startswith(("miou", "acc", "agree")):
                    self._writer.add_scalar(f"eval/{k}", v, iteration)
        return row

    @torch.no_grad()
    def pseudo_label_quality(self) -> dict:
        """Beyond the paper: pixel accuracy of Y^t and Y^{s-bar} against the hidden masks of unlabeled images."""
        n = min(self.cfg.pseudo_eval_images, len(self.data.unlabeled))
        samples = getattr(self.data.unlabeled, "samples", None)
        has_masks = samples is None or any(s.mask is not None for s in samples[:n])
        if n == 0 or not has_masks:   # mask-less unlabeled images (a folder dataset): nothing to score against
            return {}
        sources = {"teacher": ["teacher"], "students": [r for r in ("student1", "student2") if r in self.nets]}
        sources = {name: roles for name, roles in sources.items() if roles and all(r in self.nets for r in roles)}
        matrices = {name: ConfusionMatrix(self.cfg.num_classes, self.rt.device) for name in sources}
        agree = total = 0
        for i in range(self.rt.rank, n, self.rt.world_size):
            x, y = self.data.unlabeled[(i, PSEUDO_SEED + i)]
            x, y = self._to_device(x[None], y[None])
            labels = {}
            with self.autocast():
                for name, roles in sources.items():
                    probs = sum(predict_no_grad(self.nets[r], x).float().softmax(1) for r in roles)
                    labels[name] = probs.argmax(1)
                    matrices[name].update(labels[name], y)
            if len(labels) == 2:
                agree += int((labels["teacher"] == labels["students"]).sum())
                total += labels["teacher"].numel()
        out = {}
        for name, matrix in matrices.items():
            matrix.all_reduce()
            out[f"acc_{name}"] = matrix.pixel_accuracy()
            out[f"pl_miou_{name}"] = matrix.miou()
        if total:
            out["agreement"] = agree / total
        return out

    # ------------------------------------------------------------------ phases
    def run_teacher_phase(self) -> None:
        """Phase a: the teacher alone on D^l with eq. 2 and its own poly schedule."""
        cfg, teacher = self.cfg, self.nets["teacher"]
        if self.teacher_iteration >= self.teacher_iters:
            return
        loader = self._loader(self.data.labeled, cfg.batch_labeled, TEACHER, self.teacher_iteration,
                              self.teacher_iters)
        teacher.train()
        bar = tqdm(total=self.teacher_iters, initial=self.teacher_iteration, desc="phase a (teacher)",
                   disable=not (self.progress and self.rt.is_main), leave=False)
        for x_l, y_l in loader:
            it = self.teacher_iteration
            lr = poly_lr(cfg.lr, it, self.teacher_iters, cfg.poly_power)
            set_lr(self.opt_teacher, lr)
            x_l, y_l = self._to_device(x_l, y_l)
            with self.autocast():
                terms = supervised_step(teacher, self.opt_teacher, x_l, y_l)
            self._record("teacher", it, {"sup_t": terms["sup"], "lr_teacher": lr})
            self.teacher_iteration += 1
            bar.update()
            if self.teacher_iteration % self.checkpoint_every == 0 or self.teacher_iteration == self.teacher_iters:
                self._flush()
                self.checkpoint()
            self._stop_if_interrupted("phase a", self.teacher_iteration)
        bar.close()

    def run_main_phase(self) -> None:
        """Phases b and c (GPS), or the CPS / SupOnly baselines, for E epochs of |D^u| / batch iterations."""
        cfg = self.cfg
        if self.iteration == 0 and not self.history.evals:
            self.evaluate_all(0, 0.0)
        if self.iteration >= self.max_iter:
            return
        labeled = iter(self._loader(self.data.labeled, cfg.batch_labeled, LABELED, self.iteration, self.max_iter))
        unlabeled = None
        if cfg.method != "supervised":
            unlabeled = iter(self._loader(self.data.unlabeled, cfg.batch_unlabeled, UNLABELED, self.iteration,
                                          self.max_iter))
        for net in self.nets.values():
            net.train()
        teacher_lr = fixed_teacher_lr(cfg, self.max_iter) if cfg.method == "gps" else None
        bar = tqdm(total=self.max_iter, initial=self.iteration, desc=f"{cfg.method} (E={cfg.epochs})",
                   disable=not (self.progress and self.rt.is_main))
        while self.iteration < self.max_iter:
            it = self.iteration
            e = it // self.iters_per_epoch + 1                      # current epoch, 1-based (eq. 9)
            lr = poly_lr(cfg.lr, it, self.max_iter, cfg.poly_power)
            set_lr(self.opt_students, lr)
            x_l, y_l = self._to_device(*next(labeled))
            batch = Batch(x_l, y_l)
            if unlabeled is not None:
                x_u, _hidden = next(unlabeled)                      # the hidden mask is never used to train
                batch.x_u = self._to_device(x_u, _hidden)[0]
                batch.boxes = self._boxes(it, batch.x_u)
            row = {"epoch": e, "lr_students": lr}
            with self.autocast():
                if cfg.method == "gps":
                    set_lr(self.opt_teacher, teacher_lr)
                    w, alpha_scale = self.rampup.weight(e), (self.rampup.gps_scale(e) if cfg.rampdown_gps else 1.0)
                    terms = gps_iteration(self.nets, self.opt_students, self.opt_teacher, batch, cfg, w, alpha_scale)
                    self.rampup.observe(*self._rank_mean(terms["sup_s"], terms["sup_t"]), e, it)
                    row.update(w=w, alpha_scale=alpha_scale, lr_teacher=teacher_lr, r=self.rampup.r)
                elif cfg.method == "cps":
                    terms = cps_iteration(self.nets, self.opt_students, batch, cfg)
                else:
                    terms = supervised_step(self.nets["student1"], self.opt_students, x_l, y_l)
            self._record("iterations", it, {**row, **terms})
            self.iteration += 1
            bar.update()
            if self.iteration % self.iters_per_epoch == 0 and cfg.method == "gps":
                self.rampup.end_epoch(e, it)
            if self.iteration % self.eval_every == 0 or self.iteration == self.max_iter:
                self._flush()
                row = self.evaluate_all(self.iteration, self.iteration / self.iters_per_epoch)
                for net in self.nets.values():
                    net.train()
                bar.set_postfix({k.replace("miou_", ""): f"{v:.3f}" for k, v in row.items() if k.startswith("miou")})
            if self.iteration % self.checkpoint_every == 0 or self.iteration == self.max_iter:
                self._flush()
                self.history.meta["rampup"] = self.rampup.state_dict() | {"sums": None}
                self.checkpoint()
            if self.on_iteration is not None:
                self.on_iteration(self.iteration, self)
            self._stop_if_interrupted(cfg.method, self.iteration)
        bar.close()

    # ------------------------------------------------------------------ Ctrl-C
    @contextmanager
    def _catch_sigint(self):
        """The first Ctrl-C asks the loops to checkpoint and stop at the next iteration boundary; a second one
        interrupts at once. Single-process runs only: DDP ranks would see the signal at different iterations."""
        if self.rt.distributed or threading.current_thread() is not threading.main_thread():
            yield
            return
        def ask_to_stop(signum, frame):
            if self._interrupted:
                raise KeyboardInterrupt
            self._interrupted = True
        previous = signal.signal(signal.SIGINT, ask_to_stop)
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, previous)

    def _stop_if_interrupted(self, phase: str, iteration: int) -> None:
        if not self._interrupted:
            return
        self._flush()
        self.history.meta["rampup"] = self.rampup.state_dict() | {"sums": None}
        self.checkpoint()
        raise TrainingInterrupted(
            f"Training interrupted after {phase} iteration {iteration}; saved {self.out_dir / 'last.pt'}. "
            f"Resume with the same settings and --resume (gpslib train ... --out-dir {self.out_dir} --resume, "
            f"or train(cfg, resume=True)).")

    def run(self, resume: bool = False) -> History:
        if self.rt.is_main:
            self.out_dir.mkdir(parents=True, exist_ok=True)
            if not resume and (self.out_dir / "last.pt").exists():
                raise GpslibError(f"{self.out_dir} already holds a run; pass resume=True (--resume) to continue it "
                                  "or choose another out_dir.")
        if resume:
            self.resume()
        if self.cfg.tensorboard and self.rt.is_main:
            from torch.utils.tensorboard import SummaryWriter
            self._writer = SummaryWriter(str(self.out_dir / "tensorboard"))
        try:
            with self._catch_sigint():
                if self.cfg.method == "gps":
                    self.run_teacher_phase()
                self.run_main_phase()
            self._flush()
            self._account_time()
            self.history.meta["rampup"] = self.rampup.state_dict() | {"sums": None}
            self.history.meta["skipped_files"] = skipped_files(self.skip_log)
            if self.rt.is_main:
                self.history.save(self.out_dir / "history.json")
        finally:
            if self._writer is not None:
                self._writer.close()
        return self.history


def train(cfg: Config, resume: bool = False, on_iteration: Callable[[int, Trainer], None] | None = None,
          progress: bool = True) -> History:
    """Train cfg.method end to end; resume=True continues from <out_dir>/last.pt when it exists."""
    trainer = Trainer(cfg, on_iteration=on_iteration, progress=progress)
    try:
        return trainer.run(resume=resume)
    finally:
        distributed.teardown()
