"""Synthetic problems of projects that go through the loop as offices run it: raised in a
month, accepted or returned, sometimes escalated (县 → 市 → 省专班 → 链长, the deadline
reset by ``rules.ESCALATION_DAYS``), handled, rated (不满意 reopens it once), and, when
overdue, supervised (督办) from a level above with or without a reply. Every transition
is a ``problem_steps`` row; nothing happens after the last day of the end period."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from typing import Any

from chaintrack.models.enums import (
    ProblemAction,
    ProblemLevel,
    ProblemState,
    ProblemStatus,
    Satisfaction,
)
from chaintrack.problems.rules import ESCALATION_DAYS, LEVELS

#: (code, weight, a description): land, energy and approvals dominate, as in the offices.
CATEGORIES: tuple[tuple[str, int, str], ...] = (
    ("land", 18, "用地指标未落实，影响开工"),
    ("energy", 14, "能耗指标不足，二期无法投产"),
    ("environment", 9, "环评批复未下达"),
    ("funding", 12, "配套资金未到位"),
    ("labour", 7, "技术工人招聘困难"),
    ("approval", 14, "施工许可审批时间长"),
    ("factors", 9, "用电增容未解决"),
    ("infrastructure", 8, "园区道路和管网未接通"),
    ("policy", 5, "奖补政策未兑现"),
    ("other", 4, "其他需协调事项"),
)
UNITS = {
    ProblemLevel.COUNTY: "县发展改革局",
    ProblemLevel.CITY: "市发展改革委",
    ProblemLevel.PROVINCE: "省产业链专班",
    ProblemLevel.LEADER: "链长办公室",
}
OFFICE_MORNING = dt.time(2, 0, tzinfo=dt.UTC)  # 10:00 in the office


def _at(day: dt.date, hour: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, OFFICE_MORNING) + dt.timedelta(hours=hour)


class ProblemFlow:
    """Rows for ``problems``, ``problem_steps`` and ``supervision_notices`` of one problem."""

    def __init__(
        self,
        rng: random.Random,
        horizon: dt.date,
        next_id: Callable[[str], int],
        add: Callable[[str, dict[str, Any]], None],
    ) -> None:
        self.rng, self.horizon, self._id, self._add = rng, horizon, next_id, add
        self._codes = [c for c, _, _ in CATEGORIES]
        self._weights = [w for _, w, _ in CATEGORIES]
        self._texts = {c: t for c, _, t in CATEGORIES}

    def problem(self, project_id: int, chain_id: int, period: str) -> None:
        rng = self.rng
        year, month = map(int, period.split("-"))
        raised = dt.date(year, month, rng.randint(1, 28))
        if raised > self.horizon:
            return
        category = rng.choices(self._codes, self._weights)[0]
        pid = self._id("problems")
        p: dict[str, Any] = {
            "id": pid,
            "subject": "project",
            "project_id": project_id,
            "chain_id": chain_id,
            "period": period,
            "category": category,
            "description": self._texts[category],
            "raised_at": _at(raised),
            "level": ProblemLevel.COUNTY,
            "state": ProblemState.PENDING,
            "status": ProblemStatus.OPEN,
            "responsible_unit": UNITS[ProblemLevel.COUNTY],
            "deadline": raised + dt.timedelta(days=ESCALATION_DAYS[ProblemLevel.COUNTY]),
            "resolved_on": None,
            "resolution": None,
            "satisfaction": None,
            "return_reason": None,
            "version": 1,
        }
        steps: list[tuple[dt.date, ProblemAction, dict[str, Any]]] = []

        def step(
            day: dt.date, action: ProblemAction, note: str | None = None, **change: Any
        ) -> bool:
            """Apply ``change`` on ``day`` unless it is past the horizon (False then)."""
            if day > self.horizon:
                return False
            before = (p["state"], p["level"])
            p.update(change)
            p["version"] += 1
            steps.append(
                (day, action, {"from": before, "to": (p["state"], p["level"]), "note": note})
            )
            return True

        steps.append(
            (
                raised,
                ProblemAction.RAISE,
                {"from": (None, None), "to": (p["state"], p["level"]), "note": None},
            )
        )
        day = raised + dt.timedelta(days=rng.randint(0, 6))
        if rng.random() < 0.05:
            step(
                day, ProblemAction.RETURN, "非项目问题，已解释", state=ProblemState.RETURNED,
                status=ProblemStatus.RESOLVED, resolved_on=day, return_reason="非项目问题，已解释",
            )  # fmt: skip
            self._write(p, steps)
            return
        if not step(day, ProblemAction.ACCEPT, state=ProblemState.IN_PROGRESS):
            self._write(p, steps)
            return
        # 上报: a quarter go to the city, some of those further up
        chance = 0.25
        while p["level"] is not LEVELS[-1] and rng.random() < chance:
            day += dt.timedelta(days=rng.randint(3, 12))
            up = LEVELS[LEVELS.index(p["level"]) + 1]
            if not step(
                day, ProblemAction.ESCALATE, f"超出{p['level'].label_zh}协调能力",
                level=up, state=ProblemState.PENDING, responsible_unit=UNITS[up],
                deadline=day + dt.timedelta(days=ESCALATION_DAYS[up]),
            ):  # fmt: skip
                break
            day += dt.timedelta(days=rng.randint(0, 3))
            if not step(day, ProblemAction.ACCEPT, state=ProblemState.IN_PROGRESS):
                break
            chance = 0.3
        for attempt in range(2):
            if p["state"] is not ProblemState.IN_PROGRESS:
                break
            # most take days to weeks; a hard one (one in seven) months
            day += dt.timedelta(
                days=rng.randint(4, 35) if rng.random() < 0.85 else rng.randint(40, 240)
            )
            if not step(
                day, ProblemAction.HANDLE, "已协调解决", state=ProblemState.HANDLED,
                status=ProblemStatus.RESOLVED, resolved_on=day, resolution="已协调解决",
            ):  # fmt: skip
                break
            day += dt.timedelta(days=rng.randint(1, 10))
            if rng.random() < 0.3:
                break  # not rated (yet)
            r = rng.random()
            rating = (
                Satisfaction.SATISFIED
                if r < 0.78
                else Satisfaction.FAIRLY
                if r < 0.93 or attempt
                else Satisfaction.UNSATISFIED
            )
            if rating is Satisfaction.UNSATISFIED:
                step(
                    day, ProblemAction.RATE, "不满意", state=ProblemState.IN_PROGRESS,
                    status=ProblemStatus.OPEN, resolved_on=None, resolution=None,
                )  # fmt: skip
            else:
                step(day, ProblemAction.RATE, rating.label_zh, state=ProblemState.RATED,
                     satisfaction=rating)  # fmt: skip
        self._supervise(p, steps)
        self._write(p, steps)

    def _supervise(self, p: dict[str, Any], steps: list[Any]) -> None:
        """督办 on half the problems still open past their deadline, from one level up."""
        rng = self.rng
        if p["state"] not in (ProblemState.PENDING, ProblemState.IN_PROGRESS):
            return
        if p["level"] is LEVELS[-1] or p["deadline"] >= self.horizon or rng.random() < 0.5:
            return
        last = max(day for day, _, _ in steps)  # after every step: the state is the last one
        issued = max(p["deadline"], last) + dt.timedelta(days=rng.randint(1, 5))
        if issued > self.horizon:
            return
        above = LEVELS[LEVELS.index(p["level"]) + 1]
        due = issued + dt.timedelta(days=7)
        replied = issued + dt.timedelta(days=rng.randint(2, 12))
        answered = replied <= self.horizon and rng.random() < 0.6
        self._add(
            "supervision_notices",
            {
                "id": self._id("supervision_notices"),
                "problem_id": p["id"],
                "level": above,
                "note": "请加快办理并按期回复",
                "due_on": due,
                "issued_by": None,
                "issued_at": _at(issued),
                "reply": "已督促责任单位加快办理" if answered else None,
                "replied_by": None,
                "replied_at": _at(replied, 1) if answered else None,
                "version": 2 if answered else 1,
            },
        )
        note = f"{above.label_zh}督办，{due} 前回复"
        state_level = (p["state"], p["level"])
        steps.append(
            (
                issued,
                ProblemAction.SUPERVISE,
                {"from": state_level, "to": state_level, "note": note},
            )
        )
        if answered:
            steps.append(
                (
                    replied,
                    ProblemAction.REPLY,
                    {"from": state_level, "to": state_level, "note": "已督促"},
                )
            )

    def _write(self, p: dict[str, Any], steps: list[Any]) -> None:
        self._add("problems", p)
        for n, (day, action, s) in enumerate(sorted(steps, key=lambda x: x[0])):
            self._add(
                "problem_steps",
                {
                    "id": self._id("problem_steps"),
                    "problem_id": p["id"],
                    "action": action,
                    "from_state": s["from"][0],
                    "to_state": s["to"][0],
                    "from_level": s["from"][1],
                    "to_level": s["to"][1],
                    "actor_id": None,
                    "on_behalf_of": None,
                    "acted_at": _at(day) + dt.timedelta(minutes=n),
                    "note": s["note"],
                    "attachments": None,
                },
            )
