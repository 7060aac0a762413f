"""Use cases: what the service does to runs, one unit of work each; no HTTP here."""
