"""调度 in a real Chromium: the editor opens the month's round; a region-scoped reporter
submits; the editor returns it with a reason; the reporter resubmits; the editor
accepts; the chase list and the red list show what is left; a reporter outside the
region gets 403 and nothing is written."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from chaintrack import migrate
from chaintrack.api import create_app
from chaintrack.auth.passwords import Passwords
from chaintrack.db import make_engine
from chaintrack.history import office_today
from chaintrack.models import EditorAssignment, ProgressReport, ReporterScope, User
from chaintrack.models.enums import UserRole
from chaintrack.seeding.reference import load_reference
from tests.conftest import TEST_PASSWORD, fresh_database, settings_for_tests
from tests.factories import make_chain, make_project
from tests.web.test_web_browser import _free_port, browser, page  # noqa: F401
from tests.web.world import previous_month

pytestmark = pytest.mark.browser
PERIOD = previous_month(office_today())


class DispatchSite:
    def __init__(self, base: str, engine: Any, chain_id: int, laiwu: tuple[int, str]) -> None:
        self.base = base
        self.engine = engine
        self.chain_id = chain_id
        self.laiwu_id, self.laiwu_name = laiwu
        self.other_name = ""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DispatchSite]:
    import uvicorn

    with fresh_database(tmp_path_factory.mktemp("dispatch-db")) as url:
        engine = make_engine(url)
        migrate.upgrade(engine)
        settings = settings_for_tests(url)
        hashed = Passwords.from_settings(settings).hash(TEST_PASSWORD)
        with Session(engine) as s:
            load_reference(s)
            chain = make_chain(s, name_zh="调度测试链")
            # 莱芜 (371202) was merged into 济南 (3701) in 2019: the 济南 reporter's region.
            laiwu = make_project(s, chain, name="莱芜浏览器调度项目", region_code="371202")
            other = make_project(s, chain, name="烟台浏览器调度项目", region_code="370602")
            users = (
                ("editor", UserRole.EDITOR, None),
                ("jinan", UserRole.REPORTER, "370100"),
                ("yantai", UserRole.REPORTER, "370600"),
            )
            for name, role, region in users:
                user = User(
                    username=name,
                    display_name=name,
                    role=role,
                    password_hash=hashed,
                    is_active=True,
                    token_version=0,
                )
                s.add(user)
                s.flush()
                if region is None:
                    s.add(EditorAssignment(user_id=user.id, chain_id=chain.id))
                else:
                    s.add(ReporterScope(user_id=user.id, region_code=region))
            s.commit()
            out = (chain.id, (laiwu.id, laiwu.name), other.name)
        app = create_app(settings, engine=engine)
        port = _free_port()
        server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 30
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "server did not start"
            time.sleep(0.05)
        try:
            result = DispatchSite(f"http://127.0.0.1:{port}", engine, out[0], out[1])
            result.other_name = out[2]
            yield result
        finally:
            server.should_exit = True
            thread.join(timeout=10)
            engine.dispose()


def _as(pg: Any, site: DispatchSite, username: str) -> None:
    pg.context.clear_cookies()
    pg.goto(site.base + "/dispatch")
    assert "/login" in pg.url
    pg.fill("#f-username", username)
    pg.fill("#f-password", TEST_PASSWORD)
    pg.click("button[type=submit]:has-text('登录')")
    pg.wait_for_url(re.compile(re.escape(site.base) + "/dispatch$"))


def _reports(site: DispatchSite) -> int:
    with Session(site.engine) as s:
        return int(s.scalar(select(func.count()).select_from(ProgressReport)) or 0)


def test_the_round_in_a_browser(site: DispatchSite, page: Any) -> None:  # noqa: F811
    pg = page
    # the editor opens the month's round for the chain
    _as(pg, site, "editor")
    pg.fill("#r-period", PERIOD)
    pg.fill("#r-deadline", office_today().replace(day=1).isoformat())
    pg.check(f"input[name=chain_ids][value='{site.chain_id}']")
    pg.click("form[aria-label='开启调度轮次'] button[type=submit]")
    pg.wait_for_url(re.compile(r"/dispatch/rounds/\d+$"))
    round_url = pg.url
    assert PERIOD in pg.locator("h1").inner_text()

    # the 济南 reporter sees the 莱芜 project and submits; zero needs a confirmation
    _as(pg, site, "jinan")
    row = pg.locator(f"#h-mine ~ table tr[data-project='{site.laiwu_id}']")
    assert site.other_name not in pg.inner_text("section[aria-labelledby=h-mine]")
    row.locator("input[name=investment_month]").fill("0")
    row.locator("button:has-text('报送')").click()
    pg.wait_for_load_state("load")
    assert "确认提示" in pg.inner_text("[role=alert]")
    row = pg.locator(f"tr[data-project='{site.laiwu_id}']")
    row.locator("input[name=investment_month]").fill("0")
    row.locator("input[name=confirm_warnings]").check()
    row.locator("button:has-text('报送')").click()
    pg.wait_for_url(re.compile(r"/dispatch\?saved=1$"))
    assert "待审核" in pg.inner_text(f"tr[data-project='{site.laiwu_id}']")

    # the editor returns it with a reason
    _as(pg, site, "editor")
    row = pg.locator(f"#h-queue ~ table tr[data-project='{site.laiwu_id}']")
    assert "zero investment" in row.inner_text()
    row.locator("input[name=reason]").fill("投资额漏报")
    row.locator("button:has-text('退回')").click()
    pg.wait_for_url(re.compile(r"/dispatch$"))
    assert pg.locator(f"tr[data-project='{site.laiwu_id}']").count() == 0

    # the reporter sees it returned and resubmits
    _as(pg, site, "jinan")
    row = pg.locator(f"tr[data-project='{site.laiwu_id}']")
    assert "已退回" in row.inner_text()
    row.locator("input[name=investment_month]").fill("80")
    row.locator("button:has-text('报送')").click()
    pg.wait_for_url(re.compile(r"/dispatch\?saved=1$"))

    # the editor accepts the new revision
    _as(pg, site, "editor")
    row = pg.locator(f"#h-queue ~ table tr[data-project='{site.laiwu_id}']")
    row.locator("button:has-text('通过')").click()
    pg.wait_for_url(re.compile(r"/dispatch$"))
    assert pg.locator(f"tr[data-project='{site.laiwu_id}']").count() == 0

    # the chase list and the red list: only the 烟台 project is left to chase
    pg.goto(round_url)
    chase = pg.inner_text("#chase")
    assert site.other_name in chase and site.laiwu_name not in chase
    assert "未报送" in chase
    warnings = pg.inner_text("#warnings")
    assert site.other_name in warnings and "未报送" in warnings
    assert site.laiwu_name not in warnings
    with pg.expect_download() as download:
        pg.click("#chase-xlsx")
    assert download.value.suggested_filename.endswith(".xlsx")

    # the 烟台 reporter: the 莱芜 project is not theirs, and a forged form gets 403
    _as(pg, site, "yantai")
    assert site.laiwu_name not in pg.inner_text("main")
    before = _reports(site)
    with pg.expect_navigation() as nav:
        pg.evaluate(
            """([url, period]) => {
                const token = document.querySelector('input[name=csrf_token]').value;
                const f = document.createElement('form');
                f.method = 'post'; f.action = url;
                for (const [k, v] of [['csrf_token', token], ['period', period],
                                      ['investment_month', '5']]) {
                    const i = document.createElement('input');
                    i.type = 'hidden'; i.name = k; i.value = v; f.appendChild(i);
                }
                document.body.appendChild(f); f.submit();
            }""",
            [f"/dispatch/projects/{site.laiwu_id}/report", PERIOD],
        )
    assert nav.value.status == 403
    assert _reports(site) == before
