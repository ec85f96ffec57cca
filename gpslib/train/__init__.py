"""Training: the GPS update rule (gps.py) and the run around it (loop.py)."""
from .loop import Trainer, out_dir_of, train

__all__ = ["Trainer", "train", "out_dir_of"]
