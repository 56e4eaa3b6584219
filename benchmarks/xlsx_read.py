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

    .venv/bin/python benchmarks/xlsx_read.py --percent        # 100,000 progress rows

measures the cost of reading percent formats (``sheets.styles``): a progress sheet
whose every 形象进度 cell is percent-formatted (the worst case), read by ``open_sheet``
without (``formats-off``) and with (``formats-on``, what imports do) the percentage
column's formats.
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
PERCENT_READERS = ("formats-off", "formats-on")


def write_percent_progress(rows: int, path: Path) -> None:
    """A progress sheet whose percentage column is percent-formatted (openpyxl)."""
    import openpyxl
    from openpyxl.cell import WriteOnlyCell

    spec_headers = ["项目编号", "项目名称", "调度月份", "本月完成投资（万元）", "形象进度（%）"]
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("月度调度")
    ws.append([*spec_headers, "形象进度", "下步计划", "存在问题", "问题责任单位"])
    for i in range(rows):
        pct = WriteOnlyCell(ws, value=(i % 100) / 100)
        pct.number_format = "0%"
        ws.append([f"P-{i:06d}", f"项目{i}", "2024-03", 1234.5 + i, pct, "主体施工", "推进"])
    wb.save(path)


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
    from chaintrack.sheets.reader import open_sheet
    from chaintrack.sheets.specs import get_spec

    spec = get_spec("progress" if reader in PERCENT_READERS else "enterprises")
    started = time.perf_counter()
    cpu = time.process_time()
    if reader == "formats-off":
        sheet = open_sheet(path, spec.header_map())
    elif reader in ("calamine", "formats-on"):
        sheet = spec.open(path)
    else:
        sheet = _openpyxl_reader(spec, path)
    with sheet:
        rows = sum(1 for raw in sheet if reader != "formats-on" or raw.formats)
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
    parser.add_argument("--percent", action="store_true", help="measure percent formats")
    parser.add_argument("--child", nargs=2, metavar=("READER", "FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    with tempfile.TemporaryDirectory(prefix="chaintrack-xlsx-bench-") as tmp:
        name = "progress-percent.xlsx" if args.percent else "enterprises.xlsx"
        path = Path(args.file) if args.file else Path(tmp) / name
        readers = PERCENT_READERS if args.percent else READERS
        if not path.exists() and args.percent:
            write_percent_progress(args.rows, path)
        elif not path.exists():
            from imports import enterprise_rows

            from chaintrack.sheets.specs import get_spec
            from chaintrack.sheets.writer import write_xlsx

            write_xlsx(get_spec("enterprises"), enterprise_rows(args.rows), path)
        print(f"{path}: {path.stat().st_size / 2**20:.1f} MB", flush=True)
        best: dict[str, dict[str, float]] = {}
        for _ in range(args.repeat):
            for reader in readers:
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
    if args.percent:
        off, on = best["formats-off"], best["formats-on"]
        print(
            f"\nbest: without formats {off['seconds']:.2f} s, with {on['seconds']:.2f} s "
            f"({on['rows']:,} percent cells): {on['seconds'] / off['seconds']:.2f}x; "
            f"peak RSS {off['peak_mb']:.0f} / {on['peak_mb']:.0f} MB"
        )
        return
    slow, fast = best["openpyxl"], best["calamine"]
    print(
        f"\nbest: openpyxl {slow['rows'] / slow['seconds']:,.0f} rows/s, "
        f"calamine {fast['rows'] / fast['seconds']:,.0f} rows/s: "
        f"{slow['seconds'] / fast['seconds']:.1f}x; peak RSS {slow['peak_mb']:.0f} / "
        f"{fast['peak_mb']:.0f} MB"
    )


if __name__ == "__main__":
    main()
