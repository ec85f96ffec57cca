"""What one run shows its researcher: what made it, its scores per network and class, whether it learned, its
losses, the ramp-up's latch, its curves and its predictions. train.ipynb, chapter 12 and `gpslib report RUN_DIR`
read a run through these (text.py: words and tables; figures.py: figures; style.py: what every figure shares)."""
from __future__ import annotations

from pathlib import Path

from .figures import (image_grid, latch_plot, phase_curves, plot_losses, plot_pseudo_label_accuracy,
                      prediction_panel)
from .text import (describe_run, final_miou, latch_text, learned_text, per_class_table, result_phrase,
                   run_phrase)

__all__ = ["describe_run", "final_miou", "image_grid", "latch_plot", "latch_text", "learned_text", "per_class_table",
           "phase_curves", "plot_losses", "plot_pseudo_label_accuracy", "prediction_panel", "result_phrase",
           "run_phrase", "write"]


def write(run_dir: str | Path, n_images: int = 4, device: str = "cpu") -> tuple[str, list[Path]]:
    """A finished run's report: its text (returned) and its figures as PNGs in RUN_DIR/report/ (their paths)."""
    from ..config import make_config
    from ..data import build_datasets
    from ..history import History

    run_dir = Path(run_dir)
    history = History.load(run_dir)
    data = build_datasets(make_config(**history.config))   # the run's own data, from the config it recorded
    names = data.class_names
    text = "\n\n".join([describe_run(history), final_miou(history).to_string(), learned_text(history, names),
                        per_class_table(history, names).to_string(), latch_text(history)])
    figures = {"losses": plot_losses(history), "miou": phase_curves(history),
               "pseudo_labels": plot_pseudo_label_accuracy(history), "latch": latch_plot(history, smooth_window=None),
               "predictions": prediction_panel(run_dir, n=n_images, device=device, data=data)}
    out = run_dir / "report"
    out.mkdir(exist_ok=True)
    paths = []
    for name, fig in figures.items():
        paths.append(out / f"{name}.png")
        fig.savefig(paths[-1], bbox_inches="tight")
    return text.replace("**", ""), paths
