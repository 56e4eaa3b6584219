"""The attraction pipeline in one place: which stage may follow which.

    线索 ──► 接洽 ──► 考察 ──► 洽谈 ──► 签约 ──► 落地（注册） ──► 开工
      └────────┴────────┴────────┴────────┴──────────┴──► 终止 (with a reason)

A lead moves one stage forward at a time (a stage may be skipped only by recording the
steps); 终止 is reachable from every stage before 开工; 开工 and 终止 are terminal.
"""

from __future__ import annotations

from chaintrack.models.attraction import LeadStage as L

#: The stages of the funnel, in order.
FORWARD: tuple[L, ...] = (
    L.LEAD,
    L.CONTACT,
    L.VISIT,
    L.NEGOTIATION,
    L.SIGNED,
    L.LANDED,
    L.STARTED,
)
RANK: dict[L, int] = {s: i for i, s in enumerate(FORWARD)}
TERMINAL: frozenset[L] = frozenset({L.STARTED, L.TERMINATED})


def allowed_next(current: L) -> list[L]:
    """The stages a lead in ``current`` may move to, pipeline order, 终止 last."""
    if current in TERMINAL:
        return []
    return [FORWARD[RANK[current] + 1], L.TERMINATED]


def reached(stage: L, terminated_from: L | None) -> int:
    """The rank of the furthest stage a lead got to (a terminated one: where it stopped)."""
    return RANK[terminated_from if stage is L.TERMINATED and terminated_from else stage]


def pipeline_markdown() -> str:
    arrows = " → ".join(s.label_zh for s in FORWARD)
    return f"{arrows}; 终止 (with a reason) from any stage before 开工."
