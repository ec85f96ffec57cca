"""The run around the update rule: phase a, then the iterations, then the evaluations; checkpoints and resume.

`train(cfg)` runs one method end to end and returns its History. The update rules themselves live in
gps.py; this file only decides *when* things happen. The data of an iteration comes from stream.py and
batch.py, its numbers go to history.Recorder, the scoring to evaluate.py, and every quantity a resumed
run needs (networks, optimisers, ramp-up state, RNG states, the iteration that fixes the data position)
is in the checkpoint, which checkpoint.check_resumable compares with the config before resuming.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path

import torch

from .. import losses, threads
from ..checkpoint import check_resumable, check_teacher_source, load_checkpoint, save_checkpoint
from ..config import Config
from ..data import build_datasets
from ..data.dataset import skip_corrupt, skipped_files
from ..errors import GpslibError, TrainingInterrupted
from ..evaluate import evaluate, pseudo_label_quality
from ..history import History, Recorder, environment
from ..models import ROLES_OF, build_networks, encoder_fingerprint
from ..paths import RUNS_DIR
from ..progress import bar, reporting
from ..snapshots import take as take_snapshot
from . import distributed
from .batch import assemble
from .gps import cps_iteration, gps_iteration, supervised_step
from .interrupt import StopRequest
from .schedule import fixed_teacher_lr, make_optimizer, poly_lr, set_lr
from .stream import stream_loader

LABELED, UNLABELED, TEACHER = 0, 1, 2      # stream ids; SupOnly reads TEACHER's: it is GPS's phase a


def out_dir_of(cfg: Config) -> Path:
    """cfg.out_dir, or a new runs/<dataset>-<partition>-<method>-seed<k>-<time> so that no run overwrites another."""
    if cfg.out_dir:
        return Path(cfg.out_dir)
    return RUNS_DIR / f"{cfg.run_name}-{time.strftime('%Y%m%d-%H%M%S')}"


def check_sets(data, cfg: Config) -> None:
    """Before any training: the sets fill a batch, and the first masks hold only labels below num_classes."""
    if len(data.unlabeled) < cfg.batch_unlabeled and cfg.method != "supervised":
        raise GpslibError(f"The unlabeled set has {len(data.unlabeled)} images, fewer than batch_unlabeled="
                          f"{cfg.batch_unlabeled}; lower the batch or use a smaller labeled fraction.")
    if len(data.labeled) < cfg.batch_labeled:
        raise GpslibError(f"The labeled set has {len(data.labeled)} images, fewer than batch_labeled="
                          f"{cfg.batch_labeled}; lower batch_labeled or use a larger partition.")
    for dataset in (data.labeled, data.val):   # a wrong num_classes fails here, not after phase a has started
        for index in range(min(len(dataset), cfg.batch_labeled)):
            dataset.load_or_skip(index)


class Trainer:
    """Builds everything from a Config; `run()` trains, evaluates and checkpoints."""

    def __init__(self, cfg: Config, on_iteration: Callable[[int, "Trainer"], None] | None = None,
                 progress: bool | str = True, teacher_from: str | Path | None = None):
        self.cfg, self.on_iteration, self.progress = cfg, on_iteration, progress
        self.teacher_from = teacher_from   # a finished SupOnly run of this config: phase a loaded, not trained
        self.rt = distributed.setup(cfg.device)
        self.threads = threads.for_run(cfg.threads, self.rt.device)   # before the history notes the count
        self.out_dir = out_dir_of(cfg)
        torch.manual_seed(cfg.seed)
        self.data = build_datasets(cfg)
        self.skip_log = self.out_dir / "skipped_files.txt"
        if cfg.on_corrupt == "skip":   # training sets only: a skipped val image would change what mIoU measures
            for dataset in (self.data.labeled, self.data.unlabeled):
                skip_corrupt(dataset, self.skip_log)
        check_sets(self.data, cfg)
        n_unlabeled = len(self.data.unlabeled)
        self.iters_per_epoch = cfg.iters_per_epoch or max(1, n_unlabeled // cfg.batch_unlabeled)
        self.max_iter = cfg.epochs * self.iters_per_epoch
        phase_a_epochs = cfg.epochs if cfg.teacher_epochs is None else cfg.teacher_epochs
        self.teacher_iters = round(phase_a_epochs * self.iters_per_epoch) if cfg.method == "gps" else 0
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
        self.history = self._new_history()
        self.teacher_iteration = 0     # next phase-a iteration
        self.iteration = 0             # next main iteration (also the data position of both streams)
        self.recorder = Recorder(self.history)
        self._t0 = time.perf_counter()
        self.stop = StopRequest()      # set by Ctrl-C; the loops save and stop at the next iteration boundary

    def _new_history(self) -> History:
        """An empty history that says what this run is: its config and the facts its budget came from."""
        return History(self.cfg.to_dict(), {
            "method": self.cfg.method, "iters_per_epoch": self.iters_per_epoch, "teacher_iters": self.teacher_iters,
            "max_iter": self.max_iter, "device": str(self.rt.device), "world_size": self.rt.world_size,
            "partition_source": self.data.partition.source, "n_labeled": len(self.data.labeled),
            "n_unlabeled": len(self.data.unlabeled), "wall_time_s": 0.0, **environment(),
            "encoder_sha256": encoder_fingerprint(self.cfg.backbone, self.cfg.encoder_weights)})

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
        self.history = self.recorder.history = History.from_state(state["history"])
        self.iteration, self.teacher_iteration = state["iteration"], state["teacher_iteration"]
        torch.set_rng_state(state["rng"]["torch"])
        if "cuda" in state["rng"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["rng"]["cuda"])

    def _account_time(self) -> None:
        now = time.perf_counter()
        self.history.meta["wall_time_s"] = self.history.meta.get("wall_time_s", 0.0) + now - self._t0
        self._t0 = now

    def checkpoint(self) -> None:
        """Flush the pending rows, then write last.pt and history.json (main process)."""
        self._flush()
        self._save_meta()
        if self.rt.is_main:
            save_checkpoint(self.state_dict(), self.out_dir / "last.pt")
            self.history.save(self.out_dir / "history.json")

    def resume(self) -> bool:
        """Continue from <out_dir>/last.pt when it exists; refuse a checkpoint made with another config."""
        path = self.out_dir / "last.pt"
        if not path.exists():
            return False
        state = load_checkpoint(path)
        check_resumable(state, self.cfg.to_dict(), path)
        self.load_state_dict(state)
        return True

    # ------------------------------------------------------------------ data
    def _loader(self, dataset, batch: int, stream: int, start: int, stop: int):
        return stream_loader(dataset, batch, self.cfg.seed, stream, start, stop, self.cfg.num_workers,
                             pin_memory=self.rt.device.type == "cuda", rank=self.rt.rank,
                             world_size=self.rt.world_size)

    def _batch(self, iteration: int, x_l, y_l, x_u=None):
        return assemble(self.cfg, iteration, x_l, y_l, x_u, self.rt.device, self.memory_format)

    def _flush(self) -> None:
        self.recorder.flush(self.out_dir / "last.pt")

    # ------------------------------------------------------------------ evaluation
    def evaluate_all(self, iteration: int, epoch: float) -> dict:
        """mIoU of every network on val, the quality of each pseudo-label source on unlabeled images, and the label
        maps of a few images (cfg.snapshot_images)."""
        cfg = self.cfg
        row = {"iteration": iteration, "epoch": epoch}
        for role, net in self.nets.items():
            result = evaluate(distributed.unwrap(net), self.data.val, cfg.num_classes, mode=cfg.eval_mode,
                              crop=cfg.eval_crop or cfg.crop_size, device=self.rt.device, limit=cfg.val_limit,
                              amp=cfg.amp, batch_size=cfg.batch_labeled,   # BN in eval mode: batching is exact
                              progress=self.progress, desc=f"val: {role}")
            row[f"miou_{role}"] = result["miou"]
            row[f"iou_{role}"] = result["iou"]
        row.update(pseudo_label_quality(self.nets, self.data.unlabeled, cfg.num_classes, cfg.pseudo_eval_images,
                                        self.rt.device, self.autocast, self.memory_format, self.rt.rank,
                                        self.rt.world_size))
        self.recorder.evaluation(row)
        if cfg.snapshot_images and self.rt.is_main:
            self.recorder.snapshot(iteration, epoch, take_snapshot(
                self.nets, self.data.val, self.data.unlabeled, cfg.snapshot_images, self.rt.device, self.autocast,
                self.memory_format, cfg.eval_mode, cfg.eval_crop or cfg.crop_size))
        for net in self.nets.values():
            net.train()
        return row

    # ------------------------------------------------------------------ the algorithm
    def run(self, resume: bool = False) -> History:
        """Phase a (GPS: the teacher alone), then the iterations of the method, evaluated as they go."""
        if self.rt.is_main:
            self.out_dir.mkdir(parents=True, exist_ok=True)
            if not resume and (self.out_dir / "last.pt").exists():
                raise GpslibError(f"{self.out_dir} already holds a run; pass resume=True (--resume) to continue it "
                                  "or choose another out_dir.")
        if resume:
            self.resume()
        if self.cfg.tensorboard and self.rt.is_main:
            self.recorder = Recorder(self.history, self.out_dir / "tensorboard")
        self.threads.step(now_or_wait=True)       # the first evaluation comes before any iteration
        try:
            with self.stop.catch(enabled=not self.rt.distributed):
                if self.cfg.method == "gps":
                    self.run_teacher_phase()
                self.run_main_phase()
                self.evaluate_test()
            self._flush()
            self._account_time()
            self._save_meta()
            if self.rt.is_main:
                self.history.save(self.out_dir / "history.json")
        finally:
            self.recorder.close()
        return self.history

    def run_teacher_phase(self) -> None:
        """Phase a: the teacher alone on D^l with eq. 2 and its own poly schedule, evaluated as SupOnly is.

        With teacher_epochs None this is, step for step, the SupOnly run of the same config (same init, stream,
        optimiser, schedule, dropout draws), so `teacher_from` may load that run instead of training it again."""
        cfg, teacher = self.cfg, self.nets["teacher"]
        if self.teacher_iteration >= self.teacher_iters:
            return
        if self.teacher_from is not None and self.teacher_iteration == 0:
            self.load_teacher(self.teacher_from)
            self.checkpoint()
            return
        if self.teacher_iteration == 0 and not self.history.teacher_evals:
            self.evaluate_teacher(0)
        loader = self._loader(self.data.labeled, cfg.batch_labeled, TEACHER, self.teacher_iteration,
                              self.teacher_iters)
        teacher.train()
        with self._bar(self.teacher_iters, self.teacher_iteration, "phase a (teacher)", leave=False) as bar:
            for x_l, y_l in loader:
                it = self.teacher_iteration
                lr = poly_lr(cfg.lr, it, self.teacher_iters, cfg.poly_power)
                set_lr(self.opt_teacher, lr)
                batch = self._batch(it, x_l, y_l)
                with self.autocast():
                    terms = supervised_step(teacher, self.opt_teacher, batch.x_l, batch.y_l)
                self.recorder.record("teacher", it, {"sup_t": terms["sup"], "lr_teacher": lr})
                self.teacher_iteration += 1
                bar.update()
                if self.teacher_iteration % self.eval_every == 0 or self.teacher_iteration == self.teacher_iters:
                    self._flush()
                    self.evaluate_teacher(self.teacher_iteration)
                if self.teacher_iteration % self.checkpoint_every == 0 or self.teacher_iteration == self.teacher_iters:
                    self.checkpoint()
                self._between_iterations("phase a", self.teacher_iteration)

    def evaluate_teacher(self, iteration: int) -> None:
        """T's mIoU on val during phase a: the teacher's own curve (history.teacher_evals)."""
        cfg, teacher = self.cfg, distributed.unwrap(self.nets["teacher"])
        result = evaluate(teacher, self.data.val, cfg.num_classes, mode=cfg.eval_mode, crop=cfg.eval_crop or cfg.crop_size,
                          device=self.rt.device, limit=cfg.val_limit, amp=cfg.amp, batch_size=cfg.batch_labeled,
                          progress=self.progress, desc="val: teacher")
        self.history.teacher_evals.append({"iteration": iteration, "epoch": iteration / self.iters_per_epoch,
                                           "miou_teacher": result["miou"], "iou_teacher": result["iou"]})
        teacher.train()

    def load_teacher(self, run: str | Path) -> None:
        """Phase a from a finished SupOnly run of this config: its network, optimiser state, RNG state and curves."""
        path = Path(run)
        path = path / "last.pt" if path.is_dir() else path
        state = load_checkpoint(path)
        check_teacher_source(state, self.cfg.to_dict(), self.teacher_iters, path)
        distributed.unwrap(self.nets["teacher"]).load_state_dict(state["nets"]["student1"])
        self.opt_teacher.load_state_dict(state["opt_students"])
        torch.set_rng_state(state["rng"]["torch"])
        sup = History.from_state(state["history"])
        self.history.teacher = [{"iteration": r["iteration"], "sup_t": r["sup"], "lr_teacher": r["lr_students"]}
                                for r in sup.iterations]
        self.history.teacher_evals = [{"iteration": r["iteration"], "epoch": r["epoch"],
                                       "miou_teacher": r["miou_student1"], "iou_teacher": r["iou_student1"]}
                                      for r in sup.evals]
        self.history.meta["teacher_from"] = str(path)
        self.teacher_iteration = self.teacher_iters

    def evaluate_test(self) -> None:
        """Once, at the end: every network's mIoU on the test split (history.test), where the data has one."""
        cfg, test = self.cfg, self.data.test
        if test is None or self.history.test or self.iteration < self.max_iter:
            return
        for role, net in self.nets.items():
            result = evaluate(distributed.unwrap(net), test, cfg.num_classes, mode=cfg.eval_mode,
                              crop=cfg.eval_crop or cfg.crop_size, device=self.rt.device, amp=cfg.amp,
                              limit=cfg.val_limit, batch_size=cfg.batch_labeled, progress=self.progress,
                              desc=f"test: {role}")
            self.history.test[f"miou_{role}"] = result["miou"]
            self.history.test[f"iou_{role}"] = result["iou"]
        self.history.test["images"] = min(len(test), cfg.val_limit or len(test))

    def run_main_phase(self) -> None:
        """Phases b and c (GPS), or the CPS / SupOnly baselines, for E epochs of |D^u| / batch iterations."""
        cfg = self.cfg
        if self.iteration == 0 and not self.history.evals:
            self.evaluate_all(0, 0.0)
        if self.iteration >= self.max_iter:
            return
        stream = TEACHER if cfg.method == "supervised" else LABELED
        labeled = iter(self._loader(self.data.labeled, cfg.batch_labeled, stream, self.iteration, self.max_iter))
        unlabeled = None
        if cfg.method != "supervised":
            unlabeled = iter(self._loader(self.data.unlabeled, cfg.batch_unlabeled, UNLABELED, self.iteration,
                                          self.max_iter))
        for net in self.nets.values():
            net.train()
        with self._bar(self.max_iter, self.iteration, f"{cfg.method} (E={cfg.epochs})") as bar:
            while self.iteration < self.max_iter:
                it = self.iteration
                x_l, y_l = next(labeled)
                x_u = None if unlabeled is None else next(unlabeled)[0]   # its hidden mask never trains anything
                self.recorder.record("iterations", it, self.iterate(it, self._batch(it, x_l, y_l, x_u)))
                self.iteration += 1
                bar.update()
                self.after_iteration(it, bar)

    def iterate(self, it: int, batch) -> dict:
        """One iteration of cfg.method at iteration `it`: learning rates, the update rule, the ramp-up."""
        cfg = self.cfg
        e = it // self.iters_per_epoch + 1                      # current epoch, 1-based (eq. 9)
        lr = poly_lr(cfg.lr, it, self.max_iter, cfg.poly_power)
        set_lr(self.opt_students, lr)
        row = {"epoch": e, "lr_students": lr}
        with self.autocast():
            if cfg.method == "gps":
                teacher_lr = fixed_teacher_lr(cfg, self.teacher_iters or self.max_iter)
                set_lr(self.opt_teacher, teacher_lr)
                w, alpha_scale = self.rampup.weight(e), (self.rampup.gps_scale(e) if cfg.rampdown_gps else 1.0)
                terms = gps_iteration(self.nets, self.opt_students, self.opt_teacher, batch, cfg, w, alpha_scale)
                self.rampup.observe(*distributed.rank_mean(self.rt, terms["sup_s"], terms["sup_t"]), e, it)
                row.update(w=w, alpha_scale=alpha_scale, lr_teacher=teacher_lr, r=self.rampup.r)
            elif cfg.method == "cps":
                terms = cps_iteration(self.nets, self.opt_students, batch, cfg)
            else:
                terms = supervised_step(self.nets["student1"], self.opt_students, batch.x_l, batch.y_l)
        return {**row, **terms}

    def after_iteration(self, it: int, bar) -> None:
        """End of epoch (the latch), evaluation, checkpoint, the caller's hook, Ctrl-C."""
        if self.iteration % self.iters_per_epoch == 0 and self.cfg.method == "gps":
            self.rampup.end_epoch(it // self.iters_per_epoch + 1, it)
        if self.iteration % self.eval_every == 0 or self.iteration == self.max_iter:
            self._flush()
            row = self.evaluate_all(self.iteration, self.iteration / self.iters_per_epoch)
            bar.set_postfix({k.replace("miou_", ""): f"{v:.3f}" for k, v in row.items() if k.startswith("miou")})
        if self.iteration % self.checkpoint_every == 0 or self.iteration == self.max_iter:
            self.checkpoint()
        if self.on_iteration is not None:
            self.on_iteration(self.iteration, self)
        self._between_iterations(self.cfg.method, self.iteration)

    def _bar(self, total: int, initial: int, desc: str, leave: bool = True):
        """A progress bar that is closed (its line ended) even when the run stops with an error.

        progress="terminal" draws it on the stderr the process was started with: under papermill that is the
        shell that runs the notebook, so the user sees the run advance while the notebook keeps clean outputs."""
        return bar(total, desc, self.progress if self.rt.is_main else False, initial=initial, leave=leave)

    def _save_meta(self) -> None:
        self.history.meta["rampup"] = self.rampup.state_dict() | {"sums": None}
        self.history.meta["thread_changes"] = list(self.threads.changes)
        self.history.meta["skipped_files"] = skipped_files(self.skip_log)

    def _between_iterations(self, phase: str, iteration: int) -> None:
        """The threads follow the free cores; Ctrl-C saves and stops here."""
        self.threads.step()
        if not self.stop.asked:
            return
        self.checkpoint()
        raise TrainingInterrupted(
            f"Training interrupted after {phase} iteration {iteration}; saved {self.out_dir / 'last.pt'}. "
            f"Resume with the same settings and --resume (gpslib train ... --out-dir {self.out_dir} --resume, "
            f"or train(cfg, resume=True)).")


def train(cfg: Config, resume: bool = False, on_iteration: Callable[[int, Trainer], None] | None = None,
          progress: bool | str = True, teacher_from: str | Path | None = None) -> History:
    """Train cfg.method end to end; resume=True continues from <out_dir>/last.pt when it exists; teacher_from (GPS
    with teacher_epochs None) takes phase a from that finished SupOnly run of the same config."""
    with reporting(progress):   # the bars of scene generation and encoder pre-training, deep inside Trainer()
        trainer = Trainer(cfg, on_iteration=on_iteration, progress=progress, teacher_from=teacher_from)
    try:
        return trainer.run(resume=resume)
    finally:
        distributed.teardown()
