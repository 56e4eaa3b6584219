"""Benchmark: reading an .xlsx upload, python-calamine (what open_sheet uses) against
openpyxl's read-only reader.

    .venv/bin/python benchmarks/xlsx_read.py                 # 100,000 enterprise rows
    .venv/bin/python benchmarks/xlsx_read.py --rows 20000 --file /tmp/x.xlsx

Writes the enterprises export of ``--rows`` rows (``benchmarks/imports.py``'s rows, our
own writer), then reads it (header scan, every row as a RawRow) once per reader: ``calamine`` is
``open_sheet`` itself; ``openpyxl`` is the same SheetReader fed by openpyxl's
``load_workbook(read_only=True, data_only=True)`` rows. Each read runs in a child
process so its peak resident set size (VmHWM) is its own. Reads
alternate and repeat (``--repeat``); the best time of each is printed with the ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import rss_mb

READERS = ("openpyxl", "calamine")


def _openpyxl_reader(spec: Any, path: str) -> Any:
    import itertools

    import openpyxl

    from chaintrack.sheets.headers import HEADER_SCAN_ROWS, HeaderIndex
    from chaintrack.sheets.reader import DEFAULT_MAX_ROWS, SheetReader

    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    ws = wb.worksheets[0]
    ws.reset_dimensions()
    index = HeaderIndex(spec.header_map())
    header = index.best(itertools.islice(ws.iter_rows(values_only=True), HEADER_SCAN_ROWS))
    assert header is not None
    return SheetReader(
        format="xlsx",
        header=header,
        rows=lambda: ws.iter_rows(values_only=True),
        max_rows=DEFAULT_MAX_ROWS,
        closers=[wb.close],
        sheet_name=ws.title,
    )


def child(reader: str, path: str) -> None:
    from chaintrack.sheets.specs import get_spec

    spec = get_spec("enterprises")
    started = time.perf_counter()
    cpu = time.process_time()
    sheet = spec.open(path) if reader == "calamine" else _openpyxl_reader(spec, path)
    with sheet:
        rows = sum(1 for _ in sheet)
    out = {
        "rows": rows,
        "seconds": time.perf_counter() - started,
        "cpu": time.process_time() - cpu,
        "peak_mb": rss_mb(),
    }
    print(json.dumps(out))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--file", help="read (or write, if missing) this .xlsx")
    parser.add_argument("--child", nargs=2, metavar=("READER", "FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    with tempfile.TemporaryDirectory(prefix="chaintrack-xlsx-bench-") as tmp:
        path = Path(args.file) if args.file else Path(tmp) / "enterprises.xlsx"
        if not path.exists():
            from imports import enterprise_rows

            from chaintrack.sheets.specs import get_spec
            from chaintrack.sheets.writer import write_xlsx

            write_xlsx(get_spec("enterprises"), enterprise_rows(args.rows), path)
        print(f"{path}: {path.stat().st_size / 2**20:.1f} MB", flush=True)
        best: dict[str, dict[str, float]] = {}
        for _ in range(args.repeat):
            for reader in READERS:
                proc = subprocess.run(
                    [sys.executable, __file__, "--child", reader, str(path)],
                    capture_output=True,
                    text=True,
                    check=True,
                    env={**os.environ},
                )
                out = json.loads(proc.stdout.strip().splitlines()[-1])
                print(
                    f"  {reader:8}: {out['rows']:,} rows in {out['seconds']:.2f} s "
                    f"(cpu {out['cpu']:.2f} s), {out['rows'] / out['seconds']:,.0f} rows/s, "
                    f"peak RSS {out['peak_mb']:.0f} MB",
                    flush=True,
                )
                if reader not in best or out["seconds"] < best[reader]["seconds"]:
                    best[reader] = out
    slow, fast = best["openpyxl"], best["calamine"]
    print(
        f"\nbest: openpyxl {slow['rows'] / slow['seconds']:,.0f} rows/s, "
        f"calamine {fast['rows'] / fast['seconds']:,.0f} rows/s: "
        f"{slow['seconds'] / fast['seconds']:.1f}x; peak RSS {slow['peak_mb']:.0f} / "
        f"{fast['peak_mb']:.0f} MB"
    )


if __name__ == "__main__":
    main()
