"""Request and response bodies for login, the current user and user management."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import AfterValidator, Field

from chaintrack.common.schemas import InputModel, OutputModel, not_null
from chaintrack.models.enums import UserRole


def _lower(value: str) -> str:
    return value.lower()


Username = Annotated[
    str,
    AfterValidator(_lower),
    Field(
        min_length=2,
        max_length=64,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{1,63}$",
        description="Letters, digits, `.`, `_`, `-`; stored in lower case / 登录名",
        examples=["zhang.wei"],
        # after the lower-casing validator pydantic leaves the pattern out of the schema
        json_schema_extra={"pattern": r"^[A-Za-z0-9][A-Za-z0-9._-]{1,63}$"},
    ),
]
Password = Annotated[
    str,
    Field(
        min_length=1,
        max_length=256,
        description="The new password (length checked against the configured minimum)",
        examples=["correct horse battery staple"],
    ),
]


class Token(OutputModel):
    access_token: str
    token_type: str = Field(default="bearer", examples=["bearer"])
    expires_in: int = Field(description="Seconds until the token expires", examples=[28800])


class UserOut(OutputModel):
    id: int
    username: str
    display_name: str
    organisation: str | None
    role: UserRole = Field(description="admin 管理员 / editor 链编辑 / viewer 只读")
    is_active: bool
    chain_ids: list[int] = Field(
        default_factory=list, description="Chains an editor may change (编辑负责的产业链)"
    )
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime


class Me(UserOut):
    """The signed-in user."""


class UserCreate(InputModel):
    username: Username
    display_name: str = Field(min_length=1, max_length=64, examples=["张伟"])
    organisation: str | None = Field(
        default=None, max_length=128, description="Department / 处室", examples=["产业链推进处"]
    )
    role: UserRole = Field(default=UserRole.VIEWER)
    password: Password
    chain_ids: list[Annotated[int, Field(ge=1, le=2_147_483_647)]] = Field(
        default_factory=list, max_length=500, description="For editors: the chains they edit"
    )


class UserUpdate(InputModel):
    """Send only what changes, with If-Match. Deactivating ends the user's sessions."""

    display_name: str | None = Field(default=None, min_length=1, max_length=64)
    organisation: str | None = Field(default=None, max_length=128)
    role: UserRole | None = None
    is_active: bool | None = Field(
        default=None, description="false: the user can no longer sign in; tokens are revoked"
    )

    _no_null = not_null("display_name", "role", "is_active")


class PasswordReset(InputModel):
    password: Password
    current_password: str | None = Field(
        default=None,
        min_length=1,
        max_length=256,
        description="Required when the account is your own (当前密码：重置自己的密码时必填).",
    )


class PasswordChange(InputModel):
    current_password: str = Field(min_length=1, max_length=256)
    new_password: Password


class ChainAssignmentOut(OutputModel):
    user_id: int
    chain_id: int
    chain_code: str
    chain_name_zh: str
    created_at: dt.datetime
