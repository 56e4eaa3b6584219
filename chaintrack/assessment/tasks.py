"""Annual task lists (年度任务清单): tasks, dated progress notes, status as of a day.

A task's status changes only by a note (``status`` on the note); the task keeps the
latest for quick reading, and the list as of a day takes the last note on or before
it. A task is overdue on a day after its deadline when it is not done by then.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from chaintrack.assessment import schemas as s
from chaintrack.errors import ValidationProblem, not_found
from chaintrack.history import end_of_day, office_today
from chaintrack.models import Chain
from chaintrack.models.assessment import AnnualTask, TaskNote, TaskStatus
from chaintrack.models.assessment_history import TaskRevision
from chaintrack.models.base import utcnow


def _chain(session: Session, chain_id: int) -> Chain:
    chain = session.get(Chain, chain_id)
    if chain is None:
        raise not_found("chain", chain_id)
    return chain


def create_task(session: Session, chain_id: int, data: s.TaskCreate) -> AnnualTask:
    _chain(session, chain_id)
    if data.deadline.year < data.year:
        raise ValidationProblem.for_field("deadline", "期限不能早于任务年度 / before the year")
    values = data.model_dump(exclude={"listed_on", "evidence_files"})
    task = AnnualTask(
        chain_id=chain_id,
        listed_on=data.listed_on or office_today(),
        evidence_files=[f.model_dump() for f in data.evidence_files],
        status=TaskStatus.NOT_STARTED,
        **values,
    )
    session.add(task)
    session.flush()
    return task


def get_task(session: Session, chain_id: int, task_id: int) -> AnnualTask:
    task = session.get(AnnualTask, task_id)
    if task is None or task.chain_id != chain_id:
        raise not_found("task", task_id)
    return task


KEPT = ("title", "owner_unit", "owner_person", "deadline", "evidence", "evidence_files")


def update_task(session: Session, task: AnnualTask, data: s.TaskUpdate) -> AnnualTask:
    """Change a task; what it said until now stays on record for the list as of past days."""
    changes = data.model_dump(exclude_unset=True, exclude={"evidence_files"})
    for field in ("title", "owner_unit", "deadline"):
        if field in changes and changes[field] is None:
            raise ValidationProblem.for_field(field, "不能为空 / may not be null")
    if data.evidence_files is not None:
        changes["evidence_files"] = [f.model_dump() for f in data.evidence_files]
    changed = {k: v for k, v in changes.items() if getattr(task, k) != v}
    if not changed:
        return task
    since = session.scalar(
        select(func.max(TaskRevision.valid_until)).where(TaskRevision.task_id == task.id)
    )
    session.add(
        TaskRevision(
            task_id=task.id,
            valid_from=since or task.created_at,
            valid_until=utcnow(),
            **{k: getattr(task, k) for k in KEPT},
        )
    )
    for field, value in changed.items():
        setattr(task, field, value)
    session.flush()
    return task


def _kept(session: Session, task_ids: list[int], day: dt.date) -> dict[int, TaskRevision]:
    """Per task, the values on record at the end of ``day`` if they changed since."""
    out: dict[int, TaskRevision] = {}
    if not task_ids or day >= office_today():  # nothing changed after today yet
        return out
    stmt = (
        select(TaskRevision)
        .where(TaskRevision.task_id.in_(task_ids), TaskRevision.valid_until >= end_of_day(day))
        .order_by(TaskRevision.valid_until.desc(), TaskRevision.id.desc())
    )
    for rev in session.scalars(stmt):
        out[rev.task_id] = rev  # the earliest still valid then wins
    return out


def add_note(
    session: Session, task: AnnualTask, data: s.NoteCreate, user_id: int | None = None
) -> TaskNote:
    if data.noted_on < task.listed_on:
        raise ValidationProblem.for_field("noted_on", "早于任务列入清单的日期")
    if data.noted_on > office_today():
        raise ValidationProblem.for_field("noted_on", "不能晚于今天 / not in the future")
    note = TaskNote(
        task_id=task.id,
        chain_id=task.chain_id,
        noted_on=data.noted_on,
        text=data.text,
        status=data.status,
        recorded_by=user_id,
    )
    session.add(note)
    session.flush()
    if data.status is not None:
        task.status = status_on([n for n in _notes(session, [task.id])[task.id]], office_today())
        session.flush()
    return note


def _notes(session: Session, task_ids: list[int]) -> dict[int, list[TaskNote]]:
    out: dict[int, list[TaskNote]] = defaultdict(list)
    if not task_ids:
        return out
    stmt = (
        select(TaskNote)
        .where(TaskNote.task_id.in_(task_ids))
        .order_by(TaskNote.task_id, TaskNote.noted_on, TaskNote.id)
    )
    for note in session.scalars(stmt):
        out[note.task_id].append(note)
    return out


def status_on(notes: list[TaskNote], day: dt.date) -> TaskStatus:
    """The status of the last status-changing note on or before ``day``."""
    status = TaskStatus.NOT_STARTED
    for note in notes:  # in (noted_on, id) order
        if note.noted_on <= day and note.status is not None:
            status = note.status
    return status


def task_list(
    session: Session, chain_id: int, year: int, as_of: dt.date | None = None
) -> s.TaskList:
    """The chain's list for ``year`` as it stood on ``as_of`` (three statements)."""
    _chain(session, chain_id)
    day = as_of or office_today()
    tasks = list(
        session.scalars(
            select(AnnualTask)
            .where(
                AnnualTask.chain_id == chain_id,
                AnnualTask.year == year,
                AnnualTask.listed_on <= day,
            )
            .order_by(AnnualTask.deadline, AnnualTask.id)
        )
    )
    notes = _notes(session, [t.id for t in tasks])
    kept = _kept(session, [t.id for t in tasks], day)
    items = []
    for task in tasks:
        was: AnnualTask | TaskRevision = kept.get(task.id, task)
        shown = [n for n in notes[task.id] if n.noted_on <= day]
        status = status_on(shown, day)
        items.append(
            s.TaskOut(
                id=task.id,
                chain_id=task.chain_id,
                year=task.year,
                title=was.title,
                owner_unit=was.owner_unit,
                owner_person=was.owner_person,
                deadline=was.deadline,
                listed_on=task.listed_on,
                status=status,
                overdue=was.deadline < day and status is not TaskStatus.DONE,
                evidence=was.evidence,
                evidence_files=list(was.evidence_files or []),
                notes=[s.NoteOut.model_validate(n) for n in shown],
                version=task.version,
            )
        )
    counts = Counter(i.status.value for i in items)
    return s.TaskList(
        chain_id=chain_id,
        year=year,
        as_of=day,
        items=items,
        overdue=sum(1 for i in items if i.overdue),
        by_status={st.value: counts.get(st.value, 0) for st in TaskStatus},
    )
