"""Benchmark: the hostile uploads of issue 13, read with the limits (``open_sheet``, as an
import reads them) and without (python-calamine or the csv module straight, as the
readers did before the limits), each in a child process of its own so its peak
resident set size (VmHWM, above the child's size before reading) is its own.

    .venv/bin/python benchmarks/hostile_uploads.py
    .venv/bin/python benchmarks/hostile_uploads.py --only jump_1e7 --cap-mb 3000

An unguarded read runs under an address-space cap (``--cap-mb``) and a timeout
(``--timeout``): the attacks that would take more are reported as stopped there. The
last rows are an ordinary 100,000-row workbook: what the zip check costs next to
calamine's own decoding of it (side by side, in the same run).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _files() -> dict[str, Callable[[], bytes]]:
    from tests import test_upload_limits as t

    def blank_csv() -> bytes:
        return t.BlankRowsCsv(10_000_000).read()

    def ordinary() -> bytes:
        rows = [t.header_row()] + [
            f'<row r="{i}">'
            + "".join(
                t._cell(f"{t._letters(c + 1)}{i}", f"企业{i}-{c}") for c in range(len(t.HEADERS))
            )
            + "</row>"
            for i in range(2, 100_002)
        ]
        return t.xlsx(t.sheet_xml(*rows))

    return {
        "jump_1e7": lambda: t.row_jump(10_000_000),
        "jump_2e9": lambda: t.row_jump(2_000_000_000),
        "cell_32MiB": lambda: t.huge_cell(32),
        "strings_3e6": lambda: t.many_shared_strings(3_000_000, 1),
        "csv_blank_1e7": blank_csv,
        "csv_cols_1e6": lambda: t.wide_csv(1_000_000),
        "xlsx_cols_1e6": lambda: t.wide_xlsx(1_000_000),
        "ordinary_100k": ordinary,
    }


def _hwm_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _child(path: str, how: str) -> dict[str, Any]:
    import csv
    import io

    import python_calamine

    from chaintrack.sheets.reader import SheetError, open_sheet
    from chaintrack.sheets.specs import get_spec

    columns = get_spec("enterprises").header_map()
    data = Path(path).read_bytes()
    base = _hwm_mb()
    start = time.perf_counter()
    outcome = "read"
    rows = 0
    if how == "guarded":
        try:
            with open_sheet(data, columns) as reader:
                rows = sum(1 for _ in reader)
        except SheetError as exc:
            outcome = f"refused: {exc.code}"
    elif how == "zip-check":
        from chaintrack.sheets.files import Guard
        from chaintrack.sheets.guard import check_zip

        check_zip(io.BytesIO(data), "xlsx", Guard())
    elif data[:2] == b"PK":
        book = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
        sheet = book.get_sheet_by_name(book.sheet_names[0])
        rows = sum(1 for _ in sheet.iter_rows())
    else:
        text = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8", newline="")
        for row in csv.reader(text):
            rows += 1
            if rows == 1:
                outcome = f"header of {len(row):,} columns"
    return {
        "seconds": time.perf_counter() - start,
        "peak_mb": _hwm_mb() - base,
        "outcome": outcome,
        "rows": rows,
    }


def _run(path: str, how: str, cap_mb: int, timeout: float) -> dict[str, Any]:
    def limit() -> None:
        if how == "unguarded":
            cap = cap_mb * 1024 * 1024
            resource.setrlimit(resource.RLIMIT_AS, (cap, cap))

    cmd = [sys.executable, __file__, "--child", path, how]
    start = time.perf_counter()
    try:
        done = subprocess.run(
            cmd, capture_output=True, text=True, timeout=timeout, preexec_fn=limit, cwd=ROOT
        )
    except subprocess.TimeoutExpired:
        return {"seconds": timeout, "peak_mb": None, "outcome": f"stopped at {timeout:g} s"}
    if done.returncode != 0:
        tail = (done.stderr.strip().splitlines() or ["?"])[-1][:60]
        return {
            "seconds": time.perf_counter() - start,
            "peak_mb": None,
            "outcome": f"failed under the {cap_mb} MB cap ({tail})",
        }
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="*", help="attack names (default: all)")
    parser.add_argument("--cap-mb", type=int, default=4000, help="unguarded address-space cap")
    parser.add_argument("--timeout", type=float, default=60.0, help="unguarded time cap (s)")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_child(*args.child)))
        return
    files = _files()
    names = args.only or list(files)
    print(f"{'file':15s} {'size':>9s} | {'how':9s} {'time s':>7s} {'peak MB':>8s}  outcome")
    with tempfile.TemporaryDirectory(prefix="hostile-") as tmp:
        for name in names:
            data = files[name]()
            path = os.path.join(tmp, name)
            Path(path).write_bytes(data)
            hows = ["guarded", "unguarded"]
            if name.startswith("ordinary"):
                hows.append("zip-check")
            for how in hows:
                r = _run(path, how, args.cap_mb, args.timeout)
                peak = "-" if r["peak_mb"] is None else f"{r['peak_mb']:.0f}"
                outcome = r["outcome"] + (f" ({r['rows']:,} rows)" if r.get("rows") else "")
                print(
                    f"{name:15s} {len(data) / 1024:8.0f}K | {how:9s} {r['seconds']:7.2f} "
                    f"{peak:>8s}  {outcome}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
