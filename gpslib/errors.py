"""One exception type for user mistakes, so the CLI can print one sentence instead of a traceback."""


class GpslibError(Exception):
    """A problem the user can fix (bad path, bad partition, corrupt file); the message says how."""
