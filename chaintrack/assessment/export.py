"""The scores as the workbook offices circulate: a summary sheet (ranking) and one
sheet per indicator (each subject's figure, target, rule and points)."""

from __future__ import annotations

from urllib.parse import quote

from chaintrack.assessment import schemas as s
from chaintrack.reports.render import to_xlsx
from chaintrack.reports.tables import Section

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def sections(board: s.ScoreBoard) -> list[Section]:
    period = f"{board.year}年" + (f"第{board.quarter}季度" if board.quarter else "全年")
    kind = board.subject_kind.label_zh
    codes = [
        (i.indicator_code, i.name_zh)
        for i in (board.subjects[0].indicators if board.subjects else [])
    ]
    summary = Section(
        "summary",
        f"汇总（{period}{kind}）",
        ["排名", kind, *[f"{name}（得分）" for _, name in codes], "指标得分", "加减分", "总分"],
    )
    for subject in board.subjects:
        summary.rows.append(
            [
                subject.rank,
                subject.name,
                *[line.weighted for line in subject.indicators],
                subject.base,
                subject.adjustments,
                subject.total,
            ]
        )
    out = [summary]
    for n, (code, name) in enumerate(codes):
        section = Section(
            code,
            name,
            [
                kind,
                "实际值",
                "计入记录数",
                "目标值",
                "完成比例",
                "计分规则",
                "得分率（%）",
                "权重",
                "得分",
                "说明",
            ],
        )
        for subject in board.subjects:
            line = subject.indicators[n]
            section.rows.append(
                [
                    subject.name,
                    line.actual,
                    line.records,
                    line.target,
                    line.ratio,
                    line.rule_text,
                    line.score,
                    line.weight,
                    line.weighted,
                    line.explanation,
                ]
            )
        out.append(section)
    adjustments = Section("adjustments", "加减分", [kind, "分值", "理由", "决定日期"])
    for subject in board.subjects:
        for a in subject.adjustment_items:
            adjustments.rows.append([subject.name, a.points, a.reason, a.decided_on])
    out.append(adjustments)
    return out


def workbook(board: s.ScoreBoard) -> bytes:
    return to_xlsx(sections(board))


def disposition(board: s.ScoreBoard) -> str:
    name = (
        f"考核得分-{board.year}"
        + (f"Q{board.quarter}" if board.quarter else "")
        + (f"-{board.subject_kind.label_zh}")
    )
    ascii_name = f"assessment-{board.year}{'Q' + str(board.quarter) if board.quarter else ''}"
    return (
        f'attachment; filename="{ascii_name}-{board.subject_kind.value}.xlsx"; '
        f"filename*=UTF-8''{quote(name)}.xlsx"
    )
