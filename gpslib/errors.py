"""One exception type for user mistakes, so the CLI can print one sentence instead of a traceback."""


class GpslibError(Exception):
    """A problem the user can fix (bad path, bad partition, corrupt file); the message says how."""


class CorruptFileError(GpslibError):
    """An image or mask file that cannot be decoded; training may skip it when on_corrupt="skip"."""


class TrainingInterrupted(GpslibError):
    """Ctrl-C (SIGINT) during training: a checkpoint was written and the message says how to resume."""
