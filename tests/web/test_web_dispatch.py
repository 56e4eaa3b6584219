"""The 调度 pages through forms: open a round, a reporter submits, the editor returns,
the reporter resubmits, the editor accepts; chase and red lists; an outsider gets 403."""

from __future__ import annotations

import datetime as dt
import io

from openpyxl import load_workbook
from sqlalchemy import select

from chaintrack.dispatch import service
from chaintrack.models import DispatchRound, ProgressReport, ReporterScope, ReportReview
from chaintrack.models.enums import ReviewState, UserRole
from tests.factories import make_chain, make_project
from tests.test_dispatch_api import grow_round


def _reporter(db, make_user, region):
    user = make_user(UserRole.REPORTER)
    db.add(ReporterScope(user_id=user.id, region_code=region))
    db.flush()
    return user


def test_the_round_through_pages(db, make_user, page_for):
    chain = make_chain(db)
    laiwu = make_project(db, chain, region_code="371202")
    other = make_project(db, chain, region_code="370602")
    editor = page_for(make_user(UserRole.EDITOR, chains=[chain]))
    reporter = page_for(_reporter(db, make_user, "370100"))
    outsider = page_for(_reporter(db, make_user, "370600"))

    r = editor.post_form(
        "/dispatch/rounds",
        {"period": "2026-10", "deadline": "2026-11-05", "chain_ids": str(chain.id)},
    )
    assert r.status_code == 303, r.text
    rnd = db.scalar(select(DispatchRound))
    page = reporter.get("/dispatch").text
    assert laiwu.name in page and other.name not in page

    url = f"/dispatch/projects/{laiwu.id}/report"
    r = reporter.post_form(url, {"period": "2026-10", "investment_month": "0"})
    assert r.status_code == 422 and "确认提示" in r.text and "zero investment" in r.text
    r = reporter.post_form(
        url, {"period": "2026-10", "investment_month": "0", "confirm_warnings": "1"}
    )
    assert r.status_code == 303
    assert (
        outsider.post_form(url, {"period": "2026-10", "investment_month": "5"}).status_code == 403
    )

    report = db.scalar(select(ProgressReport).where(ProgressReport.project_id == laiwu.id))
    assert "待审核" in editor.get("/dispatch").text
    r = editor.post_form(
        f"/dispatch/reports/{report.id}/return", {"etag": '"1"', "reason": "投资额漏报"}
    )
    assert r.status_code == 303
    assert "已退回" in reporter.get("/dispatch").text
    r = reporter.post_form(url, {"period": "2026-10", "investment_month": "80"})
    assert r.status_code == 303
    review = db.scalar(select(ReportReview))
    db.refresh(review)
    assert review.state is ReviewState.PENDING
    # A stale accept (the ETag from before the resubmission) changes nothing.
    r = editor.post_form(f"/dispatch/reports/{review.report_id}/accept", {"etag": '"1"'})
    assert r.headers["location"] == "/dispatch?stale=1"
    etag = f'"{review.version}"'
    r = editor.post_form(f"/dispatch/reports/{review.report_id}/accept", {"etag": etag})
    assert r.headers["location"] == "/dispatch"
    db.refresh(review)
    assert review.state is ReviewState.ACCEPTED

    page = editor.get(f"/dispatch/rounds/{rnd.id}").text
    chase = page.split('id="chase"')[1].split("</table>")[0]
    assert other.name in chase and laiwu.name not in chase
    warnings = page.split('id="warnings"')[1].split("</table>")[0]
    assert other.name in warnings  # never reported: months without a report


def test_the_round_page_links_its_lists_as_excel(db, make_user, page_for):
    chain = make_chain(db)
    never = make_project(db, chain, region_code="370602")
    editor = page_for(make_user(UserRole.EDITOR, chains=[chain]))
    rnd = service.open_round(db, "2026-10", dt.date(2026, 11, 5), [chain.id], None)
    page = editor.get(f"/dispatch/rounds/{rnd.id}").text
    for what in ("chase", "warnings"):
        assert f'href="/dispatch/rounds/{rnd.id}/{what}.xlsx"' in page
        r = editor.get(f"/dispatch/rounds/{rnd.id}/{what}.xlsx")
        assert r.status_code == 200
        rows = list(load_workbook(io.BytesIO(r.content)).worksheets[0].iter_rows(values_only=True))
        assert [row[1] for row in rows[1:]] == [never.name]


def test_the_review_queue_page_runs_a_fixed_number_of_statements(
    db, make_user, page_for, count_statements
):
    chain = make_chain(db)
    editor = page_for(make_user(UserRole.EDITOR, chains=[chain]))
    service.open_round(db, "2026-10", dt.date(2026, 11, 5), [chain.id], None)
    counts = []
    for n, pending in ((4, 1), (12, 4)):
        grow_round(db, make_user, chain, n)
        with count_statements() as c:
            page = editor.get("/dispatch").text
        counts.append(c.count)
        assert page.count('class="history"') == pending
    assert "报送（第1版）" in page
    assert counts[0] == counts[1], counts


def test_a_closed_round_on_the_pages(db, make_user, page_for):
    chain = make_chain(db)
    laiwu = make_project(db, chain, region_code="371202")
    late = make_project(db, chain, region_code="370102")
    editor = page_for(make_user(UserRole.EDITOR, chains=[chain]))
    reporter = page_for(_reporter(db, make_user, "370100"))
    rnd = service.open_round(db, "2026-10", dt.date(2026, 11, 5), [chain.id], None)
    url = f"/dispatch/projects/{laiwu.id}/report"
    form = {"period": "2026-10", "investment_month": "10"}
    assert reporter.post_form(url, form).status_code == 303
    review = db.scalar(select(ReportReview))
    r = editor.post_form(f"/dispatch/reports/{review.report_id}/accept", {"etag": '"1"'})
    assert r.headers["location"] == "/dispatch"
    service.close_round(db, rnd.id, '"1"', None)

    page = reporter.get("/dispatch").text
    assert ">更正</button>" in page  # the accepted report can be corrected
    assert reporter.post_form(url, form | {"investment_month": "12"}).status_code == 303
    report = f"/dispatch/projects/{late.id}/report"
    assert reporter.post_form(report, form).status_code == 303
    queue = editor.get("/dispatch").text.split('id="h-queue"')[1]
    row = queue.split(f'data-project="{laiwu.id}"')[1].split("</tr>")[0]
    assert "更正" in row
    assert "更正" not in queue.split(f'data-project="{late.id}"')[1].split("</tr>")[0]
    page = editor.get(f"/dispatch/rounds/{rnd.id}").text.split('id="h-due"')[1]
    assert "逾期" in page.split(late.name)[1].split("</tr>")[0]
    assert "更正待审" in page.split(laiwu.name)[1].split("</tr>")[0]
