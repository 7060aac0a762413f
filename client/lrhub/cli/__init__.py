"""The ``lrhub`` command: client commands over HTTP; server commands join by entry points.

``import lrhub`` never imports this package or its dependencies (typer, rich), which come
with the ``cli`` extra (the ``server`` extra includes it).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from lrhub.extras import EXTRAS, load_extra

INSTALL_HINT = "lrhub: the command line needs the cli extra: pip install 'lrhub[cli]'"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``lrhub`` command line; returns the exit status."""
    try:
        app = load_extra("lrhub.cli.app", "cli")
    except ModuleNotFoundError as exc:
        if exc.name not in EXTRAS["cli"]:
            raise
        print(INSTALL_HINT, file=sys.stderr)
        return 1
    command = app.build_command()
    try:
        command.main(args=list(sys.argv[1:] if argv is None else argv), prog_name="lrhub")
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
    return 0
