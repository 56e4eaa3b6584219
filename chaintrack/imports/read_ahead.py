"""Reading an import's file ahead of writing it: chunks of parsed rows from a thread.

Reading the file, parsing its cells and validating rows with the request schemas
(``Handler.prepare``) is pure Python that needs no database; the writing side spends
much of its time waiting for the database, during which the interpreter lock is free.
This changes nothing process-wide (no garbage-collector setting, no switch interval):
two imports at once each have their own thread and queue, and requests served while
an import runs share the interpreter as with any other request.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from queue import Empty, Full, Queue
from typing import Any

from chaintrack.imports.plans import Handler
from chaintrack.sheets.specs import ParsedRow


def prepared(handler: Handler, rows: Iterator[ParsedRow]) -> Iterator[ParsedRow]:
    """Rows with the handler's database-free checks done (``ParsedRow.prepared``)."""
    for parsed in rows:
        if not parsed.errors:
            parsed.prepared = handler.prepare(parsed)
        yield parsed


def chunked(rows: Iterator[ParsedRow], size: int) -> Iterator[list[ParsedRow]]:
    """Rows in lists of ``size`` (the last one shorter)."""
    chunk: list[ParsedRow] = []
    for parsed in rows:
        chunk.append(parsed)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


_DONE = object()


@contextlib.contextmanager
def read_ahead(chunks: Iterator[list[ParsedRow]], depth: int = 2) -> Iterator[Iterator[Any]]:
    """Produce the next chunks in a thread while this one is planned and written.

    At most ``depth`` chunks wait in the queue, so memory stays flat. An error while
    reading (SheetError, limits) is raised here, in order, after the chunks before it;
    if the caller stops early the thread is told to stop and joined before the file is
    closed.
    """
    queue: Queue[Any] = Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for chunk in chunks:
                while not stop.is_set():
                    try:
                        queue.put(chunk, timeout=0.1)
                        break
                    except Full:
                        continue
                if stop.is_set():
                    return
            queue.put(_DONE)
        except BaseException as exc:  # handed to the consumer, raised there
            queue.put(exc)

    def consume() -> Iterator[list[ParsedRow]]:
        while (item := queue.get()) is not _DONE:
            if isinstance(item, BaseException):
                raise item
            yield item

    thread = threading.Thread(target=produce, name="import-read-ahead", daemon=True)
    thread.start()
    try:
        yield consume()
    finally:
        stop.set()
        while thread.is_alive():  # unblock a producer waiting on a full queue
            with contextlib.suppress(Empty):
                queue.get(timeout=0.1)
        thread.join()
