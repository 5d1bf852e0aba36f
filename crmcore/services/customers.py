"""Customers: create, read, change, cancel, restore (客户档案)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Iterable

from sqlalchemy import Select, and_, bindparam, delete, false, insert, or_, select, update

from crmcore.domain.customers import CUSTOMER_EDITABLE, Customer
from crmcore.errors import Conflict, NotFound, ValidationError
from crmcore.phones import try_normalise_phone
from crmcore.search import index_names, name_key, name_matches, name_page, search_tokens
from crmcore.storage.rows import diff, from_row, to_row
from crmcore.storage.tables import activities, contacts, customer_emails, customer_phones, customer_tags, customers

if TYPE_CHECKING:
    from crmcore.storage.unit_of_work import UnitOfWork

ENTITY = "customer"
CODE_PREFIX = "C"
# Hot statements are built once (building one costs more than running it).
BY_PHONE = (
    select(customers)
    .where(customers.c.id.in_(select(customer_phones.c.customer_id).where(customer_phones.c.number == bindparam("number"))))
    .order_by(customers.c.id)
)


class CustomerService:
    def __init__(self, uow: "UnitOfWork"):
        self.uow = uow

    # -- writing -------------------------------------------------------------------

    def create(self, **fields: Any) -> Customer:
        """Create a customer from its fields; unknown fields are refused."""
        self.uow.require("customers.edit")
        _refuse_unknown(fields)
        customer = self.prepare(Customer(**fields))
        self.uow.validate("crm_validate_customer", customer=customer, changes=None)
        if customer.code:
            self._check_code_free(customer.code)
        customer.created_at = customer.updated_at = self.uow.now
        row = to_row(customer, customers.c)
        del row["id"]
        row.update(_name_columns(customer))
        customer.id = self.uow.execute(insert(customers).values(row)).inserted_primary_key[0]
        index_names(self.uow.connection, [(customer.id, None, row["search_text"])])
        if not customer.code:
            customer.code = self._generate_code(customer.id)
            self.uow.execute(update(customers).where(customers.c.id == customer.id).values(code=customer.code))
        self._write_lookups(customer)
        self.uow.audit.record(ENTITY, customer.id, "create", {
            name: (None, value) for name, value in to_row(customer, customers.c).items()
            if name in CUSTOMER_EDITABLE and value not in (None, "", [], {}, False)
        })
        self.uow.fire("crm_customer_created", (ENTITY, customer.id), customer=customer)
        return customer

    def update(self, customer_id: int, **changes: Any) -> Customer:
        """Change fields of a customer; returns the customer as saved. Only
        fields whose value really changes are saved, audited and reported to
        ``crm_customer_updated``."""
        self.uow.require("customers.edit")
        _refuse_unknown(changes)
        current = self.get(customer_id)
        if not current.active:
            raise Conflict(f"customer {customer_id} is cancelled; restore it first")
        changed = self.prepare(current.evolve(**changes), defaults=False)
        delta = diff(current, changed, CUSTOMER_EDITABLE)
        if not delta:
            return current
        if "code" in delta:
            if not changed.code:
                raise ValidationError.field("code", "must not be empty")
            self._check_code_free(changed.code)
        self.uow.validate("crm_validate_customer", customer=changed, changes=delta)
        changed.updated_at = self.uow.now
        values = {name: getattr(changed, name) for name in delta}
        values["updated_at"] = changed.updated_at
        if "name" in delta or "kind" in delta:
            values.update(_name_columns(changed))
            index_names(self.uow.connection, [(customer_id, search_tokens(current.name), values["search_text"])])
        self.uow.execute(update(customers).where(customers.c.id == customer_id).values(values))
        if delta.keys() & {"phones", "emails", "tags"}:
            self._write_lookups(changed)
        self.uow.audit.record(ENTITY, customer_id, "update", delta)
        self.uow.fire("crm_customer_updated", (ENTITY, customer_id), customer=changed, changes=delta)
        return changed

    def cancel(self, customer_id: int, reason: str | None = None) -> Customer:
        """Cancel (注销) a customer: kept, hidden from lists, restorable."""
        self.uow.require("customers.edit")
        customer = self.get(customer_id)
        if not customer.active:
            raise Conflict(f"customer {customer_id} is already cancelled")
        customer = self._set_active(customer, False)
        self.uow.audit.record(ENTITY, customer_id, "cancel", {"active": (True, False), "reason": reason})
        self.uow.fire("crm_customer_cancelled", (ENTITY, customer_id), customer=customer)
        return customer

    def restore(self, customer_id: int) -> Customer:
        """Restore (恢复) a cancelled customer."""
        self.uow.require("customers.edit")
        customer = self.get(customer_id)
        if customer.active:
            raise Conflict(f"customer {customer_id} is not cancelled")
        if customer.merged_into_id:
            raise Conflict(f"customer {customer_id} was merged into {customer.merged_into_id} and cannot be restored")
        customer = self._set_active(customer, True)
        self.uow.audit.record(ENTITY, customer_id, "restore", {"active": (False, True)})
        self.uow.fire("crm_customer_restored", (ENTITY, customer_id), customer=customer)
        return customer

    def merge(self, keep_id: int, other_id: int) -> Customer:
        """Merge ``other`` into ``keep`` (客户资料的归并): contacts, activities
        and, through ``crm_customer_merged``, every plugin's records move to
        ``keep``; ``keep`` gets the union of phones, e-mails and tags and any
        field it lacks; ``other`` is cancelled, pointing to ``keep``."""
        self.uow.require("customers.merge")
        if keep_id == other_id:
            raise ValidationError.field("other", "cannot merge a customer into itself")
        kept, other = self.get(keep_id), self.get(other_id)
        for customer in (kept, other):
            if not customer.active:
                raise Conflict(f"customer {customer.id} is cancelled; restore it before merging")
        filled = {
            name: getattr(other, name) for name in CUSTOMER_EDITABLE
            if name not in ("code", "kind", "name", "phones", "emails", "tags", "custom", "level", "status", "stage", "owner_id", "department_id")
            and getattr(kept, name) in (None, "", False) and getattr(other, name) not in (None, "", False)
        }
        filled["phones"] = [*kept.phones, *(p for p in other.phones if p not in kept.phones)]
        filled["emails"] = [*kept.emails, *(e for e in other.emails if e not in kept.emails)]
        filled["tags"] = [*kept.tags, *(t for t in other.tags if t not in kept.tags)]
        filled["custom"] = {**other.custom, **kept.custom}
        with self.uow.quiet((ENTITY, keep_id)):
            kept = self.update(keep_id, **filled)
        for table in (contacts, activities):
            self.uow.execute(update(table).where(table.c.customer_id == other_id).values(customer_id=keep_id))
        for table in (customer_phones, customer_emails):
            self.uow.execute(update(table).where(table.c.customer_id == other_id, table.c.contact_id.isnot(None)).values(customer_id=keep_id))
            self.uow.execute(delete(table).where(table.c.customer_id == other_id))
        self.uow.execute(delete(customer_tags).where(customer_tags.c.customer_id == other_id))
        self.uow.fire("crm_customer_merged", (ENTITY, keep_id), kept=kept, merged=other)
        self.uow.execute(
            update(customers).where(customers.c.id == other_id)
            .values(active=False, cancelled_at=self.uow.now, merged_into_id=keep_id, updated_at=self.uow.now)
        )
        self.uow.audit.record(ENTITY, keep_id, "merge", {"merged": other_id, "merged_name": other.name})
        self.uow.audit.record(ENTITY, other_id, "merged_into", {"into": keep_id, "active": (True, False)})
        return kept

    def _set_active(self, customer: Customer, active: bool) -> Customer:
        cancelled_at = None if active else self.uow.now
        self.uow.execute(
            update(customers).where(customers.c.id == customer.id)
            .values(active=active, cancelled_at=cancelled_at, updated_at=self.uow.now)
        )
        return customer.evolve(active=active, cancelled_at=cancelled_at, updated_at=self.uow.now)

    def prepare(self, customer: Customer, *, defaults: bool = True) -> Customer:
        """Resolve configurable lists to codes, check custom fields, owner and
        department, and on creation fill in the owner and department from the
        actor. Used by create, update and the importer."""
        choices = self.uow.choices
        values = customer.__dict__  # set directly: the attrs validators have run, these values are checked here
        for kind in ("level", "status", "stage"):
            values[kind] = choices.resolve(kind, values[kind])
        if customer.custom:
            values["custom"] = self.uow.custom_fields.clean(customer.custom)
        if customer.owner_id is not None and self.uow.users.find(customer.owner_id) is None:
            raise ValidationError.field("owner", f"no user {customer.owner_id!r}")
        if customer.department_id is not None and self.uow.departments.find(customer.department_id) is None:
            raise ValidationError.field("department", f"no department {customer.department_id!r}")
        if defaults:
            actor = self.uow.actor
            if customer.owner_id is None:
                values["owner_id"] = actor.id
            if customer.department_id is None:
                owner = self.uow.users.find(customer.owner_id) if customer.owner_id else None
                values["department_id"] = owner.department_id if owner else actor.department_id
        return customer

    def _check_code_free(self, code: str) -> None:
        taken = self.code_taken(code)
        if taken is not None:
            raise ValidationError.field("code", f"{code!r} is already the code of customer {taken}")

    def code_taken(self, code: str) -> int | None:
        """The id of the customer with this code, if any (cancelled ones too)."""
        return self.uow.execute(select(customers.c.id).where(customers.c.code == code)).scalar()

    def _generate_code(self, customer_id: int) -> str:
        return free_generated_code(customer_id, lambda code: self.code_taken(code) is not None)

    def _write_lookups(self, customer: Customer) -> None:
        """Keep the exact-match tables in step with the customer's lists."""
        cid = customer.id
        self.uow.execute(delete(customer_phones).where(customer_phones.c.customer_id == cid, customer_phones.c.contact_id.is_(None)))
        self.uow.execute(delete(customer_emails).where(customer_emails.c.customer_id == cid, customer_emails.c.contact_id.is_(None)))
        self.uow.execute(delete(customer_tags).where(customer_tags.c.customer_id == cid))
        if customer.phones:
            self.uow.execute(insert(customer_phones), [{"number": n, "customer_id": cid, "contact_id": None} for n in customer.phones])
        if customer.emails:
            self.uow.execute(insert(customer_emails), [{"email": e, "customer_id": cid, "contact_id": None} for e in customer.emails])
        if customer.tags:
            self.uow.execute(insert(customer_tags), [{"tag": t, "customer_id": cid} for t in customer.tags])

    # -- reading -------------------------------------------------------------------

    def find(self, customer_id: int) -> Customer | None:
        """The customer, or None when it does not exist or is outside the
        actor's scope."""
        row = self.uow.execute(self.scope(select(customers).where(customers.c.id == customer_id))).mappings().first()
        return None if row is None else from_row(Customer, row)

    def get(self, customer_id: int) -> Customer:
        customer = self.find(customer_id)
        if customer is None:
            raise NotFound(f"customer {customer_id} not found")
        return customer

    def get_many(self, customer_ids: Iterable[int]) -> list[Customer]:
        ids = list(customer_ids)
        if not ids:
            return []
        rows = self.uow.execute(self.scope(select(customers).where(customers.c.id.in_(ids)))).mappings()
        found = {row["id"]: from_row(Customer, row) for row in rows}
        return [found[i] for i in ids if i in found]

    def find_by_phone(self, phone: str) -> list[Customer]:
        """Customers with this number, in any spelling, on themselves or on
        one of their contacts."""
        number = try_normalise_phone(phone)
        if number is None:
            return []
        return self._fetch(BY_PHONE, {"number": number})

    def find_by_email(self, email: str) -> list[Customer]:
        ids = select(customer_emails.c.customer_id).where(customer_emails.c.email == email.strip().lower())
        return self._fetch(select(customers).where(customers.c.id.in_(ids)).order_by(customers.c.id))

    def list(self, *, active: bool | None = True, sort: str = "id", limit: int = 50, offset: int = 0, **filters: Any) -> list[Customer]:
        """Customers in the actor's scope, filtered by level, status, stage,
        tag, owner_id, department_id (its subtree) or custom={name: value}."""
        query = self._filtered(select(customers), active=active, **filters)
        return self._fetch(query.order_by(*_ordering(sort)).limit(limit).offset(offset))

    def _filtered(
        self,
        query: Select,
        *,
        active: bool | None = True,
        level: str | None = None,
        status: str | None = None,
        stage: str | None = None,
        tag: str | None = None,
        owner_id: int | None = None,
        department_id: int | None = None,
        custom: dict[str, Any] | None = None,
    ) -> Select:
        if active is not None:
            query = query.where(customers.c.active.is_(active))
        for kind, value in (("level", level), ("status", status), ("stage", stage)):
            if value:
                query = query.where(customers.c[kind] == self.uow.choices.resolve(kind, value))
        if tag:
            query = query.where(customers.c.id.in_(select(customer_tags.c.customer_id).where(customer_tags.c.tag == tag)))
        if owner_id is not None:
            query = query.where(customers.c.owner_id == owner_id)
        if department_id is not None:
            query = query.where(customers.c.department_id.in_(self.uow.departments.subtree(department_id)))
        for name, value in (custom or {}).items():
            cleaned = self.uow.custom_fields.clean({name: value}).get(name)
            query = query.where(customers.c.custom[name].as_string() == str(cleaned if not isinstance(cleaned, bool) else str(cleaned).lower()))
        return query

    def search(
        self,
        text: str = "",
        *,
        include_cancelled: bool = False,
        sort: str = "id",
        limit: int = 50,
        offset: int = 0,
        **filters: Any,
    ) -> list[Customer]:
        """Customers matching ``text`` — a phone in any spelling, an e-mail, a
        code, or a name: Chinese substring, pinyin, initials, Latin words — and
        the filters of :meth:`list` (level, status, stage, tag, owner_id,
        department_id, custom={name: value}); sorted by ``id``, ``name``,
        ``created`` or ``updated`` (``-`` in front for descending), paginated,
        within the actor's scope."""
        base = self._filtered(select(customers), active=None if include_cancelled else True, **filters)
        text = text.strip()
        if not text:
            return self._fetch(base.order_by(*_ordering(sort)).limit(limit).offset(offset))
        exact = [customers.c.code == text]
        number = try_normalise_phone(text) if sum(ch.isdigit() for ch in text) >= 5 else None
        if number:
            exact.append(customers.c.id.in_(select(customer_phones.c.customer_id).where(customer_phones.c.number == number)))
        if "@" in text:
            exact.append(customers.c.id.in_(select(customer_emails.c.customer_id).where(customer_emails.c.email == text.lower())))
        dialect = self.uow.connection.dialect.name
        if not number and sort == "id" and dialect == "sqlite":
            # the few exact matches, merged with the first page of name matches
            # read in index order: no sort of every name that matches
            page = name_page(base, text, offset + limit)
            found = {c.id: c for c in self._fetch(base.where(or_(*exact)))}
            if page is not None:
                found.update((c.id, c) for c in self._fetch(page))
            return [found[i] for i in sorted(found)][offset:offset + limit]
        by_name = None if number else name_matches(dialect, text, customers.c.id)
        conditions = [*exact, *([by_name] if by_name is not None else [])]
        return self._fetch(base.where(or_(*conditions)).order_by(*_ordering(sort)).limit(limit).offset(offset))

    def _fetch(self, query: Select, parameters: dict[str, Any] | None = None) -> list[Customer]:
        result = self.uow.execute(self.scope(query), parameters)
        names = tuple(result.keys())  # once: a row as a mapping builds its keys again for every row (≈7 µs each)
        return [from_row(Customer, dict(zip(names, row))) for row in result]

    def scope(self, query: Select) -> Select:
        """Limit a query to the customers the actor may see: their department
        subtree, or their own when they have no department, unless they hold
        ``customers.view_all``."""
        actor = self.uow.actor
        if actor.can("customers.view_all"):
            return query
        if not actor.can("customers.view"):
            return query.where(false())
        if actor.department_id is None:
            return query.where(customers.c.owner_id == actor.id)
        subtree = self.uow.departments.subtree(actor.department_id)
        return query.where(or_(customers.c.department_id.in_(subtree), and_(customers.c.owner_id == actor.id)))


def generated_code(customer_id: int, attempt: int = 0) -> str:
    """The code a customer created without one gets: ``C`` + its id padded
    to six digits; ``-1``, ``-2`` … appended on further attempts, for when a
    customer was given that code explicitly."""
    base = f"{CODE_PREFIX}{customer_id:06d}"
    return f"{base}-{attempt}" if attempt else base


def free_generated_code(customer_id: int, taken: Callable[[str], bool], attempt: int = 0) -> str:
    """The first generated code from ``attempt`` on that is not ``taken``."""
    while taken(code := generated_code(customer_id, attempt)):
        attempt += 1
    return code


def _refuse_unknown(fields: dict[str, Any]) -> None:
    unknown = sorted(set(fields) - set(CUSTOMER_EDITABLE))
    if unknown:
        raise ValidationError([f"{name}: not a customer field" for name in unknown])


def _name_columns(customer: Customer) -> dict[str, str]:
    return {"search_text": search_tokens(customer.name), "name_key": name_key(customer.name, customer.kind)}


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


SORTS = {"id": customers.c.id, "name": customers.c.name, "created": customers.c.created_at, "updated": customers.c.updated_at}


def _ordering(sort: str) -> list[Any]:
    descending = sort.startswith("-")
    column = SORTS.get(sort.lstrip("-"))
    if column is None:
        raise ValidationError.field("sort", f"{sort!r} is not one of {', '.join(SORTS)} (prefix - for descending)")
    return [column.desc() if descending else column.asc(), customers.c.id.desc() if descending else customers.c.id.asc()]
