"""Who imports, and into which chains: the editor's chains, checked row by row.

The route's permission rule (chaintrack.auth.permissions) refuses viewers and checks a
``chain_id`` given with the request. The rows of a file may name further chains
(``chain_code``) or reference projects of a chain: every one of them must be a chain
the editor edits, else the whole import is refused with 403 (nothing is written,
not even in a dry run's report). Administrators and the command line edit every chain.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from chaintrack.auth.deps import Principal
from chaintrack.errors import Forbidden


@dataclass(frozen=True)
class Scope:
    #: chains the caller may write; None = every chain (administrator, command line)
    editable: frozenset[int] | None = None
    #: the chain the import was started under (rows may leave chain_code blank)
    chain_id: int | None = None

    @classmethod
    def for_principal(
        cls, session: Session, principal: Principal | None, chain_id: int | None = None
    ) -> Scope:
        if principal is None or principal.is_admin:
            return cls(None, chain_id)
        return cls(principal.editable_chains(session), chain_id)

    def check(self, chain_id: int, row: int, what: str) -> None:
        """403 unless the caller edits ``chain_id``."""
        if self.editable is None or chain_id in self.editable:
            return
        raise Forbidden(
            f"第{row}行：{what}属于产业链{chain_id}，您不是该链的编辑，整个文件未导入 / "
            f"row {row}: {what} belongs to chain {chain_id}, which you do not edit; "
            "nothing was imported",
            chain_ids=[chain_id],
            row=row,
        )
