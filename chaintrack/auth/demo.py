"""Demonstration accounts for ``chaintrack serve --demo``.

On first start: ``admin`` (administrator), ``editor`` (editor of the first demo
chain) and ``viewer`` (read only). Passwords are generated and printed once —
or the administrator's is taken from CHAINTRACK_DEMO_ADMIN_PASSWORD, which is
re-applied at every start so it stays the way to get in.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from chaintrack.auth.passwords import Passwords
from chaintrack.models import Chain, EditorAssignment, Project, User
from chaintrack.models.enums import UserRole

DEMO_USERS = (
    ("admin", UserRole.ADMIN, "演示管理员 / demo administrator"),
    ("editor", UserRole.EDITOR, "演示链编辑 / demo chain editor"),
    ("viewer", UserRole.VIEWER, "演示只读用户 / demo viewer"),
)


@dataclass(frozen=True)
class DemoAccount:
    username: str
    role: UserRole
    password: str | None  # set when created (or changed) now: print it once
    chains: tuple[str, ...] = ()


def generate_password() -> str:
    return secrets.token_urlsafe(12)


def ensure_demo_users(
    session: Session, passwords: Passwords, admin_password: str | None = None
) -> list[DemoAccount]:
    accounts: list[DemoAccount] = []
    # The editor gets the first chain that has demonstration projects (else the first).
    first_chain = session.scalar(
        select(Chain).where(Chain.id.in_(select(Project.chain_id))).order_by(Chain.code).limit(1)
    ) or session.scalar(select(Chain).order_by(Chain.code).limit(1))
    for username, role, display_name in DEMO_USERS:
        user = session.scalar(select(User).where(User.username == username))
        wanted = admin_password if role is UserRole.ADMIN else None
        shown: str | None = None
        if user is None:
            shown = wanted or generate_password()
            user = User(
                username=username,
                display_name=display_name,
                organisation="演示 / demo",
                role=role,
                password_hash=passwords.hash(shown),
                is_active=True,
                token_version=0,
            )
            session.add(user)
            session.flush()
            if role is UserRole.EDITOR and first_chain is not None:
                session.add(EditorAssignment(user_id=user.id, chain_id=first_chain.id))
                session.flush()
        elif wanted and not passwords.verify(wanted, user.password_hash)[0]:
            user.password_hash = passwords.hash(wanted)
            user.token_version += 1
            user.is_active = True
            session.flush()
            shown = wanted
        chains = tuple(
            session.scalars(
                select(Chain.code)
                .join(EditorAssignment, EditorAssignment.chain_id == Chain.id)
                .where(EditorAssignment.user_id == user.id)
                .order_by(Chain.code)
            ).all()
        )
        accounts.append(DemoAccount(username, role, shown, chains))
    return accounts
