"""gpslib: Guided Pseudo Supervision (one teacher, two students) for semi-supervised semantic segmentation."""
from .config import Config, make_config
from .errors import GpslibError

__version__ = "0.1.0"
__all__ = ["Config", "make_config", "GpslibError", "__version__"]
