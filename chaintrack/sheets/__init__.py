"""Spreadsheets in and out: Excel (.xlsx) and CSV, the way city and province offices
actually fill them in.

- ``cells``: one pure function per kind of cell (text, decimal, date, period, ...) that
  turns what a clerk typed, or what Excel stored, into a typed value, or raises
  ``CellError`` with a Chinese + English message;
- ``reader``: streams rows out of an uploaded file (header row found under title rows,
  headers in Chinese or English, CSV in UTF-8 or GBK), with size and row limits;
- ``specs``: the columns of each importable entity and the parsing of a whole row
  (every error of a row, not only the first);
- ``templates`` / ``writer``: blank templates (instructions sheet, drop-down lists)
  and streamed exports in the same format, so export → edit → import round-trips.

Nothing here touches the database: the import and export services build on it.
"""

from chaintrack.sheets.cells import CellError
from chaintrack.sheets.reader import RawRow, SheetError, SheetReader, open_sheet
from chaintrack.sheets.specs import (
    Column,
    ColumnKind,
    ParsedRow,
    RowError,
    SheetSpec,
    get_spec,
    list_entry_spec,
)

__all__ = [
    "CellError",
    "Column",
    "ColumnKind",
    "ParsedRow",
    "RawRow",
    "RowError",
    "SheetError",
    "SheetReader",
    "SheetSpec",
    "get_spec",
    "list_entry_spec",
    "open_sheet",
]
