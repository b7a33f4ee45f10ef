"""Skips for tests that need Debian packages (Graphviz, Pango, Noto CJK, poppler)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "reports"
NOTO_CJK = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")

needs_dot = pytest.mark.skipif(
    shutil.which("dot") is None,
    reason="Graphviz `dot` is not installed (apt-get install -y graphviz)",
)


def _weasyprint_missing() -> str | None:
    try:
        import weasyprint  # type: ignore[import-untyped]  # noqa: F401
    except ImportError:
        return "WeasyPrint is not installed (pip install weasyprint)"
    except OSError:
        return (
            "Pango is missing for WeasyPrint (apt-get install -y libpango-1.0-0 libpangoft2-1.0-0)"
        )
    if not NOTO_CJK.exists():
        return "Noto Sans CJK is not installed (apt-get install -y fonts-noto-cjk)"
    return None


_PDF_MISSING = (
    _weasyprint_missing()
    if shutil.which("dot")
    else "Graphviz `dot` is not installed (apt-get install -y graphviz)"
)
needs_pdf = pytest.mark.skipif(_PDF_MISSING is not None, reason=_PDF_MISSING or "")


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Rendered maps and pages land here (gitignored) for a person to look at."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
