"""问题 pages: the list's filters, only the allowed steps as buttons, errors in place,
a viewer sees no buttons and a forged post is refused, statements at two sizes."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from chaintrack.history import office_today
from chaintrack.models import AuditRecord, Problem
from chaintrack.models.enums import UserRole
from tests.factories import make_chain, make_project


def _problem(db, chain, **kw) -> Problem:
    defaults = {
        "subject": "chain",
        "chain_id": chain.id,
        "period": f"{office_today():%Y-%m}",
        "description": "链上问题",
    }
    problem = Problem(**{**defaults, **kw})
    db.add(problem)
    db.flush()
    return problem


def test_raise_from_a_project_and_take_the_steps(db, make_user, page_for):
    chain = make_chain(db)
    clerk = make_user(UserRole.EDITOR, chains=[chain])
    page = page_for(clerk)
    project = make_project(db, chain)
    r = page.get(f"/projects/{project.id}")
    assert f'href="/problems/new?project_id={project.id}"' in r.text
    r = page.get(f"/problems/new?project_id={project.id}")
    assert r.status_code == 200 and project.name in r.text
    # an empty description: the form again, the error beside the field
    data = {"chain_id": str(chain.id), "project_id": str(project.id), "category": "land"}
    r = page.post_form("/problems/new", data)
    assert r.status_code == 422 and 'id="e-description"' in r.text and "必填" in r.text
    r = page.post_form("/problems/new", {**data, "description": "用地未落实"})
    assert r.status_code == 303
    pid = int(r.headers["location"].split("/")[2].split("?")[0])

    r = page.get(f"/problems/{pid}")
    for action in ("accept", "return", "escalate", "supervise"):
        assert f'action="/problems/{pid}/{action}"' in r.text
    assert f'action="/problems/{pid}/handle"' not in r.text
    assert f'action="/problems/{pid}/rate"' not in r.text
    # a stale form: 412, the page again with the current state
    r = page.post_form(f"/problems/{pid}/accept", {"etag": '"7"'})
    assert r.status_code == 412 and "已被他人处理" in r.text
    assert page.post_form(f"/problems/{pid}/accept", {"etag": '"1"'}).status_code == 303
    # handle without the resolution: the error in place, in the open form
    r = page.post_form(f"/problems/{pid}/handle", {"etag": '"2"'})
    assert r.status_code == 422 and 'id="step-handle" open' in r.text
    r = page.post_form(f"/problems/{pid}/handle", {"etag": '"2"', "resolution": "已供地"})
    assert r.status_code == 303
    r = page.get(f"/problems/{pid}")
    assert f'action="/problems/{pid}/rate"' in r.text  # the raiser may rate
    assert "受理" in r.text and "办结" in r.text


def test_viewer_sees_no_buttons_and_forged_posts_are_403(db, make_user, page_for, viewer_page):
    chain = make_chain(db)
    raiser = make_user(UserRole.EDITOR, chains=[chain])
    problem = _problem(db, chain, raised_by=raiser.id)
    r = viewer_page.get(f"/problems/{problem.id}")
    assert r.status_code == 200 and 'id="actions"' not in r.text
    before = db.scalar(select(func.count()).select_from(AuditRecord))
    for action, data in (
        ("accept", {}),
        ("escalate", {}),
        ("rate", {"satisfaction": "satisfied"}),
    ):
        r = viewer_page.post_form(f"/problems/{problem.id}/{action}", {"etag": '"1"', **data})
        assert r.status_code == 403, (action, r.status_code)
    # another editor of the chain may take the steps, but not rate someone else's problem
    other = page_for(make_user(UserRole.EDITOR, chains=[chain]))
    r = other.get(f"/problems/{problem.id}")
    assert f'action="/problems/{problem.id}/accept"' in r.text
    assert db.scalar(select(func.count()).select_from(AuditRecord)) == before


def test_list_filters_and_statements_at_two_sizes(db, admin_page, count_statements):
    small, large = make_chain(db), make_chain(db)
    _problem(db, small, category="land")
    for i in range(15):
        _problem(
            db, large, category="energy" if i % 2 else "land",
            deadline=office_today() - dt.timedelta(days=1),
        )  # fmt: skip
    with count_statements() as c1:
        r1 = admin_page.get(f"/problems?chain_id={small.id}")
    with count_statements() as c2:
        r2 = admin_page.get(f"/problems?chain_id={large.id}")
    assert r1.text.count('href="/problems/') - r1.text.count('href="/problems/new') == 1
    assert r2.text.count("逾期</span>") == 15
    assert c1.count == c2.count
    r = admin_page.get(f"/problems?chain_id={large.id}&category=energy&overdue=1")
    assert r.text.count("逾期</span>") == 7


# --- the Excel export link (issue 17, wave 3) ----------------------------------------


def test_the_list_page_links_its_export(db, make_user, page_for):
    chain = make_chain(db)
    _problem(db, chain)
    page = page_for(make_user(UserRole.VIEWER))
    r = page.get(f"/problems?chain_id={chain.id}&overdue=1")
    assert r.status_code == 200
    assert f'href="/api/v1/problems?chain_id={chain.id}&amp;overdue=1&amp;format=xlsx"' in r.text
