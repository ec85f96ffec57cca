"""Former home of the method's figures, kept until the notebooks import gpslib.figures; delete it then."""
from .figures import gps_diagram, image_grid, latch_plot, rampup_curves, teacher_curve  # noqa: F401
from .figures.style import FEEDBACK, GUIDE, PHASE_A  # noqa: F401
