"""``python -m lrhub_service.cli``."""

from lrhub_service.cli.main import main

raise SystemExit(main())
