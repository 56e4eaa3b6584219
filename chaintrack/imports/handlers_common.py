"""What the import handlers share: domain checks as row errors, the name check, the chain
of a chain-scoped row.

The rules themselves live in the services (``progress.rules``, ``projects.service``,
``enterprises.service_designations``, ``memberships.service``, ...), as public checks that
raise :mod:`chaintrack.errors` problems and take what they need as arguments, so that an
import can run them on rows it has loaded in bulk. :func:`rule_errors` runs one such check
and turns its problem into the row's errors: a rule changed in a service changes what an
import accepts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from chaintrack.errors import Problem
from chaintrack.imports.engine import Handler, row_error
from chaintrack.imports.resolvers import ChainCodes
from chaintrack.imports.scope import Scope
from chaintrack.models import Enterprise
from chaintrack.sheets.specs import ParsedRow, RowError, SheetSpec


def problem_row_errors(
    spec: SheetSpec,
    row: int,
    problem: Problem,
    column: str | None,
    fields: Mapping[str, str] | None = None,
    value: Any = None,
) -> list[RowError]:
    """A service's problem as row errors. Each of the problem's field errors lands on the
    column ``fields`` maps its field to (else ``column``) with the problem's reason
    (``code``); a problem without field errors gives one error with its detail."""
    if not problem.errors:
        message = problem.detail or problem.title
        return [row_error(spec, row, column, message, problem.slug, value)]
    out = []
    for e in problem.errors:
        name = (fields or {}).get(e.field, column)
        message = problem.detail if problem.status == 409 and problem.detail else e.message
        out.append(row_error(spec, row, name, message, e.code or problem.slug, value))
    return out


def rule_errors(
    spec: SheetSpec,
    row: int,
    column: str | None,
    check: Callable[..., object],
    *args: Any,
    _fields: Mapping[str, str] | None = None,
    _value: Any = None,
    **kwargs: Any,
) -> list[RowError]:
    """Run a service's check (``check(*args, **kwargs)``); its problem becomes row errors."""
    try:
        check(*args, **kwargs)
    except Problem as problem:
        return problem_row_errors(spec, row, problem, column, _fields, _value)
    return []


def name_check(spec: SheetSpec, row: int, name: str | None, ent: Enterprise) -> list[RowError]:
    """The name column is for the clerk's eye; a name that is not the enterprise's
    (nor a former one) most likely means a mistyped credit code."""
    if not name or name == ent.name or name in (ent.former_names or []):
        return []
    return [
        row_error(
            spec,
            row,
            "enterprise_name",
            f"企业名称“{name}”与信用代码登记的企业“{ent.name}”不符，请核对信用代码 / "
            "the name does not match the enterprise registered under this USCC",
            "name_mismatch",
            name,
        )
    ]


def unknown_enterprise(spec: SheetSpec, row: int, field_name: str, uscc: str) -> RowError:
    return row_error(
        spec,
        row,
        field_name,
        f"统一社会信用代码{uscc}的企业尚未登记，请先导入或登记该企业 / no enterprise with "
        "this USCC is registered; import it first",
        "unknown_reference",
        uscc,
    )


class ChainScoped(Handler):
    """Resolving each row's chain (``chain_code`` or the import's chain) and the 403.

    Each row's chain is the chain the import was started under (``chain_id``) or its
    ``chain_code`` column; when both are given they must agree. Every chain a row names
    must be one the caller edits (403 for the whole file otherwise).
    """

    def __init__(self, scope: Scope) -> None:
        self.scope = scope

    def start(self, session: Any, columns: set[str]) -> None:
        super().start(session, columns)
        self.chains = ChainCodes(session)

    def chain_key(self, values: Mapping[str, Any]) -> str:
        code = values.get("chain_code")
        if code:
            found = self.chains.find(code)
            return found[1] if found else code
        return self.chains.code_of(self.scope.chain_id) if self.scope.chain_id else ""

    def resolve_chain(self, spec: SheetSpec, parsed: ParsedRow) -> int | RowError:
        """The row's chain id, or the error; raises 403 for a chain the caller does not edit."""
        row, code = parsed.row, parsed.values.get("chain_code")
        found = self.chains.find(code) if code else None
        if code and found is None:
            return row_error(
                spec,
                row,
                "chain_code",
                f"产业链代码“{code}”不存在 / no chain has code {code}",
                "unknown_reference",
                code,
            )
        if self.scope.chain_id is not None:
            if found is not None and found[0] != self.scope.chain_id:
                wanted = self.chains.code_of(self.scope.chain_id)
                return row_error(
                    spec,
                    row,
                    "chain_code",
                    f"本文件导入到产业链{wanted}，此行却填写了产业链{found[1]} / this file is "
                    f"imported into chain {wanted}, but the row names chain {found[1]}",
                    "chain_mismatch",
                    code,
                )
            chain_id = self.scope.chain_id
        elif found is None:
            return row_error(
                spec,
                row,
                "chain_code",
                "请填写产业链代码，或在某条产业链下导入 / give the chain code, or import "
                "into one chain (chain_id)",
                "required",
            )
        else:
            chain_id = found[0]
        self.scope.check(chain_id, row, f"产业链{self.chains.code_of(chain_id)}")
        return chain_id
