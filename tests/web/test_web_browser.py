"""The pages in a real Chromium (Debian's /usr/bin/chromium, driven by Playwright).

A uvicorn server is started on a free loopback port over a fresh database built by the
migrations (the engine under test: SQLite, or PostgreSQL with
CHAINTRACK_TEST_DATABASE_URL), with the reference and demonstration data. The scenario
is the clerk's month; screenshots of the main pages (1366x768) go to docs/screenshots/.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from chaintrack import migrate
from chaintrack.api import create_app
from chaintrack.auth.passwords import Passwords
from chaintrack.db import make_engine
from chaintrack.history import office_today
from chaintrack.identifiers import make_uscc
from chaintrack.models import Chain, EditorAssignment, MapNode, User
from chaintrack.models.enums import UserRole
from chaintrack.seeding.demo import load_demo
from chaintrack.seeding.reference import load_reference
from tests.conftest import TEST_PASSWORD, fresh_database, settings_for_tests

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
# Test artefacts; the README's pictures are made with
# CHAINTRACK_SCREENSHOT_DIR=docs/screenshots pytest -m browser
SCREENSHOTS = ROOT / os.environ.get("CHAINTRACK_SCREENSHOT_DIR", "var/screenshots")
pytestmark = pytest.mark.browser

if not CHROMIUM.exists() and os.environ.get("CI") == "true":
    # .ci/run installs it: on CI a missing browser is a failure, not a skip.
    raise RuntimeError("CI: /usr/bin/chromium is missing, the browser tests cannot run")
if not CHROMIUM.exists():
    pytest.skip(
        "browser tests need Chromium at /usr/bin/chromium: install it with "
        "`sudo apt-get update && sudo apt-get install -y chromium` (Debian/Ubuntu); "
        "never `playwright install`",
        allow_module_level=True,
    )
sync_api = pytest.importorskip("playwright.sync_api", reason="pip install -e '.[test]'")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _months_back(day: dt.date, n: int) -> str:
    year, month = day.year, day.month - n
    while month < 1:
        month += 12
        year -= 1
    return f"{year:04d}-{month:02d}"


class Site:
    def __init__(self, base: str, chain_id: int, chain_code: str, node_id: int) -> None:
        self.base = base
        self.chain_id = chain_id
        self.chain_code = chain_code
        self.node_id = node_id


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    import uvicorn

    with fresh_database(tmp_path_factory.mktemp("browser-db")) as url:
        engine = make_engine(url)
        migrate.upgrade(engine)
        settings = settings_for_tests(url)
        hashed = Passwords.from_settings(settings).hash(TEST_PASSWORD)
        with Session(engine) as s:
            load_reference(s)
            load_demo(s)
            # the demo chain with a map; a node on it that is a leaf of the picture
            node = s.scalars(select(MapNode).order_by(MapNode.chain_id, MapNode.id)).first()
            assert node is not None
            chain = s.get(Chain, node.chain_id)
            assert chain is not None
            for name, role in (
                ("clerk", UserRole.EDITOR),
                ("leader", UserRole.VIEWER),
                ("boss", UserRole.ADMIN),
            ):
                user = User(
                    username=name,
                    display_name={"clerk": "王文员", "leader": "李链长", "boss": "赵处长"}[name],
                    role=role,
                    password_hash=hashed,
                    is_active=True,
                    token_version=0,
                )
                s.add(user)
                s.flush()
                if role is UserRole.EDITOR:
                    s.add(EditorAssignment(user_id=user.id, chain_id=chain.id))
            ids = (chain.id, chain.code, node.id)
            s.commit()
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
            yield Site(f"http://127.0.0.1:{port}", *ids)
        finally:
            server.should_exit = True
            thread.join(timeout=10)
            engine.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox", "--lang=zh-CN"])
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
    pg = context.new_page()
    pg.set_default_timeout(15_000)
    try:
        yield pg
    finally:
        context.close()


def shot(pg: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    pg.wait_for_load_state("networkidle")
    pg.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


def sign_in(pg: Any, site: Site, username: str, wanted: str = "/") -> None:
    pg.goto(site.base + wanted)
    assert "/login" in pg.url
    pg.fill("#f-username", username)
    pg.fill("#f-password", TEST_PASSWORD)
    pg.click("button[type=submit]:has-text('登录')")
    pg.wait_for_url(re.compile(re.escape(site.base + wanted) + r"$"))


def _wrong_check(code: str) -> str:
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    return code[:-1] + alphabet[(alphabet.index(code[-1]) + 1) % len(alphabet)]


def _report_month_figure(pg: Any, site: Site, period: str) -> str:
    pg.goto(f"{site.base}/chains/{site.chain_id}/report?period={period}")
    return str(pg.inner_text("#completed-month")).strip()


def test_the_clerks_month(site: Site, page: Any, tmp_path: Path) -> None:
    pg = page
    pg.goto(site.base + "/login")
    shot(pg, "01-login")
    sign_in(pg, site, "clerk", "/overview")
    shot(pg, "03-overview")
    pg.goto(site.base + "/")
    assert pg.locator("h1").inner_text() == "工作台"
    shot(pg, "02-home")

    # register an enterprise: a wrong check character is shown in place, then the right one
    good = make_uscc("91370600MA3" + "BR0W5E")
    pg.goto(site.base + "/enterprises/new")
    pg.fill("#f-uscc", _wrong_check(good))
    pg.wait_for_selector("#uscc-check.bad")  # the live check as the clerk types
    pg.fill("#f-name", "烟台浏览器测试新材料有限公司")
    pg.fill("#f-region_code", "370600")
    pg.click("button:has-text('保存')")
    error = pg.locator("#e-uscc")
    assert "校验" in error.inner_text()
    assert pg.input_value("#f-name") == "烟台浏览器测试新材料有限公司"
    pg.fill("#f-uscc", good)
    pg.wait_for_selector("#uscc-check.ok")
    pg.click("button:has-text('保存')")
    pg.wait_for_url(re.compile(r"/enterprises/\d+\?saved=1$"))
    assert good in pg.content()

    # put it on a map node: from the map picture's node panel
    pg.goto(f"{site.base}/chains/{site.chain_id}/map")
    shot(pg, "04-chain-map")
    pg.click(f"#node-{site.node_id}")
    pg.wait_for_selector("#node-panel h2")
    pg.click("#node-panel a:has-text('登记企业到此节点')")
    pg.fill("#f-uscc", good)
    pg.select_option("#f-role", "supporting")
    pg.click("#add-member button:has-text('登记')")
    pg.wait_for_load_state()
    pg.wait_for_url(re.compile(r"/enterprises\?saved=1$"))
    assert "烟台浏览器测试新材料有限公司" in pg.content()

    # a fill-chain project on that node
    pg.goto(f"{site.base}/chains/{site.chain_id}/projects")
    pg.click("#new-project summary")
    pg.fill("#f-name", "浏览器补链项目")
    pg.select_option("#f-type", "fill")
    pg.select_option("#f-status", "under_construction")
    pg.fill("#f-region_code", "370600")
    pg.fill("#f-total_investment", "20000")
    pg.fill("#f-owner_uscc", good)
    pg.select_option("#f-target_node_ids", [str(site.node_id)])
    pg.click("#new-project button[type=submit]")
    pg.wait_for_url(re.compile(r"/projects/\d+\?saved=1$"))
    project_url = pg.url.split("?")[0]

    # two months, then a correction of the later one
    today = office_today()
    first, second = _months_back(today, 2), _months_back(today, 1)
    for month, amount in ((first, "300"), (second, "500")):
        pg.fill("#submit-month #f-period", month)
        pg.fill("#submit-month #f-investment_month", amount)
        pg.click("#submit-month button[type=submit]")
        pg.wait_for_url(re.compile(r"\?saved=1#progress$"))
    rows = pg.locator("#progress-table tbody tr")
    assert rows.count() == 2
    before = _report_month_figure(pg, site, second)

    pg.goto(project_url)
    shot(pg, "06-project")
    pg.click(f"#progress-table tr[data-period='{second}'] a:has-text('更正')")
    pg.fill("#correct #f-investment_month", "800")
    pg.click("#correct button[type=submit]")  # no reason: refused in place
    assert "必填" in pg.locator("#correct #e-correction_reason").inner_text() or (
        pg.locator("#correct .has-error").count() > 0
    )
    pg.fill("#correct #f-correction_reason", "财务核对后更正")
    pg.fill("#correct #f-investment_month", "800")
    pg.click("#correct button[type=submit]")
    pg.wait_for_url(re.compile(r"\?saved=1#progress$"))
    assert "第2版" in pg.inner_text(f"#progress-table tr[data-period='{second}']")

    after = _report_month_figure(pg, site, second)
    assert before != after
    assert float(after.replace(",", "")) - float(before.replace(",", "")) == pytest.approx(300)
    shot(pg, "05-chain-report")

    # an import with two bad rows, highlighted; fixed; committed
    bad_csv = tmp_path / "企业.csv"
    ok = [make_uscc(f"91370100MA3BRW{n:03d}") for n in range(3)]
    lines = ["统一社会信用代码,企业名称,所在地区代码"]
    lines += [f"{ok[0]},导入测试甲有限公司,370100"]
    lines += [f"{_wrong_check(ok[1])},导入测试乙有限公司,370100"]
    lines += [f"{ok[2]},导入测试丙有限公司,99999X"]
    bad_csv.write_text("\n".join(lines) + "\n", encoding="utf-8-sig")
    pg.goto(site.base + "/imports")
    pg.select_option("#f-entity-r", "enterprises")
    pg.set_input_files("#f-file-r", str(bad_csv))
    pg.click("form[action='/imports/register'] button[type=submit]")
    pg.wait_for_selector("#dry-run")
    assert pg.inner_text("#error-rows") == "2"
    assert pg.locator("#dry-run td.bad").count() >= 2
    assert pg.locator("#dry-run tr.bad-row").count() == 2
    pg.locator("#import-result").scroll_into_view_if_needed()
    pg.evaluate("document.getElementById('import-result').scrollIntoView()")
    shot(pg, "07-import-dry-run")
    fixed = tmp_path / "企业-改.csv"
    lines[2] = f"{ok[1]},导入测试乙有限公司,370100"
    lines[3] = f"{ok[2]},导入测试丙有限公司,370100"
    fixed.write_text("\n".join(lines) + "\n", encoding="utf-8-sig")
    pg.set_input_files("#f-file-r", str(fixed))
    pg.click("form[action='/imports/register'] button[type=submit]")
    pg.wait_for_selector("button:has-text('确认导入')")
    assert pg.inner_text("#error-rows") == "0"
    pg.click("button:has-text('确认导入')")
    pg.wait_for_selector("text=已写入数据库")
    pg.goto(site.base + "/enterprises?q=导入测试")
    assert pg.locator("tbody tr").count() == 3
    shot(pg, "08-enterprises")
    pg.click("button:has-text('退出')")
    pg.wait_for_url(re.compile(r"/login$"))


def test_a_viewer_finds_no_edit_control_and_is_refused(site: Site, page: Any) -> None:
    pg = page
    sign_in(pg, site, "leader")
    for url in (
        f"/chains/{site.chain_id}/map",
        f"/chains/{site.chain_id}/projects",
        f"/chains/{site.chain_id}/enterprises",
        f"/chains/{site.chain_id}/lists",
        "/enterprises",
        "/imports",
    ):
        pg.goto(site.base + url)
        forms = pg.locator("form[method=post]")
        actions = [forms.nth(i).get_attribute("action") for i in range(forms.count())]
        assert actions == ["/logout"], (url, actions)
    pg.goto(f"{site.base}/chains/{site.chain_id}/map")
    pg.click(f"#node-{site.node_id}")
    pg.wait_for_selector("#node-panel h2")
    assert pg.locator("#node-panel form").count() == 0
    token = pg.get_attribute("form[action='/logout'] input[name=csrf_token]", "value")
    forged = pg.request.post(
        f"{site.base}/chains/{site.chain_id}/nodes",
        form={
            "csrf_token": token,
            "code": "FORGED",
            "name_zh": "伪造",
            "kind": "segment",
            "stage": "upstream",
        },
        max_redirects=0,
    )
    assert forged.status == 403 and "没有权限" in forged.text()


def test_a_post_without_the_csrf_token_is_refused(site: Site, page: Any) -> None:
    pg = page
    sign_in(pg, site, "clerk")
    r = pg.request.post(
        f"{site.base}/chains/{site.chain_id}/nodes",
        form={"code": "NOCSRF", "name_zh": "无令牌", "kind": "segment", "stage": "upstream"},
        max_redirects=0,
    )
    assert r.status == 403 and "CSRF" in r.text()
    # the form in the page carries it, and works
    pg.goto(f"{site.base}/chains/{site.chain_id}/map")
    assert pg.locator("form[action$='/nodes'] input[name=csrf_token]").count() == 1
    assert shutil.which(str(CHROMIUM))


# --- the problem loop (issue 17) ------------------------------------------------------------


def _take_step(pg: Any, action: str, fields: dict[str, str] | None = None) -> None:
    pg.click(f"#step-{action} summary")
    for selector, value in (fields or {}).items():
        if selector.startswith("select:"):
            pg.select_option(f"#step-{action} {selector[7:]}", value)
        else:
            pg.fill(f"#step-{action} {selector}", value)
    pg.click(f"#step-{action} button[type=submit]")
    pg.wait_for_url(re.compile(r"/problems/\d+\?saved=1$"))


def test_a_problem_from_raised_to_satisfied(site: Site, page: Any) -> None:
    pg = page
    sign_in(pg, site, "clerk", f"/chains/{site.chain_id}/projects")
    pg.click("#raise-problem-link")
    pg.wait_for_url(re.compile(r"/problems/new\?chain_id=\d+$"))
    pg.select_option("#f-category", "energy")
    pg.click("#raise-problem button[type=submit]")  # no description: refused in place
    assert "必填" in pg.inner_text("#e-description")
    pg.fill("#f-description", "能耗指标不足，二期无法投产")
    pg.click("#raise-problem button[type=submit]")
    pg.wait_for_url(re.compile(r"/problems/\d+\?saved=1$"))
    url = pg.url.split("?")[0]
    assert pg.inner_text("#problem-state") == "待受理"

    _take_step(pg, "accept", {"input[name=note]": "县级受理"})
    assert pg.inner_text("#problem-state") == "办理中"
    _take_step(pg, "escalate", {"input[name=responsible_unit]": "市发展改革委"})
    assert pg.inner_text("#problem-level") == "市级"
    assert pg.inner_text("#problem-state") == "待受理"
    _take_step(pg, "accept")
    _take_step(pg, "handle", {"textarea[name=resolution]": "调剂能耗指标"})
    assert pg.inner_text("#problem-state").startswith("已办结")
    _take_step(pg, "rate", {"select:select[name=satisfaction]": "unsatisfied"})
    assert pg.inner_text("#problem-state") == "办理中"  # 不满意 reopens it
    _take_step(pg, "handle", {"textarea[name=resolution]": "追加指标已下达"})
    _take_step(pg, "rate", {"select:select[name=satisfaction]": "satisfied"})
    assert pg.inner_text("#problem-state") == "已评价（满意）"
    assert pg.locator("#actions").count() == 0
    steps = pg.locator("#timeline li")
    assert steps.count() == 8
    assert "市级" in steps.nth(2).inner_text()
    shot(pg, "10-problem")
    pg.goto(f"{site.base}/problems?chain_id={site.chain_id}")
    assert "能耗指标不足" in pg.inner_text("#problem-list")

    # the viewer: the page without a button, a forged step refused
    pg.context.clear_cookies()
    sign_in(pg, site, "leader", url.removeprefix(site.base))
    forms = pg.locator("form[method=post]")
    assert [forms.nth(i).get_attribute("action") for i in range(forms.count())] == ["/logout"]
    token = pg.get_attribute("form[action='/logout'] input[name=csrf_token]", "value")
    problem_id = url.rsplit("/", 1)[1]
    forged = pg.request.post(
        f"{site.base}/problems/{problem_id}/escalate",
        form={"csrf_token": token, "etag": '"1"'},
        max_redirects=0,
    )
    assert forged.status == 403 and "没有权限" in forged.text()


# --- 招商 (issue 18): a lead on a gap through the pipeline to a landed project ----------


def _attraction_figure(pg: Any, site: Site, which: str) -> str:
    pg.goto(f"{site.base}/attraction?chain_id={site.chain_id}")
    return str(pg.inner_text(f"#fig-{which}")).strip()


def test_a_lead_on_a_gap_lands_as_enterprise_and_project(site: Site, page: Any) -> None:
    pg = page
    sign_in(pg, site, "clerk", "/attraction")
    signed_before = _attraction_figure(pg, site, "signed")
    received_before = _attraction_figure(pg, site, "received")

    # from the map picture: a missing node's panel offers a new lead on it
    pg.goto(f"{site.base}/chains/{site.chain_id}/map")
    gap = pg.locator("button.node.missing").first
    gap_id = str(gap.get_attribute("id")).removeprefix("node-")
    gap.click()
    pg.wait_for_selector("#node-leads")
    pg.click("#node-leads a:has-text('新建招商线索')")
    assert pg.is_checked(f"input[name=node_ids][value='{gap_id}']")
    pg.fill("#f-company_name", "浏览器招商精密部件有限公司")
    pg.select_option("#f-source", "expo")
    pg.fill("#f-intended_investment", "12000")
    pg.fill("#f-responsible_unit", "烟台市商务局")
    pg.fill("#f-responsible_person", "王文员")
    pg.click("button:has-text('登记线索')")
    # no USCC and no origin: the error is shown beside the field, nothing is lost
    assert "来源国家或省份" in pg.inner_text("#e-origin")
    assert pg.input_value("#f-company_name") == "浏览器招商精密部件有限公司"
    pg.fill("#f-origin", "德国")
    pg.click("button:has-text('登记线索')")
    pg.wait_for_url(re.compile(r"/attraction/leads/\d+\?saved=1$"))
    lead_url = pg.url.split("?")[0]

    # the edit form (wave 3): the figure changes, the nodes stay checked
    pg.click("#edit-lead")
    assert pg.is_checked(f"input[name=node_ids][value='{gap_id}']")
    pg.fill("#f-intended_investment", "16000")
    pg.click("button:has-text('保存修改')")
    pg.wait_for_url(re.compile(r"/attraction/leads/\d+\?saved=1$"))
    assert "16,000.00" in pg.content()

    # along the pipeline with the next-stage buttons
    for stage in ("接洽", "考察", "洽谈"):
        pg.fill("#timeline input[name=summary]", f"{stage}情况")
        pg.click(f"#timeline button:has-text('推进到“{stage}”')")
        pg.wait_for_url(re.compile(r"saved=1#timeline$"))
        assert pg.inner_text("#lead-stage") == stage
    pg.fill("#timeline input[name=summary]", "签订投资协议")
    pg.fill("#timeline input[name=signed_amount]", "10000")
    pg.click("#timeline button:has-text('推进到“签约”')")
    pg.wait_for_url(re.compile(r"saved=1#timeline$"))
    assert pg.inner_text("#lead-stage") == "签约"

    today = office_today()
    pg.fill("#funds input[name=period]", f"{today.year:04d}-{today.month:02d}")
    pg.fill("#funds input[name=amount]", "2500")
    pg.click("#funds button:has-text('登记')")
    pg.wait_for_url(re.compile(r"saved=1#funds$"))
    assert "2,500.00" in pg.inner_text("#lead-received")

    # 落地: the conversion form is prefilled from the lead
    assert pg.input_value("#land input[name=project_name]") == "浏览器招商精密部件有限公司补链项目"
    assert pg.input_value("#land input[name=total_investment]").startswith("10000")
    uscc = make_uscc("91370600MA3" + "ATTR18")
    pg.fill("#land input[name=uscc]", uscc)
    pg.fill("#land input[name=region_code]", "370600")
    shot(pg, "12-attraction-lead")
    pg.click("#land button:has-text('落地并登记')")
    pg.wait_for_url(re.compile(r"/attraction/leads/\d+\?saved=1$"))
    assert pg.inner_text("#lead-stage") == "落地（注册）"
    assert "浏览器招商精密部件有限公司补链项目" in pg.inner_text("#conversion")

    # visible on the chain's pages: the project on its tab, the enterprise on the chain
    pg.goto(f"{site.base}/chains/{site.chain_id}/projects")
    assert "浏览器招商精密部件有限公司补链项目" in pg.content()
    # the landed project links back to its lead (wave 3)
    pg.click("a:has-text('浏览器招商精密部件有限公司补链项目')")
    pg.click("#from-lead")
    assert pg.url.split("?")[0] == lead_url
    pg.goto(f"{site.base}/chains/{site.chain_id}/enterprises")
    assert "浏览器招商精密部件有限公司" in pg.content()
    pg.goto(f"{site.base}/chains/{site.chain_id}/map?node={gap_id}")
    assert "浏览器招商精密部件有限公司补链项目" in pg.inner_text("#node-panel")

    # and the chain's attraction figures moved by the signed amount and the funds
    assert _attraction_figure(pg, site, "signed") != signed_before
    assert _attraction_figure(pg, site, "received") != received_before
    assert _attraction_figure(pg, site, "received") == "2,500.00"
    shot(pg, "13-attraction")
    assert lead_url


def test_an_administrator_creates_an_editor_and_assigns_a_chain(site: Site, page: Any) -> None:
    pg = page
    sign_in(pg, site, "boss", "/admin/users")
    pg.click("#new-user summary")
    pg.fill("#f-username", "zhou.min")
    pg.fill("#f-display_name", "周敏")
    pg.select_option("#f-role", "editor")
    pg.fill("#f-password", "short")
    pg.click("button:has-text('新增用户')")
    assert "至少" in pg.inner_text("#e-password")
    assert pg.input_value("#f-display_name") == "周敏"
    pg.fill("#f-password", "a long enough password")
    pg.click("button:has-text('新增用户')")
    pg.wait_for_url(re.compile(r"/admin/users/\d+$"))
    assert "周敏" in pg.inner_text("h2")
    pg.select_option("#f-chain_id", str(site.chain_id))
    pg.click("button:has-text('分配')")
    pg.wait_for_selector(f"#user-chains a[href='/chains/{site.chain_id}']")
    pg.select_option("#f-is_active", "false")
    pg.click("#edit-user button:has-text('保存')")
    pg.wait_for_selector("h2:has-text('停用')")
    shot(pg, "admin-user")
