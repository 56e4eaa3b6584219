"""Hand-written SQL for the chain report and the dashboard: the floor the API is
measured against. The same figures as chaintrack/reports, run straight through
the driver (sqlite3 or psycopg) with no ORM, no HTTP and no serialisation.

Placeholders are ``:name``; ``run`` adapts them for psycopg.
"""

from __future__ import annotations

import re
from typing import Any

CURRENT_MEMBER = "m.started_on <= :day AND (m.ended_on IS NULL OR m.ended_on > :day)"
PREV_MEMBER = "m.started_on <= :prev_day AND (m.ended_on IS NULL OR m.ended_on > :prev_day)"
STATUS_AS_OF = """
    SELECT project_id, status FROM (
        SELECT s.project_id, s.to_status AS status,
               row_number() OVER (PARTITION BY s.project_id
                                  ORDER BY s.changed_on DESC, s.id DESC) AS rn
        FROM project_status_changes s JOIN projects p ON p.id = s.project_id
        WHERE s.changed_on <= {day} {chain_filter}
    ) ranked WHERE rn = 1
"""


def _status(day: str = ":day", chain: bool = True) -> str:
    return STATUS_AS_OF.format(day=day, chain_filter="AND p.chain_id = :chain" if chain else "")


GAP = "('weak', 'missing')"
BEHIND = (
    "((p.planned_completion IS NOT NULL AND p.planned_completion < :day AND st.status NOT IN "
    "('completed', 'in_operation', 'cancelled')) OR (p.planned_start IS NOT NULL AND "
    "p.planned_start < :day AND st.status IN ('planned', 'signed')))"
)
REPORTED = (
    "EXISTS (SELECT 1 FROM progress_reports r WHERE r.project_id = p.id "
    "AND r.period = :period AND r.superseded_at IS NULL)"
)


def _role_counts() -> str:
    return ", ".join(
        f"sum(CASE WHEN m.role = '{role}' AND {cond} THEN 1 ELSE 0 END)"
        for role in ("chain_master", "leading", "supporting")
        for cond in (CURRENT_MEMBER, PREV_MEMBER)
    )


TIERS = (
    "navigator",
    "single_champion_enterprise",
    "single_champion_product",
    "little_giant",
    "specialized_sme",
    "gazelle",
    "unicorn",
    "quasi_unicorn",
)

# The problem loop's figures (chaintrack/problems/figures_sql.py): open and overdue, then
# closed this month, closed by the day, their days to close, rated, satisfied.
# DAYS_TO_CLOSE is replaced per driver in ``run``.
PR_OPEN = (
    "pr.period <= :period AND (pr.resolved_on IS NULL OR pr.resolved_on > :day) "
    "AND (pr.status = 'open' OR pr.resolved_on IS NOT NULL)"
)
PR_CLOSED = "pr.resolved_on <= :day AND pr.state IN ('handled', 'rated')"
PROBLEM_FIGURES = (
    f"sum(CASE WHEN {PR_OPEN} THEN 1 ELSE 0 END), "
    f"sum(CASE WHEN {PR_OPEN} AND pr.deadline < :day THEN 1 ELSE 0 END), "
    f"sum(CASE WHEN {PR_CLOSED} AND pr.resolved_on >= :month_start THEN 1 ELSE 0 END), "
    f"sum(CASE WHEN {PR_CLOSED} THEN 1 ELSE 0 END), "
    f"sum(CASE WHEN {PR_CLOSED} THEN DAYS_TO_CLOSE ELSE 0 END), "
    "sum(CASE WHEN pr.state = 'rated' THEN 1 ELSE 0 END), "
    "sum(CASE WHEN pr.state = 'rated' AND pr.satisfaction IN ('satisfied', 'fairly') "
    "THEN 1 ELSE 0 END)"
)
DAYS_TO_CLOSE = {
    "sqlite": "CAST(julianday(pr.resolved_on) - julianday(date(pr.raised_at, '+8 hours')) "
    "AS INTEGER)",
    "pyformat": "(pr.resolved_on - CAST(timezone('Asia/Shanghai', pr.raised_at) AS DATE))",
}

CHAIN_REPORT = [
    # Every single figure in one row: the chain, node counts by assessment, members
    # (now, previous, by role, nodes covered), tiers, investment, previous period.
    "SELECT c.id, c.code, c.name_zh, c.name_en, g.name_zh, c.status, nc.*, mc.*, tc.*, inv.*, "
    "prev.*, pf.*, (SELECT count(*) FROM problems pr JOIN projects p ON p.id = pr.project_id "
    "WHERE p.chain_id = :chain AND pr.period <= :prev_period AND (pr.resolved_on IS NULL "
    "OR pr.resolved_on > :prev_day)) "
    "FROM chains c LEFT JOIN chain_groups g ON g.id = c.group_id "
    "CROSS JOIN (SELECT count(*), sum(CASE WHEN assessment = 'strong' THEN 1 ELSE 0 END), "
    "sum(CASE WHEN assessment = 'weak' THEN 1 ELSE 0 END), "
    "sum(CASE WHEN assessment = 'missing' THEN 1 ELSE 0 END), "
    "sum(CASE WHEN assessment IS NULL THEN 1 ELSE 0 END) "
    "FROM map_nodes WHERE chain_id = :chain) nc "
    f"CROSS JOIN (SELECT count(DISTINCT CASE WHEN {CURRENT_MEMBER} THEN m.enterprise_id END), "
    f"count(DISTINCT CASE WHEN {PREV_MEMBER} THEN m.enterprise_id END), "
    f"count(DISTINCT CASE WHEN {CURRENT_MEMBER} THEN m.node_id END), {_role_counts()} "
    "FROM memberships m WHERE m.chain_id = :chain) mc "
    "CROSS JOIN (SELECT "
    + ", ".join(f"count(DISTINCT CASE WHEN d.tier = '{t}' THEN d.enterprise_id END)" for t in TIERS)
    + " FROM designations d WHERE d.enterprise_id IN (SELECT m.enterprise_id FROM memberships m "
    f"WHERE m.chain_id = :chain AND {CURRENT_MEMBER}) AND d.recognised_on <= :day "
    "AND (d.valid_until IS NULL OR d.valid_until >= :day) "
    "AND (d.revoked_on IS NULL OR d.revoked_on > :day)) tc "
    "CROSS JOIN (SELECT "
    "sum(CASE WHEN r.period = :period THEN r.investment_month ELSE 0 END), "
    "sum(CASE WHEN r.period >= :year_start THEN r.investment_month ELSE 0 END), "
    "sum(r.investment_month), "
    "sum(CASE WHEN r.period = :prev_period THEN r.investment_month ELSE 0 END), "
    "sum(CASE WHEN r.period >= :prev_year_start AND r.period <= :prev_period "
    "THEN r.investment_month ELSE 0 END), "
    "sum(CASE WHEN r.period <= :prev_period THEN r.investment_month ELSE 0 END) "
    "FROM progress_reports r JOIN projects p ON p.id = r.project_id "
    "WHERE p.chain_id = :chain AND r.period <= :period AND r.superseded_at IS NULL) inv "
    "CROSS JOIN (SELECT count(*), sum(CASE WHEN status = 'under_construction' THEN 1 ELSE 0 END) "
    f"FROM ({_status(':prev_day')}) ps) prev "
    f"CROSS JOIN (SELECT {PROBLEM_FIGURES} FROM problems pr "
    "WHERE pr.chain_id = :chain AND pr.period <= :period) pf "
    "WHERE c.id = :chain",
    "SELECT role, person_name, title, organisation, start_on FROM chain_leaders "
    "WHERE chain_id = :chain AND start_on <= :day AND (end_on IS NULL OR end_on > :day) "
    "ORDER BY role, start_on",
    "SELECT e.id, e.uscc, e.name, e.region_code, m.started_on FROM enterprises e "
    f"JOIN memberships m ON m.enterprise_id = e.id WHERE m.chain_id = :chain "
    f"AND m.role = 'chain_master' AND {CURRENT_MEMBER} ORDER BY e.name",
    "SELECT id, code, name_zh, stage, assessment, gap_kind FROM map_nodes "
    f"WHERE chain_id = :chain AND assessment IN {GAP} ORDER BY stage, position, id",
    # What addresses the gaps: projects (by code), then list entries (by id).
    "SELECT node_id, kind, id, a, b, c FROM ("
    "SELECT t.node_id, 0 AS kind, p.internal_code AS sort_code, p.id, p.internal_code AS a, "
    f"p.name AS b, st.status AS c FROM project_targets t JOIN projects p ON p.id = t.project_id "
    f"JOIN ({_status()}) st ON st.project_id = p.id JOIN map_nodes n ON n.id = t.node_id "
    f"WHERE t.chain_id = :chain AND n.assessment IN {GAP} AND st.status <> 'cancelled' "
    "UNION ALL SELECT le.node_id, 1, NULL, le.id, le.title, lt.name_zh, cl.period "
    "FROM list_entries le JOIN chain_lists cl ON cl.id = le.list_id "
    "JOIN list_types lt ON lt.id = cl.list_type_id JOIN map_nodes n ON n.id = le.node_id "
    f"WHERE le.chain_id = :chain AND n.assessment IN {GAP}) a ORDER BY kind, sort_code, id",
    "SELECT substr(e.region_code, 1, 4), count(DISTINCT e.id), max(r.name_zh) FROM enterprises e "
    "JOIN memberships m ON m.enterprise_id = e.id "
    "LEFT JOIN regions r ON r.code = substr(e.region_code, 1, 4) || '00' "
    f"WHERE m.chain_id = :chain AND {CURRENT_MEMBER} GROUP BY substr(e.region_code, 1, 4)",
    # Counts, planned totals and this year's plan by type and status.
    "SELECT p.type, st.status, count(*), sum(p.total_investment), sum(a.planned_investment) "
    f"FROM projects p JOIN ({_status()}) st ON st.project_id = p.id "
    "LEFT JOIN project_annual_plans a ON a.project_id = p.id AND a.year = :year "
    "WHERE p.chain_id = :chain GROUP BY p.type, st.status",
    # The projects listed: behind schedule, or under construction and not reported.
    "SELECT p.id, p.internal_code, p.name, p.type, st.status, p.planned_start, "
    f"p.planned_completion, {REPORTED} FROM projects p JOIN ({_status()}) st "
    f"ON st.project_id = p.id WHERE p.chain_id = :chain AND ({BEHIND} OR "
    f"(st.status = 'under_construction' AND NOT {REPORTED})) ORDER BY p.internal_code",
    "SELECT pr.id, p.id, p.internal_code, p.name, pr.period, pr.description, "
    "pr.responsible_unit, pr.deadline FROM problems pr JOIN projects p ON p.id = pr.project_id "
    "WHERE p.chain_id = :chain AND pr.period <= :period AND (pr.resolved_on IS NULL "
    "OR pr.resolved_on > :day) ORDER BY pr.deadline, pr.id",
]

DASHBOARD = [
    "SELECT c.id, c.code, c.name_zh, g.name_zh FROM chains c "
    "LEFT JOIN chain_groups g ON g.id = c.group_id ORDER BY g.position, c.code",
    "SELECT m.chain_id, count(DISTINCT m.enterprise_id), "
    "sum(CASE WHEN m.role = 'chain_master' THEN 1 ELSE 0 END) FROM memberships m "
    f"WHERE {CURRENT_MEMBER} GROUP BY m.chain_id",
    "SELECT chain_id, count(*), sum(CASE WHEN assessment = 'strong' THEN 1 ELSE 0 END), "
    "sum(CASE WHEN assessment = 'weak' THEN 1 ELSE 0 END), "
    "sum(CASE WHEN assessment = 'missing' THEN 1 ELSE 0 END) FROM map_nodes GROUP BY chain_id",
    "SELECT n.chain_id, count(*) FROM map_nodes n WHERE n.assessment IN ('weak', 'missing') "
    "AND n.id IN (SELECT t.node_id FROM project_targets t JOIN "
    f"({_status(chain=False)}) st ON st.project_id = t.project_id WHERE st.status <> 'cancelled' "
    "UNION SELECT le.node_id FROM list_entries le WHERE le.node_id IS NOT NULL) "
    "GROUP BY n.chain_id",
    "SELECT p.chain_id, count(*), "
    "sum(CASE WHEN st.status = 'under_construction' THEN 1 ELSE 0 END), "
    "sum(CASE WHEN st.status <> 'cancelled' THEN p.total_investment ELSE 0 END), "
    "sum(CASE WHEN (p.planned_completion < :day AND st.status NOT IN "
    "('completed', 'in_operation', 'cancelled')) OR (p.planned_start < :day AND st.status IN "
    "('planned', 'signed')) THEN 1 ELSE 0 END), "
    "sum(CASE WHEN st.status = 'under_construction' AND NOT EXISTS (SELECT 1 FROM "
    "progress_reports r WHERE r.project_id = p.id AND r.period = :period AND "
    "r.superseded_at IS NULL) THEN 1 ELSE 0 END) "
    f"FROM projects p JOIN ({_status(chain=False)}) st ON st.project_id = p.id GROUP BY p.chain_id",
    "SELECT p.chain_id, sum(a.planned_investment) FROM project_annual_plans a "
    f"JOIN projects p ON p.id = a.project_id JOIN ({_status(chain=False)}) st "
    "ON st.project_id = p.id WHERE a.year = :year AND st.status <> 'cancelled' "
    "GROUP BY p.chain_id",
    "SELECT p.chain_id, sum(CASE WHEN r.period = :period THEN r.investment_month ELSE 0 END), "
    "sum(CASE WHEN r.period >= :year_start THEN r.investment_month ELSE 0 END), "
    "sum(r.investment_month) FROM progress_reports r JOIN projects p ON p.id = r.project_id "
    "WHERE r.period <= :period AND r.superseded_at IS NULL GROUP BY p.chain_id",
    f"SELECT pr.chain_id, {PROBLEM_FIGURES} FROM problems pr WHERE pr.period <= :period "
    "GROUP BY pr.chain_id",
]

_NAMED = re.compile(r":([a-z_]+)")


def run(conn: Any, statements: list[str], params: dict[str, Any], paramstyle: str) -> int:
    """Execute every statement and fetch all rows; returns the number of rows read.

    In one read transaction, as the API reads a report: the statements see one
    snapshot, so the figures add up (on PostgreSQL REPEATABLE READ; on SQLite a
    plain BEGIN). Without it each statement would see the data as of its own start.
    """
    rows = 0
    cur = conn.cursor()
    pyformat = paramstyle == "pyformat"
    cur.execute("BEGIN ISOLATION LEVEL REPEATABLE READ" if pyformat else "BEGIN")
    for sql in statements:
        sql = sql.replace("DAYS_TO_CLOSE", DAYS_TO_CLOSE["pyformat" if pyformat else "sqlite"])
        if pyformat:
            sql = _NAMED.sub(r"%(\1)s", sql)
        cur.execute(sql, params)
        rows += len(cur.fetchall())
    cur.execute("COMMIT")
    cur.close()
    return rows
