"""The one JUnit XML writer (the audit's `--format junit` and the smoke stage's smoke-junit.xml).

A plain-text writer, so the bytes are the same on every Python: attributes in the order
given, two-space indentation, `&`, `<`, `>` and quotes escaped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from xml.sax.saxutils import escape, quoteattr


@dataclass(frozen=True)
class Case:
    classname: str
    name: str
    time: str | None = None  # seconds, formatted by the caller
    failure: tuple[str, str | None, str] | None = None  # (message, type, text)
    skipped: str | None = None  # the message
    system_out: str | None = None


@dataclass(frozen=True)
class Suite:
    name: str
    cases: Sequence[Case]
    attrs: dict[str, str] = field(default_factory=dict)  # after name: time, tests, failures, ...


def _attrs(pairs: dict[str, str]) -> str:
    return "".join(f" {k}={quoteattr(v)}" for k, v in pairs.items())


def document(name: str, suites: Sequence[Suite], attrs: dict[str, str] | None = None) -> str:
    out = ['<?xml version="1.0" encoding="UTF-8"?>', f"<testsuites{_attrs({'name': name, **(attrs or {})})}>"]
    for suite in suites:
        out.append(f"  <testsuite{_attrs({'name': suite.name, **suite.attrs})}>")
        for case in suite.cases:
            head = {"classname": case.classname, "name": case.name, **({"time": case.time} if case.time else {})}
            out.append(f"    <testcase{_attrs(head)}>")
            if case.failure is not None:
                message, kind, text = case.failure
                out.append(
                    f"      <failure{_attrs({'message': message, **({'type': kind} if kind else {})})}>"
                    f"{escape(text)}</failure>"
                )
            if case.skipped is not None:
                out.append(f"      <skipped{_attrs({'message': case.skipped})} />")
            if case.system_out is not None:
                out.append(f"      <system-out>{escape(case.system_out)}</system-out>")
            out.append("    </testcase>")
        out.append("  </testsuite>")
    out.append("</testsuites>")
    return "\n".join(out) + "\n"
