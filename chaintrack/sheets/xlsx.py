"""Rows of an .xlsx worksheet, fast and streamed: the values openpyxl reads, 5-10x sooner.

openpyxl's read-only reader builds an element per row and runs Python code per XML
event and per cell: about 6,000 rows/s for a 15-column sheet. Here one regular
expression tokenizes 64 KiB of the sheet's decompressed XML at a time (cells, row
starts, row ends) and one loop turns the tokens into rows; memory holds one chunk and
its rows. The shared strings table is read the same way and kept in memory (as openpyxl
keeps it).

``XlsxBook(stream).worksheets[i].iter_rows()`` yields exactly what openpyxl's
``ReadOnlyWorksheet.iter_rows(values_only=True)`` yields after ``reset_dimensions()``
(``load_workbook(read_only=True, data_only=True)``): same values and types (numbers
cast as openpyxl casts them, date-formatted numbers as datetime/date/time/timedelta,
cached formula results, ``None`` padding for missing cells, ``[]`` for missing rows).
The small parts (content types, workbook, relationships, styles) are parsed with
openpyxl's own classes, so sheet order, visibility, the 1904 flag and which styles are
dates are decided exactly as openpyxl decides them.

Nothing is guessed. Anything the tokenizer does not know (a namespace prefix, a
comment, CDATA, an unknown attribute or child, cells out of order, a malformed tag, a
bad character reference, a damaged archive) stops the fast path: in the workbook parts
``XlsxBook`` raises and the caller reads the file with openpyxl; in a sheet, the rest of
that sheet's rows come from openpyxl (the rows already given are skipped), so openpyxl
also decides whether a damaged sheet is an error. Known leniency: characters XML forbids
(raw control characters) are passed through where openpyxl's parser refuses the file.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import IO, Any

from openpyxl.utils.cell import column_index_from_string
from openpyxl.utils.datetime import MAC_EPOCH, WINDOWS_EPOCH, from_excel, from_ISO8601

MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
CHUNK = 1 << 16  # 64 KiB of XML at a time: ~1,000 rows, well under 1 MB in memory
_HEAD_MAX = 16 << 20  # XML before the first row (column widths, views): far less in practice
_DATE_CACHE_MAX = 20_000


class Unsupported(Exception):
    """The fast reader meets XML it does not read; openpyxl reads it instead."""


# ------------------------------------------------------------------ tokenizers

# One token per cell; group 6 is anything else: row starts and ends, whitespace between
# tags (ignored), and the rest (Unsupported). Formulas are skipped: data_only reads the
# cached <v>. Optional parts are written "(?:X|)": faster than "(?:X)?" in re. Fewer
# groups are faster too, hence rows parsed from group 6.
_SHEET_TOKEN = re.compile(
    r'<c(?: r="([A-Z]{1,3})[1-9][0-9]*"|)([^>]*)'  # 1 column letters, 2 other attributes
    r"(?:/>|>(?:<f>[^<]*</f>|<f [^>]*>[^<]*</f>|<f [^>]*/>|)"
    r"(?:<v>([^<]*)</v>"  # 3 value
    r'|<is><t(?: xml:space="preserve"|)>([^<]+)</t></is>'  # 4 plain inline text
    r"|<is>(.*?)</is>"  # 5 any other inline string (rich text, empty)
    r"|<v ?/>|)</c>)"
    r"|(</row>|<row[^>]*>|[^<]+|<[^>]*>?)",  # 6 row end, row start, anything else
    re.DOTALL,
)
_ROW_START = re.compile(r'<row r="([0-9]+)"([^>]*)>')
_SST_TOKEN = re.compile(
    r'<si><t(?: xml:space="preserve"|)>([^<]*)</t></si>'  # 1 plain text
    r"|<si>(.*?)</si>"  # 2 rich text, phonetic runs: parsed by openpyxl's Text
    r"|(<si ?/>)"  # 3
    r"|([^<]+|<[^>]*>?)",  # 4 anything else
    re.DOTALL,
)
_ATTRS = re.compile(r'(?:\s+[A-Za-z_][\w.:-]*="[^"<&]*")*\s*')
_ATTR = re.compile(r'([A-Za-z_][\w.:-]*)="([^"<&]*)"')
_ROW_TAG = re.compile(r'<row((?:\s+[A-Za-z_][\w.:-]*="[^"<&]*")*)\s*(/?)>')
_CELL_ATTRS = frozenset(("s", "t", "cm", "vm", "ph"))
_XML_DECL = re.compile(rb"(?:\xef\xbb\xbf)?<\?xml([^>]*)\?>")
_ENCODING = re.compile(rb"""encoding\s*=\s*["']([^"']*)["']""")
_ENTITY = re.compile(r"&(?:(amp|lt|gt|quot|apos)|#([0-9]+)|#x([0-9a-fA-F]+));|&")
_NAMED = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'"}
_WS = " \t\r\n"

# Cell kinds, by the (s, t) attributes.
_NUMBER, _SHARED, _INLINE, _TEXT, _DATE, _DURATION, _BOOL, _ISO = range(8)
_KINDS = {"s": _SHARED, "inlineStr": _INLINE, "b": _BOOL, "d": _ISO}


def _entity(m: re.Match[str]) -> str:
    named, dec, hexa = m.groups()
    if named:
        return _NAMED[named]
    if dec is None and hexa is None:
        raise Unsupported("a bare '&' or an undeclared entity")
    cp = int(dec) if dec is not None else int(hexa, 16)
    if not (
        cp in (0x9, 0xA, 0xD)
        or 0x20 <= cp <= 0xD7FF
        or 0xE000 <= cp <= 0xFFFD
        or 0x10000 <= cp <= 0x10FFFF
    ):
        raise Unsupported(f"character reference to U+{cp:04X}")
    return chr(cp)


def _xml_text(text: str) -> str:
    """Character data as an XML parser gives it: line ends normalised, references replaced."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "&" in text:
        text = _ENTITY.sub(_entity, text)
    return text


def _rich_text(tag: str, inner: str) -> str:
    """An <si>/<is> body other than one plain <t>: openpyxl's own Text gives its content."""
    from openpyxl.cell.text import Text
    from openpyxl.xml.functions import fromstring

    node = fromstring(f'<{tag} xmlns="{MAIN_NS}">{inner}</{tag}>')
    return str(Text.from_tree(node).content)


def _attributes(raw: str) -> dict[str, str]:
    if not _ATTRS.fullmatch(raw):
        raise Unsupported(f"attributes {raw[:80]!r}")
    pairs = _ATTR.findall(raw)
    found = dict(pairs)
    if len(found) != len(pairs) or any(k.startswith("xmlns") for k in found):
        raise Unsupported(f"attributes {raw[:80]!r}")
    return found


def _read_head(fh: IO[bytes], root: bytes, body: bytes) -> bytes:
    """Read up to the first ``<body`` (sheetData, si) and return the bytes from there.

    Checks that the root element is unprefixed in the main namespace and that nothing
    before the body can change what it means (a DTD, a comment, another encoding)."""
    buf = b""
    while (at := buf.find(b"<" + body)) < 0:
        data = fh.read(CHUNK)
        if not data:
            raise Unsupported(f"no <{body.decode()}>")
        buf += data
        if len(buf) > _HEAD_MAX:
            raise Unsupported("header too long")
    head = buf[:at]
    if b"<!" in head:
        raise Unsupported("DOCTYPE, comment or CDATA before the data")
    pos = 0
    if decl := _XML_DECL.match(head):
        enc = _ENCODING.search(decl.group(1))
        if enc and enc.group(1).lower().replace(b"-", b"") != b"utf8":
            raise Unsupported(f"encoding {enc.group(1)!r}")
        pos = decl.end()
    elif head.startswith(b"\xef\xbb\xbf"):
        pos = 3
    m = re.compile(rb"\s*<" + root + rb"(\s[^>]*)>").match(head, pos)
    attrs = m.group(1).decode() if m else ""
    if not m or not _ATTRS.fullmatch(attrs):
        raise Unsupported(f"root element is not <{root.decode()}>")
    if dict(_ATTR.findall(attrs)).get("xmlns") != MAIN_NS:
        raise Unsupported("root element not in the main namespace")
    return buf[at:]


def _chunks(fh: IO[bytes], buf: bytes, end_tag: bytes, cuts: tuple[bytes, ...]) -> Iterator[str]:
    """The element's content as text, in pieces cut before a token start (``cuts``: ASCII,
    so never inside a UTF-8 sequence), up to ``end_tag``. Decoding is strict, as XML's.

    The rest of the member is read too, so a damaged archive fails its CRC check here."""
    searched = 0
    while True:
        end = buf.find(end_tag, max(0, searched - len(end_tag)))
        if end >= 0:
            yield buf[:end].decode()
            while fh.read(CHUNK):
                pass
            return
        searched = len(buf)
        cut = max(buf.rfind(c) for c in cuts)
        if cut > 0 and len(buf) >= CHUNK:
            yield buf[:cut].decode()
            buf = buf[cut:]
            searched -= cut
        data = fh.read(CHUNK)
        if not data:
            raise Unsupported(f"no {end_tag.decode()}: truncated")
        buf += data


# ------------------------------------------------------------------ shared strings


def read_shared_strings(archive: zipfile.ZipFile, path: str) -> list[str]:
    """The shared strings table, as openpyxl's ``read_string_table`` reads it."""
    strings: list[str] = []
    append = strings.append
    with archive.open(path) as fh:
        rest = _read_head(fh, b"sst", b"si")
        for text in _chunks(fh, rest, b"</sst>", (b"<si",)):
            for plain, rich, void, other in _SST_TOKEN.findall(text):
                if plain or not (rich or void or other):  # <si><t>..</t></si>, maybe empty
                    if "&" in plain or "\r" in plain or "x005F_" in plain:
                        append(_xml_text(plain).replace("x005F_", ""))
                    else:
                        append(plain)
                elif rich:
                    append(_rich_text("si", rich).replace("x005F_", ""))
                elif void:
                    append("")
                elif other.strip(_WS):
                    raise Unsupported(f"in shared strings: {other[:80]!r}")
    return strings


# ------------------------------------------------------------------ workbook


class XlsxSheet:
    """One worksheet: ``title``, ``sheet_state`` and its rows."""

    def __init__(self, book: XlsxBook, title: str, state: str, path: str) -> None:
        self.book = book
        self.title = title
        self.sheet_state = state
        self.path = path
        self.fallback: str | None = None  # why openpyxl had to finish the rows, if it had to

    @property
    def fell_back(self) -> bool:
        return self.fallback is not None

    def iter_rows(self, max_row: int | None = None, values_only: bool = True) -> Iterator[Any]:
        """Rows as openpyxl yields them (``values_only`` only; the name matches openpyxl's)."""
        del values_only
        given = 0
        try:
            for row in self._rows(max_row):
                yield row
                given += 1
            return
        except Exception as exc:  # Unsupported, or damage: openpyxl decides (rows or its error)
            self.fallback = f"{type(exc).__name__}: {exc}"
        ws = self.book.openpyxl_sheet(self.title)
        for number, row in enumerate(ws.iter_rows(max_row=max_row, values_only=True)):
            if number >= given:
                yield row

    def _rows(self, max_row: int | None) -> Iterator[Sequence[Any]]:
        book = self.book
        shared = book.shared_strings
        kinds = book.kinds
        columns = _COLUMNS
        epoch = book.epoch
        dates: dict[str, Any] = {}
        durations: dict[str, Any] = {}
        row: list[Any] = _NO_ROW
        following = 1  # the column the next cell takes without an r attribute
        row_start = _ROW_START.match
        keep = False
        number = 0  # the current row's number (openpyxl's row_counter)
        counter = 1  # the next row number to yield
        stop = False
        with book.archive.open(self.path) as fh:
            rest = _read_head(fh, b"worksheet", b"sheetData")
            if rest.startswith(b"<sheetData/>"):
                return
            if not rest.startswith(b"<sheetData>"):
                raise Unsupported("<sheetData> with attributes")
            rest = rest[11:]
            for text in _chunks(fh, rest, b"</sheetData>", (b"<row", b"<c ")):
                out: list[Sequence[Any]] = []
                for col, attrs, v, plain, rich, other in _SHEET_TOKEN.findall(text):
                    if col or not other:  # a cell
                        kind = kinds.get(attrs)
                        if kind is None:
                            kind = book.classify(attrs)
                        if col:
                            at = columns.get(col) or _column(col)
                            if at != following:
                                if at < following:
                                    raise Unsupported("cells out of order")
                                row.extend([None] * (at - following))
                            following = at + 1
                        else:  # no r: the next column (openpyxl's col_counter + 1)
                            following += 1
                        if kind == _NUMBER:
                            value: Any = (
                                (float(v) if ("." in v or "E" in v or "e" in v) else int(v))
                                if v
                                else None
                            )
                        elif kind == _SHARED:
                            value = shared[int(v)] if v else None
                        elif kind == _INLINE:
                            if plain:
                                value = _xml_text(plain) if "&" in plain or "\r" in plain else plain
                            elif rich:
                                value = _rich_text("is", rich)
                            else:
                                value = None
                        elif kind == _TEXT:
                            value = (_xml_text(v) if "&" in v or "\r" in v else v) if v else None
                        elif kind in (_DATE, _DURATION):
                            if not v:
                                value = None
                            else:
                                cache = dates if kind == _DATE else durations
                                value = cache.get(v)
                                if value is None:
                                    value = _serial(v, epoch, kind == _DURATION)
                                    if len(cache) >= _DATE_CACHE_MAX:
                                        cache.clear()
                                    cache[v] = value
                        elif kind == _BOOL:
                            value = bool(int(v)) if v else None
                        else:  # _ISO
                            value = from_ISO8601(_xml_text(v)) if v else None
                        row.append(value)
                    elif other == "</row>":
                        if row is _NO_ROW:
                            raise Unsupported("</row> without <row>")
                        if keep:
                            out.append(tuple(row))
                        row = _NO_ROW
                    else:
                        if m := row_start(other):
                            number = int(m[1])
                            void = book.row_attributes(m[2]) if m[2] else False
                        elif other.startswith("<row"):
                            found, void = _row_tag(other)
                            number = number + 1 if found is None else found
                        elif not other.strip(_WS):
                            continue
                        else:
                            raise Unsupported(f"in sheet data: {other[:80]!r}")
                        if row is not _NO_ROW:
                            raise Unsupported("<row> inside a row")
                        if max_row is not None and number > max_row:
                            out.extend([] for _ in range(counter, max_row + 1))
                            stop = True
                            break
                        keep = number >= counter
                        if keep:
                            out.extend([] for _ in range(counter, number))
                            counter = number + 1
                        if void:
                            if keep:
                                out.append(())
                        else:
                            row = []
                            following = 1
                yield from out
                if stop:
                    return
            if row is not _NO_ROW:
                raise Unsupported("unclosed <row>")


class _NoRow(list[Any]):
    """Where cells go outside a <row>: nowhere (the XML is not what we read)."""

    def append(self, value: Any) -> None:
        raise Unsupported("a cell outside a row")

    def extend(self, values: Any) -> None:
        raise Unsupported("a cell outside a row")


_NO_ROW = _NoRow()


def _serial(v: str, epoch: datetime, duration: bool) -> Any:
    value = float(v) if ("." in v or "E" in v or "e" in v) else int(v)
    try:
        return from_excel(value, epoch, timedelta=duration)
    except (OverflowError, ValueError):
        return "#VALUE!"  # what openpyxl gives for a date serial out of range


def _column(letters: str) -> int:
    index = column_index_from_string(letters)
    _COLUMNS[letters] = index
    return index


_COLUMNS: dict[str, int] = {}


def _row_tag(tag: str) -> tuple[int | None, bool]:
    """A <row> start tag other than the usual '<row r="n" ...>': (number or None, empty)."""
    m = _ROW_TAG.fullmatch(tag)
    if not m:
        raise Unsupported(f"row tag {tag[:80]!r}")
    attrs = _attributes(m.group(1))
    r = attrs.get("r")
    if r is None:
        return None, bool(m.group(2))
    try:
        return int(r), bool(m.group(2))
    except ValueError:
        as_float = float(r)
        if not as_float.is_integer():
            raise Unsupported(f"row number {r!r}") from None
        return int(as_float), bool(m.group(2))


class XlsxBook:
    """An .xlsx opened for the fast reader. Raises ``Unsupported`` when it cannot be."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.stream = stream
        self._openpyxl: Any = None
        self.archive = zipfile.ZipFile(stream)
        try:
            self._read()
        except Exception:
            self.archive.close()
            raise

    def _read(self) -> None:
        from openpyxl.packaging.manifest import Manifest
        from openpyxl.packaging.relationship import get_dependents, get_rels_path
        from openpyxl.packaging.workbook import WorkbookPackage
        from openpyxl.reader.excel import _find_workbook_part
        from openpyxl.styles.stylesheet import Stylesheet
        from openpyxl.xml.constants import ARC_CONTENT_TYPES, ARC_STYLE, SHARED_STRINGS
        from openpyxl.xml.functions import fromstring

        archive = self.archive
        valid = set(archive.namelist())
        package = Manifest.from_tree(fromstring(archive.read(ARC_CONTENT_TYPES)))
        part = _find_workbook_part(package).PartName[1:]
        workbook = WorkbookPackage.from_tree(fromstring(archive.read(part)))
        self.date1904 = bool(workbook.properties.date1904)
        self.epoch = MAC_EPOCH if self.date1904 else WINDOWS_EPOCH
        rels = get_dependents(archive, get_rels_path(part)).to_dict()
        self.worksheets: list[XlsxSheet] = []
        for sheet in workbook.sheets:  # as openpyxl's ExcelReader.read_worksheets
            if not sheet.id:
                continue
            rel = rels[sheet.id]
            if rel.target not in valid or "chartsheet" in rel.Type:
                continue
            self.worksheets.append(XlsxSheet(self, sheet.name, sheet.state, rel.target))

        self.date_formats: set[int] = set()
        self.duration_formats: set[int] = set()
        if ARC_STYLE in valid:  # as openpyxl's apply_stylesheet
            styles = Stylesheet.from_tree(fromstring(archive.read(ARC_STYLE)))
            if styles.cell_styles:
                self.date_formats = set(styles.date_formats)
                self.duration_formats = set(styles.timedelta_formats)

        self.shared_strings: list[str] = []
        strings = package.find(SHARED_STRINGS)
        if strings is not None:
            path = strings.PartName[1:]
            try:
                self.shared_strings = read_shared_strings(archive, path)
            except Unsupported:
                from openpyxl.reader.strings import read_string_table

                with archive.open(path) as src:
                    self.shared_strings = read_string_table(src)

        self.kinds: dict[str, int] = {}
        self._row_attrs: set[str] = set()

    def classify(self, raw: str) -> int:
        """A cell's kind from its attributes (cached: a sheet has few distinct ones)."""
        attrs = _attributes(raw)
        if not attrs.keys() <= _CELL_ATTRS:
            raise Unsupported(f"cell attributes {raw[:80]!r}")
        t = attrs.get("t", "n")
        s = attrs.get("s")
        style: int | None = 0 if s is None else (int(s) if s else None)  # as openpyxl
        if t == "n":
            if style in self.date_formats:
                kind = _DURATION if style in self.duration_formats else _DATE
            else:
                kind = _NUMBER
        else:
            kind = _KINDS.get(t, _TEXT)  # str, e and unknown types: the text as it is
        if len(self.kinds) < 4096:
            self.kinds[raw] = kind
        return kind

    def row_attributes(self, raw: str) -> bool:
        """Check a row's attributes after r="n"; True for an empty row (``.../>``)."""
        void = raw.endswith("/")
        if raw not in self._row_attrs:
            attrs = _attributes(raw[:-1] if void else raw)
            if "r" in attrs:
                raise Unsupported("two r attributes")
            if len(self._row_attrs) < 4096:
                self._row_attrs.add(raw)
        return void

    def openpyxl_sheet(self, title: str) -> Any:
        """The same sheet through openpyxl (loaded once), for what the fast path left."""
        if self._openpyxl is None:
            import openpyxl

            self._openpyxl = openpyxl.load_workbook(self.stream, read_only=True, data_only=True)
        ws = next(ws for ws in self._openpyxl.worksheets if ws.title == title)
        ws.reset_dimensions()
        return ws

    def close(self) -> None:
        self.archive.close()
        if self._openpyxl is not None:
            self._openpyxl.close()
