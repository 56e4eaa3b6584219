"""考核 in a real Chromium: set a scheme and a target, record data, score, read the
ranking and the breakdown, then add a chain's annual task and mark it done."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from chaintrack import migrate
from chaintrack.api import create_app
from chaintrack.auth.passwords import Passwords
from chaintrack.db import make_engine
from chaintrack.history import office_today
from chaintrack.models import Chain, User
from chaintrack.models.enums import UserRole
from chaintrack.seeding.reference import load_reference
from tests.conftest import TEST_PASSWORD, fresh_database, settings_for_tests
from tests.factories import make_chain, make_project, make_report
from tests.web.test_web_browser import _free_port, browser, page, shot  # noqa: F401

pytestmark = pytest.mark.browser
YEAR = office_today().year


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int, str]]:
    import uvicorn

    with fresh_database(tmp_path_factory.mktemp("assessment-db")) as url:
        engine = make_engine(url)
        migrate.upgrade(engine)
        settings = settings_for_tests(url)
        with Session(engine) as s:
            load_reference(s)
            s.add(
                User(
                    username="office",
                    display_name="考核办",
                    role=UserRole.ADMIN,
                    password_hash=Passwords.from_settings(settings).hash(TEST_PASSWORD),
                    is_active=True,
                    token_version=0,
                )
            )
            # the recorded data the scores read (existing factories)
            chain = make_chain(s, name_zh="浏览器测试链")
            make_chain(s, name_zh="对照链")
            project = make_project(s, chain)
            make_report(s, project, f"{YEAR}-01", investment_month=Decimal("600"))
            s.commit()
            chain_id = s.scalars(select(Chain.id).where(Chain.id == chain.id)).one()
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
            yield f"http://127.0.0.1:{port}", chain_id, "浏览器测试链"
        finally:
            server.should_exit = True
            thread.join(timeout=10)
            engine.dispose()


def test_score_the_chains_and_keep_a_task_list(site: tuple[str, int, str], page: Any) -> None:  # noqa: F811
    base, chain_id, chain_name = site
    pg = page
    pg.goto(base + "/assessment")
    pg.fill("#f-username", "office")
    pg.fill("#f-password", TEST_PASSWORD)
    pg.click("button[type=submit]:has-text('登录')")
    pg.wait_for_url(re.compile(re.escape(base) + "/assessment$"))
    assert "尚无已发布的考核方案" in pg.inner_text("#scores")

    # a scheme whose weights do not add up is refused in place, then corrected and published
    pg.click("#schemes summary")
    pg.fill("#f-name", f"{YEAR}年产业链考核办法")
    pg.fill("#w-INV", "60")
    pg.fill("#p-INV", "1.2")
    pg.fill("#w-PRJ_START", "30")
    pg.select_option("#r-PRJ_START", "per_item")
    pg.fill("#p-PRJ_START", "10/30")
    pg.check("#f-publish")
    pg.click("#scheme-form button[type=submit]")
    assert "权重合计 90" in pg.inner_text("#scheme-errors")
    pg.fill("#w-PRJ_START", "40")
    pg.check("#f-publish")
    pg.click("#scheme-form button[type=submit]")
    pg.wait_for_selector("#ranking")

    # a target for the chain
    pg.select_option("#t-subject", f"chain:{chain_id}")
    pg.select_option("#t-indicator", "INV")
    pg.fill("#t-value", "1000")
    pg.click("#target-form button[type=submit]")
    pg.wait_for_selector("#ranking")

    # the ranking: 600 of 1000 under a linear rule of weight 60 gives 36.00 points
    first = pg.locator("#ranking tbody tr").first
    assert chain_name in first.inner_text()
    assert "36.00" in first.inner_text()
    pg.click("#breakdown-1 summary")
    breakdown = pg.inner_text("#breakdown-1")
    assert "600.0000" in breakdown and "1000.0000" in breakdown and "0.6000" in breakdown
    pg.wait_for_selector("#scores .chart svg")
    shot(pg, "20-assessment")
    with pg.expect_download() as download:
        pg.click("#scores-xlsx")
    assert download.value.suggested_filename.endswith(".xlsx")

    # correct the target in its row (If-Match from the page), enter a figure with its
    # source for a city from the reference regions, a deduction, then delete the figure
    row = pg.locator("#target-table tbody tr").first
    row.locator("input[name=value]").fill("1200")
    row.locator("button:has-text('改')").click()
    pg.wait_for_selector("#ranking")
    assert "1200" in pg.inner_text("#target-table")
    assert "30.00" in pg.locator("#ranking tbody tr").first.inner_text()  # 600/1200 × 60
    pg.select_option("#g-subject", "city:370600")
    assert pg.locator("#g-subject option:has-text('烟台市')").count() == 1
    pg.fill("#g-value", "88")
    pg.click("#figure-form button[type=submit]")
    assert "来源：" in pg.inner_text("#figures-error")
    pg.fill("#g-value", "88")
    pg.fill("#g-source", "烟台市统计局")
    pg.click("#figure-form button[type=submit]")
    pg.wait_for_selector("#figure-table:has-text('烟台市统计局')")
    pg.select_option("#j-subject", f"chain:{chain_id}")
    pg.fill("#j-points", "-2")
    pg.fill("#j-reason", "调度迟报")
    pg.fill("#j-decided_on", office_today().isoformat())
    pg.click("#adjustment-form button[type=submit]")
    pg.wait_for_selector("#adjustment-table:has-text('调度迟报')")
    assert "28.00" in pg.locator("#ranking tbody tr").first.inner_text()
    pg.locator("#figure-table tbody tr").first.locator("button:has-text('删除')").click()
    pg.wait_for_selector("#figure-table:has-text('暂无填报数据')")
    shot(pg, "22-assessment-inputs")

    # the chain's annual task list: add a task, record it done
    pg.goto(f"{base}/chains/{chain_id}/tasks")
    pg.click("#new-task summary")
    pg.fill("#f-title", "引进补链项目2个")
    pg.fill("#f-owner_unit", "市工信局")
    pg.fill("#f-deadline", f"{YEAR}-12-31")
    pg.click("#new-task button[type=submit]")
    row = pg.locator("#tasks tbody tr").first
    assert "引进补链项目2个" in row.inner_text()
    assert row.locator(".status").inner_text() == "未开始"
    row.locator("input[name=text]").fill("协议已签订")
    row.locator("select[name=status]").select_option("done")
    row.locator("button:has-text('记录进展')").click()
    pg.wait_for_load_state("load")
    row = pg.locator("#tasks tbody tr").first
    assert row.locator(".status").inner_text() == "已完成"
    assert "协议已签订" in row.inner_text()

    # edit the task: owner and evidence text
    row.locator(".task-edit summary").click()
    row.locator("input[name=owner_person]").fill("王五")
    row.locator("input[name=evidence]").fill("签约协议")
    row.locator("button:has-text('保存修改')").click()
    pg.wait_for_load_state("load")
    row = pg.locator("#tasks tbody tr").first
    assert "王五" in row.inner_text()
    shot(pg, "21-annual-tasks")
