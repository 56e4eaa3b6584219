"""Writing reports: a report model as JSON, its sections as CSV and Excel (.xlsx)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from pydantic import BaseModel

from chaintrack.reports.tables import Section
from chaintrack.sheets.writer import FORMULA_START

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_MEDIA_TYPE = "text/csv; charset=utf-8"


def to_json(report: BaseModel) -> bytes:
    """The model's own JSON, as bytes (``model_dump_json`` would decode it to a str
    that the response encodes again: a third of the time for a large chain)."""
    return report.__pydantic_serializer__.to_json(report)


def _csv_value(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value  # a name like "=HYPERLINK(...)" must stay text in Excel
    return value


def to_csv(sections: list[Section]) -> bytes:
    """All sections in one file, each under a title row, separated by a blank row.

    UTF-8 with a BOM, so Excel opens the Chinese headers correctly.
    """
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    for i, section in enumerate(sections):
        if i:
            writer.writerow([])
        writer.writerow([f"【{section.title}】"])
        writer.writerow(section.headers)
        for row in section.rows:
            writer.writerow([_csv_value(v) for v in row])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def _sheet_title(title: str, used: set[str]) -> str:
    # Excel: at most 31 characters, none of []:*?/\ and unique.
    clean = "".join(ch for ch in title if ch not in "[]:*?/\\")[:31] or "Sheet"
    name, n = clean, 2
    while name in used:
        name = f"{clean[:28]}({n})"
        n += 1
    used.add(name)
    return name


def to_xlsx(sections: list[Section]) -> bytes:
    """One sheet per section; numbers as numbers, dates as dates, bold headers."""
    wb = Workbook()
    wb.remove(wb.active)
    used: set[str] = set()
    bold = Font(bold=True)
    for section in sections:
        ws = wb.create_sheet(_sheet_title(section.title, used))
        ws.append(section.headers)
        for cell in ws[1]:
            cell.font = bold
        widths = [max(8, len(h) * 2) for h in section.headers]
        for row in section.rows:
            ws.append(row)
            for cell in ws[ws.max_row]:
                if cell.data_type == "f":  # user text that looks like a formula stays text
                    cell.data_type = "s"
            for col, value in enumerate(row):
                widths[col] = max(widths[col], min(60, len(str(value)) + 2))
        for col, value in enumerate(section.rows[0] if section.rows else [], start=1):
            if isinstance(value, Decimal):
                for cell in ws.iter_rows(min_row=2, min_col=col, max_col=col):
                    cell[0].number_format = "#,##0.00##"
            elif isinstance(value, dt.date):
                for cell in ws.iter_rows(min_row=2, min_col=col, max_col=col):
                    cell[0].number_format = "yyyy-mm-dd"
        for col, width in enumerate(widths, start=1):
            ws.column_dimensions[get_column_letter(col)].width = width
        ws.freeze_panes = "A2"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
