"""Ctrl-C during training: the first press asks the loops to checkpoint and stop at the next iteration boundary;
a second one interrupts at once."""
from __future__ import annotations

import signal
import threading
from contextlib import contextmanager


class StopRequest:
    """`asked` turns true on the first Ctrl-C while `catch()` is active."""

    def __init__(self):
        self.asked = False

    @contextmanager
    def catch(self, enabled: bool = True):
        """Install the handler (single-process runs in the main thread only: DDP ranks would see the signal at
        different iterations)."""
        if not enabled or threading.current_thread() is not threading.main_thread():
            yield
            return

        def ask_to_stop(signum, frame):
            if self.asked:
                raise KeyboardInterrupt
            self.asked = True

        previous = signal.signal(signal.SIGINT, ask_to_stop)
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, previous)
