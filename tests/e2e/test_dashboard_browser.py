"""The auditor dashboard in a real browser (Debian's chromium driven by Playwright).

Starts the service with uvicorn on a free loopback port over a populated SQLite database,
logs in (an importer key is refused, an auditor key accepted), checks that the charts are
drawn from the real statistics and the summary table shows the API's numbers, filters the
decision table, opens a shipment and replays its decision. Screenshots go to artifacts/.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.db import migrate
from app.db.session import make_engine, make_sessionmaker
from app.services import keys as key_service
from app.services.principal import Role
from tests.audit_population import add_follow_ups, manifests

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts"

try:
    from playwright.sync_api import Browser, Page, sync_playwright
except ImportError:  # pragma: no cover - depends on the machine
    sync_playwright = None

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(sync_playwright is None, reason="browser test needs the playwright package"),
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(),
        reason="browser test needs Debian's chromium (apt-get install chromium chromium-driver)",
    ),
]

SHIPMENTS = 36
BROWSER_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    data_dir = tmp_path_factory.mktemp("dashboard")
    url = f"sqlite:///{data_dir / 'dashboard.db'}"
    migrate.upgrade(url)
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    with sessions() as session:
        _, admin = key_service.create_key(session, Role.ADMIN, [])
        _, auditor = key_service.create_key(session, Role.AUDITOR, [])
        _, importer = key_service.create_key(session, Role.IMPORTER, ["Acme Apparel Inc"])
    port = _free_port()
    env = {
        **os.environ,
        "UFLPA_DATABASE_URL": url,
        "UFLPA_DATA_DIR": str(data_dir),
        "UFLPA_LOAD_BUNDLED_LISTS": "false",
        "UFLPA_LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "app.main:create_app", "--factory"]
        + ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
        cwd=ROOT,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the service did not start")
            time.sleep(0.2)
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {admin}"}) as api:
            for manifest in manifests(SHIPMENTS, prefix="DASH"):
                assert api.post("/v1/shipments", json=manifest).status_code == 201
        add_follow_ups(sessions)
        yield {"base": base, "auditor": auditor, "importer": importer}
    finally:
        process.terminate()
        process.wait(timeout=20)
        engine.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert sync_playwright is not None
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        yield launched
        launched.close()


def _stats(server: dict[str, Any], **params: str) -> dict[str, Any]:
    response = httpx.get(
        f"{server['base']}/v1/stats",
        params=params,
        headers={"Authorization": f"Bearer {server['auditor']}"},
    )
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def _summary(page: Page) -> dict[str, tuple[int, str]]:
    rows = page.locator("#summary tbody tr")
    out: dict[str, tuple[int, str]] = {}
    for i in range(rows.count()):
        cells = rows.nth(i).locator("td").all_inner_texts()
        out[cells[0]] = (int(cells[1]), cells[2].replace(",", ""))
    return out


def test_dashboard_login_charts_filters_and_shipment(
    server: dict[str, Any], browser: Browser
) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{server['base']}/dashboard")

    # An importer key is refused and not kept.
    page.fill("#api-key", server["importer"])
    page.click("#login-form button[type=submit]")
    page.wait_for_function("() => document.getElementById('login-error').textContent.length > 0")
    assert "not an auditor or admin key" in page.inner_text("#login-error")
    assert page.is_hidden("#app")
    assert page.evaluate("sessionStorage.getItem('uflpa.apiKey')") is None

    page.fill("#api-key", server["auditor"])
    page.click("#login-form button[type=submit]")
    page.wait_for_selector("#summary tbody tr[data-status=total]")
    page.wait_for_selector("#decisions tbody tr")
    # The page runs under its Content-Security-Policy (predicates here are functions, which
    # the policy allows; a string would need eval, which it forbids, as it should).
    page.wait_for_function(
        "() => document.getElementById('chain-status').dataset.intact === 'true'"
    )

    stats = _stats(server)
    summary = _summary(page)
    assert summary["total"] == (SHIPMENTS, f"{float(stats['totals']['value']):.2f}")
    for row in stats["by_status"]:
        assert summary[row["key"]][0] == row["shipments"], row
    assert summary["detained"][0] > 0 and summary["admitted"][0] > 0

    # Every chart is drawn, from the same numbers.
    for canvas_id, cut in (
        ("chart-month", "by_month"),
        ("chart-sector", "by_sector"),
        ("chart-origin", "by_origin"),
        ("chart-ground", "by_ground"),
    ):
        drawn = page.evaluate(
            """id => {
                const chart = Chart.getChart(document.getElementById(id));
                return chart ? chart.data.datasets.flatMap(d => d.data)
                    .reduce((a, b) => a + b, 0) : null;
            }""",
            canvas_id,
        )
        assert drawn == sum(b["shipments"] for b in stats[cut]), canvas_id
        box = page.locator(f"#{canvas_id}").bounding_box()
        assert box is not None and box["width"] > 100 and box["height"] > 100
    assert page.evaluate("Chart.getChart(document.getElementById('chart-origin')).data.labels")

    page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)

    # "Verify now" recomputes the chain (the badge on load may show a cached result).
    page.click("#verify-now")
    page.wait_for_function(
        "() => !document.getElementById('verify-now').disabled"
        " && document.getElementById('chain-status').dataset.intact === 'true'"
    )
    assert "records" in page.inner_text("#chain-status")

    # Filter the table (and the stats) to detained decisions from Vietnam.
    page.fill("#filters input[name=outcome]", "detain")
    page.fill("#filters input[name=country]", "vn")
    page.click("#filters button[type=submit]")
    page.wait_for_function(
        """() => {
            const rows = Array.from(document.querySelectorAll('#decisions tbody tr'));
            return rows.length > 0 && rows.every(r => r.cells[5].textContent === 'detain'
                && r.cells[8].textContent === 'VN');
        }"""
    )
    vietnam = _stats(server, country="VN")
    page.wait_for_function(
        "n => document.querySelector('#summary tr[data-status=total] td:nth-child(2)')"
        ".textContent === String(n)",
        arg=vietnam["totals"]["shipments"],
    )
    assert 0 < vietnam["totals"]["shipments"] < SHIPMENTS
    page.screenshot(path=str(ARTIFACTS / "dashboard-filtered.png"), full_page=True)

    # A decision links to its shipment's findings; its replay reproduces.
    page.click("#decisions tbody tr:first-child td:nth-child(4) a")
    page.wait_for_selector("#findings tbody tr")
    assert page.locator("#findings tbody tr").count() > 0
    page.click("#history tbody tr:first-child button")
    page.wait_for_function(
        "() => document.getElementById('replay-result').textContent.startsWith('Decision')"
    )
    assert "REPRODUCED" in page.inner_text("#replay-result")
    page.screenshot(path=str(ARTIFACTS / "dashboard-shipment.png"), full_page=True)
    assert errors == []
    page.close()
