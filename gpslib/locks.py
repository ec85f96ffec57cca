"""One process at a time: a file lock that the operating system drops when its holder dies, so a killed run never
blocks the next one. It serialises generating the digits and pre-training their encoder, and gives each recorded
run to one worker."""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path


@contextmanager
def locked(path: Path, wait: bool = True):
    """Hold an exclusive lock on `path` (created if missing) for the block and yield True; with wait=False, yield
    False at once when another process holds it. Where the OS has no flock (Windows), yield True unlocked."""
    try:
        import fcntl
    except ImportError:
        yield True
        return
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
