"""The import's read-ahead thread: order kept, errors raised in place, no thread left."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from chaintrack.imports.read_ahead import chunked, read_ahead
from chaintrack.sheets.reader import SheetError
from chaintrack.sheets.specs import ParsedRow


def _chunks(n: int, fail_at: int | None = None) -> Iterator[list[int]]:
    for i in range(n):
        if i == fail_at:
            raise SheetError("too_many_rows", "too many rows")
        yield [i]


def _threads() -> int:
    return sum(t.name == "import-read-ahead" for t in threading.enumerate())


def test_chunks_arrive_in_order_and_the_thread_ends():
    with read_ahead(_chunks(50)) as chunks:  # type: ignore[arg-type]
        assert [c[0] for c in chunks] == list(range(50))
    assert _threads() == 0


def test_an_error_while_reading_comes_after_the_chunks_before_it():
    seen: list[int] = []
    with (
        pytest.raises(SheetError, match="too many rows"),
        read_ahead(_chunks(10, fail_at=6)) as chunks,  # type: ignore[arg-type]
    ):
        for chunk in chunks:
            seen.append(chunk[0])
    assert seen == [0, 1, 2, 3, 4, 5]
    assert _threads() == 0


def test_stopping_early_stops_the_reader():
    produced: list[int] = []

    def endless() -> Iterator[list[int]]:
        i = 0
        while True:
            produced.append(i)
            yield [i]
            i += 1

    with (
        pytest.raises(RuntimeError),
        read_ahead(endless(), depth=2) as chunks,  # type: ignore[arg-type]
    ):
        for chunk in chunks:
            if chunk[0] == 3:
                raise RuntimeError("a row could not be written")
    assert _threads() == 0
    assert len(produced) < 10  # it waited on the full queue, then stopped


def test_rows_are_cut_into_chunks_of_the_given_size():
    rows = [ParsedRow(i, {}) for i in range(7)]
    assert [len(c) for c in chunked(iter(rows), 2)] == [2, 2, 2, 1]
    rows = [ParsedRow(i, {}) for i in range(2120)]
    assert [len(c) for c in chunked(iter(rows), 1000)] == [1000, 1000, 120]
    assert [[p.row for p in c] for c in chunked(iter(rows[:3]), 2)] == [[0, 1], [2]]
