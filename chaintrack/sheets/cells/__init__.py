"""Cell normalisation: what a clerk typed, or what Excel stored, into a typed value.

Every ``parse_*`` function is pure. It takes the raw cell value as the workbook reader
(python-calamine) or the CSV reader hands it over (``None``, ``str``, ``int``, ``float``,
``Decimal``, ``bool``, ``datetime``/``date``/``time``/``timedelta``), returns the typed
value, ``None`` for a blank cell, and raises ``CellError`` with a message a clerk
understands (Chinese first, then English).

Quirks handled (all seen in real office spreadsheets):
- leading/trailing spaces, non-breaking and zero-width spaces, full-width digits and
  letters (``１２３４．５``, ``ＡＢＣ``) and the ideographic space;
- numbers stored as text, thousands separators (``1,234.50``), a ``万元``/``万`` unit
  typed after the number, ``%`` after a percentage, accounting negatives ``(12.5)``;
- floats (calamine gives ``1.0`` for a whole number) are converted through their
  shortest ``repr`` and rounded to 15 significant digits (what Excel itself holds and
  shows): ``0.1`` → ``Decimal('0.1')``,
  never ``0.1000000000000000055…``, and ``0.1 + 0.2`` computed by Excel → ``0.3``;
- dates as ``datetime`` (a date-formatted cell), as Excel serial numbers (with the 1900
  leap-year bug: serial 60 is the non-existent 1900-02-29), or as text
  ``2024-03-05`` / ``2024/3/5`` / ``2024.3.5`` / ``2024年3月5日`` / ``20240305``;
- periods (reporting months) as dates, serials or ``2024年3月`` / ``2024/3`` / ``2024-03``
  / ``2024.3`` / ``202403``;
- codes stored as numbers (an all-digit code typed into a General cell): one that kept
  every digit is the code, one with more digits than a double keeps is refused with a
  message saying so (``check_number_kept_digits``);
- Excel error values typed or stored as text (``#N/A``, ``#DIV/0!``, ...) are refused
  with a clear message (an error *cell* reaches us blank: see ``sheets.workbook``).

Text keeps Chinese punctuation (full-width ``（）``, ``，``, ``：`` are correct in Chinese
names and prose); only full-width ASCII letters, digits and a few symbols are folded to
half-width. Codes, numbers, dates and enumerations are folded completely (NFKC).
"""

from chaintrack.sheets.cells.base import (
    EXCEL_DIGITS,
    EXCEL_ERRORS,
    MAX_YEAR,
    MIN_YEAR,
    CellError,
    as_text,
    check_excel_error,
    decimal_from_float,
    fold_width,
    is_blank,
    nfkc,
    tidy,
)
from chaintrack.sheets.cells.choices import (
    PAREN,
    enum_labels,
    label_key,
    parse_bool,
    parse_choice,
    parse_enum,
)
from chaintrack.sheets.cells.codes import (
    check_number_kept_digits,
    parse_code,
    parse_internal_code,
    parse_national_code,
    parse_region_code,
    parse_uscc,
)
from chaintrack.sheets.cells.dates import (
    MIN_PERIOD_YEAR,
    date_to_excel_serial,
    excel_serial_to_date,
    parse_date,
    parse_period,
)
from chaintrack.sheets.cells.numbers import parse_decimal, parse_integer, parse_year, to_decimal
from chaintrack.sheets.cells.text import parse_text, parse_text_list, plain_text

__all__ = [
    "EXCEL_DIGITS",
    "EXCEL_ERRORS",
    "MAX_YEAR",
    "MIN_PERIOD_YEAR",
    "MIN_YEAR",
    "PAREN",
    "CellError",
    "as_text",
    "check_excel_error",
    "check_number_kept_digits",
    "date_to_excel_serial",
    "decimal_from_float",
    "enum_labels",
    "excel_serial_to_date",
    "fold_width",
    "is_blank",
    "label_key",
    "nfkc",
    "parse_bool",
    "parse_choice",
    "parse_code",
    "parse_date",
    "parse_decimal",
    "parse_enum",
    "parse_integer",
    "parse_internal_code",
    "parse_national_code",
    "parse_period",
    "parse_region_code",
    "parse_text",
    "parse_text_list",
    "parse_uscc",
    "parse_year",
    "plain_text",
    "tidy",
    "to_decimal",
]
