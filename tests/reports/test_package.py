"""The rebuttal package: the PDF a CBP reviewer reads and the ZIP with the exhibit files."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from app.reports.model import ConditionAnswer, ExhibitFacts, ExhibitFile, ShipmentReport
from app.reports.package_pdf import MapImage, build_package_pdf, package_html
from app.reports.package_zip import (
    ExhibitIntegrityError,
    exhibit_members,
    iter_package_zip,
    package_zip_bytes,
    slug,
)
from tests.reports.builders import COTTON_UNCOVERED, SPINNER, WEAVER, cotton_report
from tests.reports.conftest import needs_pdf

SVG_STUB = MapImage(
    "All lines",
    b'<svg xmlns="http://www.w3.org/2000/svg" width="100pt" height="50pt"></svg>',
)


def test_html_holds_every_section_and_escapes_what_it_prints() -> None:
    report = cotton_report()
    hostile = report.shipment.__class__(
        report.shipment.shipment_id, "ENTRY-1", 'Acme </style><script>x</script> "Co"', "detained"
    )
    html = package_html(cotton_report(shipment=hostile), [SVG_STUB])
    assert "<script>" not in html
    assert "&lt;script&gt;" in html
    assert "</style><script>" not in html  # nor via the footer in the stylesheet
    for anchor in ("summary", "map", "exhibits", "findings", "nodes", "checks", "appendix"):
        assert f"id='{anchor}'" in html and f"href='#{anchor}'" in html
    for number in range(1, 13):
        assert f"id='exhibit-{number}'" in html


def test_html_without_a_rebuttal_still_describes_the_shipment() -> None:
    html = package_html(cotton_report(rebuttal=None, exhibits=()), [SVG_STUB])
    assert "UFLPA Detention: Supply-Chain Evidence" in html
    assert "No exhibits attached." in html


def pdf_text(pdf: bytes) -> str:
    from pypdf import PdfReader

    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


@pytest.fixture(scope="module")
def cotton_pdf(artifacts: Path) -> bytes:
    pdf = build_package_pdf(cotton_report())
    (artifacts / "cotton-package.pdf").write_bytes(pdf)
    return pdf


@needs_pdf
def test_pdf_opens_and_reads_as_a_package(cotton_pdf: bytes) -> None:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(cotton_pdf))
    assert len(reader.pages) >= 8
    text = pdf_text(cotton_pdf)
    assert "Request for Applicability Review" in text
    assert "Entry ENTRY-2026-000777" in text
    for heading in ("Contents", "Executive summary", "Exhibit index", "Reviewer checks"):
        assert heading in text
    assert "Response due" in text and "2026-12-25" in text


@needs_pdf
def test_pdf_prints_chinese_names_hashes_and_uncovered_nodes(cotton_pdf: bytes) -> None:
    text = pdf_text(cotton_pdf)
    assert SPINNER in text and WEAVER in text
    for exhibit in cotton_report().exhibits:
        for file in exhibit.files:
            assert file.sha256 in text, exhibit.label
    for path in COTTON_UNCOVERED:
        assert path in text
    assert "Nodes without evidence" in text
    flat = " ".join(text.split())  # table cells wrap
    assert flat.count("NO ENGLISH TRANSLATION") == 2  # Exhibits 4 and 6
    # The appendix carries the versions that make the assessment reproducible.
    assert "Rules version" in text and "uflpa" in text and "2026-11-01" in text


@needs_pdf
def test_pdf_embeds_a_cjk_font(cotton_pdf: bytes) -> None:
    from pypdf import PdfReader

    fonts = set()
    for page in PdfReader(io.BytesIO(cotton_pdf)).pages:
        for font in page["/Resources"].get("/Font", {}).values():
            fonts.add(str(font.get_object()["/BaseFont"]))
    assert any("Noto-Sans-CJK" in name for name in fonts), fonts


@needs_pdf
@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="apt-get install -y poppler-utils")
def test_pages_render_to_png_for_people(cotton_pdf: bytes, artifacts: Path) -> None:
    pdf_path = artifacts / "cotton-package.pdf"
    subprocess.run(
        ["pdftoppm", "-r", "70", "-png", str(pdf_path), str(artifacts / "cotton-page")],
        check=True,
        timeout=120,
    )
    pages = sorted(artifacts.glob("cotton-page-*.png"))
    assert len(pages) >= 8
    assert all(page.stat().st_size > 5000 for page in pages)  # not blank


def _exhibits_with_bytes() -> tuple[tuple[ExhibitFacts, ...], dict[str, bytes]]:
    store: dict[str, bytes] = {}

    def stored(name: str, content: bytes, media_type: str = "application/pdf") -> ExhibitFile:
        digest = hashlib.sha256(content).hexdigest()
        store[digest] = content
        return ExhibitFile(digest, name, media_type, len(content))

    big = bytes(range(256)) * 8192  # 2 MiB
    exhibits = (
        ExhibitFacts(3, "CT-02", "Ginning records", (stored("gin.PDF", b"%PDF gin"),)),
        ExhibitFacts(
            1,
            "G-06",
            "发票 Invoices / packing lists",
            (stored("a.pdf", b"%PDF a"), stored("scan", big, "image/png")),
            translation=stored("invoices-en.pdf", b"%PDF english"),
        ),
    )
    return exhibits, store


def test_zip_names_exhibits_by_number_and_checks_their_hashes() -> None:
    exhibits, store = _exhibits_with_bytes()
    data = package_zip_bytes(
        b"%PDF package", "ENTRY-2026-000777", exhibits, lambda h: io.BytesIO(store[h])
    )
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = archive.namelist()
        assert names == [
            "ENTRY-2026-000777_rebuttal-package.pdf",
            "Exhibit-01_G-06_invoices-packing-lists_part-1.pdf",
            "Exhibit-01_G-06_invoices-packing-lists_part-2.png",
            "Exhibit-01_G-06_invoices-packing-lists_EN-translation.pdf",
            "Exhibit-03_CT-02_ginning-records.pdf",
            "SHA256SUMS",
        ]
        assert archive.testzip() is None
        assert archive.read("Exhibit-03_CT-02_ginning-records.pdf") == b"%PDF gin"
        assert archive.read(names[2]) == bytes(range(256)) * 8192
        sums = archive.read("SHA256SUMS").decode().splitlines()
    assert len(sums) == 5
    assert sums[0] == f"{hashlib.sha256(b'%PDF package').hexdigest()}  {names[0]}"


def test_zip_is_streamed_in_bounded_chunks() -> None:
    exhibits, store = _exhibits_with_bytes()
    chunks = list(iter_package_zip(b"%PDF", "R-1", exhibits, lambda h: io.BytesIO(store[h])))
    assert sum(len(c) for c in chunks) > 0
    assert len(chunks) > 5  # the 2 MiB exhibit does not arrive in one piece
    assert max(len(c) for c in chunks) < 512 * 1024


def test_zip_refuses_an_exhibit_whose_bytes_changed() -> None:
    exhibits, store = _exhibits_with_bytes()
    victim = exhibits[0].files[0].sha256
    store[victim] = b"%PDF tampered"
    with pytest.raises(ExhibitIntegrityError, match="Exhibit-03_CT-02"):
        package_zip_bytes(b"%PDF", "R-1", exhibits, lambda h: io.BytesIO(store[h]))


def test_member_names_are_safe() -> None:
    file = ExhibitFile("ab" * 32, "../../etc/passwd", "application/pdf")
    exhibit = ExhibitFacts(12, "PS-01", "../Quartz 石英 origin", (file,))
    (member,) = exhibit_members([exhibit])
    assert member.name == "Exhibit-12_PS-01_quartz-origin.pdf"
    assert slug("营业执照") == "document"


@needs_pdf
def test_pdf_renderer_fetches_nothing_outside_the_document(tmp_path: Path) -> None:
    import base64

    from app.reports.package_pdf import render_pdf

    svg = (
        b'<svg xmlns="http://www.w3.org/2000/svg" width="200" height="40">'
        b'<text x="5" y="20">FILE-CONTENT-SEEN</text></svg>'
    )
    secret = tmp_path / "secret.svg"
    secret.write_bytes(svg)
    inline = base64.b64encode(svg).decode()
    # Control: the same drawing as a data: URL is drawn, so the check below can fail.
    assert "FILE-CONTENT-SEEN" in pdf_text(
        render_pdf(f"<img src='data:image/svg+xml;base64,{inline}'/>")
    )
    pdf = render_pdf(f"<p>x</p><img src='file://{secret}'/><img src='http://127.0.0.1:9/x.png'/>")
    assert "FILE-CONTENT-SEEN" not in pdf_text(pdf)  # refused fetches are skipped, not fatal


def exception_report(*conditions: ConditionAnswer) -> ShipmentReport:
    report = cotton_report()
    assert report.rebuttal is not None
    rebuttal = dataclasses.replace(report.rebuttal, kind="exception", conditions=conditions)
    return cotton_report(rebuttal=rebuttal)


def test_an_exception_request_states_the_three_conditions_and_what_each_lacks() -> None:
    html = package_html(
        exception_report(
            ConditionAnswer("full_compliance_with_guidance", "Full compliance", "for_reviewer"),
            ConditionAnswer(
                "complete_and_substantive_responses",
                "Complete responses",
                "incomplete",
                ("CT-04 for lines[0] <b>", "a narrative of at least 200 characters"),
            ),
            ConditionAnswer("clear_and_convincing_evidence", "Clear and convincing", "incomplete"),
        ),
        [SVG_STUB],
    )
    assert "id='conditions'" in html and "href='#conditions'" in html
    assert html.index("id='summary'") < html.index("id='conditions'") < html.index("id='map'")
    assert "clear and convincing evidence" in html and "within 30 days" in html
    assert "nothing missing: for CBP to weigh" in html
    assert "CT-04 for lines[0] &lt;b&gt;; a narrative of at least 200 characters" in html
    assert html.count("check-fail") >= 2


def test_an_applicability_review_has_no_conditions_section() -> None:
    html = package_html(cotton_report(), [SVG_STUB])
    assert "id='conditions'" not in html and "href='#conditions'" not in html
    assert "The conditions of UFLPA" not in html


def test_an_exception_request_without_a_recorded_review_says_so() -> None:
    html = package_html(exception_report(), [SVG_STUB])
    assert "not on record for this request" in html
