"""The file lock behind dataset generation, encoder pre-training and the recorded runs' claims."""
import subprocess
import sys

from gpslib.locks import locked

HOLD = """
import sys, time
from gpslib.locks import locked
with locked(sys.argv[1]):
    print("held", flush=True)
    time.sleep(60)
"""


def test_a_lock_held_elsewhere_is_refused_and_freed_when_its_holder_dies(tmp_path):
    path = tmp_path / "runs" / "gps-1_8.claim"
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with locked(path, wait=False) as mine:
            assert mine is False                      # another live process holds the run
    finally:
        holder.kill()
        holder.wait()
    with locked(path, wait=False) as mine:            # killed, not released: the OS dropped its lock
        assert mine is True
        with locked(path, wait=False) as again:       # a second open file in this process is refused too
            assert again is False
