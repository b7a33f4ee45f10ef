/* Auditor dashboard. Read-only: every call is a GET to the auditor JSON API with the key
 * from sessionStorage as a Bearer header. Values are written with textContent only, never
 * as HTML, so nothing from the log can run as script. */
"use strict";

(function () {
  const KEY_NAME = "uflpa.apiKey";
  const STATUSES = ["admitted", "pending", "released", "excluded"];
  const COLOURS = { admitted: "#2da44e", pending: "#d4a72c", released: "#218bff", excluded: "#cf222e" };
  const charts = {};
  let lastStats = null;
  let nextCursor = null;

  const $ = (id) => document.getElementById(id);

  function apiKey() {
    return sessionStorage.getItem(KEY_NAME);
  }

  class ApiError extends Error {
    constructor(status, detail) {
      super(detail);
      this.status = status;
    }
  }

  async function call(path, key) {
    const response = await fetch(path, {
      headers: { Authorization: "Bearer " + (key || apiKey()), Accept: "application/json" },
    });
    if (!response.ok) {
      let detail = "HTTP " + response.status;
      try {
        const body = await response.json();
        if (body && body.detail) detail = body.detail;
      } catch (_) {
        /* not JSON: keep the status line */
      }
      throw new ApiError(response.status, detail);
    }
    return response;
  }

  async function getJSON(path) {
    return (await call(path)).json();
  }

  function cell(text, className) {
    const td = document.createElement("td");
    td.textContent = text === null || text === undefined ? "" : String(text);
    if (className) td.className = className;
    return td;
  }

  function money(value) {
    const n = Number(value || 0);
    return n.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  }

  function showError(err) {
    if (err instanceof ApiError && (err.status === 401 || err.status === 403)) {
      sessionStorage.removeItem(KEY_NAME);
      showLogin(err.status === 403 ? forbiddenText : "The key was not accepted (revoked or unknown).");
      return;
    }
    $("error").textContent = "Error: " + err.message;
  }

  const forbiddenText =
    "This key is not an auditor or admin key. The decision log is open to auditors and admins only.";

  function showLogin(message) {
    $("login").hidden = false;
    $("app").hidden = true;
    $("logout").hidden = true;
    $("verify-now").hidden = true;
    $("login-error").textContent = message || "";
  }

  async function login(event) {
    event.preventDefault();
    const candidate = $("api-key").value.trim();
    $("login-error").textContent = "";
    try {
      await call("/v1/decisions?limit=1", candidate);
    } catch (err) {
      if (err instanceof ApiError && err.status === 403) {
        $("login-error").textContent = forbiddenText;
      } else if (err instanceof ApiError && err.status === 401) {
        $("login-error").textContent = "The key was not accepted (revoked or unknown).";
      } else {
        $("login-error").textContent = "Error: " + err.message;
      }
      return;
    }
    sessionStorage.setItem(KEY_NAME, candidate);
    $("api-key").value = "";
    start();
  }

  function logout() {
    sessionStorage.removeItem(KEY_NAME);
    showLogin("Logged out.");
  }

  async function checkChain(recompute) {
    const badge = $("chain-status");
    const button = $("verify-now");
    try {
      // On page load, this worker's last result (recomputing reads the whole log);
      // "Verify now" recomputes.
      if (recompute) {
        badge.textContent = "verifying the chain…";
        badge.className = "badge badge-unknown";
        button.disabled = true;
      }
      const result = await getJSON("/v1/decisions/verify" + (recompute ? "" : "?cached=true"));
      if (result.intact) {
        badge.textContent = "chain intact: " + result.records + " records";
        badge.className = "badge badge-ok";
      } else {
        badge.textContent =
          "chain BROKEN at seq " + result.first_broken_seq + ": " + result.reason;
        badge.className = "badge badge-bad";
      }
      badge.dataset.intact = String(result.intact);
      badge.title = "checked " + result.checked_at;
      $("verified-at").textContent = "verified " + result.checked_at.replace("T", " ");
    } catch (err) {
      showError(err);
    } finally {
      button.disabled = false;
    }
  }

  /* ---------------------------------------------------------------- overview page */

  function filterParams(forStats) {
    const form = $("filters");
    const params = new URLSearchParams();
    const allowed = forStats
      ? ["importer", "sector", "country", "from", "to"]
      : ["importer", "kind", "outcome", "sector", "country", "from", "to"];
    for (const name of allowed) {
      let value = form.elements[name].value.trim();
      if (!value) continue;
      if (name === "from") value = value + "T00:00:00Z";
      if (name === "to") {
        // The form's "to" date is inclusive; the API's is exclusive.
        const day = new Date(value + "T00:00:00Z");
        day.setUTCDate(day.getUTCDate() + 1);
        value = day.toISOString().replace(".000Z", "Z");
      }
      if (name === "country") value = value.toUpperCase();
      params.set(name, value);
    }
    return params;
  }

  function renderSummary(stats) {
    const body = $("summary").tBodies[0];
    body.replaceChildren();
    for (const row of stats.by_status) {
      const tr = document.createElement("tr");
      tr.dataset.status = row.key;
      tr.append(cell(row.key), cell(row.shipments, "num"), cell(money(row.value), "num"));
      body.append(tr);
    }
    const total = document.createElement("tr");
    total.dataset.status = "total";
    total.append(
      cell("total"),
      cell(stats.totals.shipments, "num"),
      cell(money(stats.totals.value), "num"),
    );
    body.append(total);
    $("currency").textContent = stats.currency;
    $("as-of").textContent = "As of " + stats.as_of + " (UTC).";
  }

  function statusesIn(rows) {
    const seen = new Set(STATUSES);
    for (const row of rows) for (const k of Object.keys(row.value_by_status)) seen.add(k);
    return Array.from(seen);
  }

  function drawChart(canvasId, rows, measure, horizontal) {
    if (typeof Chart === "undefined") return; // vendored script failed to load
    const statuses = statusesIn(rows);
    const datasets = statuses.map((status) => ({
      label: status,
      backgroundColor: COLOURS[status] || "#8c959f",
      data: rows.map((row) =>
        measure === "value" ? Number(row.value_by_status[status] || 0) : row[status] || 0,
      ),
    }));
    if (charts[canvasId]) charts[canvasId].destroy();
    charts[canvasId] = new Chart($(canvasId), {
      type: "bar",
      data: { labels: rows.map((row) => row.key), datasets: datasets },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        indexAxis: horizontal ? "y" : "x",
        scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true } },
        plugins: { legend: { position: "bottom" } },
      },
    });
    $(canvasId).dataset.total = String(
      datasets.reduce((sum, d) => sum + d.data.reduce((a, b) => a + b, 0), 0),
    );
  }

  function renderCharts() {
    if (!lastStats) return;
    const measure = $("measure").value;
    drawChart("chart-month", lastStats.by_month, measure, false);
    drawChart("chart-sector", lastStats.by_sector, measure, true);
    drawChart("chart-origin", lastStats.by_origin, measure, false);
    drawChart("chart-ground", lastStats.by_ground, measure, true);
  }

  async function loadStats() {
    const params = filterParams(true);
    lastStats = await getJSON("/v1/stats?" + params.toString());
    renderSummary(lastStats);
    renderCharts();
  }

  function decisionRow(d) {
    const tr = document.createElement("tr");
    tr.dataset.seq = String(d.seq);
    const link = document.createElement("a");
    link.href = "/dashboard/shipments/" + encodeURIComponent(d.shipment_id);
    link.textContent = d.shipment_reference;
    const shipmentCell = document.createElement("td");
    shipmentCell.append(link);
    tr.append(
      cell(d.seq, "num"),
      cell(d.recorded_at.replace("T", " ").slice(0, 19)),
      cell(d.importer_name),
      shipmentCell,
      cell(d.kind),
      cell(d.outcome, "outcome-" + d.outcome),
      cell(d.risk_score, "num"),
      cell(d.grounds.join(", ")),
      cell(d.country_of_origin),
      cell(d.sectors.join(", ")),
      cell(d.declared_value === null ? "" : money(d.declared_value), "num"),
    );
    return tr;
  }

  async function loadDecisions(append) {
    const params = filterParams(false);
    params.set("order", "desc");
    params.set("limit", "50");
    if (append && nextCursor) params.set("cursor", nextCursor);
    const page = await getJSON("/v1/decisions?" + params.toString());
    const body = $("decisions").tBodies[0];
    if (!append) body.replaceChildren();
    for (const d of page.items) body.append(decisionRow(d));
    nextCursor = page.next_cursor;
    $("more").hidden = !nextCursor;
    $("decision-count").textContent =
      "(" + body.rows.length + " shown" + (nextCursor ? ", more available" : "") + ")";
  }

  async function refresh() {
    $("error").textContent = "";
    try {
      await Promise.all([loadStats(), loadDecisions(false)]);
    } catch (err) {
      showError(err);
    }
  }

  async function download(format) {
    try {
      const params = filterParams(false);
      params.set("format", format);
      const response = await call("/v1/decisions/export?" + params.toString());
      const blob = await response.blob();
      const link = document.createElement("a");
      link.href = URL.createObjectURL(blob);
      link.download = "decisions." + format;
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(link.href), 10000);
    } catch (err) {
      showError(err);
    }
  }

  function startOverview() {
    $("filters").addEventListener("submit", (event) => {
      event.preventDefault();
      refresh();
    });
    $("clear-filters").addEventListener("click", () => setTimeout(refresh, 0));
    $("measure").addEventListener("change", renderCharts);
    $("more").addEventListener("click", () => loadDecisions(true).catch(showError));
    $("export-csv").addEventListener("click", () => download("csv"));
    $("export-ndjson").addEventListener("click", () => download("ndjson"));
  }

  /* ---------------------------------------------------------------- shipment page */

  function fact(list, name, value) {
    const dt = document.createElement("dt");
    dt.textContent = name;
    const dd = document.createElement("dd");
    dd.textContent = value === null || value === undefined ? "—" : String(value);
    list.append(dt, dd);
  }

  async function loadShipment() {
    const id = decodeURIComponent(window.location.pathname.split("/").pop());
    const [shipment, history] = await Promise.all([
      getJSON("/v1/shipments/" + encodeURIComponent(id)),
      getJSON("/v1/decisions?limit=500&shipment=" + encodeURIComponent(id)),
    ]);
    $("shipment-reference").textContent = shipment.reference;
    const facts = $("shipment-facts");
    facts.replaceChildren();
    const manifest = shipment.manifest || {};
    fact(facts, "Importer", shipment.importer);
    fact(facts, "Status", shipment.status);
    fact(facts, "Country of origin", manifest.country_of_origin);
    fact(facts, "Entry date", manifest.entry_date);
    fact(facts, "Lines", (manifest.lines || []).length);
    fact(facts, "Shipment id", shipment.id);

    const a = shipment.assessment || {};
    const assessmentFacts = $("assessment-facts");
    assessmentFacts.replaceChildren();
    fact(assessmentFacts, "Recommendation", a.recommendation);
    fact(assessmentFacts, "Risk score", a.risk_score + " (" + a.risk_level + ")");
    fact(assessmentFacts, "Presumption grounds", ((a.presumption || {}).grounds || []).join(", ") || "none");
    fact(assessmentFacts, "Sanctions lists", ((a.sanctions || {}).lists || []).join(", ") || "none");
    fact(assessmentFacts, "Rules version", a.rules_version);
    fact(assessmentFacts, "Matcher version", a.matcher_version);

    const findings = $("findings").tBodies[0];
    findings.replaceChildren();
    for (const f of a.findings || []) {
      const tr = document.createElement("tr");
      tr.append(cell(f.severity), cell(f.code), cell(f.path, "mono"), cell(f.message), cell(f.ground || f.sanctions_list || ""));
      findings.append(tr);
    }
    const evidence = $("evidence").tBodies[0];
    evidence.replaceChildren();
    for (const item of a.required_evidence || []) {
      const tr = document.createElement("tr");
      tr.append(cell(item.id), cell(item.title), cell(item.for, "mono"));
      evidence.append(tr);
    }

    const rows = $("history").tBodies[0];
    rows.replaceChildren();
    for (const d of history.items) {
      const tr = document.createElement("tr");
      tr.dataset.seq = String(d.seq);
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = "Replay";
      button.addEventListener("click", () => replay(d.seq));
      const replayCell = document.createElement("td");
      replayCell.append(button);
      tr.append(
        cell(d.seq, "num"),
        cell(d.recorded_at.replace("T", " ").slice(0, 19)),
        cell(d.kind),
        cell(d.outcome, "outcome-" + d.outcome),
        cell(d.risk_score, "num"),
        cell(d.grounds.join(", ")),
        cell((d.rules_version || "").slice(0, 19), "mono"),
        cell(d.actor_role + " " + (d.actor_key_id || "")),
        cell(d.hash.slice(0, 16) + "…", "mono"),
        replayCell,
      );
      rows.append(tr);
    }
  }

  async function replay(seq) {
    const out = $("replay-result");
    out.hidden = false;
    out.textContent = "Replaying decision " + seq + " (rebuilding its rules and lists can take seconds)…";
    try {
      const report = await getJSON("/v1/decisions/" + seq + "/replay");
      const verdict = !report.replayable
        ? "not replayable: " + report.reason
        : report.reproduced
          ? "REPRODUCED: same outcome, score, grounds and findings hash"
          : "NOT REPRODUCED: see differences";
      out.textContent = "Decision " + seq + ": " + verdict + "\n\n" + JSON.stringify(report, null, 2);
    } catch (err) {
      out.textContent = "";
      showError(err);
    }
  }

  /* ---------------------------------------------------------------- start */

  async function start() {
    if (!apiKey()) {
      showLogin();
      return;
    }
    $("login").hidden = true;
    $("app").hidden = false;
    $("logout").hidden = false;
    $("verify-now").hidden = false;
    checkChain(false);
    if (document.body.dataset.page === "shipment") {
      try {
        await loadShipment();
      } catch (err) {
        showError(err);
      }
    } else {
      await refresh();
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("login-form").addEventListener("submit", login);
    $("logout").addEventListener("click", logout);
    $("verify-now").addEventListener("click", () => checkChain(true));
    if (document.body.dataset.page === "overview") startOverview();
    start();
  });
})();
