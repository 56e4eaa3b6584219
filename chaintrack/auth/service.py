"""Login and user management. Services flush, never commit."""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, sessionmaker

from chaintrack.audit import capture
from chaintrack.auth import throttle
from chaintrack.auth.deps import AuthState, unauthorized
from chaintrack.auth.schemas import (
    ChainAssignmentOut,
    PasswordReset,
    Token,
    UserCreate,
    UserOut,
    UserUpdate,
)
from chaintrack.common.concurrency import check_if_match
from chaintrack.common.pagination import PageParams, paginate, sort_clause
from chaintrack.errors import Conflict, Problem, ValidationProblem, not_found
from chaintrack.models import Chain, EditorAssignment, User
from chaintrack.models.enums import UserRole

log = logging.getLogger(__name__)
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")


class TooManyRequests(Problem):
    status, slug, title = 429, "too-many-requests", "Too many attempts"


def normalise_username(username: str) -> str:
    value = username.strip().lower()
    if not _USERNAME.match(value):
        raise ValidationProblem.for_field(
            "username",
            "登录名为2–64位字母、数字或 . _ - / 2-64 letters, digits, '.', '_' or '-'",
        )
    return value


def check_password(auth: AuthState, password: str, *, field: str, username: str) -> None:
    minimum = auth.settings.password_min_length
    if len(password) < minimum:
        raise ValidationProblem.for_field(
            field, f"密码至少{minimum}位 / at least {minimum} characters", code="password_too_short"
        )
    if password.strip().lower() == username.lower():
        raise ValidationProblem.for_field(
            field, "密码不能与登录名相同 / may not be the username", code="password_is_username"
        )


# --- login -------------------------------------------------------------------------


def authenticate(
    reader: Session,
    writer: Session,
    auth: AuthState,
    username: str,
    password: str,
    address: str,
    *,
    throttle_sessions: sessionmaker[Session],
) -> User:
    """The active user with this password; 401 otherwise, 429 when throttled.

    The same work is done whether or not the user exists (a dummy hash is
    verified), and the answer does not say which part was wrong. The lookup and
    the verification use ``reader``; ``writer`` (whose transaction, and on SQLite
    the write lock, starts only when used) is touched only to upgrade a hash.
    The attempt is counted first, in a short transaction of ``throttle_sessions``
    that commits whatever the outcome (chaintrack.auth.throttle).
    """
    name = username.strip().lower()
    wait = auth.throttle.reserve(throttle_sessions, name, address)
    if wait is not None:
        log.warning("sign-in throttled for %r from %s (%d s)", name, address, wait)
        raise TooManyRequests(
            f"登录失败次数过多，请{wait}秒后再试 / too many failed sign-ins; retry in {wait} s",
            headers={"Retry-After": str(wait)},
            retry_after=wait,
        )
    user = reader.scalar(select(User).where(User.username == name)) if name else None
    ok, new_hash = auth.passwords.verify(password, user.password_hash if user else None)
    if user is None or not ok or not user.is_active:
        log.info("sign-in failed for %r from %s", name, address)
        raise unauthorized("用户名或密码错误 / wrong username or password")
    # End the read transaction (it wrote nothing) before the throttle's own write.
    reader.commit()
    auth.throttle.succeeded(throttle_sessions, name, address)
    if new_hash is not None:  # stored with older Argon2 parameters: upgrade it
        user_id = user.id
        reader.rollback()  # end the read transaction before the write begins
        stored = writer.get(User, user_id)
        assert stored is not None
        capture.set_user(writer, user_id)
        stored.password_hash = new_hash
        writer.flush()
        return stored
    return user


def issue_token(auth: AuthState, user: User) -> Token:
    return Token(
        access_token=auth.tokens.issue(user.id, user.token_version),
        expires_in=int(auth.tokens.ttl.total_seconds()),
    )


# --- reading users -----------------------------------------------------------------


def _chain_ids(session: Session, user_ids: Sequence[int]) -> dict[int, list[int]]:
    out: dict[int, list[int]] = defaultdict(list)
    if user_ids:
        rows = session.execute(
            select(EditorAssignment.user_id, EditorAssignment.chain_id)
            .where(EditorAssignment.user_id.in_(user_ids))
            .order_by(EditorAssignment.chain_id)
        )
        for uid, cid in rows:
            out[uid].append(cid)
    return out


def user_out(session: Session, user: User) -> UserOut:
    return users_out(session, [user])[0]


def users_out(session: Session, users: Sequence[User]) -> list[UserOut]:
    chains = _chain_ids(session, [u.id for u in users])
    return [
        UserOut.model_validate({**_columns(u), "chain_ids": chains.get(u.id, [])}) for u in users
    ]


def _columns(user: User) -> dict[str, Any]:
    keys = ("id", "username", "display_name", "organisation", "role", "is_active", "version")
    return {
        **{k: getattr(user, k) for k in keys},
        "created_at": user.created_at,
        "updated_at": user.updated_at,
    }


def get_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id) if 1 <= user_id <= 2_147_483_647 else None
    if user is None:
        raise not_found("user", user_id)
    return user


def get_by_username(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username.strip().lower()))
    if user is None:
        raise not_found("user", username)
    return user


SORT_KEYS = {
    "username": User.username,
    "display_name": User.display_name,
    "role": User.role,
    "created_at": User.created_at,
}


def list_users(
    session: Session,
    page: PageParams,
    *,
    role: UserRole | None = None,
    is_active: bool | None = None,
    chain_id: int | None = None,
    q: str | None = None,
    sort: str | None = None,
) -> tuple[int, list[UserOut]]:
    stmt = select(User)
    if role is not None:
        stmt = stmt.where(User.role == role)
    if is_active is not None:
        stmt = stmt.where(User.is_active.is_(is_active))
    if chain_id is not None:
        stmt = stmt.where(
            User.id.in_(
                select(EditorAssignment.user_id).where(EditorAssignment.chain_id == chain_id)
            )
        )
    if q:
        stmt = stmt.where(
            or_(
                User.username.icontains(q, autoescape=True),
                User.display_name.icontains(q, autoescape=True),
            )
        )
    stmt = stmt.order_by(*sort_clause(sort, SORT_KEYS, [User.id]))
    total, rows = paginate(session, stmt, page)
    return total, users_out(session, list(rows))


# --- changing users ----------------------------------------------------------------


def _active_admins(session: Session) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(User)
            .where(User.role == UserRole.ADMIN, User.is_active.is_(True))
        )
        or 0
    )


def create_user(session: Session, auth: AuthState, data: UserCreate) -> User:
    username = normalise_username(data.username)
    existing = session.scalar(select(User).where(User.username == username))
    if existing is not None:
        raise Conflict(
            f"登录名 {username} 已被使用 / username {username} is taken",
            existing_id=existing.id,
            existing_url=f"/api/v1/users/{existing.id}",
        )
    check_password(auth, data.password, field="password", username=username)
    if data.chain_ids and data.role is not UserRole.EDITOR:
        raise ValidationProblem.for_field(
            "chain_ids", "只有链编辑可分配产业链 / only editors are assigned chains"
        )
    _check_chains(session, data.chain_ids, field="chain_ids")
    user = User(
        username=username,
        display_name=data.display_name,
        organisation=data.organisation,
        role=data.role,
        password_hash=auth.passwords.hash(data.password),
        is_active=True,
        token_version=0,
    )
    session.add(user)
    session.flush()
    for chain_id in sorted(set(data.chain_ids)):
        session.add(EditorAssignment(user_id=user.id, chain_id=chain_id))
    session.flush()
    return user


def _check_chains(session: Session, chain_ids: Sequence[int], *, field: str) -> None:
    if not chain_ids:
        return
    found = set(session.scalars(select(Chain.id).where(Chain.id.in_(set(chain_ids)))).all())
    missing = sorted(set(chain_ids) - found)
    if missing:
        raise ValidationProblem.for_field(
            field, f"产业链不存在 / no such chain: {', '.join(map(str, missing))}"
        )


def update_user(
    session: Session, actor: User, user_id: int, data: UserUpdate, if_match: str | None
) -> User:
    user = get_user(session, user_id)
    check_if_match(if_match, user)
    changes = data.model_dump(exclude_unset=True)
    for key in ("display_name", "role", "is_active"):
        if key in changes and changes[key] is None:
            raise ValidationProblem.for_field(key, "不能为空 / may not be null")
    losing_admin = (
        user.role is UserRole.ADMIN
        and user.is_active
        and (
            changes.get("role", UserRole.ADMIN) is not UserRole.ADMIN
            or changes.get("is_active", True) is False
        )
    )
    if losing_admin and _active_admins(session) <= 1:
        raise Conflict(
            "不能停用或降级最后一个管理员 / the last active administrator cannot be "
            "deactivated or given another role"
        )
    if user.id == actor.id and changes.get("is_active") is False:
        raise Conflict("不能停用自己的账号 / you cannot deactivate your own account")
    if changes.get("is_active") is False and user.is_active:
        user.token_version += 1  # ends the sessions it has
    for key, value in changes.items():
        setattr(user, key, value)
    session.flush()
    return user


def set_password(session: Session, auth: AuthState, user: User, password: str, field: str) -> User:
    check_password(auth, password, field=field, username=user.username)
    user.password_hash = auth.passwords.hash(password)
    user.token_version += 1  # tokens issued before no longer work
    session.flush()
    return user


def reset_password(
    session: Session,
    auth: AuthState,
    actor: User,
    user_id: int,
    data: PasswordReset,
    if_match: str | None,
) -> User:
    """An administrator sets someone's password; their own only with the current one."""
    user = get_user(session, user_id)
    check_if_match(if_match, user)
    if user.id == actor.id:
        if data.current_password is None:
            raise ValidationProblem.for_field(
                "current_password",
                "重置自己的密码须提供当前密码 / your own password needs the current one",
                code="current_password_required",
            )
        _check_current(auth, user, data.current_password)
    return set_password(session, auth, user, data.password, "password")


def change_own_password(
    session: Session, auth: AuthState, user: User, current: str, new: str
) -> User:
    _check_current(auth, user, current)
    return set_password(session, auth, user, new, "new_password")


def _check_current(auth: AuthState, user: User, current: str) -> None:
    ok, _ = auth.passwords.verify(current, user.password_hash)
    if not ok:
        raise ValidationProblem.for_field(
            "current_password", "当前密码不正确 / the current password is wrong"
        )


def unlock_user(session: Session, user_id: int) -> None:
    """Forget an account's failed sign-ins (an administrator's remedy for a lock-out)."""
    user = get_user(session, user_id)
    throttle.unlock(session, username=user.username)


# --- editor assignments ------------------------------------------------------------


def list_assignments(session: Session, user_id: int) -> list[ChainAssignmentOut]:
    get_user(session, user_id)
    rows = session.execute(
        select(EditorAssignment, Chain.code, Chain.name_zh)
        .join(Chain, Chain.id == EditorAssignment.chain_id)
        .where(EditorAssignment.user_id == user_id)
        .order_by(Chain.code)
    ).all()
    return [_assignment_out(a, code, name) for a, code, name in rows]


def _assignment_out(a: EditorAssignment, code: str, name: str) -> ChainAssignmentOut:
    return ChainAssignmentOut(
        user_id=a.user_id,
        chain_id=a.chain_id,
        chain_code=code,
        chain_name_zh=name,
        created_at=a.created_at,
    )


def assign_chain(session: Session, user_id: int, chain_id: int) -> tuple[ChainAssignmentOut, bool]:
    user = get_user(session, user_id)
    chain = session.get(Chain, chain_id) if 1 <= chain_id <= 2_147_483_647 else None
    if chain is None:
        raise not_found("chain", chain_id)
    if user.role is not UserRole.EDITOR:
        raise Conflict(
            f"{user.username} 不是链编辑（{user.role.label_zh}）/ only editors are assigned "
            f"chains; {user.username} is {user.role.value}"
        )
    existing = session.get(EditorAssignment, (user_id, chain_id))
    if existing is not None:
        return _assignment_out(existing, chain.code, chain.name_zh), False
    assignment = EditorAssignment(user_id=user_id, chain_id=chain_id)
    session.add(assignment)
    session.flush()
    return _assignment_out(assignment, chain.code, chain.name_zh), True


def unassign_chain(session: Session, user_id: int, chain_id: int) -> None:
    get_user(session, user_id)
    existing = (
        session.get(EditorAssignment, (user_id, chain_id))
        if 1 <= chain_id <= 2_147_483_647
        else None
    )
    if existing is None:
        raise not_found("editor assignment", f"{user_id}/{chain_id}")
    session.delete(existing)
    session.flush()
