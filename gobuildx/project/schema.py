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

import ast
import inspect
import json
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from gobuildx.project import config
from gobuildx.project.config import Config

SCHEMA_FILE = Path(__file__).with_name("targets.schema.json")
DRAFT = "https://json-schema.org/draft/2020-12/schema"


def generate() -> dict[str, Any]:
    body = Config.model_json_schema(mode="validation")
    docs = attribute_docstrings(Path(config.__file__).read_text())
    _describe(body, Config, docs)
    for name, model_schema in body.get("$defs", {}).items():
        model = getattr(config, name, None)
        if isinstance(model, type) and issubclass(model, BaseModel):
            _describe(model_schema, model, docs)
    schema = {"$schema": DRAFT, **body, "title": "gobuildx targets.toml"}
    # One glob may be written as a string (Override's before-validator wraps it in a list).
    match = schema["$defs"]["Override"]["properties"]["match"]
    schema["$defs"]["Override"]["properties"]["match"] = {
        "anyOf": [{"type": "string"}, match],
        **{k: v for k, v in match.items() if k in ("title", "description")},
    }
    return schema


def attribute_docstrings(source: str) -> dict[str, dict[str, str]]:
    """{class: {key: the docstring under it}} of every class in `source`: the string literal
    right after an annotated assignment, as pydantic's use_attribute_docstrings reads it."""
    found: dict[str, dict[str, str]] = {}
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.ClassDef):
            continue
        docs = found.setdefault(node.name, {})
        for stmt, after in zip(node.body, node.body[1:], strict=False):
            if (
                isinstance(stmt, ast.AnnAssign)
                and isinstance(stmt.target, ast.Name)
                and isinstance(after, ast.Expr)
                and isinstance(after.value, ast.Constant)
                and isinstance(after.value.value, str)
            ):
                docs[stmt.target.id] = inspect.cleandoc(after.value.value)
    return found


def _describe(model_schema: dict[str, Any], model: type[BaseModel], docs: dict[str, dict[str, str]]) -> None:
    """Give each key of `model` the docstring written under it (in its class or the base
    that declares it), unless the field has a description of its own."""
    properties = model_schema.get("properties", {})
    for name, field in model.model_fields.items():
        key = field.alias or name
        if key not in properties or field.description is not None:
            continue
        doc = next((docs[c.__name__][name] for c in model.__mro__ if name in docs.get(c.__name__, {})), None)
        if doc is not None:
            properties[key]["description"] = doc


def render() -> str:
    return json.dumps(generate(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())
