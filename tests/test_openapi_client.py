"""A client generated from the live OpenAPI document works end to end (issue 21).

Other offices' systems integrate through clients generated from ``/openapi.json``. This
test does what an integrator does: starts the server (``chaintrack serve`` on 127.0.0.1
over a fresh database of the engine under test, built by the migrations, reference data
loaded), generates a Python client from the document the server publishes with
openapi-python-client, and fails on any warning the generator prints (a warning means a
model or an operation was dropped from the client). It then runs a month of the chain
office's work through the generated functions, every response parsed into the generated
models: sign in, register an enterprise, register it to a chain node, create a project,
submit a month of progress, read the chain report and the dashboard.
"""

from __future__ import annotations

import datetime as dt
import importlib
import os
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from sqlalchemy.orm import Session

from chaintrack.auth.passwords import Passwords
from chaintrack.history import office_today
from chaintrack.identifiers import make_uscc
from chaintrack.models import User
from chaintrack.models.enums import UserRole
from tests.conftest import TEST_PASSWORD, fresh_database, settings_for_tests
from tests.reliability.conftest import Server, prepared_engine

PACKAGE = "chaintrack_client"
USERNAME = "client-admin"


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """``chaintrack serve`` over a fresh, migrated database with one administrator."""
    tmp = tmp_path_factory.mktemp("openapi-server")
    with fresh_database(tmp) as url:
        engine = prepared_engine(url, demo=False)
        try:
            settings = settings_for_tests(url)
            with Session(engine) as session:
                session.add(
                    User(
                        username=USERNAME,
                        display_name="客户端测试管理员",
                        role=UserRole.ADMIN,
                        password_hash=Passwords.from_settings(settings).hash(TEST_PASSWORD),
                        is_active=True,
                        token_version=0,
                    )
                )
                session.commit()
        finally:
            engine.dispose()
        server = Server(url=url, log_path=tmp / "server.log").start()
        try:
            yield server
        finally:
            server.stop()


def _unload(package: str) -> None:
    for name in [m for m in sys.modules if m == package or m.startswith(f"{package}.")]:
        del sys.modules[name]


@pytest.fixture(scope="module")
def client_package(
    live_server: Server, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ModuleType]:
    """The client generated from the server's own document, imported."""
    out = tmp_path_factory.mktemp("openapi-client")
    document = out / "openapi.json"
    document.write_bytes(httpx.get(f"{live_server.base}/openapi.json").raise_for_status().content)
    # The generator formats its output with ruff (a test dependency) from PATH.
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "openapi_python_client",
            "generate",
            "--path",
            str(document),
            "--meta",
            "none",
            "--output-path",
            str(out / PACKAGE),
            "--fail-on-warning",
        ],
        cwd=out,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    printed = result.stdout + result.stderr
    assert result.returncode == 0, printed
    assert "warning" not in printed.lower(), printed
    assert "error" not in printed.lower(), printed
    _unload(PACKAGE)
    sys.path.insert(0, str(out))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(out))
        _unload(PACKAGE)


class Api:
    """The generated package's operations (``api.call("projects_create", ...)``) and models."""

    def __init__(self, package: ModuleType, base_url: str) -> None:
        self.package = package
        self.base_url = base_url
        self.models = importlib.import_module(f"{PACKAGE}.models")
        self.client: Any = package.Client(base_url=base_url, raise_on_unexpected_status=True)

    def sign_in(self, token: str) -> None:
        self.client = self.package.AuthenticatedClient(
            base_url=self.base_url, token=token, raise_on_unexpected_status=True
        )

    def call(self, operation_id: str, expect: str, status: int = 200, **kwargs: Any) -> Any:
        """Run an operation; the response must have ``status`` and parse as model ``expect``."""
        tag = operation_id.split("_", 1)[0]
        folder = f"{tag}_" if tag == "map" else tag  # the generator avoids the builtin's name
        module = importlib.import_module(f"{PACKAGE}.api.{folder}.{operation_id}")
        response = module.sync_detailed(client=self.client, **kwargs)
        assert response.status_code == status, response.content.decode(errors="replace")
        model = getattr(self.models, expect)
        assert isinstance(response.parsed, model), (operation_id, type(response.parsed))
        return response.parsed


def _previous_period() -> str:
    """Last month in the office's time zone: always reportable, never in the future."""
    return (office_today().replace(day=1) - dt.timedelta(days=1)).strftime("%Y-%m")


def test_generated_client_runs_a_month_of_work(client_package, live_server: Server) -> None:
    api = Api(client_package, live_server.base)
    m = api.models
    period = _previous_period()
    year = int(period[:4])

    token = api.call(
        "auth_login",
        "Token",
        body=m.BodyAuthLogin(username=USERNAME, password=TEST_PASSWORD),
    )
    api.sign_in(token.access_token)
    me = api.call("auth_me", "Me")
    assert me.username == USERNAME

    chain = api.call(
        "chains_create",
        "ChainOut",
        201,
        body=m.ChainCreate(code="OAPI", name_zh="客户端测试链", name_en="Client test chain"),
    )
    node = api.call(
        "map_create_node",
        "NodeOut",
        201,
        chain_id=chain.id,
        body=m.NodeCreate(
            code="UP-01",
            name_zh="关键零部件",
            kind=m.NodeKind("segment"),
            stage=m.Stage("upstream"),
        ),
    )

    uscc = make_uscc("91370600MA3C00001")
    enterprise = api.call(
        "enterprises_create",
        "EnterpriseDetail",
        201,
        body=m.EnterpriseCreate(uscc=uscc, name="示例精密机械有限公司", region_code="370600"),
    )
    assert enterprise.uscc == uscc

    membership = api.call(
        "memberships_create",
        "MembershipOut",
        201,
        chain_id=chain.id,
        body=m.MembershipCreate(
            enterprise_id=enterprise.id,
            node_id=node.id,
            role=m.MembershipRole("chain_master"),
            started_on=dt.date(year - 1, 1, 1),
        ),
    )
    assert isinstance(membership.chain, m.ChainRef)
    assert (membership.chain.code, membership.node.code) == ("OAPI", "UP-01")
    assert isinstance(membership.enterprise, m.EnterpriseSummary)

    project = api.call(
        "projects_create",
        "ProjectOut",
        201,
        body=m.ProjectCreate(
            chain_id=chain.id,
            name="高端数控机床产业化项目",
            type_=m.ProjectType("build"),
            region_code="370600",
            total_investment="5000.00",
            owner_enterprise_id=enterprise.id,
            target_node_ids=[node.id],
            planned_start=dt.date(year - 1, 1, 1),
            planned_completion=dt.date(year + 2, 12, 31),
            annual_plans=[m.AnnualPlanIn(year=year, planned_investment="3000.00")],
            status=m.ProjectStatus("under_construction"),
            status_date=dt.date(year - 1, 1, 1),
        ),
    )
    assert isinstance(project.chain, m.ChainRef) and project.chain.id == chain.id
    assert isinstance(project.owner, m.EnterpriseRef) and project.owner.uscc == uscc
    assert Decimal(project.total_investment) == Decimal("5000.00")

    progress = api.call(
        "progress_submit",
        "ProgressReportDetail",
        201,
        project_id=project.id,
        period=period,
        body=m.ProgressSubmit(investment_month="1250.50", physical_progress_pct="45.5"),
    )
    assert progress.period == period
    assert Decimal(progress.investment_month) == Decimal("1250.50")

    report = api.call("reports_chain", "ChainReport", chain_id=chain.id, period=period)
    assert report.meta.period == period
    assert isinstance(report.chain, m.ChainHeader) and report.chain.code == "OAPI"
    assert [master.uscc for master in report.chain_masters] == [uscc]
    investment = report.projects.investment
    assert isinstance(investment.completed_month, str)
    assert Decimal(investment.completed_month) == Decimal("1250.50")
    assert Decimal(investment.completed_year) == Decimal("1250.50")
    assert Decimal(investment.total_planned) == Decimal("5000.00")
    assert Decimal(investment.year_plan) == Decimal("3000.00")
    assert report.headline.projects == 1

    dashboard = api.call("reports_dashboard", "Dashboard", period=period)
    (row,) = [r for r in dashboard.rows if r.chain_id == chain.id]
    assert isinstance(row, m.DashboardRow)
    assert (row.chain_masters, row.projects) == (1, 1)
    assert Decimal(row.completed_month) == Decimal("1250.50")
    assert Decimal(dashboard.totals.completed_month) == Decimal("1250.50")


def test_generated_client_parses_problems(client_package, live_server: Server) -> None:
    """Errors come back as the generated ProblemDetail (RFC 9457), not as raw bytes."""
    api = Api(client_package, live_server.base)
    problem = api.call(
        "auth_login",
        "ProblemDetail",
        401,
        body=api.models.BodyAuthLogin(username=USERNAME, password="wrong password"),
    )
    assert problem.status == 401
