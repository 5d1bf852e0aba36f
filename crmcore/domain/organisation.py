"""Departments, users and roles: who acts, and what they may see."""

from __future__ import annotations

from datetime import datetime

from attrs import define, field, frozen

from crmcore.domain.fields import optional_email, optional_text, required_text


@define(slots=False, kw_only=True)
class Department:
    """A node in the company tree (集团 → 区域 → 公司 → 部门 → 小组)."""

    name: str = field(default="", converter=optional_text, validator=required_text("name", 100))
    id: int | None = None
    parent_id: int | None = None


@define(slots=False, kw_only=True)
class Role:
    """A post (岗位) holding permissions."""

    name: str = field(default="", converter=optional_text, validator=required_text("name", 60))
    id: int | None = None
    permissions: frozenset[str] = field(factory=frozenset, converter=frozenset)


@define(slots=False, kw_only=True)
class User:
    """A member of staff who logs in and acts."""

    username: str = field(default="", converter=optional_text, validator=required_text("username", 60))
    id: int | None = None
    display_name: str | None = field(default=None, converter=optional_text)
    email: str | None = field(default=None, converter=optional_text, validator=optional_email("email"))
    department_id: int | None = None
    roles: tuple[str, ...] = field(factory=tuple, converter=tuple)
    permissions: frozenset[str] = field(factory=frozenset, converter=frozenset)
    active: bool = True
    created_at: datetime | None = None

    def can(self, permission: str) -> bool:
        return "*" in self.permissions or permission in self.permissions


@frozen
class Permission:
    code: str
    description: str
    plugin: str = "core"


#: The actor of work the system does on its own (migrations, schedulers).
SYSTEM = User(username="system", permissions=frozenset({"*"}))
