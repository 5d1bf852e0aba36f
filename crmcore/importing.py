"""Import of customers, contacts and activities from CSV and XLSX files.

Files come as Chinese Excel exports them: UTF-8 with or without BOM, or
GB18030/GBK (detected, or ``encoding=``); column names in English or Chinese
(``客户名称``, ``手机``, ``邮箱`` …) or mapped explicitly; the usual Chinese
values (``个人/企业``, ``男/女``, ``是/否``). Good rows are imported, every
other row is reported with its line, column and reason. New customers take
the bulk path: batched ``INSERT``s, and ``crm_customers_imported`` fired once
per batch, never per row (validation hooks run per row only when an enabled
plugin implements ``crm_validate_customer``).
"""

from __future__ import annotations

import codecs
import csv
import gc
import io
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from operator import itemgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator

from sqlalchemy import select

from crmcore.domain.customers import CUSTOMER_EDITABLE, Customer, build_customer
from crmcore.errors import ValidationError
from crmcore.search import index_names, name_key, search_tokens
from crmcore.services.consents import IMPORT_COLUMNS as CONSENT_IMPORT_COLUMNS, import_value as consent_value
from crmcore.services.customers import free_generated_code, generated_code
from crmcore.storage.bulk import allocate_ids, insert_tuples
from crmcore.storage.rows import to_row
from crmcore.storage.tables import audit_log, customer_emails, customer_phones, customer_tags, customers

if TYPE_CHECKING:
    from crmcore.storage.unit_of_work import UnitOfWork

BATCH = 5000

#: Column names understood without a mapping, by field.
CUSTOMER_COLUMNS: dict[str, tuple[str, ...]] = {
    "name": ("name", "客户名称", "客户名", "名称", "姓名", "公司名称"),
    "kind": ("kind", "type", "类型", "客户类型"),
    "code": ("code", "customer_code", "客户编号", "编号", "客户代码"),
    "phones": ("phones", "phone", "mobile", "tel", "手机", "手机号", "手机号码", "电话", "联系电话", "办公电话", "固定电话"),
    "emails": ("emails", "email", "e-mail", "邮箱", "电子邮件", "电子邮箱"),
    "address": ("address", "地址", "详细地址"),
    "region": ("region", "地区", "区域", "大区"),
    "province": ("province", "省份", "省"),
    "city": ("city", "城市", "市"),
    "industry": ("industry", "行业", "所属行业"),
    "position": ("position", "职位", "职务"),
    "birthday": ("birthday", "生日", "出生日期"),
    "gender": ("gender", "性别"),
    "source": ("source", "来源", "客户来源"),
    "level": ("level", "级别", "客户级别", "价值等级", "等级"),
    "status": ("status", "状态", "客户状态"),
    "stage": ("stage", "生命周期", "阶段", "生命周期阶段"),
    "tags": ("tags", "tag", "标签"),
    "notes": ("notes", "note", "备注", "说明"),
    "do_not_contact": ("do_not_contact", "免打扰", "拒绝营销", "勿扰"),
    "owner": ("owner", "负责人", "所有者", "销售"),
    "department": ("department", "部门", "所属部门"),
}
# consent columns (consent_marketing_email / 营销邮件同意 = 是/否): see crmcore/services/consents.py
CUSTOMER_COLUMNS.update(CONSENT_IMPORT_COLUMNS)
ACTIVITY_COLUMNS: dict[str, tuple[str, ...]] = {
    "customer_code": ("customer_code", "code", "客户编号", "编号"),
    "customer_phone": ("customer_phone", "phone", "手机", "电话"),
    "customer_email": ("customer_email", "email", "邮箱"),
    "type": ("type", "类型", "活动类型"),
    "occurred_at": ("occurred_at", "time", "date", "时间", "日期", "发生时间"),
    "amount": ("amount", "金额", "消费金额"),
    "subject": ("subject", "主题", "标题"),
    "body": ("body", "内容", "详情"),
    "due_at": ("due_at", "截止时间", "到期时间"),
}
CONTACT_COLUMNS: dict[str, tuple[str, ...]] = {
    "customer_code": ("customer_code", "客户编号"),
    "customer_phone": ("customer_phone", "客户电话"),
    "customer_email": ("customer_email", "客户邮箱"),
    "name": ("name", "联系人", "姓名"),
    "title": ("title", "职务", "职位"),
    "phones": ("phones", "phone", "手机", "电话"),
    "emails": ("emails", "email", "邮箱"),
    "birthday": ("birthday", "生日"),
    "decision_role": ("decision_role", "角色", "决策角色"),
    "relationship": ("relationship", "关系", "关系状态"),
    "notes": ("notes", "备注"),
}
KIND_VALUES = {"个人": "person", "person": "person", "individual": "person", "企业": "organization", "公司": "organization",
               "单位": "organization", "organization": "organization", "organisation": "organization", "company": "organization"}
GENDER_VALUES = {"男": "male", "male": "male", "m": "male", "女": "female", "female": "female", "f": "female"}
ACTIVITY_TYPE_VALUES = {"购买": "purchase", "消费": "purchase", "拜访": "visit", "电话": "call", "邮件": "email", "短信": "sms",
                        "备注": "note", "任务": "task", "会议": "meeting", "投诉": "complaint", "反馈": "feedback"}
DUPLICATE_MODES = ("skip", "update", "merge")


@dataclass
class Rejection:
    line: int
    column: str
    reason: str
    values: dict[str, str]


@dataclass
class ImportResult:
    file: str
    rows: int = 0
    created: int = 0
    updated: int = 0
    merged: int = 0
    skipped: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    unknown_columns: list[str] = field(default_factory=list)
    dry_run: bool = False

    def summary(self) -> dict[str, Any]:
        return {"file": self.file, "rows": self.rows, "created": self.created, "updated": self.updated, "merged": self.merged,
                "skipped": self.skipped, "rejected": len(self.rejected), "unknown_columns": self.unknown_columns,
                "dry_run": self.dry_run}


# -- reading files ------------------------------------------------------------------------


def read_rows(path: Path, encoding: str | None = None) -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
    """The header and an iterator of ``(line number, cells)``; CSV or XLSX."""
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        return _read_xlsx(path)
    text = _decode(path.read_bytes(), encoding)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise ValidationError.field("file", f"{path.name} is empty") from None
    # "".join(row).strip(): a non-blank cell, tested in C rather than per cell
    return [h.strip() for h in header], ((reader.line_num, row) for row in reader if "".join(row).strip())


def _decode(data: bytes, encoding: str | None) -> str:
    if encoding:
        try:
            return data.decode(encoding)
        except (LookupError, UnicodeDecodeError) as error:
            raise ValidationError.field("encoding", f"cannot read the file as {encoding}: {error}") from None
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8):].decode("utf-8")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        try:
            return data.decode("gb18030")  # GBK as Chinese Excel writes it is a subset of GB18030
        except UnicodeDecodeError:
            raise ValidationError.field("encoding", "the file is neither UTF-8 nor GB18030/GBK; give --encoding") from None


def _read_xlsx(path: Path) -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
    try:
        from openpyxl import load_workbook
    except ImportError:
        raise ValidationError.field("file", "reading XLSX needs openpyxl: pip install 'crmcore[xlsx]'") from None
    sheet = load_workbook(path, read_only=True, data_only=True).active
    rows = sheet.iter_rows(values_only=True)
    try:
        header = [str(h or "").strip() for h in next(rows)]
    except StopIteration:
        raise ValidationError.field("file", f"{path.name} is empty") from None

    def cells() -> Iterator[tuple[int, list[str]]]:
        for number, row in enumerate(rows, start=2):
            values = ["" if v is None else (v.isoformat() if hasattr(v, "isoformat") else _number_text(v)) for v in row]
            if any(v.strip() for v in values):
                yield number, values

    return header, cells()


def _number_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # Excel stores phone numbers typed as numbers as floats
    return str(value)


def resolve_columns(header: list[str], known: dict[str, tuple[str, ...]], mapping: dict[str, str] | None,
                    extra_fields: Iterable[str] = ()) -> tuple[dict[int, str], list[str]]:
    """``{column index: field}`` and the columns nothing understood."""
    lookup = {alias.lower(): name for name, aliases in known.items() for alias in aliases}
    lookup.update({name.lower(): f"custom.{name}" for name in extra_fields})
    mapping = {k.strip(): v.strip() for k, v in (mapping or {}).items()}
    columns, unknown = {}, []
    for index, title in enumerate(header):
        target = mapping.get(title) or lookup.get(title.lower())
        if target is None and title.lower().startswith("custom."):
            target = title
        if target:
            if target not in known and not target.startswith("custom."):
                raise ValidationError.field("map", f"{target!r} is not a field ({', '.join(known)})")
            columns[index] = target
        elif title:
            unknown.append(title)
    return columns, unknown


def parse_mapping(text: str | None) -> dict[str, str]:
    """``"客户名称=name,手机=phones"`` → a dict."""
    mapping = {}
    for pair in (text or "").split(","):
        if pair.strip():
            column, sep, target = pair.partition("=")
            if not sep:
                raise ValidationError.field("map", f"{pair!r} is not COLUMN=FIELD")
            mapping[column.strip()] = target.strip()
    return mapping


# -- customers --------------------------------------------------------------------------------


class CustomerImport:
    """One import of customers inside one unit of work."""

    def __init__(self, uow: "UnitOfWork", on_duplicate: str = "skip", progress: Callable[[int], None] | None = None):
        if on_duplicate not in DUPLICATE_MODES:
            raise ValidationError.field("on-duplicate", f"{on_duplicate!r} is not one of {', '.join(DUPLICATE_MODES)}")
        uow.require("customers.import")
        uow.require("customers.edit")
        self.uow = uow
        self.on_duplicate = on_duplicate
        self.progress = progress or (lambda n: None)
        self._owners: dict[str, int] = {}
        self._departments: dict[str, int] = {}
        self._seen: dict[str, int] = {}  # identity (code/phone/email) → line that claimed it in this file
        self._consents: dict[int, list[tuple[str, str, bool]]] = {}  # line → (purpose, channel, granted)
        self._file = ""
        self._validate_hooks = bool(uow.hook.crm_validate_customer.get_hookimpls())
        # (name, kind) → (search_text, name_key): names repeat a lot in a
        # large file, and tokenising one (pinyin included) costs more than
        # the lookup; for this import only, so memory goes with it
        self._name_columns: dict[tuple[str, str], tuple[str, str]] = {}
        self._row_columns: tuple[str, ...] = ()  # customers columns an import row fills, set by the first insert

    def run(self, path: Path, *, encoding: str | None = None, mapping: dict[str, str] | None = None) -> ImportResult:
        with _cycle_collection_paused():
            return self._run(path, encoding, mapping)

    def _run(self, path: Path, encoding: str | None, mapping: dict[str, str] | None) -> ImportResult:
        header, rows = read_rows(path, encoding)
        custom_names = list(self.uow.custom_fields.definitions())
        columns, unknown = resolve_columns(header, CUSTOMER_COLUMNS, mapping, custom_names)
        if "name" not in columns.values():
            raise ValidationError.field("columns", f"no name column (客户名称/name) among {', '.join(header)}")
        result = ImportResult(file=path.name, unknown_columns=unknown)
        self._file = path.name
        titles = {target: header[index] for index, target in columns.items()}
        self._header = header
        consent_columns = [(index, target) for index, target in columns.items() if target.startswith("consent.")]
        # the other columns once, not per row: (index, field, how its value is kept)
        fields = [(index, target, _KEEP.get(target, "custom" if target.startswith("custom.") else "value"))
                  for index, target in columns.items() if not target.startswith("consent.")]
        chunk: list[tuple[int, Customer, list[str]]] = []
        for line, cells in rows:
            result.rows += 1
            try:
                if consent_columns:
                    self._read_consents(line, consent_columns, cells)
                chunk.append((line, self._customer(fields, cells), cells))
            except _RowError as error:
                result.rejected.append(Rejection(line, titles.get(error.column, error.column), error.reason, self._values(cells)))
            if result.rows % BATCH == 0:
                self._process(chunk, result)
                self.progress(BATCH)
                chunk = []
        self._process(chunk, result)
        self.progress(result.rows % BATCH)
        result.rejected.sort(key=lambda rejection: rejection.line)
        self.uow.audit.record("import", path.name, "import customers", result.summary())
        return result

    def _values(self, cells: list[str]) -> dict[str, str]:
        """A rejected row as it was in the file, by column title."""
        header = self._header
        return {header[i] if i < len(header) else f"column{i + 1}": cells[i] for i in range(len(cells))}

    def _process(self, chunk: list[tuple[int, Customer, list[str]]], result: ImportResult) -> None:
        """Sort one chunk of parsed rows into duplicates within the file,
        matches of stored customers, and new customers (inserted in bulk)."""
        fresh = []
        seen = self._seen
        for line, customer, cells in chunk:
            keys = self._identities(customer)
            claimed = next((seen[key] for key in keys if key in seen), None)
            if claimed is not None:
                result.rejected.append(Rejection(line, "", f"duplicate of line {claimed} in this file", self._values(cells)))
                continue
            for key in keys:
                seen.setdefault(key, line)
            fresh.append((line, customer, cells, keys))
        stored = self._stored([customer for _, customer, _, _ in fresh])
        pending = []
        for line, customer, cells, keys in fresh:
            existing = next((stored[key] for key in keys if key in stored), None) if stored else None
            if existing is None:
                pending.append((line, customer))
            else:
                self._apply_to_existing(existing, customer, result, line, self._values(cells))
        self._insert(pending, result)

    # one row

    def _customer(self, columns: list[tuple[int, str, str]], cells: list[str]) -> Customer:
        """One row as a prepared customer, validated by the same rules as
        ``Customer(**fields)`` (see ``build_customer``), or _RowError."""
        fields: dict[str, Any] = {"name": ""}
        width = len(cells)
        for index, target, keep in columns:
            value = cells[index].strip() if index < width else ""
            if not value:
                continue
            if keep == "value":
                fields[target] = value
            elif keep == "list":
                fields.setdefault(target, []).append(value)
            else:
                fields.setdefault("custom", {})[target[7:]] = value
        try:
            if "kind" in fields:
                fields["kind"] = _translate(KIND_VALUES, fields["kind"], "kind")
            if "gender" in fields:
                fields["gender"] = _translate(GENDER_VALUES, fields["gender"], "gender")
            if "owner" in fields:
                fields["owner_id"] = self._owner(fields.pop("owner"))
            if "department" in fields:
                fields["department_id"] = self._department(fields.pop("department"))
            customer = self.uow.customers.prepare(build_customer({k: v for k, v in fields.items() if k in _EDITABLE}))
            if self._validate_hooks:
                self.uow.validate("crm_validate_customer", customer=customer, changes=None)
        except ValidationError as error:
            column, _, reason = error.errors[0].partition(": ")
            raise _RowError(column if reason else "", reason or error.errors[0]) from None
        return customer

    def _read_consents(self, line: int, columns: list[tuple[int, str]], cells: list[str]) -> None:
        found = []
        for index, target in columns:
            if index < len(cells):
                try:
                    granted = consent_value(cells[index])
                except ValueError as error:
                    raise _RowError(target, str(error)) from None
                if granted is not None:
                    _, purpose, channel = target.split(".")
                    found.append((purpose, channel, granted))
        if found:
            self._consents[line] = found

    def _write_consents(self, customers_by_line: list[tuple[int, int]]) -> None:
        entries = [(customer_id, purpose, channel, granted) for customer_id, line in customers_by_line
                   for purpose, channel, granted in self._consents.pop(line, ())]
        if entries:
            self.uow.consents.record_many(entries, method="import", evidence=self._file)

    def _owner(self, username: str) -> int:
        if username not in self._owners:
            user = self.uow.users.find(username)
            if user is None:
                raise ValidationError.field("owner", f"no user {username!r}")
            self._owners[username] = user.id
        return self._owners[username]

    def _department(self, name: str) -> int:
        if name not in self._departments:
            self._departments[name] = self.uow.departments.get(name).id
        return self._departments[name]

    def _identities(self, customer: Customer) -> list[str]:
        return [*([f"code:{customer.code}"] if customer.code else []), *(f"phone:{p}" for p in customer.phones),
                *(f"email:{e}" for e in customer.emails)]

    def _stored(self, batch: list[Customer]) -> dict[str, int]:
        """Identities (``code:…``, ``phone:…``, ``email:…``) of the batch that
        stored customers already have, with their ids; one query per kind."""
        found: dict[str, int] = {}
        lookups = (
            ("code", {c.code for c in batch if c.code}, customers.c.code, customers.c.id, None),
            ("phone", {p for c in batch for p in c.phones}, customer_phones.c.number, customer_phones.c.customer_id, customer_phones.c.contact_id),
            ("email", {e for c in batch for e in c.emails}, customer_emails.c.email, customer_emails.c.customer_id, customer_emails.c.contact_id),
        )
        for kind, values, column, id_column, contact in lookups:
            ordered = sorted(values)
            for start in range(0, len(ordered), 2000):
                query = select(column, id_column).where(column.in_(ordered[start:start + 2000]))
                if contact is not None:
                    query = query.where(contact.is_(None))
                found.update({f"{kind}:{value}": customer_id for value, customer_id in self.uow.execute(query)})
        return found

    def _apply_to_existing(self, existing_id: int, customer: Customer, result: ImportResult, line: int, values: dict[str, str]) -> None:
        current = self.uow.customers.find(existing_id)
        if self.on_duplicate == "skip" or current is None or not current.active:
            reason = f"duplicate of customer {existing_id}" + ("" if current is None or current.active else " (cancelled)")
            result.rejected.append(Rejection(line, "", reason + "; --on-duplicate update or merge to change it", values))
            result.skipped += 1
            return
        given = {name: getattr(customer, name) for name in CUSTOMER_EDITABLE
                 if name not in ("owner_id", "department_id") and getattr(customer, name) not in (None, "", [], {}, False)}
        given.pop("level", None) if customer.level == "normal" else None
        given.pop("status", None) if customer.status == "potential" else None
        given.pop("stage", None) if customer.stage == "exploration" else None
        if self.on_duplicate == "merge":
            given = {k: v for k, v in given.items() if getattr(current, k) in (None, "", [], {}) or k in ("phones", "emails", "tags", "custom")}
            for name in ("phones", "emails", "tags"):
                if name in given:
                    given[name] = [*getattr(current, name), *(v for v in given[name] if v not in getattr(current, name))]
            if "custom" in given:
                given["custom"] = {**given["custom"], **current.custom}
        try:
            updated = self.uow.customers.update(existing_id, **given)
        except ValidationError as error:
            column, _, reason = error.errors[0].partition(": ")
            result.rejected.append(Rejection(line, column, reason or error.errors[0], values))
            return
        self._write_consents([(existing_id, line)])
        if updated != current:
            if self.on_duplicate == "merge":
                result.merged += 1
            else:
                result.updated += 1

    # the bulk path

    def _insert(self, batch: list[tuple[int, Customer]], result: ImportResult) -> None:
        """New customers in bulk: ids drawn first, so each row goes in once
        with its generated code; then the search index, the lookup tables and
        the audit trail, one ``executemany`` each."""
        if not batch:
            return
        uow = self.uow
        now = uow.now
        ids = allocate_ids(uow, customers, len(batch))
        codes = self._codes(ids, [customer for _, customer in batch])
        if not self._row_columns:
            self._row_columns = tuple(name for name in to_row(batch[0][1], customers.c) if name not in _NAME_COLUMNS)
        row_values = itemgetter(*self._row_columns)
        named = self._name_columns
        rows, phones, emails, tags, audits = [], [], [], [], []
        actor_id, actor_name, origin = uow.actor.id, uow.actor.username, {"file": result.file}
        for customer_id, code, (_line, customer) in zip(ids, codes, batch):
            values = customer.__dict__  # set directly: these are the core's own values, not input to convert
            values["id"], values["code"], values["created_at"], values["updated_at"] = customer_id, code, now, now
            key = (customer.name, customer.kind)
            columns = named.get(key)
            if columns is None:
                columns = named[key] = (search_tokens(customer.name), name_key(customer.name, customer.kind))
            rows.append(row_values(values) + columns)
            if customer.phones:  # (tested first: most rows have one list or none, and a comprehension costs)
                phones += [(number, customer_id, None) for number in customer.phones]
            if customer.emails:
                emails += [(email, customer_id, None) for email in customer.emails]
            if customer.tags:
                tags += [(tag, customer_id) for tag in customer.tags]
            audits.append((now, actor_id, actor_name, "customer", str(customer_id), "import", origin))
        connection = uow.connection
        insert_tuples(connection, customers, (*self._row_columns, *_NAME_COLUMNS), rows)
        index_names(connection, [(customer_id, None, row[-2]) for customer_id, row in zip(ids, rows)])
        insert_tuples(connection, customer_phones, ("number", "customer_id", "contact_id"), phones)
        insert_tuples(connection, customer_emails, ("email", "customer_id", "contact_id"), emails)
        insert_tuples(connection, customer_tags, ("tag", "customer_id"), tags)
        insert_tuples(connection, audit_log, ("at", "actor_id", "actor", "entity", "entity_id", "action", "changes"), audits)
        result.created += len(ids)
        self._write_consents([(customer_id, line) for customer_id, (line, _) in zip(ids, batch)])
        uow.fire("crm_customers_imported", ("import", ids[0]), customer_ids=list(ids))

    def _codes(self, ids: list[int], batch: list[Customer]) -> list[str]:
        """Each row's code: its own, or one generated from its id as the
        service generates it, skipping codes that stored customers or other
        rows of the batch already have (one query for the batch)."""
        first = {customer_id: generated_code(customer_id) for customer_id, c in zip(ids, batch) if not c.code}
        taken = {c.code for c in batch if c.code}
        # codes of one length sort as their ids do: one index range per
        # length finds every stored code the batch could clash with (and
        # maybe a few more, which are taken all the same)
        by_length: dict[int, list[str]] = {}
        for code in first.values():
            by_length.setdefault(len(code), []).append(code)
        for same in by_length.values():
            taken.update(self.uow.execute(select(customers.c.code).where(customers.c.code.between(min(same), max(same)))).scalars())
        codes = []
        for customer_id, customer in zip(ids, batch):
            if customer.code:
                codes.append(customer.code)
                continue
            code = first[customer_id]
            if code in taken:  # rare: suffixed codes were not in the batch's query, so ask the service too
                code = free_generated_code(customer_id, lambda candidate: candidate in taken or
                                           self.uow.customers.code_taken(candidate) is not None, attempt=1)
            taken.add(code)
            codes.append(code)
        return codes


#: How a column's value is kept on the row's fields: lists collect several
#: columns (手机 and 电话 both add phones); the rest are single values.
_KEEP = {"phones": "list", "emails": "list"}
_EDITABLE = frozenset(CUSTOMER_EDITABLE)
#: Columns computed from the name, after the customer's own in an insert row.
_NAME_COLUMNS = ("search_text", "name_key")


_paused = 0
_paused_lock = threading.Lock()


@contextmanager
def _cycle_collection_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector during an import. A large
    import allocates millions of short-lived containers, and each triggers
    collections that walk every long-lived object of the process (pinyin
    tables, SQLAlchemy metadata): about a third of the import's time. Rows
    make no reference cycles; what others make is collected when the last
    concurrent import ends and collection resumes."""
    global _paused
    with _paused_lock:
        ours = _paused > 0 or gc.isenabled()  # else someone else turned it off: leave it so
        if ours:
            _paused += 1
            gc.disable()
    try:
        yield
    finally:
        if ours:
            with _paused_lock:
                _paused -= 1
                if _paused == 0:
                    gc.enable()


class _RowError(Exception):
    def __init__(self, column: str, reason: str):
        self.column, self.reason = column, reason


def _translate(table: dict[str, str], value: str, field: str) -> str:
    key = value.strip().lower()
    if key not in table:
        raise ValidationError.field(field, f"{value!r} is not one of {', '.join(sorted(set(table)))}")
    return table[key]


# -- activities and contacts ------------------------------------------------------------------


class CustomerMatcher:
    """Finds the customer a row belongs to by code, phone or e-mail, with
    lookups batched and cached."""

    def __init__(self, uow: "UnitOfWork"):
        self.uow = uow
        self.visible = uow.customers.scope(select(customers.c.id).where(customers.c.active.is_(True)))
        self.cache: dict[tuple[str, str], int | None] = {}

    def match(self, code: str, phone: str, email: str) -> int:
        from crmcore.phones import normalise_phone

        if code:
            return self._lookup("code", code, select(customers.c.id).where(customers.c.code == code))
        if phone:
            number = normalise_phone(phone, field="customer_phone")
            return self._lookup("phone", number, select(customer_phones.c.customer_id).where(customer_phones.c.number == number))
        if email:
            address = email.strip().lower()
            return self._lookup("email", address, select(customer_emails.c.customer_id).where(customer_emails.c.email == address))
        raise ValidationError.field("customer_code", "each row needs customer_code (客户编号), customer_phone or customer_email")

    def _lookup(self, kind: str, value: str, query: Any) -> int:
        key = (kind, value)
        if key not in self.cache:
            self.cache[key] = self.uow.execute(query.where(query.selected_columns[0].in_(self.visible)).limit(1)).scalar()
        if self.cache[key] is None:
            raise ValidationError.field(f"customer_{kind}", f"no customer with {kind} {value!r}")
        return self.cache[key]


def import_activities(uow: "UnitOfWork", path: Path, *, encoding: str | None = None, mapping: dict[str, str] | None = None,
                      progress: Callable[[int], None] | None = None) -> ImportResult:
    """Activities (purchases above all) in bulk: matched to customers, logged
    in batches through ``uow.activities.log_many`` (one
    ``crm_activities_imported`` per batch)."""
    from crmcore.domain.activities import Activity

    uow.require("customers.import")
    progress = progress or (lambda n: None)
    header, rows = read_rows(path, encoding)
    columns, unknown = resolve_columns(header, ACTIVITY_COLUMNS, mapping)
    if "type" not in columns.values():
        raise ValidationError.field("columns", "no type column (类型/type)")
    result = ImportResult(file=path.name, unknown_columns=unknown)
    matcher = CustomerMatcher(uow)
    batch: list[Activity] = []
    for line, cells in rows:
        result.rows += 1
        raw = {target: (cells[i].strip() if i < len(cells) else "") for i, target in columns.items()}
        try:
            customer_id = matcher.match(raw.get("customer_code", ""), raw.get("customer_phone", ""), raw.get("customer_email", ""))
            kind = ACTIVITY_TYPE_VALUES.get(raw["type"], raw["type"].lower())
            activity = Activity(customer_id=customer_id, type=kind, subject=raw.get("subject"), body=raw.get("body"),
                                occurred_at=raw.get("occurred_at") or uow.now, amount=raw.get("amount") or None,
                                due_at=raw.get("due_at") or None, owner_id=uow.actor.id)
            uow.activities.check(activity)
        except ValidationError as error:
            column, _, reason = error.errors[0].partition(": ")
            values = {header[i]: cells[i] for i in range(min(len(cells), len(header)))}
            result.rejected.append(Rejection(line, column if reason else "", reason or error.errors[0], values))
            continue
        batch.append(activity)
        if len(batch) >= BATCH:
            result.created += len(uow.activities.log_many(batch, source=result.file, checked=True))
            progress(len(batch))
            batch = []
    result.created += len(uow.activities.log_many(batch, source=result.file, checked=True))
    progress(len(batch))
    uow.audit.record("import", path.name, "import activities", result.summary())
    return result


def import_contacts(uow: "UnitOfWork", path: Path, *, encoding: str | None = None, mapping: dict[str, str] | None = None) -> ImportResult:
    """Contacts, matched to their customer; each goes through the contact
    service (contacts are few, and ``crm_contact_added`` fires for each)."""
    uow.require("customers.import")
    header, rows = read_rows(path, encoding)
    columns, unknown = resolve_columns(header, CONTACT_COLUMNS, mapping)
    result = ImportResult(file=path.name, unknown_columns=unknown)
    matcher = CustomerMatcher(uow)
    for line, cells in rows:
        result.rows += 1
        raw = {target: (cells[i].strip() if i < len(cells) else "") for i, target in columns.items()}
        try:
            customer_id = matcher.match(raw.pop("customer_code", ""), raw.pop("customer_phone", ""), raw.pop("customer_email", ""))
            fields = {k: v for k, v in raw.items() if v}
            with uow.savepoint():  # a rejected row leaves nothing behind
                uow.contacts.add(customer_id, **fields)
        except ValidationError as error:
            column, _, reason = error.errors[0].partition(": ")
            values = {header[i]: cells[i] for i in range(min(len(cells), len(header)))}
            result.rejected.append(Rejection(line, column if reason else "", reason or error.errors[0], values))
            continue
        result.created += 1
    uow.audit.record("import", path.name, "import contacts", result.summary())
    return result


def write_rejects(path: Path, result: ImportResult) -> None:
    """The rows not imported, with line, column and reason, then the row as
    it was; UTF-8 with BOM so Excel opens it."""
    originals = sorted({k for r in result.rejected for k in r.values}, key=lambda k: next(
        (i for r in result.rejected for i, key in enumerate(r.values) if key == k), 0))
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["line", "column", "reason", *originals])
        for rejection in result.rejected:
            writer.writerow([rejection.line, rejection.column, rejection.reason, *(rejection.values.get(k, "") for k in originals)])


__all__ = ["CustomerImport", "import_activities", "import_contacts", "write_rejects", "parse_mapping", "ImportResult"]
