"""The JSON Schema of targets.toml, generated from the pydantic models of `project.config`.

Shipped beside this module as targets.schema.json (package data), for editors that check
TOML against a JSON Schema (taplo, Even Better TOML: docs/config-schema.md).
tests/unit/test_schema.py fails when the shipped file and the models disagree; regenerate
it with `python -m gobuildx.project.schema > gobuildx/project/targets.schema.json`.

The schema is the file's shape (keys, types, allowed values, patterns); what only the
loader can decide (a glibc version, a regex, paths, placeholders, the matrix against this
Go) stays the loader's.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from gobuildx.project.config import Config

SCHEMA_FILE = Path(__file__).with_name("targets.schema.json")
DRAFT = "https://json-schema.org/draft/2020-12/schema"


def generate() -> dict[str, Any]:
    body = Config.model_json_schema(mode="validation")
    schema = {"$schema": DRAFT, **body, "title": "gobuildx targets.toml"}
    # One glob may be written as a string (Override's before-validator wraps it in a list).
    match = schema["$defs"]["Override"]["properties"]["match"]
    schema["$defs"]["Override"]["properties"]["match"] = {
        "anyOf": [{"type": "string"}, match],
        **{k: v for k, v in match.items() if k in ("title", "description")},
    }
    return schema


def render() -> str:
    return json.dumps(generate(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())
