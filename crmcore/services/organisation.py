"""Departments, users and roles."""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable

from sqlalchemy import delete, insert, select, update

from crmcore.domain.organisation import Department, Role, User
from crmcore.errors import NotFound, ValidationError
from crmcore.storage.rows import from_row
from crmcore.storage.tables import departments, role_permissions, roles, user_roles, users

if TYPE_CHECKING:
    from crmcore.storage.unit_of_work import UnitOfWork


class DepartmentService:
    def __init__(self, uow: "UnitOfWork"):
        self.uow = uow
        self._all: dict[int, Department] | None = None

    def all(self) -> dict[int, Department]:
        if self._all is None:
            rows = self.uow.execute(select(departments).order_by(departments.c.id)).mappings()
            self._all = {row["id"]: from_row(Department, row) for row in rows}
        return self._all

    def add(self, name: str, parent: str | int | None = None) -> Department:
        self.uow.require("users.manage")
        department = Department(name=name, parent_id=self.get(parent, field="parent").id if parent not in (None, "") else None)
        if any(d.name == department.name for d in self.all().values()):
            raise ValidationError.field("name", f"department {department.name!r} exists already")
        department.id = self.uow.execute(insert(departments).values(name=department.name, parent_id=department.parent_id)).inserted_primary_key[0]
        self.uow.audit.record("department", department.id, "create", {"name": department.name, "parent_id": department.parent_id})
        self._all = None
        return department

    def find(self, key: str | int | None) -> Department | None:
        if key in (None, ""):
            return None
        everything = self.all()
        if isinstance(key, int) or (isinstance(key, str) and key.isdigit() and int(key) in everything):
            return everything.get(int(key))
        return next((d for d in everything.values() if d.name == str(key).strip()), None)

    def get(self, key: str | int | None, *, field: str = "department") -> Department:
        department = self.find(key)
        if department is None:
            raise ValidationError.field(field, f"no department {key!r}")
        return department

    def ancestry(self, department_id: int) -> list[int]:
        """The department and its parents, nearest first."""
        everything, chain = self.all(), []
        current = everything.get(department_id)
        while current is not None and current.id not in chain:
            chain.append(current.id)
            current = everything.get(current.parent_id) if current.parent_id else None
        return chain

    def subtree(self, department_id: int) -> set[int]:
        """The department and every department below it."""
        children: dict[int | None, list[int]] = {}
        for d in self.all().values():
            children.setdefault(d.parent_id, []).append(d.id)
        found, stack = set(), [department_id]
        while stack:
            current = stack.pop()
            if current not in found:
                found.add(current)
                stack.extend(children.get(current, []))
        return found

    def path(self, department_id: int | None) -> str | None:
        if department_id is None:
            return None
        everything = self.all()
        return " / ".join(everything[i].name for i in reversed(self.ancestry(department_id)))


class RoleService:
    def __init__(self, uow: "UnitOfWork"):
        self.uow = uow

    def known_permissions(self) -> dict[str, tuple[str, str]]:
        from crmcore.access import CORE_PERMISSIONS

        known = {p.code: ("core", p.description) for p in CORE_PERMISSIONS}
        known.update(self.uow.crm.plugins.registrations.permissions)
        return known

    def _check_permission(self, permission: str) -> None:
        if permission != "*" and permission not in self.known_permissions():
            raise ValidationError.field("permission", f"{permission!r} is not a known permission (see `crm role permissions`)")

    def add(self, name: str, permissions: Iterable[str] = ()) -> Role:
        self.uow.require("roles.manage")
        role = Role(name=name, permissions=frozenset(permissions))
        if self.find(role.name) is not None:
            raise ValidationError.field("name", f"role {role.name!r} exists already")
        for permission in role.permissions:
            self._check_permission(permission)
        role.id = self.uow.execute(insert(roles).values(name=role.name)).inserted_primary_key[0]
        if role.permissions:
            self.uow.execute(insert(role_permissions), [{"role_id": role.id, "permission": p} for p in sorted(role.permissions)])
        self.uow.audit.record("role", role.name, "create", {"permissions": sorted(role.permissions)})
        return role

    def find(self, name: str) -> Role | None:
        row = self.uow.execute(select(roles).where(roles.c.name == name)).mappings().first()
        if row is None:
            return None
        granted = self.uow.execute(select(role_permissions.c.permission).where(role_permissions.c.role_id == row["id"])).scalars()
        return Role(id=row["id"], name=row["name"], permissions=frozenset(granted))

    def get(self, name: str) -> Role:
        role = self.find(name)
        if role is None:
            raise ValidationError.field("role", f"no role {name!r}")
        return role

    def list(self) -> list[Role]:
        names = self.uow.execute(select(roles.c.name).order_by(roles.c.name)).scalars().all()
        return [self.get(name) for name in names]

    def grant(self, name: str, permission: str) -> Role:
        self.uow.require("roles.manage")
        role = self.get(name)
        self._check_permission(permission)
        if permission not in role.permissions:
            self.uow.execute(insert(role_permissions).values(role_id=role.id, permission=permission))
            self.uow.audit.record("role", role.name, "grant", {"permission": permission})
        return self.get(name)

    def revoke(self, name: str, permission: str) -> Role:
        self.uow.require("roles.manage")
        role = self.get(name)
        if permission not in role.permissions:
            raise ValidationError.field("permission", f"role {name!r} does not hold {permission!r}")
        self.uow.execute(delete(role_permissions).where(role_permissions.c.role_id == role.id, role_permissions.c.permission == permission))
        self.uow.audit.record("role", role.name, "revoke", {"permission": permission})
        return self.get(name)


class UserService:
    def __init__(self, uow: "UnitOfWork"):
        self.uow = uow
        self._found: dict[str | int, User | None] = {}  # within one unit of work; cleared on changes

    def find(self, key: str | int) -> User | None:
        if key not in self._found:
            self._found[key] = self._load(key)
        return self._found[key]

    def _load(self, key: str | int) -> User | None:
        if isinstance(key, int) or (isinstance(key, str) and key.isdigit()):
            condition = users.c.id == int(key)
        else:
            condition = users.c.username == str(key).strip()
        row = self.uow.execute(select(users).where(condition)).mappings().first()
        if row is None:
            return None
        granted = self.uow.execute(
            select(roles.c.name, role_permissions.c.permission)
            .select_from(user_roles.join(roles).outerjoin(role_permissions, role_permissions.c.role_id == roles.c.id))
            .where(user_roles.c.user_id == row["id"])
        ).all()
        return User(
            id=row["id"], username=row["username"], display_name=row["display_name"], email=row["email"],
            department_id=row["department_id"], active=row["active"], created_at=row["created_at"],
            roles=tuple(sorted({name for name, _ in granted})),
            permissions=frozenset(permission for _, permission in granted if permission),
        )

    def get(self, key: str | int, *, field: str = "user") -> User:
        user = self.find(key)
        if user is None:
            raise NotFound(f"{field}: no user {key!r}")
        return user

    def add(self, username: str, *, display_name: str | None = None, department: str | int | None = None,
            roles_: Iterable[str] = (), email: str | None = None) -> User:
        self.uow.require("users.manage")
        user = User(username=username, display_name=display_name, email=email)
        if self.find(user.username) is not None:
            raise ValidationError.field("username", f"user {user.username!r} exists already")
        if user.username.isdigit():
            raise ValidationError.field("username", "must not be only digits")
        department_id = self.uow.departments.get(department).id if department not in (None, "") else None
        role_ids = [self.uow.roles.get(name).id for name in roles_]
        user_id = self.uow.execute(
            insert(users).values(username=user.username, display_name=user.display_name, email=user.email, department_id=department_id,
                                 active=True, created_at=self.uow.now)
        ).inserted_primary_key[0]
        if role_ids:
            self.uow.execute(insert(user_roles), [{"user_id": user_id, "role_id": r} for r in role_ids])
        self.uow.audit.record("user", user.username, "create", {"department_id": department_id, "roles": list(roles_)})
        self._found.clear()
        return self.get(user_id)

    def set_locale(self, key: str | int, locale: str | None) -> None:
        """The language the web interface speaks to the user (``None``: the browser's)."""
        from crmcore.web.i18n import LOCALES

        user = self.get(key)
        if self.uow.actor.id != user.id:
            self.uow.require("users.manage")
        if locale is not None and locale not in LOCALES:
            raise ValidationError.field("locale", f"must be one of {', '.join(LOCALES)}")
        self.uow.execute(update(users).where(users.c.id == user.id).values(locale=locale))
        self.uow.audit.record("user", user.username, "set_locale", {"locale": locale})

    def locale(self, key: str | int) -> str | None:
        return self.uow.execute(select(users.c.locale).where(users.c.id == self.get(key).id)).scalar()

    def list(self, *, include_inactive: bool = False) -> list[User]:
        query = select(users.c.id).order_by(users.c.id)
        if not include_inactive:
            query = query.where(users.c.active.is_(True))
        return [self.get(user_id) for user_id in self.uow.execute(query).scalars().all()]

    def deactivate(self, username: str, reassign_to: str | None = None) -> dict[str, int]:
        """A user leaves (员工调离): every customer they own, their open tasks
        and the contacts they hold the relationship with go to the successor,
        plugins hand over theirs (``crm_user_deactivated``), and the account
        is frozen — all in this one transaction."""
        from crmcore.storage.tables import activities, contacts, customers

        self.uow.require("users.manage")
        user = self.get(username)
        if not user.active:
            raise ValidationError.field("user", f"{username!r} is already deactivated")
        owned = self.uow.execute(select(customers.c.id).where(customers.c.owner_id == user.id)).scalars().all()
        task_types = [t.name for t in self.uow.crm.activity_types.values() if t.is_task]
        open_tasks = (activities.c.owner_id == user.id) & activities.c.type.in_(task_types) \
            & activities.c.done.is_(False) & activities.c.cancelled.is_(False)
        successor = None
        if reassign_to:
            successor = self.get(reassign_to, field="reassign-to")
            if successor.id == user.id or not successor.active:
                raise ValidationError.field("reassign-to", f"{reassign_to!r} must be another, active user")
        elif owned or self.uow.execute(select(activities.c.id).where(open_tasks).limit(1)).first():
            raise ValidationError.field("reassign-to", f"{username!r} still owns {len(owned)} customers or open tasks; name who takes them over")
        counts = {"customers": len(owned), "tasks": 0, "contacts": 0}
        if successor is not None:
            self.uow.execute(update(customers).where(customers.c.owner_id == user.id).values(owner_id=successor.id, updated_at=self.uow.now))
            counts["tasks"] = self.uow.execute(update(activities).where(open_tasks).values(owner_id=successor.id)).rowcount
            counts["contacts"] = self.uow.execute(update(contacts).where(contacts.c.staff_id == user.id).values(staff_id=successor.id)).rowcount
            self.uow.audit.record_many("customer", "hand-over", [(i, {"owner_id": (user.id, successor.id)}) for i in owned])
        self.uow.fire("crm_user_deactivated", ("user", user.id), user=user, successor=successor)
        self.uow.execute(update(users).where(users.c.id == user.id).values(active=False))
        self._found.clear()
        self.uow.audit.record("user", user.username, "deactivate", {"active": (True, False), "successor": successor.username if successor else None, **counts})
        return counts
