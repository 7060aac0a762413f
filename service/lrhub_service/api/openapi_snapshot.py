"""The committed OpenAPI snapshot (docs/openapi.json) and the changes that would break clients.

Regenerate after a deliberate API change::

    python -m lrhub_service.api.openapi_snapshot            # refuses a breaking change
    python -m lrhub_service.api.openapi_snapshot --allow-breaking

tests/api/test_contract_snapshot.py fails when the served document differs from the
snapshot, and names every breaking change: a removed path, operation, parameter or field,
a changed type, or a request field (or parameter) that became required.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from lrhub_service.api.app import create_app
from lrhub_service.settings import Settings

SNAPSHOT = Path(__file__).resolve().parents[3] / "docs" / "openapi.json"
METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


def current_document() -> dict[str, Any]:
    """The document the server serves, less its version (which changes every release)."""
    doc = create_app(Settings()).openapi()
    doc = json.loads(json.dumps(doc))
    doc["info"].pop("version", None)
    return doc


def render(doc: dict[str, Any]) -> str:
    """The snapshot's text: sorted keys, two-space indent, a final newline."""
    return json.dumps(doc, indent=2, sort_keys=True) + "\n"


def _refs(node: Any) -> set[str]:
    if isinstance(node, dict):
        found = {node["$ref"].rsplit("/", 1)[-1]} if isinstance(node.get("$ref"), str) else set()
        for value in node.values():
            found |= _refs(value)
        return found
    if isinstance(node, list):
        return set().union(*(_refs(item) for item in node)) if node else set()
    return set()


def _request_schemas(doc: dict[str, Any]) -> set[str]:
    """Component schemas a request body can contain (transitively)."""
    schemas = doc.get("components", {}).get("schemas", {})
    todo = set()
    for operations in doc.get("paths", {}).values():
        for operation in operations.values():
            todo |= _refs(operation.get("requestBody", {}))
    seen: set[str] = set()
    while todo:
        name = todo.pop()
        if name not in seen and name in schemas:
            seen.add(name)
            todo |= _refs(schemas[name])
    return seen


def _kind(schema: Any) -> Any:
    """What a schema says about type: its type, its $ref, or the kinds of its alternatives."""
    if not isinstance(schema, dict):
        return None
    if "$ref" in schema:
        return schema["$ref"]
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return sorted(json.dumps(_kind(item)) for item in schema[key])
    return schema.get("type")


def breaking_changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Every change from ``old`` to ``new`` that could break an existing client."""
    found: list[str] = []
    for path, operations in old.get("paths", {}).items():
        for method in (m for m in operations if m in METHODS):
            now = new.get("paths", {}).get(path, {}).get(method)
            if now is None:
                found.append(f"{method.upper()} {path}: operation removed")
                continue
            where = f"{method.upper()} {path}"
            before = {(p["in"], p["name"]): p for p in operations[method].get("parameters", [])}
            after = {(p["in"], p["name"]): p for p in now.get("parameters", [])}
            for key, param in before.items():
                if key not in after:
                    found.append(f"{where}: parameter {key[1]} removed")
                elif _kind(param.get("schema")) != _kind(after[key].get("schema")):
                    found.append(f"{where}: parameter {key[1]} changed type")
            for key, param in after.items():
                if param.get("required") and not before.get(key, {}).get("required"):
                    found.append(f"{where}: parameter {key[1]} is now required")
    old_schemas = old.get("components", {}).get("schemas", {})
    new_schemas = new.get("components", {}).get("schemas", {})
    requests = _request_schemas(new)
    for name, schema in old_schemas.items():
        if name not in new_schemas:
            found.append(f"schema {name}: removed")
            continue
        now = new_schemas[name]
        if _kind(schema) != _kind(now) and "properties" not in schema:
            found.append(f"schema {name}: changed type")
        props, now_props = schema.get("properties", {}), now.get("properties", {})
        for field, field_schema in props.items():
            if field not in now_props:
                found.append(f"schema {name}: field {field} removed")
            elif _kind(field_schema) != _kind(now_props[field]):
                found.append(f"schema {name}: field {field} changed type")
        if name in requests:
            for field in set(now.get("required", [])) - set(schema.get("required", [])):
                found.append(f"schema {name}: request field {field} is now required")
    return found


def main(argv: list[str] | None = None) -> int:
    """Write the snapshot; refuse a breaking change unless ``--allow-breaking``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--allow-breaking", action="store_true")
    parser.add_argument("--path", type=Path, default=SNAPSHOT)
    args = parser.parse_args(argv)
    doc = current_document()
    if args.path.exists():
        broken = breaking_changes(json.loads(args.path.read_text()), doc)
        if broken and not args.allow_breaking:
            print("breaking changes (pass --allow-breaking if intended):", file=sys.stderr)
            print("\n".join(f"  {line}" for line in broken), file=sys.stderr)
            return 1
    args.path.write_text(render(doc))
    print(f"wrote {args.path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
