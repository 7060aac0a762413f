"""Library-exact compat forms: ``{"type": "transformers", ...}`` and ``{"type": "timm", ...}``.

Each form is a thin mapping onto the engine's primitives (:meth:`expand`); it records the
library version whose values it reproduces (``library_version``), so a later mapping
never moves a stored run. See docs/compat.md.
"""

from .timm import TimmSchedule
from .transformers import TransformersSchedule

__all__ = ["TimmSchedule", "TransformersSchedule"]
