"""Schema-driven fuzzing: every operation of the app's own OpenAPI document.

Schemathesis generates requests from the schema, positive (valid by the schema)
and negative (violating it), and sends them through the ASGI app, signed in as an
administrator, against a dedicated migrated database with the demonstration data
(so ids exist and writes land). Every response must:

- not be a server error (no 5xx);
- have a documented status code, content type and headers;
- match the documented schema for that status (problems included);
- reject schema-violating input with a 4xx (no silent coercion).

The CI run is short (``CHAINTRACK_FUZZ_EXAMPLES``, default 6 per operation); a long
run draws new random cases each time (``CHAINTRACK_FUZZ_RANDOM=1``; CI's are fixed)::

    CHAINTRACK_FUZZ_EXAMPLES=200 CHAINTRACK_FUZZ_RANDOM=1 \\
        .venv/bin/pytest -m reliability tests/reliability/test_fuzz.py

and the same with ``CHAINTRACK_TEST_DATABASE_URL=postgresql+psycopg://...`` for PostgreSQL.

Failures are reported per operation, with a curl command that reproduces them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import checks as st_checks
from schemathesis.generation import GenerationMode
from sqlalchemy import Engine, update
from sqlalchemy.orm import Session

from chaintrack.api import create_app
from chaintrack.db import make_engine
from chaintrack.models import User
from chaintrack.models.enums import UserRole
from tests.conftest import fresh_database, settings_for_tests
from tests.reliability.conftest import ensure_admin, prepared_engine

pytestmark = pytest.mark.reliability  # not in the default run: pytest -m '' runs it

EXAMPLES = int(os.environ.get("CHAINTRACK_FUZZ_EXAMPLES", "6"))

CHECKS = [
    st_checks.not_a_server_error,
    st_checks.status_code_conformance,
    st_checks.content_type_conformance,
    st_checks.response_headers_conformance,
    st_checks.response_schema_conformance,
    st_checks.negative_data_rejection,
]


class FuzzTarget:
    """The app over its own database, and a signed-in administrator that stays one."""

    def __init__(self, engine: Engine, url: str) -> None:
        self.engine = engine
        self.settings = settings_for_tests(url)
        self.app = create_app(self.settings, engine=engine)
        self.admin_id = ensure_admin(engine)

    def headers(self) -> dict[str, str]:
        """A fresh token for the administrator, re-activated if a fuzzed request
        deactivated, demoted or signed them out (PATCH /users/{id}, passwords)."""
        with Session(self.engine) as s:
            user = s.get(User, self.admin_id)
            assert user is not None
            if not user.is_active or user.role is not UserRole.ADMIN:
                s.execute(
                    update(User)
                    .where(User.id == self.admin_id)
                    .values(is_active=True, role=UserRole.ADMIN)
                )
                s.commit()
            token = self.app.state.auth.tokens.issue(user.id, user.token_version)
        return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def fuzz_target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FuzzTarget]:
    tmp: Path = tmp_path_factory.mktemp("fuzz")
    with fresh_database(tmp) as url:
        engine = prepared_engine(url)
        try:
            yield FuzzTarget(engine, url)
        finally:
            engine.dispose()


def _document() -> dict:
    """The app's OpenAPI document (it does not depend on the database's contents)."""
    url = "sqlite://"
    return create_app(settings_for_tests(url), engine=make_engine(url)).openapi()


schema = schemathesis.openapi.from_dict(_document())
schema.config.generation.update(
    modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE], max_examples=EXAMPLES
)


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
    derandomize=os.environ.get("CHAINTRACK_FUZZ_RANDOM") != "1",
)
def test_every_operation(case, fuzz_target: FuzzTarget) -> None:
    case.call_and_validate(app=fuzz_target.app, headers=fuzz_target.headers(), checks=CHECKS)
