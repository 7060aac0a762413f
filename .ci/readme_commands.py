"""Print one of the README's two first-line commands, exactly as a reader would copy it.

The README's first ```bash block holds two commands: the server on the embedded default
(the line with ``lrhub serve``) and the test suite (the line with ``pytest``). CI runs what
this prints, so the README can never drift from what CI checks. Usage:
``python3 .ci/readme_commands.py serve|test [README.md]``.
"""

from __future__ import annotations

import sys
from pathlib import Path

MARKERS = {"serve": "lrhub serve", "test": "pytest"}


def readme_commands(readme: str) -> dict[str, str]:
    """The commands of the first bash block by role, trailing comments removed."""
    block = readme.split("```bash", 1)[1].split("```", 1)[0]
    commands = [line.split(" #", 1)[0].strip() for line in block.splitlines()]
    commands = [command for command in commands if command and not command.startswith("#")]
    if len(commands) != 2:
        raise SystemExit(f"README's first bash block must hold 2 commands, found {len(commands)}")
    found = {}
    for role, marker in MARKERS.items():
        (found[role],) = [command for command in commands if marker in command]
    return found


def main(argv: list[str]) -> int:
    role = argv[1] if len(argv) > 1 else ""
    if role not in MARKERS:
        print("usage: readme_commands.py serve|test [README.md]", file=sys.stderr)
        return 2
    path = Path(argv[2]) if len(argv) > 2 else Path(__file__).resolve().parents[1] / "README.md"
    print(readme_commands(path.read_text())[role])
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
