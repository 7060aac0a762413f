"""The schedule engine: validated specs compiled to pure, closed-form functions of the step.

No FastAPI, SQLAlchemy or torch here; see docs/contracts.md (Engine) and docs/schedules.md.
"""

from .build import Segment, build_schedule
from .errors import SpecError
from .parse import canonical_json, parse_spec, type_names
from .schedule import Schedule, Values
from .state import MetricState, Report

__all__ = [
    "MetricState",
    "Report",
    "Schedule",
    "Segment",
    "SpecError",
    "Values",
    "build_schedule",
    "canonical_json",
    "parse_spec",
    "type_names",
]
