"""`gpslib bench`: what one training iteration of supervised, CPS and GPS costs on this device, phase by phase.

All three methods run here, one after the other, at the same batch (labeled = unlabeled = batch) and crop,
through the very step functions the training loop calls (gpslib/train/gps.py). Bench mode hands those
functions a `PhaseTimer`; on CUDA it synchronises at phase boundaries only, so each phase's time is the
device time it caused. The training loop passes no timer and pays no synchronisation. Warm-up
iterations run but are not counted.

Next to the measured GPS/CPS time ratio the bench prints the ratio of network passes counted from the
config (`pass_units`). Against the limit: each method's FLOPs per iteration (torch.utils.flop_counter, on one
extra untimed iteration) over its time is its achieved GFLOP/s, printed as a fraction of the device's matmul
rate measured in the same run; the supervised row is compared with a bare smp DeepLabV3+ loop that steps the
preset's own optimiser, so the two differ only by what gpslib adds.
"""
from __future__ import annotations

import gc
import itertools
import json
import platform
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from datetime import datetime, timezone
from pathlib import Path

import segmentation_models_pytorch as smp
import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

from .config import make_config
from .data import build_datasets
from .errors import GpslibError
from .models import ROLES_OF, build_networks
from .train import distributed
from .train.batch import Batch, assemble
from .train.gps import cps_iteration, gps_iteration, supervised_step
from .train.schedule import make_optimizer
from .train.stream import stream_loader
from .bench_report import OTHER, format_report

METHODS = ("supervised", "cps", "gps")
COUNTING_RULE = ("pass units: a forward+backward of one network on one image = 3, a no-grad forward = 1 "
                 "(backward ~ 2 forwards); optimizer steps, losses and data are not counted")


# ---------------------------------------------------------------- timing
class PhaseTimer:
    """`timer(name)` is a context manager that adds the phase's wall time to `totals[name]`.

    On CUDA it calls torch.cuda.synchronize() on entering and leaving a phase, so queued kernels are
    charged to the phase that launched them. `names` lists every phase entered, warm-up included;
    `totals` only counts while `recording` is true.
    """

    def __init__(self, device: torch.device):
        self.cuda = device.type == "cuda"
        self.recording = True
        self.totals: dict[str, float] = defaultdict(float)
        self.names: list[str] = []

    def sync(self) -> None:
        if self.cuda:
            torch.cuda.synchronize()

    @contextmanager
    def __call__(self, name: str):
        self.sync()
        start = time.perf_counter()
        try:
            yield
        finally:
            self.sync()
            self.names.append(name)
            if self.recording:
                self.totals[name] += time.perf_counter() - start


# ---------------------------------------------------------------- pass counting
def pass_units(cfg, method: str) -> dict[str, int]:
    """Network passes of one iteration, by phase, in the units of COUNTING_RULE (see gps.py for the phases)."""
    bl, bu = cfg.batch_labeled, cfg.batch_unlabeled
    if method == "supervised":
        return {"supervised forward/backward": 3 * bl}
    gps = method == "gps"
    uses_unlabeled = cfg.use_cps or (gps and cfg.use_gps)
    units = {}
    if gps and cfg.use_gps:
        units["teacher pseudo-labels"] = 1 * bu                        # T, no grad, on X^u
    if cfg.use_cps and cfg.cutmix:
        units["student pseudo-labels"] = 2 * bu                        # S1, S2, no grad, on unmixed X^u
    units["guide forward/backward"] = 3 * 2 * (bl + (bu if uses_unlabeled else 0))   # S1, S2 on [X^l; mix(X^u)]
    if gps:
        if cfg.use_fps:
            units["feedback pseudo-labels"] = 2 * bu                   # updated S1, S2, no grad
        units["feedback forward/backward"] = 3 * (bl + (bu if cfg.use_fps else 0))   # T on [X^l; mix(X^u)]
    return units


# ---------------------------------------------------------------- data
def load_data(cfg):
    """The dataset's real training sets, or None (synthetic tensors) when VOC/Cityscapes are not on disk."""
    try:
        data = build_datasets(cfg)
    except GpslibError as err:
        if cfg.dataset == "digits":
            raise
        return None, f"synthetic random tensors ({cfg.dataset} data not found: {err})"
    for name, dataset in (("labeled", data.labeled), ("unlabeled", data.unlabeled)):
        if len(dataset) < cfg.batch_labeled:
            raise GpslibError(f"The {name} set has {len(dataset)} images, fewer than --batch {cfg.batch_labeled}; "
                              "lower --batch.")
    return data, f"real {cfg.dataset} images through stream_loader (num_workers={cfg.num_workers})"


def batches(cfg, device: torch.device, data, n: int, unlabeled: bool) -> Iterator[Batch]:
    """n iterations' Batches on the device: next batch of each stream, host-to-device copy, CutMix boxes."""
    cuda = device.type == "cuda"
    fmt = torch.channels_last if cuda else torch.contiguous_format
    if data is None:
        size = (cfg.batch_labeled, 3, cfg.crop_size, cfg.crop_size)
        x, y = torch.randn(size), torch.randint(0, cfg.num_classes, (size[0], size[2], size[3]))
        if cuda:
            x, y = x.pin_memory(), y.pin_memory()
        labeled_stream = unlabeled_stream = itertools.repeat((x, y))
    else:
        def stream(dataset, stream_id):   # the training loop's streams: 0 labeled, 1 unlabeled
            return iter(stream_loader(dataset, cfg.batch_labeled, cfg.seed, stream_id, 0, n, cfg.num_workers,
                                      pin_memory=cuda))
        labeled_stream = stream(data.labeled, 0)
        unlabeled_stream = stream(data.unlabeled, 1) if unlabeled else None
    for iteration in range(n):
        x_l, y_l = next(labeled_stream)
        x_u = next(unlabeled_stream)[0] if unlabeled else None
        yield assemble(cfg, iteration, x_l, y_l, x_u, device, fmt)


# ---------------------------------------------------------------- one method
def _autocast(device: torch.device, amp: bool):
    """bf16 autocast on CUDA when amp is on, as the training loop does; fp32 otherwise."""
    return torch.autocast("cuda", dtype=torch.bfloat16) if (device.type == "cuda" and amp) else nullcontext()


def _fresh_memory(device: torch.device) -> None:
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)


def _peak_memory(device: torch.device) -> int | None:
    return torch.cuda.max_memory_allocated(device) if device.type == "cuda" else None


def _networks(method: str, cfg, device: torch.device):
    """The method's networks on the device, as training builds them, with their optimisers."""
    torch.manual_seed(cfg.seed)
    fmt = torch.channels_last if device.type == "cuda" else torch.contiguous_format
    nets = {role: net.to(device, memory_format=fmt).train()
            for role, net in build_networks(cfg, ROLES_OF[method]).items()}
    opt_students = make_optimizer([nets[r] for r in ("student1", "student2") if r in nets], cfg)
    opt_teacher = make_optimizer([nets["teacher"]], cfg) if "teacher" in nets else None
    return nets, opt_students, opt_teacher


def _iteration(method: str, nets, opt_students, opt_teacher, batch, cfg, timer) -> None:
    if method == "gps":
        gps_iteration(nets, opt_students, opt_teacher, batch, cfg, w=1.0, timer=timer)
    elif method == "cps":
        cps_iteration(nets, opt_students, batch, cfg, timer=timer)
    else:
        supervised_step(nets["student1"], opt_students, batch.x_l, batch.y_l, timer=timer)


def bench_method(method: str, cfg, device: torch.device, data, iters: int, warmup: int, between=None) -> dict:
    """Time `warmup + iters` iterations of one method (only the last `iters` count), then count the FLOPs of one
    more, untimed; `between()`, if given, runs between iterations as in training (threads.FreeCores.step)."""
    _fresh_memory(device)
    nets, opt_students, opt_teacher = _networks(method, cfg, device)
    timer = PhaseTimer(device)
    source = batches(cfg, device, data, warmup + iters + 1, unlabeled=method != "supervised")
    elapsed = 0.0
    for i in range(warmup + iters):
        timer.recording = i >= warmup
        timer.sync()
        start = time.perf_counter()
        with timer("data loading"):
            batch = next(source)
        with _autocast(device, cfg.amp):
            _iteration(method, nets, opt_students, opt_teacher, batch, cfg, timer)
        timer.sync()
        if timer.recording:
            elapsed += time.perf_counter() - start
        if between is not None:
            between()
    timer.recording = False
    with FlopCounterMode(display=False) as counter, _autocast(device, cfg.amp):
        _iteration(method, nets, opt_students, opt_teacher, next(source), cfg, timer)
    gflop = counter.get_total_flops() / 1e9
    images = cfg.batch_labeled + (cfg.batch_unlabeled if method != "supervised" else 0)
    phases = {name: 1000 * t / iters for name, t in timer.totals.items()}
    ms = 1000 * elapsed / iters
    phases[OTHER] = max(0.0, ms - sum(phases.values()))
    units = pass_units(cfg, method)
    result = {"ms_per_iter": ms, "phases_ms": phases, "images_per_iter": images,
              "images_per_s": images / (elapsed / iters), "peak_memory_bytes": _peak_memory(device),
              "gflop_per_iter": gflop, "gflops": gflop / (elapsed / iters),
              "pass_units": sum(units.values()), "pass_units_by_phase": units,
              "phase_names": list(dict.fromkeys(timer.names))}
    del nets, opt_students, opt_teacher, source
    _fresh_memory(device)
    return result


def profile_method(method: str, cfg, device: torch.device, data, iters: int, warmup: int, top: int = 12) -> dict:
    """Where one method's iteration spends its time: torch.profiler's operators by self time (device time on
    CUDA), per iteration, after `warmup` unprofiled iterations. The convolution kernels' share is what the
    FLOP rate of a small network is made of; the rest is what gpslib could still shave."""
    from torch.profiler import ProfilerActivity, profile
    nets, opt_students, opt_teacher = _networks(method, cfg, device)
    source = batches(cfg, device, data, warmup + iters, unlabeled=method != "supervised")
    quiet = PhaseTimer(device)
    quiet.recording = False
    for _ in range(warmup):
        with _autocast(device, cfg.amp):
            _iteration(method, nets, opt_students, opt_teacher, next(source), cfg, quiet)
    cuda = device.type == "cuda"
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda else [])
    with profile(activities=activities) as prof:
        for _ in range(iters):
            with _autocast(device, cfg.amp):
                _iteration(method, nets, opt_students, opt_teacher, next(source), cfg, quiet)
        quiet.sync()
    key = "self_device_time_total" if cuda else "self_cpu_time_total"
    ops = [(e.key, getattr(e, key) / 1000 / iters) for e in prof.key_averages() if e.key.startswith("aten::")]
    ops.sort(key=lambda item: -item[1])
    total = sum(ms for _, ms in ops)
    conv = sum(ms for name, ms in ops if "conv" in name)
    return {"method": method, "iters": iters, "clock": "device" if cuda else "cpu", "total_ms": total,
            "convolution_share": conv / total if total else 0.0,
            "top": [{"op": name, "ms": ms, "share": ms / total} for name, ms in ops[:top]]}


def bench_bare_smp(cfg, device: torch.device, iters: int, warmup: int) -> dict:
    """One smp DeepLabV3+ on a fixed batch of batch_labeled images: forward, cross-entropy, backward, and a step of
    the preset's optimiser (`make_optimizer`, as training uses).

    No phases, no timer, one synchronisation at each end: the reference for the supervised row.
    """
    _fresh_memory(device)
    torch.manual_seed(cfg.seed)
    fmt = torch.channels_last if device.type == "cuda" else torch.contiguous_format
    net = smp.DeepLabV3Plus(encoder_name=cfg.backbone, encoder_weights=None, classes=cfg.num_classes,
                            decoder_channels=cfg.decoder_channels).to(device, memory_format=fmt).train()
    opt = make_optimizer([net], cfg)
    b, c = cfg.batch_labeled, cfg.crop_size
    x = torch.randn(b, 3, c, c, device=device).contiguous(memory_format=fmt)
    y = torch.randint(0, cfg.num_classes, (b, c, c), device=device)
    timer = PhaseTimer(device)
    start = time.perf_counter()
    for i in range(warmup + iters):
        if i == warmup:
            timer.sync()
            start = time.perf_counter()
        with _autocast(device, cfg.amp):
            loss = F.cross_entropy(net(x), y, ignore_index=255)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    timer.sync()
    elapsed = time.perf_counter() - start
    result = {"ms_per_iter": 1000 * elapsed / iters, "images_per_iter": b, "images_per_s": b * iters / elapsed,
              "peak_memory_bytes": _peak_memory(device), "optimizer": type(opt).__name__}
    del net, opt, x, y, loss
    _fresh_memory(device)
    return result


def matmul_gflops(device: torch.device, dtype: torch.dtype = torch.float32, n: int = 2048,
                  seconds: float = 1.0) -> float:
    """The device's dense matmul rate: n x n by n x n products (2 n^3 FLOPs each) for about `seconds`."""
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    a @ b                                              # warm-up: kernels chosen, memory allocated
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    sync()
    count, start = 0, time.perf_counter()
    while count < 3 or time.perf_counter() - start < seconds:
        a @ b
        count += 1
        if count % 10 == 0:
            sync()
    sync()
    return count * 2 * n**3 / 1e9 / (time.perf_counter() - start)


# ---------------------------------------------------------------- report
def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"CPU {platform.processor() or platform.machine()}, torch threads: {torch.get_num_threads()}"


def command_line(args) -> str:
    parts = ["gpslib bench"]
    for name in ("dataset", "backbone", "crop", "batch", "amp", "cutmix", "iters", "warmup", "device", "out"):
        value = getattr(args, name, None)
        if value is not None:
            parts.append(f"--{name} {value}")
    if getattr(args, "profile", False):
        parts.append("--profile")
    return " ".join(parts)


def run(args) -> dict:
    """Measure everything `gpslib bench` reports; returns the report as a dict (what --out writes)."""
    if args.iters < 1 or args.warmup < 0:
        raise GpslibError("--iters must be at least 1 and --warmup at least 0.")
    amp = str(args.amp).lower() in ("true", "1", "yes")
    device = distributed.setup(args.device or "auto").device
    cutmix = getattr(args, "cutmix", None)
    cfg = make_config(args.dataset, "1/8", backbone=args.backbone, crop_size=args.crop, batch_labeled=args.batch,
                      batch_unlabeled=args.batch, amp=amp, device=str(device),
                      data_root=getattr(args, "data_root", None),
                      cutmix=None if cutmix is None else str(cutmix).lower() == "true")
    data, data_text = load_data(cfg)
    dtype = torch.bfloat16 if (device.type == "cuda" and amp) else torch.float32
    rates = [matmul_gflops(device, dtype)]           # before and after the methods: drift on a shared machine shows
    methods = {m: bench_method(m, cfg, device, data, args.iters, args.warmup) for m in METHODS}
    bare = bench_bare_smp(cfg, device, args.iters, args.warmup)
    rates.append(matmul_gflops(device, dtype))
    profiled = profile_method("gps", cfg, device, data, args.iters, args.warmup) if getattr(args, "profile", False) \
        else None
    gps, cps = methods["gps"], methods["cps"]
    no_data = {m: r["ms_per_iter"] - r["phases_ms"].get("data loading", 0.0) for m, r in methods.items()}
    precision = "bf16 autocast" if (device.type == "cuda" and amp) else "fp32" + (" (AMP is CUDA only)" if amp else "")
    return {"device": device_name(device), "torch": torch.__version__, "command": command_line(args),
            "date": datetime.now(timezone.utc).strftime("%Y-%m-%d"),
            "setup": {"dataset": cfg.dataset, "backbone": cfg.backbone, "crop": cfg.crop_size,
                      "batch": cfg.batch_labeled, "cutmix": cfg.cutmix, "precision": precision, "iters": args.iters,
                      "warmup": args.warmup, "num_classes": cfg.num_classes},
            "data": data_text, "synthetic_data": data is None, "counting_rule": COUNTING_RULE,
            "methods": methods,
            "ratio_gps_cps": {"time": gps["ms_per_iter"] / cps["ms_per_iter"],
                              "time_without_data": no_data["gps"] / no_data["cps"],
                              "passes": gps["pass_units"] / cps["pass_units"]},
            "matmul": {"dtype": str(dtype).replace("torch.", ""), "n": 2048, "samples": rates,
                       "gflops": sum(rates) / len(rates)},
            "bare_smp": bare, "supervised_vs_bare": methods["supervised"]["images_per_s"] / bare["images_per_s"],
            "profile": profiled}


def main(args) -> int:
    if getattr(args, "contention", False):   # a separate question: threading choices on a busy machine
        from .contention import format_table, measure
        report = measure(args.iters, args.warmup)
        print(format_table(report))
    else:
        report = run(args)
        print(format_report(report))
    if args.out:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report, indent=2) + "\n")
        print(f"wrote {out}")
    return 0
