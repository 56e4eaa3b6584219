"""考核 page forms (no browser): figures with their source, bonus / deduction items,
target edit and delete, task editing, stale ETags refused in place, cities from the
reference regions."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import select

from chaintrack.history import office_today
from chaintrack.models import AnnualTask, AssessmentTarget, IndicatorFigure, ScoreAdjustment
from chaintrack.models.assessment import SubjectKind
from tests.factories import make_chain

YEAR = office_today().year


def test_figures_adjustments_and_targets_from_the_page(db, admin_page):
    chain = make_chain(db, name_zh="页面链")
    page = admin_page.get(f"/assessment?year={YEAR}")
    assert page.status_code == 200
    # the city list is the reference regions' 16 prefecture-level cities of Shandong
    cities = [c for c in ("济南市", "青岛市", "烟台市", "菏泽市") if f">{c}</option>" in page.text]
    assert len(cities) == 4
    assert page.text.count('value="city:37') == 3 * 16  # targets, figures, adjustments

    r = admin_page.post_form(
        "/assessment/figures/new",
        {"year": YEAR, "subject": "city:370600", "indicator_code": "REVENUE", "value": "88"},
    )
    assert (r.status_code == 422 and "来源" in r.text) or "source" in r.text
    assert db.scalars(select(IndicatorFigure)).all() == []
    r = admin_page.post_form(
        "/assessment/figures/new",
        {
            "year": YEAR,
            "subject": "city:370600",
            "indicator_code": "REVENUE",
            "value": "88",
            "source": "烟台市统计局",
        },
    )
    assert r.status_code == 303, r.text
    figure = db.scalars(select(IndicatorFigure)).one()
    assert (figure.region_code, figure.value, figure.source) == ("370600", 88, "烟台市统计局")
    # a computed indicator cannot be entered by hand
    r = admin_page.post_form(
        "/assessment/figures/new",
        {"year": YEAR, "subject": "city:370600", "indicator_code": "INV", "value": "1"}
        | {"source": "x"},
    )
    assert r.status_code == 422 and "手工填报" in r.text
    r = admin_page.post_form(
        f"/assessment/figures/{figure.id}/edit",
        {"year": YEAR, "etag": '"1"', "value": "90", "source": "年报"},
    )
    assert r.status_code == 303
    db.refresh(figure)
    assert (figure.value, figure.source) == (90, "年报")
    stale = admin_page.post_form(
        f"/assessment/figures/{figure.id}/delete", {"year": YEAR, "etag": '"1"'}
    )
    assert stale.status_code == 412 and "已被他人修改" in stale.text
    r = admin_page.post_form(
        f"/assessment/figures/{figure.id}/delete", {"year": YEAR, "etag": '"2"'}
    )
    assert r.status_code == 303
    assert db.scalars(select(IndicatorFigure)).all() == []

    r = admin_page.post_form(
        "/assessment/adjustments/new",
        {"year": YEAR, "subject": f"chain:{chain.id}", "points": "0", "reason": "x"}
        | {"decided_on": office_today().isoformat()},
    )
    assert r.status_code == 422 and "不能为 0" in r.text
    r = admin_page.post_form(
        "/assessment/adjustments/new",
        {"year": YEAR, "subject": f"chain:{chain.id}", "points": "-2", "reason": "迟报两次"}
        | {"decided_on": office_today().isoformat()},
    )
    assert r.status_code == 303
    item = db.scalars(select(ScoreAdjustment)).one()
    assert (item.chain_id, item.points) == (chain.id, -2)
    r = admin_page.post_form(
        f"/assessment/adjustments/{item.id}/edit",
        {"year": YEAR, "etag": '"1"', "points": "3", "reason": "获省级表彰"},
    )
    assert r.status_code == 303
    page = admin_page.get(f"/assessment?year={YEAR}").text
    assert "获省级表彰" in page and "页面链" in page
    r = admin_page.post_form(
        f"/assessment/adjustments/{item.id}/delete", {"year": YEAR, "etag": '"2"'}
    )
    assert r.status_code == 303
    assert db.scalars(select(ScoreAdjustment)).all() == []

    target = AssessmentTarget(
        year=YEAR,
        indicator_code="INV",
        subject_kind=SubjectKind.CHAIN,
        chain_id=chain.id,
        value=Decimal(100),
    )
    db.add(target)
    db.flush()
    r = admin_page.post_form(
        f"/assessment/targets/{target.id}/edit", {"year": YEAR, "etag": '"1"', "value": "-5"}
    )
    assert r.status_code == 422
    r = admin_page.post_form(
        f"/assessment/targets/{target.id}/edit", {"year": YEAR, "etag": '"1"', "value": "150"}
    )
    assert r.status_code == 303
    db.refresh(target)
    assert target.value == 150
    r = admin_page.post_form(
        f"/assessment/targets/{target.id}/delete", {"year": YEAR, "etag": '"2"'}
    )
    assert r.status_code == 303
    assert db.scalars(select(AssessmentTarget)).all() == []


def test_edit_a_task_from_the_page(db, admin_page, viewer_page):
    chain = make_chain(db)
    task = AnnualTask(
        chain_id=chain.id,
        year=YEAR,
        title="引进项目",
        owner_unit="工信局",
        deadline=office_today() + dt.timedelta(days=10),
        listed_on=office_today(),
        evidence_files=[{"name": "a.pdf", "sha256": "a" * 64}],
    )
    db.add(task)
    db.flush()
    url = f"/chains/{chain.id}/tasks/{task.id}/edit"
    form = {"etag": '"1"', "title": "引进项目3个", "owner_unit": "工信局", "owner_person": "王五"}
    assert viewer_page.post_form(url, form | {"deadline": f"{YEAR}-12-31"}).status_code == 403
    r = admin_page.post_form(url, form | {"deadline": "not a date"})
    assert r.status_code == 422
    r = admin_page.client.post(
        url,
        data=form | {"deadline": f"{YEAR}-12-31", "evidence": "协议", "csrf_token": "x"},
        follow_redirects=False,
    )
    assert r.status_code in (400, 403)  # a wrong CSRF token writes nothing
    r = admin_page.post_form(
        url,
        form | {"deadline": f"{YEAR}-12-31", "evidence": "签约协议"},
        files={"evidence_file": ("协议.pdf", b"%PDF-1.4", "application/pdf")},
    )
    assert r.status_code == 303, r.text
    db.refresh(task)
    assert (task.title, task.owner_person, task.evidence) == ("引进项目3个", "王五", "签约协议")
    assert [f["name"] for f in task.evidence_files] == ["a.pdf", "协议.pdf"]
    stale = admin_page.post_form(url, form | {"deadline": f"{YEAR}-12-31", "title": "再改"})
    assert stale.status_code == 412 and "已被他人修改" in stale.text
    db.refresh(task)
    assert task.title == "引进项目3个"
    page = admin_page.get(f"/chains/{chain.id}/tasks?year={YEAR}").text
    assert "修改任务" in page and "引进项目3个" in page


def test_the_new_task_form_records_the_evidence_files(db, admin_page):
    chain = make_chain(db)
    r = admin_page.post_form(
        f"/chains/{chain.id}/tasks/new",
        {"year": YEAR, "title": "建设园区", "owner_unit": "发改委", "deadline": f"{YEAR}-12-31"},
        files={"evidence_file": ("规划.pdf", b"%PDF-1.4 plan", "application/pdf")},
    )
    assert r.status_code == 303, r.text
    task = db.scalars(select(AnnualTask).where(AnnualTask.chain_id == chain.id)).one()
    import hashlib

    assert task.evidence_files == [
        {"name": "规划.pdf", "sha256": hashlib.sha256(b"%PDF-1.4 plan").hexdigest()}
    ]
