"""JUnit XML: one test case per operation and check, failed where a violation names that pair; what the
run could not judge is an error case, what its options left out a skipped case (and a property)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

from contracts.reporting.model import Report
from contracts.reporting.terminal import printable

# What XML 1.0 allows (its Char production) once printable() has spelled out the controls: the rest too.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml(text: str) -> str:
    """``text`` as XML 1.0 can hold it: a server's control characters spelled out (``\\x1b``)."""
    return _NOT_XML.sub(lambda found: found.group().encode("unicode_escape").decode("ascii"), printable(text))


def _clean(element: ET.Element) -> None:
    """Every text, tail and attribute value of ``element`` and below, as XML 1.0 can hold it."""
    for node in element.iter():
        node.text = _xml(node.text) if node.text else node.text
        node.tail = _xml(node.tail) if node.tail else node.tail
        node.attrib = {name: _xml(value) for name, value in node.attrib.items()}


def render(report: Report) -> str:
    pairs = {(row.operation, row.check) for row in report.rows.values()}
    pairs |= {(v.operation, v.rule) for v in report.violations}
    failures = sum(
        1
        for pair in pairs
        if any((v.operation, v.rule) == pair for v in report.violations)
        or (pair in report.rows and report.rows[pair].failed)
    )
    skipped = sum(1 for pair in pairs if pair in report.rows and report.rows[pair].verdict == "n/a")
    suite = ET.Element(
        "testsuite",
        name=f"mockline {report.kind} {report.target}",
        tests=str(len(pairs) + len(report.errors) + len(report.inconclusive) + len(report.left_out)),
        failures=str(failures),
        errors=str(len(report.errors) + len(report.inconclusive)),
        skipped=str(skipped + len(report.left_out)),
        time=f"{report.duration_seconds:.3f}",
    )
    properties = ET.SubElement(suite, "properties")  # the environment: mockline, key libraries, Python
    for name, version in report.versions.items():
        ET.SubElement(properties, "property", name=f"version.{name}", value=version)
    ET.SubElement(properties, "property", name="verdict", value=report.verdict)
    if report.left_out:  # what the run's options left out: CI shows it as skipped cases too
        ET.SubElement(properties, "property", name="left_out", value=report.left_out_summary())
    for operation, check in sorted(pairs):
        case = ET.SubElement(suite, "testcase", classname=operation, name=check)
        found = [v for v in report.violations if (v.operation, v.rule) == (operation, check)]
        row = report.rows.get((operation, check))
        if found or (row is not None and row.failed):
            text = "\n\n".join(
                f"{v.title}\nexpected: {v.expected}\ngot: {v.got}\nreproduce: {v.curl}" for v in found
            )
            failure = ET.SubElement(
                case, "failure", message=found[0].title if found else f"{check} failed", type=check
            )
            failure.text = text
        elif row is not None and row.verdict == "n/a":
            ET.SubElement(case, "skipped", message=f"not applicable: {check} had nothing to judge here")
        sent = [f for f in report.follow_ups if (f.operation, f.check) == (operation, check)]
        if sent:
            ET.SubElement(case, "system-out").text = "\n".join(
                f"{f.method} {f.url} -> {f.status}" for f in sent
            )
    for item in report.inconclusive:
        case = ET.SubElement(suite, "testcase", classname=item.name, name=f"inconclusive {item.scope}")
        counts = ", ".join(f"{k} {v}" for k, v in item.counts.items())
        ET.SubElement(
            case, "error", message=f"inconclusive: {item.reason}"[:200], type="inconclusive"
        ).text = f"{item.reason}\nanswers: {counts}"
    for left in report.left_out:
        case = ET.SubElement(suite, "testcase", classname="left out", name=f"{left.kind} {left.name}")
        ET.SubElement(case, "skipped", message=f"left out by this run's options: {left.reason}"[:200])
    for number, message in enumerate(report.errors, 1):
        case = ET.SubElement(suite, "testcase", classname="run", name=f"error {number}")
        ET.SubElement(case, "error", message=message[:200]).text = message
    suites = ET.Element("testsuites")
    suites.append(suite)
    _clean(suites)
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"


def write(report: Report, path: str | Path) -> None:
    Path(path).write_text(render(report), encoding="utf-8")
