"""Server-side commands: ``lrhub serve``, ``lrhub db``, ``lrhub tokens``."""

from lrhub_service.cli.main import main

__all__ = ["main"]
