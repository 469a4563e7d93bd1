"""The one JUnit writer: the audit's --format junit keeps its bytes; smoke's file has every case."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from gobuildx.audit.render import junit
from gobuildx.model.audit import AuditReport, AuditResult, Facts
from gobuildx.model.smoke import SmokeResult
from gobuildx.smoke.stage import write_junit

# What `gobuildx audit --format junit` printed for this report before the writer was shared.
GOLDEN = '<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="gobuildx audit" tests="2" failures="1">\n  <testsuite name="gobuildx.audit" tests="2" failures="1" errors="0" skipped="0">\n    <testcase classname="gobuildx.audit" name=\'linux-"amd64"&lt;&amp;&gt;\'>\n      <failure message="needs GLIBC_2.34 &gt; 2.17" type="linkage">needs GLIBC_2.34 &gt; 2.17\nsecond\nline &amp; &lt;x&gt;</failure>\n      <system-out>declared: glibc &gt;= 2.17, cgo on\nlinkage: dynamic glibc\nruns on: glibc-2.36\nwarning: w\'1\nfile: ELF 64-bit</system-out>\n    </testcase>\n    <testcase classname="gobuildx.audit" name="ok">\n      <system-out>declared: static\nlinkage: static\nruns on: -</system-out>\n    </testcase>\n  </testsuite>\n</testsuites>\n'  # noqa: E501 (the exact bytes, on one line)


def test_the_audit_report_keeps_its_bytes() -> None:
    rs = [
        AuditResult(
            id='linux-"amd64"<&>',
            declared="glibc >= 2.17, cgo on",
            verdict="fail",
            problems=["needs GLIBC_2.34 > 2.17", "second\nline & <x>"],
            warnings=["w'1"],
            linkage="dynamic glibc",
            runs_on=["glibc-2.36"],
            artifacts=[Facts(path="a", file="ELF 64-bit")],
        ),
        AuditResult(id="ok", declared="static", verdict="pass", linkage="static", runs_on=[]),
    ]
    assert junit(AuditReport(verdict="fail", results=rs)) == GOLDEN


def test_the_smoke_file_has_a_case_per_result(tmp_path: Path) -> None:
    results = [
        (
            "linux-amd64",
            SmokeResult(
                runner="native",
                binary="hello",
                status="passed",
                reason="exit code 0",
                command=["./hello"],
                output="ok\n",
                duration_s=0.25,
            ),
        ),
        (
            "linux-arm64",
            SmokeResult(runner="qemu", binary="hello", status="failed", reason="exit code 2", output="boom <&>"),
        ),
        ("windows-arm64", SmokeResult(runner="none", status="skipped", reason="no runner")),
    ]
    write_junit(tmp_path / "j.xml", [], results, 1.5)
    root = ET.parse(tmp_path / "j.xml").getroot()
    suite = root.find("testsuite")
    assert root.get("name") == "gobuildx" and suite is not None
    assert (suite.get("name"), suite.get("time"), suite.get("tests"), suite.get("failures"), suite.get("skipped")) == (
        "gobuildx smoke",
        "1.500",
        "3",
        "1",
        "1",
    )
    cases = suite.findall("testcase")
    assert [(c.get("classname"), c.get("name")) for c in cases] == [
        ("smoke.linux-amd64", "native:hello"),
        ("smoke.linux-arm64", "qemu:hello"),
        ("smoke.windows-arm64", "none"),
    ]
    assert cases[0].findtext("system-out") == "./hello\nok\n"
    failure = cases[1].find("failure")
    assert failure is not None and failure.get("message") == "exit code 2" and failure.text == "boom <&>"
    skipped = cases[2].find("skipped")
    assert skipped is not None and skipped.get("message") == "no runner"
