"""The shipped JSON Schema of targets.toml: the models' own, and it agrees with the loader."""

from __future__ import annotations

import tomllib
from pathlib import Path

import jsonschema
import pytest
from pydantic import ValidationError

from gobuildx.project import schema
from gobuildx.project.config import Config
from tests.unit.test_config_corpus import CORPUS, FULL, SEEDS

# pydantic error types the schema expresses too; custom validators (a glibc version, a
# regex) and everything after the schema (paths, placeholders, the matrix) are the loader's.
SCHEMA_KINDS = {
    "extra_forbidden",
    "missing",
    "literal_error",
    "string_type",
    "bool_type",
    "int_type",
    "float_type",
    "list_type",
    "dict_type",
    "model_type",
    "string_pattern_mismatch",
    "greater_than",
    "greater_than_equal",
    "less_than_equal",
    "too_short",
}


def validator() -> jsonschema.protocols.Validator:
    return jsonschema.Draft202012Validator(schema.generate())


def test_the_shipped_schema_is_the_models_schema() -> None:
    assert schema.SCHEMA_FILE.read_text() == schema.render(), (
        "regenerate: python -m gobuildx.project.schema > gobuildx/project/targets.schema.json"
    )


def test_the_schema_is_valid_and_ships_with_the_package() -> None:
    jsonschema.Draft202012Validator.check_schema(schema.generate())
    pyproject = tomllib.loads((Path(__file__).resolve().parents[2] / "pyproject.toml").read_text())
    assert "targets.schema.json" in pyproject["tool"]["setuptools"]["package-data"]["gobuildx.project"]


@pytest.mark.parametrize("path", SEEDS, ids=lambda p: str(p.parent.name))
def test_every_targets_toml_of_the_repository_validates(path: Path) -> None:
    validator().validate(tomllib.loads(path.read_text()))


def test_the_seed_with_every_table_validates() -> None:
    validator().validate(tomllib.loads(FULL))


def test_the_schema_rejects_what_the_models_reject_for_a_schema_reason() -> None:
    check, compared = validator(), 0
    for case in CORPUS:
        try:
            data = tomllib.loads(case.text)
        except tomllib.TOMLDecodeError:
            continue  # not TOML: no document to validate
        try:
            Config.model_validate(data)
        except ValidationError as exc:
            kinds = {e["type"] for e in exc.errors()}
            if kinds <= SCHEMA_KINDS:
                compared += 1
                assert not check.is_valid(data), (case.name, kinds)
            continue
        assert check.is_valid(data), (case.name, next(iter(check.iter_errors(data))).message)
    assert compared >= 100, compared


def test_every_key_has_a_description() -> None:
    """Editors show it on hover: a key added without a docstring under it fails here."""
    doc = schema.generate()
    tables = [("Config", doc), *doc["$defs"].items()]
    missing = [
        f"{name}.{key}" for name, t in tables for key, p in t.get("properties", {}).items() if not p.get("description")
    ]
    assert missing == []
