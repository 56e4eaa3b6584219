"""The web import page takes the API's path: the file is read and checked in a read
session (no write lock while it parses), a commit writes in a session of its own.
Forced with events as in tests/test_imports_locking.py, on a committed database."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from chaintrack.models import AuditRecord, Enterprise
from chaintrack.web.session import CSRF_COOKIE, CSRF_FIELD
from tests.reliability.conftest import token_for_url
from tests.test_imports_locking import (  # noqa: F401  (fixtures)
    WAIT_S,
    _count,
    _file,
    _new_enterprise,
    app_with_busy_timeout,
    committed,
    pause_reading,
)

CSRF = "web-import-lock-csrf-0123456789abcdef"


@pytest.mark.parametrize("mode", ["dry_run", "commit"])
def test_page_writers_go_on_while_the_import_page_reads_its_file(
    committed,  # noqa: F811
    app_with_busy_timeout,  # noqa: F811
    pause_reading,  # noqa: F811
    mode,
):
    engine, url = committed
    paused, resume = pause_reading
    app = app_with_busy_timeout(2000)
    headers = {"Authorization": f"Bearer {token_for_url(engine, url)}"}
    out: dict[str, Any] = {}
    with TestClient(app, headers=headers) as client:
        client.cookies.set(CSRF_COOKIE, CSRF)

        def upload() -> None:
            out["r"] = client.post(
                "/imports/register",
                data={"entity": "enterprises", "mode": mode, CSRF_FIELD: CSRF},
                files={"file": ("slow.csv", _file(7, 20))},
                follow_redirects=False,
            )

        thread = threading.Thread(target=upload)
        thread.start()
        try:
            assert paused.wait(WAIT_S), "the import never started reading"
            during = [
                client.post(
                    "/enterprises/new",
                    data={**_new_enterprise(n), CSRF_FIELD: CSRF},
                    follow_redirects=False,
                )
                for n in (11, 12)
            ]
        finally:
            resume.set()
            thread.join(WAIT_S)
    assert [r.status_code for r in during] == [303, 303], [r.text[:300] for r in during]
    page = out["r"]
    assert page.status_code == 200, page.text[:800]
    expected = 20 if mode == "commit" else 0
    assert _count(engine, Enterprise, Enterprise.name.like("锁测试企业7-%")) == expected
    if mode == "commit":
        # the commit's own session is audited under the signed-in user
        from sqlalchemy.orm import Session

        with Session(engine) as session:
            users = session.scalars(
                select(AuditRecord.user_id).where(AuditRecord.entity == "enterprises")
            ).all()
        assert len(users) == 22 and len(set(users)) == 1 and None not in users
