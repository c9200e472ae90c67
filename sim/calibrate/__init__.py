"""Calibration from an event log: a draft scenario (``draft``), its distributions (``fit``), calendar
(``calendar_fit``), stages and their order (``stages``) and the ways cases leave undecided (``exits``), the
fit report against the log (``report``) and the files written (``output``)."""

from .draft import Calibration, CalibrationError, calibrate
from .report import FitReport, fit_report

__all__ = ["Calibration", "CalibrationError", "calibrate", "FitReport", "fit_report"]
