"""The tester's report as JUnit XML, which every CI system reads.

One ``<testsuite>`` per integration and one named ``server`` (overview, bridge, batch), one
``<testcase>`` per test; a failed test carries a ``<failure>`` with its detail, a skipped one
``<skipped>``. Details never hold secrets (the
report holds variable names only).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from atom_health.report.models import TestCase, TestReport

SERVER_SUITE = "server"  # the overview routes, the bridge routes and the batch check


def render_junit(report: TestReport) -> bytes:
    root = ET.Element(
        "testsuites",
        name="atom-health",
        tests=str(report.passed + report.failed + report.skipped),
        failures=str(report.failed),
        skipped=str(report.skipped),
        errors="0",
        time=f"{report.duration_seconds:.3f}",
        timestamp=report.generated_at.isoformat(),
    )
    _suite(root, SERVER_SUITE, report.system_tests)
    for integration in report.integrations:
        suite = _suite(root, integration.service, integration.tests)
        properties = ET.Element("properties")
        suite.insert(0, properties)
        for name, value in (
            ("status", integration.status.value),
            ("criticality", integration.criticality.value),
        ):
            ET.SubElement(properties, "property", name=name, value=value)
    ET.indent(root)
    document: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return document


def _suite(root: ET.Element, name: str, cases: list[TestCase]) -> ET.Element:
    suite = ET.SubElement(
        root,
        "testsuite",
        name=name,
        tests=str(len(cases)),
        failures=str(sum(c.outcome == "fail" for c in cases)),
        skipped=str(sum(c.outcome == "skip" for c in cases)),
        errors="0",
        time=f"{sum(c.duration_ms for c in cases) / 1000:.3f}",
    )
    for case in cases:
        element = ET.SubElement(
            suite,
            "testcase",
            classname=f"atom-health.{name}",
            name=case.name,
            time=f"{case.duration_ms / 1000:.3f}",
        )
        if case.outcome == "fail":
            ET.SubElement(
                element, "failure", message=case.detail, type="failure"
            ).text = case.detail
        elif case.outcome == "skip":
            ET.SubElement(element, "skipped", message=case.detail)
    return suite
