"""The problem loop's closing gaps (issue 17, wave 3): the Excel export with the list's
filters, the figures in the chain report and the dashboard, reporters raising problems."""

from __future__ import annotations

import datetime as dt
import io

from openpyxl import load_workbook

from chaintrack.history import office_today
from chaintrack.models import Problem
from chaintrack.models.enums import UserRole
from tests.factories import make_chain

API = "/api/v1"


def _problems(db, chain, n: int, **kw) -> list[Problem]:
    rows = [
        Problem(
            subject="chain", chain_id=chain.id, period=f"{office_today():%Y-%m}",
            description=kw.pop("description", "链上问题"), **kw,
        )
        for _ in range(n)
    ]  # fmt: skip
    db.add_all(rows)
    db.flush()
    return rows


def _sheet(content: bytes) -> list[tuple]:
    wb = load_workbook(io.BytesIO(content))
    return list(wb.worksheets[0].iter_rows(values_only=True))


def test_excel_export_reads_the_lists_filters(db, make_user, client_for, count_statements):
    chain, other = make_chain(db), make_chain(db)
    viewer = make_user(UserRole.VIEWER)
    me = client_for(viewer)
    late = office_today() - dt.timedelta(days=2)
    _problems(db, chain, 2, category="land", description="=用地未落实")
    _problems(db, chain, 3, category="energy", deadline=late)
    _problems(db, other, 4, category="energy", deadline=late)

    r = me.get(f"{API}/problems", params={"chain_id": chain.id, "format": "xlsx"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert "attachment" in r.headers["content-disposition"]
    rows = _sheet(r.content)
    assert rows[0][0] == "编号" and len(rows) == 1 + 5
    assert {row[2] for row in rows[1:]} == {chain.name_zh}
    assert "=用地未落实" in {row[6] for row in rows[1:]}  # text stays text

    # the same filters as the page of the list: overdue and category combine
    params = {"overdue": "true", "category": "energy"}
    page = me.get(f"{API}/problems", params=params).json()
    with count_statements() as small:
        rows = _sheet(me.get(f"{API}/problems", params={**params, "format": "xlsx"}).content)
    assert page["total"] == 7 and len(rows) == 1 + 7
    assert {row[12] for row in rows[1:]} == {"是"}
    assert sorted(row[0] for row in rows[1:]) == sorted(i["id"] for i in page["items"])
    _problems(db, other, 20, category="energy", deadline=late)
    with count_statements() as large:
        rows = _sheet(me.get(f"{API}/problems", params={**params, "format": "xlsx"}).content)
    assert len(rows) == 1 + 27 and small.count == large.count
    # mine=true: those I raised (none); a bad format is refused
    rows = _sheet(me.get(f"{API}/problems", params={"mine": "1", "format": "xlsx"}).content)
    assert len(rows) == 1
    assert me.get(f"{API}/problems", params={"format": "pdf"}).status_code == 422

