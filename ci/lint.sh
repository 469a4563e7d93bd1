#!/usr/bin/env bash
# The lint and type gates, before any test runs: ruff (lint and format) over the whole tree,
# and mypy --strict over the floors (model, util, formats, project; pyproject.toml says which).
# Zero findings, or CI fails.
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
.venv/bin/shellcheck ci/*.sh ci/github/*.sh .ci/run
