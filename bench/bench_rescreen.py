"""Benchmark: re-screening N past shipments after a one-entity list update.

Run: PYTHONPATH=. python bench/bench_rescreen.py [--shipments 50000] [--database-url URL]
     (default: a fresh SQLite file in a temp directory; PostgreSQL: pass its URL, the
     database is migrated and filled, so use a throw-away one)

Inserts N shipments directly (bulk insert, no assessment) with three parties each, drawn
from a pool of supplier names with the heavy repetition of real data (a few suppliers in
many shipments, a long tail in few), including a handful that name the entity the update
adds (in English and in Chinese characters). Then imports a new UFLPA list version with
that one entity and times the re-screen, phase by phase. Prints the figures.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import random
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select

from app.db import migrate
from app.db.base import utcnow
from app.db.models import Importer, Shipment, ShipmentParty
from app.db.session import make_engine, make_sessionmaker
from app.logs import configure_logging
from app.services import lists, rescreen
from app.services.bootstrap import AssessorRegistry
from app.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
NEW_ENTITY = (
    '"Huaiyin Jinrui Textile Co., Ltd.",Jinrui Textile,淮阴金瑞纺织有限公司,CN,v,2026-11-21,'
    "bench fixture (fictitious)\n"
)
AFFECTED_NAMES = ("Huaiyin Jinrui Textile Co Ltd", "淮阴金瑞纺织有限公司", "JINRUI TEXTILE")
PLACES = """Wuxi Suzhou Ningbo Hangzhou Shaoxing Qingdao Yantai Xiamen Quanzhou Foshan Dongguan
Shantou Jinjiang Nantong Changzhou Jiaxing Huzhou Wenzhou Taizhou Linyi Weifang Zibo Jinan
Hefei Wuhan Changsha Chengdu Chongqing Tianjin Dalian Shenyang Harbin Nanchang Fuzhou Hanoi
Haiphong Dhaka Chittagong Karachi Lahore Faisalabad Istanbul Bursa Izmir Tirupur Ludhiana
Surat Ahmedabad Colombo Phnom Penh Yangon Jakarta Bandung Semarang""".split()  # noqa: SIM905
WORDS = """Golden Sunrise Oriental Pacific Eastern Harmony Prosperity Evergreen Silver Dragon
Phoenix Lotus Jade Pearl Great Wall Everbright Hengyuan Huafu Jinlong Xinda Tianhong Yongsheng
Fuda Baoli Dafeng Hongxing Meida Ruifeng Shenghua Taiping Wanli Xingfa Yida Zhongxin Apex
Summit Horizon Crescent Royal Star Unity Victory Liberty Atlas Orion Vertex Zenith""".split()  # noqa: SIM905
TRADES = """Textile Garment Spinning Weaving Knitting Dyeing Apparel Trading Import Export
Industrial Cotton Yarn Fabric Fashion Clothing Home Textiles Manufacturing""".split()  # noqa: SIM905
FORMS = ["Co., Ltd.", "Co. Ltd", "Company Limited", "Ltd.", "JSC", "Pvt. Ltd.", "Group Co., Ltd."]


def supplier_pool(size: int, rng: random.Random) -> list[str]:
    names: set[str] = set()
    while len(names) < size:
        names.add(
            f"{rng.choice(PLACES)} {rng.choice(WORDS)} {rng.choice(TRADES)} {rng.choice(FORMS)}"
        )
    return sorted(names)


def manifest_for(reference: str, supplier: str) -> dict[str, Any]:
    return {
        "reference": reference,
        "importer": "Bench Importer",
        "country_of_origin": "VN",
        "lines": [
            {
                "line_number": 1,
                "hts_code": "6109100012",
                "description": "Cotton T-shirts",
                "country_of_origin": "VN",
                "inputs": [
                    {
                        "material": "cotton yarn",
                        "hts_code": "520512",
                        "country_of_origin": "CN",
                        "supplier": {"name": supplier, "country": "CN"},
                    }
                ],
            }
        ],
    }


def fill(database_url: str, shipments: int, affected: int, seed: int) -> None:
    rng = random.Random(seed)
    engine = make_engine(database_url)
    sessions = make_sessionmaker(engine)
    # Real data: distinct suppliers grow far slower than shipments.
    pool = supplier_pool(max(200, int(shipments**0.8 / 2)), rng)
    weights = [1.0 / (rank + 1) ** 0.9 for rank in range(len(pool))]  # Zipf-like
    affected_at = set(rng.sample(range(shipments), affected))
    now = utcnow()
    with sessions() as session:
        importer = Importer(name="Bench Importer")
        session.add(importer)
        session.commit()
        importer_id = importer.id
    chunk = 5000
    started = time.perf_counter()
    for start in range(0, shipments, chunk):
        ship_rows: list[dict[str, Any]] = []
        party_rows: list[dict[str, Any]] = []
        picks = rng.choices(pool, weights=weights, k=3 * min(chunk, shipments - start))
        for offset, i in enumerate(range(start, min(start + chunk, shipments))):
            shipment_id = uuid.uuid4()
            supplier = (
                AFFECTED_NAMES[i % len(AFFECTED_NAMES)] if i in affected_at else picks[3 * offset]
            )
            reference = f"BENCH-{i:07d}"
            manifest = manifest_for(reference, supplier)
            ship_rows.append(
                {
                    "id": shipment_id,
                    "importer_id": importer_id,
                    "reference": reference,
                    "body_sha256": hashlib.sha256(reference.encode()).hexdigest(),
                    "manifest": manifest,
                    "status": "admitted",
                    "country_of_origin": "VN",
                    "created_at": now,
                    "updated_at": now,
                }
            )
            party_rows += [
                {
                    "shipment_id": shipment_id,
                    "path": "lines[0].inputs[0].supplier",
                    "role": "supplier",
                    "name": supplier,
                    "country": "CN",
                },
                {
                    "shipment_id": shipment_id,
                    "path": "parties[0]",
                    "role": "manufacturer",
                    "name": picks[3 * offset + 1],
                    "country": "VN",
                },
                {
                    "shipment_id": shipment_id,
                    "path": "parties[1]",
                    "role": "seller",
                    "name": picks[3 * offset + 2],
                    "country": "HK",
                },
            ]
        with sessions() as session:
            session.execute(insert(Shipment), ship_rows)
            session.execute(insert(ShipmentParty), party_rows)
            session.commit()
    print(f"inserted {shipments:,} shipments / {3 * shipments:,} parties "
          f"in {time.perf_counter() - started:.1f} s")  # fmt: skip
    engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shipments", type=int, default=50_000)
    parser.add_argument("--affected", type=int, default=12)
    parser.add_argument("--database-url")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    configure_logging("WARNING", False)
    tmp = tempfile.mkdtemp(prefix="bench_rescreen_")
    url = args.database_url or f"sqlite:///{tmp}/bench.db"
    settings = Settings(database_url=url, data_dir=Path(tmp), log_level="WARNING")
    print(f"python {sys.version.split()[0]} on {platform.machine()}, {os.cpu_count()} CPUs; "
          f"database {url.split('://')[0]}")  # fmt: skip
    migrate.upgrade(url)
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    started = time.perf_counter()
    registry = AssessorRegistry(sessions, settings)  # rules + bundled lists, full index
    print(f"bundled lists loaded and indexed in {time.perf_counter() - started:.1f} s")
    fill(url, args.shipments, args.affected, args.seed)
    with sessions() as session:
        distinct = session.scalar(select(func.count(ShipmentParty.name.distinct())))
        print(f"distinct party names: {distinct:,}")

    original = (ROOT / "fixtures/lists/uflpa/uflpa_entity_list.csv").read_bytes()
    updated = original.rstrip(b"\n") + b"\n" + NEW_ENTITY.encode()
    with sessions() as session:
        previous = lists.active_version(session, "uflpa")
        result = lists.import_list(session, "uflpa", {"uflpa.csv": updated}, actor="bench")
    t0 = time.perf_counter()
    registry.refresh()
    t1 = time.perf_counter()
    with sessions() as session:
        assert previous is not None
        delta = rescreen.list_delta(session, result.version.id, previous.id)
        t2 = time.perf_counter()
        screener = rescreen.delta_screener(delta.to_screen, registry.current)
        flagged, screened = rescreen.matching_names(session, screener)
        t3 = time.perf_counter()
        candidates = rescreen.shipments_with_names(session, flagged)
        candidates |= rescreen.shipments_citing(session, delta.no_longer_as_cited)
        t4 = time.perf_counter()
        session.rollback()
        changed = sum(
            rescreen.rescreen_shipment(session, registry.current, shipment_id)
            for shipment_id in sorted(candidates)
        )
        t5 = time.perf_counter()
    print(f"index rebuild for the new version (the service does this anyway): {t1 - t0:.2f} s")
    print(f"delta vs previous version: {delta.summary()} in {t2 - t1:.2f} s")
    print(f"screened {screened:,} distinct names against the delta in {t3 - t2:.2f} s "
          f"({screened / max(t3 - t2, 1e-9):,.0f} names/s); flagged {len(flagged)}")  # fmt: skip
    print(f"candidate shipments: {len(candidates)} found in {t4 - t3:.2f} s")
    print(f"re-assessed {len(candidates)}, changed {changed}, in {t5 - t4:.2f} s")
    print(f"RE-SCREEN TOTAL for {args.shipments:,} shipments (delta -> stored): "
          f"{t5 - t1:.2f} s")  # fmt: skip
    engine.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
