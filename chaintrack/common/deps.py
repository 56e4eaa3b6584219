"""FastAPI dependencies: one database transaction per request."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any, TypeVar

import anyio
from fastapi import Depends, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from chaintrack.audit import capture

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

#: Write endpoints whose request session only reads (the account, the permission rule,
#: reading and checking an upload) and that write in a session of their own
#: (:func:`write_session`), taken only for the write: on SQLite a request session of a
#: write request takes the database's write lock at its first statement.
OWN_WRITE_SESSION: set[Callable[..., Any]] = set()

F = TypeVar("F", bound=Callable[..., Any])


def writes_in_own_session(endpoint: F) -> F:
    """Mark an endpoint whose request session is a read session (see OWN_WRITE_SESSION)."""
    OWN_WRITE_SESSION.add(endpoint)
    return endpoint


async def _end(session: Session, finish: Callable[[], None]) -> None:
    """Commit or roll back: in a worker thread when there is a transaction (database
    I/O must not block the event loop), at once when the session never began one."""
    if session.in_transaction():
        # Shielded: a client that hangs up must not leave the transaction half ended.
        with anyio.CancelScope(shield=True):
            await run_in_threadpool(finish)
    else:
        finish()


async def get_session(request: Request) -> AsyncIterator[Session]:
    """Commit when the endpoint returns, roll back if it raises.

    ``scope="function"`` below makes the commit happen before the response is
    sent, so a failed commit becomes an error response, not a lost write.
    Reads use the read-only sessionmaker (a plain BEGIN on SQLite). Write
    requests are audited: every row they change is recorded in the same
    transaction with the request id (and the user, once authenticated).

    Asynchronous so that opening the session costs no trip to the thread pool: a
    session takes its connection on first use, in the thread that uses it.
    """
    state = request.app.state
    read = request.method in SAFE_METHODS or request.scope.get("endpoint") in OWN_WRITE_SESSION
    factory = state.read_sessionmaker if read else state.sessionmaker
    session = factory()
    try:
        if not read:
            capture.enable(session, request_id=getattr(request.state, "request_id", None))
        try:
            yield session
            await _end(session, session.commit)
        except BaseException:
            await _end(session, session.rollback)
            raise
    finally:
        # After commit or rollback there is no connection left to release: bookkeeping.
        session.close()


SessionDep = Annotated[Session, Depends(get_session, scope="function")]

T = TypeVar("T")


async def run_read(session: Session, work: Callable[[], T]) -> T:
    """Run a read-only endpoint's ``work`` in a worker thread and commit there.

    For ``async`` GET handlers (reports): the commit the session dependency makes
    when the endpoint returns happens in the same trip to the thread pool as the
    work, instead of a trip of its own. A failure is left to the dependency (it
    rolls back). Nothing is written: the handler only reads.
    """

    def run() -> T:
        result = work()
        session.commit()
        return result

    return await run_in_threadpool(run)


def get_read_session(request: Request) -> Iterator[Session]:
    """A read-only session for any method, e.g. to check a password on POST without
    holding SQLite's write lock during the (deliberately slow) hash verification."""
    with request.app.state.read_sessionmaker() as session:
        try:
            yield session
        finally:
            session.rollback()


ReadSessionDep = Annotated[Session, Depends(get_read_session, scope="function")]


@contextmanager
def write_session(request: Request, user_id: int | None) -> Iterator[Session]:
    """A write session of its own for an OWN_WRITE_SESSION endpoint, audited like the
    request session of a write request: committed when the block ends, rolled back if it
    raises. On SQLite it takes the write lock at its first statement (``BEGIN
    IMMEDIATE``), so open it only when everything is ready to be written. Runs in the
    worker thread that does the work."""
    session = request.app.state.sessionmaker()
    try:
        capture.enable(
            session, user_id=user_id, request_id=getattr(request.state, "request_id", None)
        )
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
    finally:
        session.close()


async def run_cancellable(request: Request, work: Callable[[threading.Event], T]) -> T:
    """Run ``work(cancelled)`` in a worker thread; ``cancelled`` is set when the client
    hangs up (polled twice a second), so long work (an upload) can stop between chunks
    instead of going on for nobody."""
    cancelled = threading.Event()

    async def watch() -> None:
        while not cancelled.is_set():
            if await request.is_disconnected():
                cancelled.set()
                return
            await anyio.sleep(0.5)

    done: list[T] = []
    failed: list[Exception] = []
    async with anyio.create_task_group() as tasks:
        tasks.start_soon(watch)
        try:
            done.append(await run_in_threadpool(work, cancelled))
        except Exception as exc:  # raised below, outside the task group (not in a group)
            failed.append(exc)
        finally:
            cancelled.set()  # the watcher's loop ends; the work is over anyway
            tasks.cancel_scope.cancel()
    if failed:
        raise failed[0]
    return done[0]
