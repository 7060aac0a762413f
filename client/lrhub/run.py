"""`Run`: a run's calls (``RunCalls``) and ``attach``, which drives a torch optimizer with it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lrhub.extras import load_extra
from lrhub.run_calls import RunCalls

if TYPE_CHECKING:
    from lrhub.scheduler import LrhubScheduler


class Run(RunCalls):
    """A run stored on the server. ``run.info`` holds its last fetched record."""

    def attach(self, optimizer: Any, **options: Any) -> LrhubScheduler:
        """A ``torch.optim.lr_scheduler.LRScheduler`` that drives ``optimizer`` with this
        run's values (see ``lrhub.scheduler.LrhubScheduler`` for the options)."""
        scheduler = load_extra("lrhub.scheduler", "torch")  # imports torch, on first use only
        return scheduler.LrhubScheduler(self, optimizer, **options)
