"""Blank templates to download: .xlsx (with instructions and drop-down lists) and CSV.

A template is an export without rows and without the computed, export-only columns,
so a filled-in template and an edited export are read the same way.
"""

from __future__ import annotations

from chaintrack.sheets.specs import SheetSpec
from chaintrack.sheets.writer import csv_bytes, xlsx_bytes

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_MEDIA_TYPE = "text/csv; charset=utf-8"


def template_xlsx(spec: SheetSpec) -> bytes:
    """The .xlsx template: data sheet with headers, 说明 sheet, drop-down lists."""
    return xlsx_bytes(spec, (), columns=spec.template_columns)


def template_csv(spec: SheetSpec) -> bytes:
    """The CSV template: the header row, UTF-8 with a BOM (Excel opens it correctly)."""
    return csv_bytes(spec, (), columns=spec.template_columns)


def template_filename(spec: SheetSpec, extension: str) -> str:
    """A download name such as ``企业导入模板.xlsx`` (send it RFC 5987-encoded)."""
    return f"{spec.title_zh}导入模板.{extension.lstrip('.')}"
