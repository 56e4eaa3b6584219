"""Benchmark: importing 100,000 enterprise rows (CSV and .xlsx) against executemany.

    .venv/bin/python benchmarks/imports.py                      # both engines, 100,000 rows
    .venv/bin/python benchmarks/imports.py --engines sqlite --rows 20000

For each engine and format: a fresh database, then the import (commit) of a file of
enterprises with one year's figures each, run in a child process through the import
service exactly as the API runs it (streamed parse, validation, bulk look-ups, INSERTs,
one audit record per row written), and a second import of the same file (every row
unchanged). The child reports its time and its peak resident set size (VmHWM).

The floor is the same rows (enterprises and figures, already as Python tuples) and the
audit records an import writes for them (one create record per row and table, JSON
text prebuilt) inserted with the driver's own ``executemany`` (sqlite3 / psycopg) in one
transaction, in the same run; throughput is rows per second, and the ratio import /
floor is printed (the target: at least 0.5). The floor without the audit records is
printed too.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import DEFAULT_PG, fresh_database, prepare, rss_mb
from sqlalchemy.engine import make_url

from chaintrack.audit.capture import decimal_text
from chaintrack.db import IMPORT_CACHE_KIB, sqlite_pragmas
from chaintrack.identifiers import make_uscc
from chaintrack.sheets.specs import get_spec
from chaintrack.sheets.writer import write_csv, write_xlsx

SIZES = ("large", "medium", "small", "micro")
OWNERSHIPS = ("private", "state", "foreign")
RSS_LIMIT_MB = 300
TARGET_RATIO = 0.5


def enterprise_rows(n: int) -> Iterator[dict[str, Any]]:
    for i in range(n):
        yield {
            "uscc": make_uscc(f"91370{i % 10}00{i:09d}"),
            "name": f"基准测试企业{i:06d}有限公司",
            "region_code": f"3706{(i % 9) + 1:02d}",
            "size_class": SIZES[i % 4],
            "ownership": OWNERSHIPS[i % 3],
            "founded_on": dt.date(1990 + i % 30, 1 + i % 12, 1 + i % 28),
            "address": f"山东省烟台市示例路{i % 1000}号",
            "figures": {
                "year": 2024,
                "revenue": Decimal(f"{(i * 37) % 100000}.{i % 10000:04d}"),
                "employees": 10 + i % 5000,
                "rd_spend": Decimal(f"{(i * 7) % 5000}.5"),
            },
        }


# ------------------------------------------------------------------------------ floor


def _floor_rows(n: int, sqlite: bool) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    now = dt.datetime.now(dt.UTC)
    ents, figs = [], []
    for i, r in enumerate(enterprise_rows(n), start=1):
        f = r["figures"]
        founded: Any = r["founded_on"]
        stamp: Any = now
        revenue: Any = f["revenue"]
        rd: Any = f["rd_spend"]
        if sqlite:  # what the column types store on SQLite
            founded, stamp = founded.isoformat(), now.isoformat(sep=" ")
            revenue, rd = int(revenue * 10000), int(rd * 10000)
        former = "[]"
        ents.append(
            (i, r["uscc"], r["name"], former, r["region_code"], r["size_class"], r["ownership"],
             "unlisted", founded, r["address"], 1, stamp, stamp)
        )  # fmt: skip
        figs.append((i, i, f["year"], revenue, f["employees"], rd, 1, stamp, stamp))
    return ents, figs


ENT_SQL = (
    "INSERT INTO enterprises (id, uscc, name, former_names, region_code, size_class, ownership, "
    "listing_status, founded_on, address, version, created_at, updated_at) VALUES ({})"
)
FIG_SQL = (
    "INSERT INTO enterprise_figures (id, enterprise_id, year, revenue, employees, rd_spend, "
    "version, created_at, updated_at) VALUES ({})"
)


AUDIT_SQL = (
    "INSERT INTO audit_log (occurred_at, user_id, request_id, action, entity, entity_id, "
    "chain_id, changes) VALUES ({})"
)
ENT_COLUMNS = ("id", "uscc", "name", "former_names", "region_code", "size_class", "ownership",
               "listing_status", "founded_on", "address", "version")  # fmt: skip
FIG_COLUMNS = ("id", "enterprise_id", "year", "revenue", "employees", "rd_spend", "version")


def _audit_rows(n: int, sqlite: bool) -> list[tuple[Any, ...]]:
    """The create records an import writes for the floor's rows (JSON text, made here)."""
    now = dt.datetime.now(dt.UTC)
    stamp: Any = now.isoformat(sep=" ") if sqlite else now
    out = []
    for i, r in enumerate(enterprise_rows(n), start=1):
        f = r["figures"]
        ent = dict(zip(ENT_COLUMNS, (i, r["uscc"], r["name"], [], r["region_code"],
                   r["size_class"], r["ownership"], "unlisted", r["founded_on"].isoformat(),
                   r["address"], 1), strict=True))  # fmt: skip
        fig = dict(zip(FIG_COLUMNS, (i, i, f["year"], decimal_text(f["revenue"]),
                   f["employees"], decimal_text(f["rd_spend"]), 1), strict=True))  # fmt: skip
        for entity, values in (("enterprises", ent), ("enterprise_figures", fig)):
            changes = {k: {"before": None, "after": v} for k, v in values.items()}
            out.append((stamp, None, "bench", "create", entity, str(i), None,
                        json.dumps(changes, ensure_ascii=False)))  # fmt: skip
    return out


def floor_seconds(url: str, n: int, *, audited: bool = False) -> float:
    """The same rows through the driver's executemany, in one transaction (rolled back);
    ``audited``: with the audit records an import writes for them (built beforehand)."""
    parsed = make_url(url)
    sqlite = parsed.get_backend_name() == "sqlite"
    ents, figs = _floor_rows(n, sqlite)
    audit = _audit_rows(n, sqlite) if audited else []
    if sqlite:
        import sqlite3

        conn: Any = sqlite3.connect(parsed.database or "", isolation_level=None)
        for pragma in sqlite_pragmas(IMPORT_CACHE_KIB):  # the service's own connection settings
            conn.execute(f"PRAGMA {pragma}")
        ph = "?"
    else:
        import psycopg

        conn = psycopg.connect(parsed.set(drivername="postgresql").render_as_string(False))
        ph = "%s"
    cur = conn.cursor()
    try:
        if sqlite:
            cur.execute("BEGIN IMMEDIATE")
        started = time.perf_counter()
        cur.executemany(ENT_SQL.format(", ".join([ph] * 13)), ents)
        cur.executemany(FIG_SQL.format(", ".join([ph] * 9)), figs)
        if audit:
            cur.executemany(AUDIT_SQL.format(", ".join([ph] * 8)), audit)
        elapsed = time.perf_counter() - started
    finally:
        conn.rollback() if not sqlite else cur.execute("ROLLBACK")
        conn.close()
    return elapsed


# ------------------------------------------------------------------------------ child


def child(url: str, path: str) -> None:
    """Import ``path`` twice (commit, then the unchanged re-import); print JSON."""
    from chaintrack.audit import capture
    from chaintrack.db import make_engine, make_sessionmaker
    from chaintrack.imports.engine import ImportOptions, run_import
    from chaintrack.imports.handlers_register import EnterpriseHandler
    from chaintrack.imports.limits import ImportLimits

    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    limits = ImportLimits(max_bytes=500 * 2**20, max_rows=1_000_000)
    baseline = rss_mb()
    out: dict[str, Any] = {"baseline_mb": baseline, "stages": stage_seconds(factory, path, limits)}
    for label in ("import", "reimport"):
        with factory() as session:
            capture.enable(session, request_id="bench")
            started = time.perf_counter()
            report = run_import(
                session, EnterpriseHandler(), path, ImportOptions(commit=True, limits=limits)
            )
            session.commit()
            out[label] = {
                "seconds": time.perf_counter() - started,
                "rows": report.summary.rows,
                "create": report.summary.create,
                "unchanged": report.summary.unchanged,
                "errors": report.summary.error,
            }
        out[f"{label}_peak_mb"] = rss_mb()
    with engine.connect() as conn:
        from sqlalchemy import text

        out["audit_records"] = conn.scalar(text("SELECT count(*) FROM audit_log"))
    engine.dispose()
    print(json.dumps(out))


def stage_seconds(factory: Any, path: str, limits: Any) -> dict[str, float]:
    """Where an import's time goes, cumulatively: reading the file, + parsing the cells,
    + planning (a dry run: validation and the bulk look-ups, nothing written)."""
    from chaintrack.imports.engine import ImportOptions, run_import
    from chaintrack.imports.handlers_register import EnterpriseHandler

    spec = get_spec("enterprises")
    out: dict[str, float] = {}
    started = time.perf_counter()
    with spec.open(path, max_bytes=limits.max_bytes, max_rows=limits.max_rows) as reader:
        for _ in reader:
            pass
    out["read"] = time.perf_counter() - started
    started = time.perf_counter()
    with spec.open(path, max_bytes=limits.max_bytes, max_rows=limits.max_rows) as reader:
        for _ in spec.parse_rows(reader):
            pass
    out["parse"] = time.perf_counter() - started
    with factory() as session:
        started = time.perf_counter()
        run_import(session, EnterpriseHandler(), path, ImportOptions(commit=False, limits=limits))
        out["dry_run"] = time.perf_counter() - started
    return out


def run_child(url: str, path: Path) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, __file__, "--child", url, str(path)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)},
    )
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr)
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


# ------------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--engines", default="sqlite,postgres")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--formats", default="csv,xlsx", help="csv, xlsx or both")
    parser.add_argument("--pg-url", default=DEFAULT_PG)
    parser.add_argument("--child", nargs=2, metavar=("URL", "FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    spec = get_spec("enterprises")
    n = args.rows
    results = []
    ceilings: dict[str, tuple[float, float]] = {}
    with tempfile.TemporaryDirectory(prefix="chaintrack-import-bench-") as tmp:
        formats = args.formats.split(",")
        files = {fmt: Path(tmp) / f"enterprises.{fmt}" for fmt in ("csv", "xlsx") if fmt in formats}
        started = time.perf_counter()
        if "csv" in files:
            with files["csv"].open("wb") as fh:
                write_csv(spec, enterprise_rows(n), fh)
        if "xlsx" in files:
            write_xlsx(spec, enterprise_rows(n), files["xlsx"])
        sizes = ", ".join(
            f"{fmt} {path.stat().st_size / 2**20:.1f} MB" for fmt, path in files.items()
        )
        print(f"{n:,} rows: {sizes} (written in {time.perf_counter() - started:.0f} s)", flush=True)
        for engine_name in args.engines.split(","):
            with fresh_database(engine_name, args.pg_url) as url:
                prepare(url).dispose()
                floor = min(floor_seconds(url, n) for _ in range(2))
                with_audit = min(floor_seconds(url, n, audited=True) for _ in range(2))
            ceilings[engine_name] = (floor, with_audit)
            print(
                f"{engine_name}: floor {n / floor:,.0f} rows/s ({floor:.2f} s); with the audit "
                f"records {n / with_audit:,.0f} rows/s ({with_audit:.2f} s)",
                flush=True,
            )
            for fmt, path in files.items():
                with fresh_database(engine_name, args.pg_url) as url:
                    prepare(url).dispose()
                    out = run_child(url, path)
                results.append((engine_name, fmt, with_audit, out))
                imp = out["import"]
                print(
                    f"  {fmt}: import {n / imp['seconds']:,.0f} rows/s, "
                    f"peak RSS {out['reimport_peak_mb']:.0f} MB",
                    flush=True,
                )
    print()
    print(
        "| engine | file | floor (rows + audit records) rows/s | import rows/s | import / floor "
        "| re-import (unchanged) rows/s | peak RSS MB | audit records |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for engine_name, fmt, floor, out in results:
        imp, again = out["import"], out["reimport"]
        assert imp["create"] == n and again["unchanged"] == n, out
        rate = n / imp["seconds"]
        print(
            f"| {engine_name} | {fmt} | {n / floor:,.0f} | {rate:,.0f} | "
            f"{rate * floor / n:.2f} | {n / again['seconds']:,.0f} | "
            f"{max(out['import_peak_mb'], out['reimport_peak_mb']):.0f} | "
            f"{out['audit_records']:,} |"
        )
    print(f"\ntarget: import / floor >= {TARGET_RATIO}, peak RSS < {RSS_LIMIT_MB} MB")
    print("\nthe floor without and with the audit records (one per row and table):")
    print("| engine | rows only s | rows + audit records s |")
    print("|---|---:|---:|")
    for engine_name, (floor, with_audit) in ceilings.items():
        print(f"| {engine_name} | {floor:.2f} | {with_audit:.2f} |")
    print("\nwhere the time goes (seconds, cumulative: read ⊂ read+parse ⊂ dry run ⊂ import):")
    print("| engine | file | read | read + parse | dry run | import | floor |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for engine_name, fmt, floor, out in results:
        st = out["stages"]
        print(
            f"| {engine_name} | {fmt} | {st['read']:.1f} | {st['parse']:.1f} | "
            f"{st['dry_run']:.1f} | {out['import']['seconds']:.1f} | {floor:.1f} |"
        )


if __name__ == "__main__":
    main()
