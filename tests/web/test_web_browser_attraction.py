"""招商 in a real Chromium: a lead on a missing node, through the pipeline, signed, funds
received, landed into an enterprise and a fill-chain project that the chain's pages show,
and the chain's attraction figures change. (Same server set-up as test_web_browser.)"""

from __future__ import annotations

import re
from typing import Any

import pytest

from chaintrack.history import office_today
from chaintrack.identifiers import make_uscc
from tests.web.test_web_browser import Site, browser, page, shot, sign_in, site

pytestmark = pytest.mark.browser
__all__ = ["browser", "page", "site"]  # the fixtures, shared with the clerk's month


def _figure(pg: Any, site: Site, which: str) -> str:
    pg.goto(f"{site.base}/attraction?chain_id={site.chain_id}")
    return str(pg.inner_text(f"#fig-{which}")).strip()


def test_a_lead_on_a_gap_lands_as_enterprise_and_project(site: Site, page: Any) -> None:
    pg = page
    sign_in(pg, site, "clerk", "/attraction")
    signed_before, received_before = _figure(pg, site, "signed"), _figure(pg, site, "received")

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
    pg.goto(f"{site.base}/chains/{site.chain_id}/enterprises")
    assert "浏览器招商精密部件有限公司" in pg.content()
    pg.goto(f"{site.base}/chains/{site.chain_id}/map?node={gap_id}")
    assert "浏览器招商精密部件有限公司补链项目" in pg.inner_text("#node-panel")

    # and the chain's attraction figures moved by the signed amount and the funds
    assert _figure(pg, site, "signed") != signed_before
    assert _figure(pg, site, "received") != received_before
    assert _figure(pg, site, "received") == "2,500.00"
    shot(pg, "13-attraction")
    assert lead_url
