"""The text `gpslib bench` prints from its report: the phases x methods table, then the ratios against the limit."""
from __future__ import annotations

# The phases a bench iteration is split into, in the order an iteration runs them.
PHASES = ("data loading", "teacher pseudo-labels", "student pseudo-labels", "guide forward", "guide backward",
          "feedback pseudo-labels", "feedback forward", "feedback backward", "merged backward",
          "supervised forward", "supervised backward", "optimizer steps")
OTHER = "other"          # the rest of an iteration: zero_grad, loss bookkeeping, Python glue


def _memory_text(n: int | None) -> str:
    return "n/a" if n is None else f"{n / 2**30:.2f} GiB"


def format_report(report: dict) -> str:
    """The table printed by `gpslib bench`: phases as rows, methods as columns."""
    methods = report["methods"]
    seen = {name for m in methods.values() for name in m["phases_ms"]}
    rows = [p for p in PHASES if p in seen] + sorted(seen - set(PHASES) - {OTHER}) + [OTHER]
    width = max(len(r) for r in rows + ["peak memory (CUDA max allocated)"]) + 2
    s = report["setup"]
    lines = [f"gpslib bench on {report['device']} (torch {report['torch']}): {report['command']}",
             f"  {s['dataset']}, {s['backbone']}, crop {s['crop']}, "
             f"batch {s['batch']} labeled + {s['batch']} unlabeled, "
             f"{s['precision']}, {s['iters']} timed iterations after {s['warmup']} warm-up",
             f"  data: {report['data']}", "",
             f"{'ms per iteration':<{width}}" + "".join(f"{m:>12}" for m in methods)]
    for row in rows:
        cells = [m["phases_ms"].get(row) for m in methods.values()]
        lines.append(f"  {row:<{width - 2}}" + "".join(f"{'-' if v is None else f'{v:.1f}':>12}" for v in cells))
    lines.append(f"{'total ms/iteration':<{width}}" + "".join(f"{m['ms_per_iter']:>12.1f}" for m in methods.values()))
    lines.append(f"{'images/s (labeled+unlabeled)':<{width}}"
                 + "".join(f"{m['images_per_s']:>12.1f}" for m in methods.values()))
    lines.append(f"{'peak memory (CUDA max allocated)':<{width}}"
                 + "".join(f"{_memory_text(m['peak_memory_bytes']):>12}" for m in methods.values()))
    lines.append(f"{'pass units per iteration':<{width}}" + "".join(f"{m['pass_units']:>12}" for m in methods.values()))
    lines.append(f"{'GFLOP per iteration':<{width}}" + "".join(f"{m['gflop_per_iter']:>12.2f}" for m in methods.values()))
    lines.append(f"{'achieved GFLOP/s':<{width}}" + "".join(f"{m['gflops']:>12.1f}" for m in methods.values()))
    limit = report["matmul"]
    lines.append(f"{'fraction of the matmul rate':<{width}}"
                 + "".join(f"{m['gflops'] / limit['gflops']:>12.2f}" for m in methods.values()))
    return "\n".join(lines + _notes(report))


def _notes(report: dict) -> list[str]:
    """The lines under the table: the matmul limit, GPS/CPS against the passes, the bare loop, the profile."""
    methods, limit = report["methods"], report["matmul"]
    r, bare = report["ratio_gps_cps"], report["bare_smp"]
    lines = []
    lines += ["", f"{limit['dtype']} matmul ({limit['n']} x {limit['n']}) on this device: {limit['gflops']:.1f} GFLOP/s "
                  f"(mean of {len(limit['samples'])} measurements of this run: "
                  + ", ".join(f"{v:.1f}" for v in limit["samples"]) + ")",
              f"GPS / CPS: time {r['time']:.2f}x (without data loading {r['time_without_data']:.2f}x), "
              f"network passes {r['passes']:.2f}x "
              f"({methods['gps']['pass_units']} / {methods['cps']['pass_units']}): time / passes = "
              f"{r['time'] / r['passes']:.3f}",
              f"  {report['counting_rule']}",
              f"bare smp DeepLabV3+ loop (1 network, {bare['images_per_iter']} images, {bare['optimizer']} as the "
              f"preset, no timer): {bare['ms_per_iter']:.1f} ms/iteration, {bare['images_per_s']:.1f} images/s, "
              f"peak memory {_memory_text(bare['peak_memory_bytes'])}",
              f"supervised row / bare loop: {report['supervised_vs_bare']:.2f} (images/s)"]
    if report.get("profile"):
        prof = report["profile"]
        lines += ["", f"where a {prof['method'].upper()} iteration spends its time (torch.profiler, self {prof['clock']} "
                      f"time of aten operators, {prof['iters']} iterations): {prof['total_ms']:.1f} ms per iteration, "
                      f"{100 * prof['convolution_share']:.0f} % in convolutions"]
        lines += [f"  {row['op']:<44}{row['ms']:>9.1f} ms {100 * row['share']:>6.1f} %" for row in prof["top"]]
    return lines
