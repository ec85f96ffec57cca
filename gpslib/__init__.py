"""gpslib: Guided Pseudo Supervision (one teacher, two students) for semi-supervised semantic segmentation.

README.md in this folder says which file owns which idea, and where a new dataset, loss switch or figure goes.
"""
from .config import Config, make_config
from .errors import GpslibError

__version__ = "0.1.0"
__all__ = ["Config", "make_config", "GpslibError", "__version__"]
