"""FastAPI dependencies: one database transaction per request."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from chaintrack.audit import capture

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def get_session(request: Request) -> Iterator[Session]:
    """Commit when the endpoint returns, roll back if it raises.

    ``scope="function"`` below makes the commit happen before the response is
    sent, so a failed commit becomes an error response, not a lost write.
    Reads use the read-only sessionmaker (a plain BEGIN on SQLite). Write
    requests are audited: every row they change is recorded in the same
    transaction with the request id (and the user, once authenticated).
    """
    state = request.app.state
    read = request.method in SAFE_METHODS
    factory = state.read_sessionmaker if read else state.sessionmaker
    with factory() as session:
        if not read:
            capture.enable(session, request_id=getattr(request.state, "request_id", None))
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def get_read_session(request: Request) -> Iterator[Session]:
    """A read-only session for any method, e.g. to check a password on POST without
    holding SQLite's write lock during the (deliberately slow) hash verification."""
    with request.app.state.read_sessionmaker() as session:
        try:
            yield session
        finally:
            session.rollback()


ReadSessionDep = Annotated[Session, Depends(get_read_session, scope="function")]
