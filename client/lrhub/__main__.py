"""``python -m lrhub``: the ``lrhub`` command line."""

from lrhub.cli import main

raise SystemExit(main())
