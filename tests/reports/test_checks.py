"""Reviewer checks on a rebuttal: findings answered, tracing records per node, exhibits
referenced, mass balance, translations."""

from __future__ import annotations

import dataclasses

from app.reports.checks import cited_exhibit_numbers, run_checks
from app.reports.model import ExhibitFacts, FindingAnswer
from tests.reports.builders import COTTON_UNCOVERED, cotton_exhibits, cotton_report

XUAR_NODE = "lines[0].inputs[0].inputs[0].inputs[0]"


def test_cotton_rebuttal_check_results() -> None:
    checks = run_checks(cotton_report())
    assert not checks.passed
    assert checks.to_dict()["failed"] == ["tracing_records", "mass_balance", "translations"]
    # Every finding is answered by an exhibit or listed as open/awaiting review/context.
    answered = checks.result("findings_answered")
    assert answered.passed
    assert answered.notes == ("2 finding(s) without evidence are listed as open",)


def test_finding_neither_answered_nor_listed_as_open_fails() -> None:
    report = cotton_report()
    assert report.rebuttal is not None
    kept = tuple(a for a in report.rebuttal.findings if a.path != XUAR_NODE)
    cleared = FindingAnswer("XUAR_PLACE", XUAR_NODE, "cleared")
    unlisted = cotton_report(rebuttal=dataclasses.replace(report.rebuttal, findings=kept))
    claimed = cotton_report(
        rebuttal=dataclasses.replace(report.rebuttal, findings=(*kept, cleared))
    )

    problems = run_checks(unlisted).result("findings_answered").problems
    subjects = {p.subject: p.message for p in problems}
    assert f"XUAR_PLACE at {XUAR_NODE}" in subjects
    assert "does not list it as open" in subjects[f"XUAR_PLACE at {XUAR_NODE}"]

    problems = run_checks(claimed).result("findings_answered").problems
    assert [p.message for p in problems if p.subject == f"XUAR_PLACE at {XUAR_NODE}"] == [
        "marked cleared but no exhibit covers it"
    ]


def test_without_a_rebuttal_every_unanswered_finding_fails() -> None:
    checks = run_checks(cotton_report(rebuttal=None, exhibits=()))
    problems = checks.result("findings_answered").problems
    assert len(problems) == len(cotton_report().findings)


def test_every_node_needs_a_transaction_and_a_production_record() -> None:
    problems = run_checks(cotton_report()).result("tracing_records").problems
    by_node: dict[str, set[str]] = {}
    for problem in problems:
        kind = "transaction" if "transaction record" in problem.message else "production"
        by_node.setdefault(problem.subject, set()).add(kind)
    both = {"transaction", "production"}
    assert by_node == {
        **{path: both for path in COTTON_UNCOVERED},
        # CT-04 spinning records + CT-08 payments: the spinner has both kinds.
        "lines[0].inputs[0].inputs[0].inputs[1]": {"transaction"},  # CT-01, CT-02 only
        "lines[1].inputs[0]": {"transaction"},  # CT-05 weaving records only
    }
    assert "shipment" not in by_node  # the entry is not a production step


def test_exhibits_referenced_by_a_node_or_by_the_narrative() -> None:
    report = cotton_report()
    assert report.rebuttal is not None
    dangling = ExhibitFacts(
        number=13,
        checklist_id="G-12",
        title="Isotope test",
        files=cotton_exhibits()[0].files,
        covers=("lines[7].inputs[0]",),
    )
    uncited = cotton_report(exhibits=(*cotton_exhibits(), dangling))
    problems = run_checks(uncited).result("exhibits_referenced").problems
    assert [(p.subject, p.message) for p in problems] == [
        ("Exhibit 13", "covers 'lines[7].inputs[0]', which is not in the manifest"),
        ("Exhibit 13", "referenced nowhere: it covers no node and is not cited"),
    ]
    cited = cotton_report(
        exhibits=(*cotton_exhibits(), dangling),
        rebuttal=dataclasses.replace(
            report.rebuttal, narrative="Isotope results (Exhibit 13); see also Ex. 14."
        ),
    )
    problems = run_checks(cited).result("exhibits_referenced").problems
    assert [(p.subject, p.message) for p in problems] == [
        ("Exhibit 13", "covers 'lines[7].inputs[0]', which is not in the manifest"),
        ("Exhibit 14", "cited in the narrative but not attached"),
    ]
    assert run_checks(report).result("exhibits_referenced").passed


def test_cited_exhibit_numbers() -> None:
    assert cited_exhibit_numbers("Exhibits 7 and 8; Ex. 2-4, exhibit 12") == {2, 3, 4, 7, 8, 12}
    assert cited_exhibit_numbers("the exhibition of 2024") == set()


def test_mass_balance_flags_less_input_than_output_in_the_same_unit() -> None:
    problems = run_checks(cotton_report()).result("mass_balance").problems
    # Woven fabric 900 KG from 800 kg of yarn (units compared case-insensitively); the
    # knitted fabric (600 KG from 650 KG yarn) and the yarn (650 from 200 + 500) reconcile,
    # and garments in PCS are not compared with fabric in KG.
    assert [(p.subject, p.message) for p in problems] == [
        (
            "lines[1].inputs[0]",
            "800 KG declared upstream (cotton yarn) for 900 KG of woven cotton fabric: "
            "100 KG unaccounted for",
        )
    ]


def test_foreign_language_exhibits_without_translation_are_flagged() -> None:
    result = run_checks(cotton_report()).result("translations")
    assert [p.subject for p in result.problems] == ["Exhibit 4", "Exhibit 6"]
    assert "'vi'" in result.problems[0].message


def test_checks_serialise_for_the_api() -> None:
    body = run_checks(cotton_report()).to_dict()
    assert body["passed"] is False
    assert [c["id"] for c in body["checks"]] == [
        "findings_answered",
        "tracing_records",
        "exhibits_referenced",
        "mass_balance",
        "translations",
    ]
    first = body["checks"][1]["problems"][0]
    assert set(first) == {"subject", "message"}


def test_checks_match_the_api_schema() -> None:
    from app.api.schemas.reports import ChecksOut

    body = run_checks(cotton_report()).to_dict()
    assert ChecksOut.model_validate(body).model_dump() == body
