"""The schedule engine: validated specs compiled to pure, closed-form functions of the step.

No FastAPI, SQLAlchemy or torch here; see docs/contracts.md (Engine) and docs/schedules.md.
"""

from .build import Segment, build_schedule
from .cost import SpecCost, built_cost, spec_cost
from .errors import SpecError
from .limits import LIMITS, CostLimitError, Limits, admit, allowed_steps, limits_json
from .parse import canonical_json, parse_spec, type_names, validate_spec
from .schedule import Schedule, StepError, Values
from .state import MetricState, Report

__all__ = [
    "LIMITS",
    "CostLimitError",
    "Limits",
    "MetricState",
    "Report",
    "Schedule",
    "Segment",
    "SpecCost",
    "SpecError",
    "StepError",
    "Values",
    "admit",
    "allowed_steps",
    "build_schedule",
    "built_cost",
    "canonical_json",
    "limits_json",
    "parse_spec",
    "spec_cost",
    "type_names",
    "validate_spec",
]
