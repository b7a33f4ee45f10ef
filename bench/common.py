"""Helpers shared by the benchmark scripts: machine description, percentiles, manifests."""

from __future__ import annotations

import os
import platform
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx


def machine() -> str:
    cpu = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{platform.system()} {platform.machine()}, {cpu}, {os.cpu_count()} CPUs, Python {platform.python_version()}"


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(q / 100 * (len(sorted_values) - 1))))
    return sorted_values[index]


SUPPLIERS = [
    ("Bac Giang Spinning JSC", "Bac Giang Province", "VN"),
    ("Pacific Textile Co., Ltd.", "Dongguan, Guangdong", "CN"),
    ("Texas Cotton Growers Cooperative", "Lubbock, Texas", "US"),
    ("Jiangsu Solar Wafer Co., Ltd.", "Wuxi, Jiangsu", "CN"),
    ("Hoshine Silicon Industry (Shanshan) Co., Ltd.", "Shanshan County, Turpan", "CN"),
    ("Malaysia Cell Tech Sdn Bhd", "Penang", "MY"),
    ("Aluminium Extrusions Thailand Co., Ltd.", "Rayong", "TH"),
    ("Shandong Chemical PVC Co., Ltd.", "Zibo, Shandong", "CN"),
]


def realistic_manifest(reference: str, importer: str = "Bench Importer Inc") -> dict[str, Any]:
    """5 lines, 3 tiers of inputs, 8 distinct parties: the shape of a real apparel/solar entry."""
    lines = []
    hts = ["6109100012", "8541430010", "7604210000", "3918101000", "6203424011"]
    for n in range(5):
        s1, s2, s3 = (SUPPLIERS[(n + k) % len(SUPPLIERS)] for k in range(3))
        lines.append(
            {
                "line_number": n + 1,
                "hts_code": hts[n],
                "description": f"Line {n + 1} goods",
                "quantity": 100 + n,
                "unit": "PCS",
                "value": 1000.0 + n,
                "currency": "USD",
                "country_of_origin": "VN",
                "inputs": [
                    {
                        "material": "intermediate",
                        "hts_code": "5205120000",
                        "country_of_origin": s1[2],
                        "supplier": {"name": s1[0], "address": s1[1], "country": s1[2]},
                        "inputs": [
                            {
                                "material": "raw material",
                                "country_of_origin": s2[2],
                                "supplier": {"name": s2[0], "address": s2[1], "country": s2[2]},
                                "inputs": [
                                    {
                                        "material": "feedstock",
                                        "country_of_origin": s3[2],
                                        "supplier": {
                                            "name": s3[0],
                                            "address": s3[1],
                                            "country": s3[2],
                                        },
                                    }
                                ],
                            }
                        ],
                    }
                ],
            }
        )
    return {
        "reference": reference,
        "importer": importer,
        "entry_date": "2026-11-20",
        "country_of_origin": "VN",
        "country_of_export": "VN",
        "parties": [
            {
                "role": "manufacturer",
                "name": "Saigon Garment Co., Ltd.",
                "address": "District 7, Ho Chi Minh City",
                "country": "VN",
            },
            {"role": "seller", "name": "Pacific Trading Ltd.", "country": "HK"},
        ],
        "lines": lines,
    }


UFLPA_CLI = str(Path(__file__).resolve().parents[1] / ".venv" / "bin" / "uflpa")


def bench_env(database_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "UFLPA_DATABASE_URL": database_url,
        "UFLPA_LOG_LEVEL": "WARNING",
        "UFLPA_DATA_DIR": "/tmp/uflpa-bench",
        # The per-key limit (6,000/minute per worker) would answer 429s, cheap and fast,
        # within a minute at these rates: the benchmarks measure the work, not the refusals.
        "UFLPA_RATE_LIMIT": "10000000/minute",
    }


def create_importer_key(env: dict[str, str], importer: str = "Bench Importer Inc") -> str:
    out = subprocess.run(
        [UFLPA_CLI, "keys", "create", "--role", "importer", "--importer", importer],
        env=env, check=True, capture_output=True, text=True,
    )  # fmt: skip
    return out.stdout.strip().splitlines()[-1]


def start_server(
    env: dict[str, str], port: int, workers: int
) -> tuple[subprocess.Popen[bytes], str]:
    """`uflpa serve` in a subprocess; returns it and its base URL once /readyz answers 200."""
    if listening_sockets(port):
        raise SystemExit(
            f"port {port} is busy: a server left from an earlier run? (pkill -f 'uflpa serve')"
        )
    server = subprocess.Popen(
        [UFLPA_CLI, "serve", "--port", str(port), "--workers", str(workers)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 300
    while time.time() < deadline:
        try:
            # The supervisor hands out connections only once every worker has built its
            # index, so the first answer means all of them serve.
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                return server, base
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    server.terminate()
    raise SystemExit("server did not become ready")


def listening_sockets(port: int) -> int:
    """Sockets in LISTEN state on `port`."""
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "0A":
                count += 1
    return count


def _proc_stat(pid: int) -> list[str] | None:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            raw = fh.read()
    except OSError:
        return None
    # The command name (field 2) may contain spaces; everything after its ')' is split.
    return raw[raw.rfind(")") + 2 :].split()


def process_tree(root: int) -> list[int]:
    """`root` and all its descendants (Linux /proc)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (fields := _proc_stat(int(entry))) is not None:
            children.setdefault(int(fields[1]), []).append(int(entry))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def processes_named(name: str) -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/comm", encoding="utf-8") as fh:
                    if fh.read().strip() == name:
                        pids.append(int(entry))
            except OSError:
                continue
    return pids


def cpu_seconds(pids: list[int]) -> float:
    """User plus system CPU time of these processes so far (exited ones count as 0)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        fields = _proc_stat(pid)
        if fields is not None:
            total += int(fields[11]) + int(fields[12])
    return total / ticks
