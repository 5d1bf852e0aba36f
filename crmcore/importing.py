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
from itertools import repeat, zip_longest
from operator import itemgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Sequence

import attrs

from sqlalchemy import select

from crmcore.domain.builder import convert_column
from crmcore.domain.activities import build_activity
from crmcore.domain.customers import CUSTOMER_EDITABLE, Customer, build_customer
from crmcore.errors import ValidationError
from crmcore.phones import normalise_phone
from crmcore.search import index_names, name_key, search_tokens
from crmcore.services.consents import IMPORT_COLUMNS as CONSENT_IMPORT_COLUMNS, import_value as consent_value
from crmcore.services.customers import free_generated_code, generated_code
from crmcore.storage.bulk import Same, allocate_ids, insert_columns
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


def _batches(rows: Iterable[tuple[int, list[str]]]) -> Iterator[list[tuple[int, list[str]]]]:
    """Rows in lists of BATCH (the last may be shorter)."""
    batch: list[tuple[int, list[str]]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _transposed(batch: list[tuple[int, list[str]]]) -> Callable[[int], list[str]]:
    """The batch's cells column by column: ``column(index)`` is that
    column's values, stripped, one per row ("" where a row is short)."""
    count = len(batch)
    cells = list(zip_longest(*(cells for _, cells in batch), fillvalue=""))

    def column(index: int) -> list[str]:
        return list(map(str.strip, cells[index])) if index < len(cells) else [""] * count

    return column


class CustomerImport:
    """One import of customers inside one unit of work.

    Rows are read in batches and checked column by column (see
    ``CheckedBuilder.check_columns``): each column's values are converted
    and validated once per distinct value, by the Customer class's own
    rules, so a good row costs little more than reading it. New customers
    then go in with one ``executemany`` per table; rows matching stored
    customers go through the customer service one by one."""

    def __init__(self, uow: "UnitOfWork", on_duplicate: str = "skip", progress: Callable[[int], None] | None = None):
        if on_duplicate not in DUPLICATE_MODES:
            raise ValidationError.field("on-duplicate", f"{on_duplicate!r} is not one of {', '.join(DUPLICATE_MODES)}")
        uow.require("customers.import")
        uow.require("customers.edit")
        self.uow = uow
        self.on_duplicate = on_duplicate
        self.progress = progress or (lambda n: None)
        self._owners: dict[str, int | ValidationError] = {}
        self._departments: dict[str, int | ValidationError] = {}
        # (level, status, stage, owner_id, department_id) → as prepare() leaves them, or its error
        self._prepared: dict[tuple[Any, ...], tuple[Any, ...] | ValidationError] = {}
        self._seen: dict[str, int] = {}  # identity (code/phone/email) → line that claimed it in this file
        self._consents: dict[int, list[tuple[str, str, bool]]] = {}  # line → (purpose, channel, granted)
        self._file = ""
        self._header: list[str] = []
        self._stored_before = True  # were customers stored before this import? (see _process)
        self._titles: dict[str, str] = {}
        self._validate_hooks = bool(uow.hook.crm_validate_customer.get_hookimpls())
        # (name, kind) → (search_text, name_key): names repeat a lot in a
        # large file, and tokenising one (pinyin included) costs more than
        # the lookup; for this import only, so memory goes with it
        self._name_columns: dict[tuple[str, str], tuple[str, str]] = {}

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
        self._file, self._header = path.name, header
        self._stored_before = self.uow.execute(select(customers.c.id).limit(1)).first() is not None
        self._titles = {target: header[index] for index, target in columns.items()}
        layout = _Layout(columns)
        for batch in _batches(rows):
            self._process(layout, batch, result)
            self.progress(len(batch))
        result.rejected.sort(key=lambda rejection: rejection.line)
        self.uow.audit.record("import", path.name, "import customers", result.summary())
        return result

    def _values(self, cells: list[str]) -> dict[str, str]:
        """A rejected row as it was in the file, by column title."""
        header = self._header
        return {header[i] if i < len(header) else f"column{i + 1}": cells[i] for i in range(len(cells))}

    def _reject(self, result: ImportResult, line: int, cells: list[str], column: str, reason: str) -> None:
        result.rejected.append(Rejection(line, self._titles.get(column, column), reason, self._values(cells)))

    def _process(self, layout: "_Layout", batch: list[tuple[int, list[str]]], result: ImportResult) -> None:
        """One batch of rows: checked, then sorted into duplicates within the
        file, matches of stored customers, and new customers (inserted in
        bulk)."""
        result.rows += len(batch)
        fields, failed = self._check(layout, batch)
        for row, error in failed.items():
            line, cells = batch[row]
            self._reject(result, line, cells, error.column, error.reason)
        seen = self._seen
        fresh: list[tuple[int, list[str]]] = []  # (row, its identities)
        for row, keys in enumerate(_identities(fields, len(batch))):
            if row in failed:
                continue
            claimed = next((seen[key] for key in keys if key in seen), None)
            if claimed is not None:
                line, cells = batch[row]
                self._reject(result, line, cells, "", f"duplicate of line {claimed} in this file")
                continue
            for key in keys:
                seen.setdefault(key, batch[row][0])
            fresh.append((row, keys))
        # rows match what was stored before the import; among themselves they match through `seen`
        stored = self._stored({key for _, keys in fresh for key in keys}) if self._stored_before else {}
        new = []
        for row, keys in fresh:
            existing = next((stored[key] for key in keys if key in stored), None) if stored else None
            if existing is None:
                new.append(row)
            else:
                line, cells = batch[row]
                self._apply_to_existing(existing, self._customer(fields, row), result, line, self._values(cells))
        self._insert(new, [line for line, _ in batch], fields, result)

    # checking a batch, column by column

    def _check(self, layout: "_Layout", batch: list[tuple[int, list[str]]]) -> tuple[dict[str, list[Any]], dict[int, _RowError]]:
        """The batch's fields as the customer service would store them
        (``{field: values by row}``) and each rejected row's first error,
        judged in the order a single row is: consent columns, the
        importer's translations (类型, 性别, owner, department), the Customer
        class, then ``prepare`` and the validation hook."""
        count = len(batch)
        column = _transposed(batch)
        failed: dict[int, ValidationError] = {}
        given: dict[str, Sequence[Any]] = {}
        for target, indexes in layout.fields.items():
            values = column(indexes[0])
            for index in indexes[1:]:  # 手机 and 电话 both give phones: one list
                values = [";".join(filter(None, pair)) for pair in zip(values, column(index))]
            given[target] = values
        if layout.custom:
            custom = [column(index) for _, index in layout.custom]
            names = [name for name, _ in layout.custom]
            given["custom"] = [{name: value for name, value in zip(names, row) if value} or "" for row in zip(*custom)]
        if layout.consents:
            self._read_consents(batch, layout.consents, failed)
        for target, translate in (("kind", self._kind), ("gender", self._gender), ("owner", self._owner), ("department", self._department)):
            if target in given:
                values = convert_column(given.pop(target), translate, failed, "", empty="")
                given[_TRANSLATED.get(target, target)] = values
        fields, wrong = build_customer.check_columns(given, count)
        for row, error in wrong.items():
            failed.setdefault(row, error)
        self._prepare(fields, count, failed)
        if self._validate_hooks:
            for row in range(count):
                if row not in failed:
                    try:
                        self.uow.validate("crm_validate_customer", customer=self._customer(fields, row), changes=None)
                    except ValidationError as error:
                        failed[row] = error
        return fields, {row: _row_error(error) for row, error in failed.items()}

    def _prepare(self, fields: dict[str, list[Any]], count: int, failed: dict[int, ValidationError]) -> None:
        """``CustomerService.prepare`` for the batch: it depends on five
        fields that take few distinct combinations, so it runs once per
        combination (on a customer of only those fields) and custom fields
        are cleaned per row, as prepare cleans them."""
        keys = list(zip(*(fields.get(name) or repeat(getattr(_DEFAULTS, name), count) for name in _PREPARED)))
        memo = self._prepared
        for key in set(keys).difference(memo):
            try:
                customer = self.uow.customers.prepare(build_customer.assemble(dict(zip(_PREPARED, key))))
                memo[key] = tuple(getattr(customer, name) for name in _PREPARED)
            except ValidationError as error:
                memo[key] = error
        outcomes = list(map(memo.__getitem__, keys))
        for row, outcome in enumerate(outcomes):
            if type(outcome) is not tuple:
                failed.setdefault(row, outcome)
                outcomes[row] = (None,) * len(_PREPARED)
        prepared = list(map(list, zip(*outcomes)))
        fields.update(zip(_PREPARED, prepared))
        custom = fields.get("custom")
        if custom:
            clean = self.uow.custom_fields.clean
            for row, values in enumerate(custom):
                if values and row not in failed:
                    try:
                        custom[row] = clean(values)
                    except ValidationError as error:
                        failed[row] = error

    def _customer(self, fields: dict[str, list[Any]], row: int) -> Customer:
        return build_customer.assemble({name: values[row] for name, values in fields.items()})

    def _read_consents(self, batch: list[tuple[int, list[str]]], columns: list[tuple[int, str]], failed: dict[int, ValidationError]) -> None:
        for row, (line, cells) in enumerate(batch):
            found = []
            for index, target in columns:
                if index < len(cells):
                    try:
                        granted = consent_value(cells[index])
                    except ValueError as error:
                        failed.setdefault(row, ValidationError.field(target, str(error)))
                        break
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

    def _kind(self, value: str) -> str:
        return _translate(KIND_VALUES, value, "kind")

    def _gender(self, value: str) -> str:
        return _translate(GENDER_VALUES, value, "gender")

    def _owner(self, username: str) -> int:
        if username not in self._owners:
            user = self.uow.users.find(username)
            self._owners[username] = ValidationError.field("owner", f"no user {username!r}") if user is None else user.id
        return _known(self._owners[username])

    def _department(self, name: str) -> int:
        if name not in self._departments:
            try:
                self._departments[name] = self.uow.departments.get(name).id
            except ValidationError as error:
                self._departments[name] = error
        return _known(self._departments[name])

    def _stored(self, identities: set[str]) -> dict[str, int]:
        """Those of ``identities`` (``code:…``, ``phone:…``, ``email:…``)
        that stored customers have, with their ids; one query per kind."""
        found: dict[str, int] = {}
        by_kind: dict[str, list[str]] = {}
        for identity in identities:
            kind, _, value = identity.partition(":")
            by_kind.setdefault(kind, []).append(value)
        lookups = (
            ("code", customers.c.code, customers.c.id, None),
            ("phone", customer_phones.c.number, customer_phones.c.customer_id, customer_phones.c.contact_id),
            ("email", customer_emails.c.email, customer_emails.c.customer_id, customer_emails.c.contact_id),
        )
        for kind, column, id_column, contact in lookups:
            ordered = sorted(by_kind.get(kind, ()))
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
            problem = _row_error(error)
            result.rejected.append(Rejection(line, self._titles.get(problem.column, problem.column), problem.reason, values))
            return
        self._write_consents([(existing_id, line)])
        if updated != current:
            if self.on_duplicate == "merge":
                result.merged += 1
            else:
                result.updated += 1

    # the bulk path

    def _insert(self, rows: list[int], lines: list[int], fields: dict[str, list[Any]], result: ImportResult) -> None:
        """New customers in bulk, column by column: ids drawn first, so each
        row goes in once with its generated code; then the search index,
        the lookup tables and the audit trail, one ``executemany`` each."""
        if not rows:
            return
        uow = self.uow
        count = len(rows)
        pick = itemgetter(*rows) if count > 1 else (lambda values: (values[rows[0]],))
        values = {name: pick(column) for name, column in fields.items()}
        ids = allocate_ids(uow, customers, count)
        kinds = values.get("kind") or repeat(_DEFAULTS.kind, count)
        named = self._name_columns
        search_text, name_keys = [], []
        for name, kind in zip(values["name"], kinds):
            key = (name, kind)
            columns = named.get(key)
            if columns is None:
                columns = named[key] = (search_tokens(name), name_key(name, kind))
            search_text.append(columns[0])
            name_keys.append(columns[1])
        row: dict[str, Sequence[Any] | Same] = {"id": ids, "code": self._codes(ids, values.get("code") or (None,) * count)}
        for name in customers.c.keys():
            if name in values:
                row.setdefault(name, values[name])
            elif name in _CUSTOMER_FIELDS:
                row.setdefault(name, Same(getattr(_DEFAULTS, name)))
        now = Same(uow.now)
        row.update(created_at=now, updated_at=now, search_text=search_text, name_key=name_keys)
        connection = uow.connection
        insert_columns(connection, customers, row, count)
        index_names(connection, list(zip(ids, repeat(None), search_text)))
        for table, column, lists in ((customer_phones, "number", values.get("phones")), (customer_emails, "email", values.get("emails")),
                                     (customer_tags, "tag", values.get("tags"))):
            items, owners = [], []
            for customer_id, given in zip(ids, lists or ()):
                if given:  # most rows have one value or none
                    items += given
                    owners += [customer_id] * len(given)
            insert_columns(connection, table, {column: items, "customer_id": owners}, len(items))
        insert_columns(connection, audit_log, {
            "at": now, "actor_id": Same(uow.actor.id), "actor": Same(uow.actor.username), "entity": Same("customer"),
            "entity_id": [str(customer_id) for customer_id in ids], "action": Same("import"), "changes": Same({"file": result.file}),
        }, count)
        result.created += count
        self._write_consents([(customer_id, lines[row]) for customer_id, row in zip(ids, rows)])
        uow.fire("crm_customers_imported", ("import", ids[0]), customer_ids=list(ids))

    def _codes(self, ids: list[int], given: Sequence[str | None]) -> list[str]:
        """Each row's code: its own, or one generated from its id as the
        service generates it, skipping codes that stored customers or other
        rows of the batch already have (one query for the batch)."""
        first = {customer_id: generated_code(customer_id) for customer_id, code in zip(ids, given) if not code}
        taken = {code for code in given if code}
        # codes of one length sort as their ids do: one index range per
        # length finds every stored code the batch could clash with (and
        # maybe a few more, which are taken all the same)
        by_length: dict[int, list[str]] = {}
        for code in first.values():
            by_length.setdefault(len(code), []).append(code)
        for same in by_length.values():
            taken.update(self.uow.execute(select(customers.c.code).where(customers.c.code.between(min(same), max(same)))).scalars())
        codes = []
        for customer_id, own in zip(ids, given):
            if own:
                codes.append(own)
                continue
            code = first[customer_id]
            if code in taken:  # rare: suffixed codes were not in the batch's query, so ask the service too
                code = free_generated_code(customer_id, lambda candidate: candidate in taken or
                                           self.uow.customers.code_taken(candidate) is not None, attempt=1)
            taken.add(code)
            codes.append(code)
        return codes


def _identities(fields: dict[str, list[Any]], count: int) -> list[list[str]]:
    """Each row's identities, by which it is the same customer as another:
    ``code:C000001``, ``phone:13800138000``, ``email:a@example.com``."""
    identities: list[list[str]] = [[] for _ in range(count)]
    for name, prefix in (("code", "code:"), ("phones", "phone:"), ("emails", "email:")):
        values = fields.get(name)
        if not values:
            continue
        if name == "code":
            values = [[code] if code else () for code in values]
        for keys, given in zip(identities, values):
            if given:  # most rows have one value or none
                keys += [prefix + value for value in given]
    return identities


class _Layout:
    """Where a file keeps each field: ``fields`` (field → its column
    indexes; 手机 and 电话 may both hold phones), custom fields and consent
    columns."""

    def __init__(self, columns: dict[int, str]):
        self.fields: dict[str, list[int]] = {}
        self.custom: list[tuple[str, int]] = []
        self.consents: list[tuple[int, str]] = []
        for index, target in columns.items():
            if target.startswith("consent."):
                self.consents.append((index, target))
            elif target.startswith("custom."):
                self.custom.append((target[len("custom."):], index))
            else:
                self.fields.setdefault(target, []).append(index)


#: Fields ``CustomerService.prepare`` resolves or fills in.
_PREPARED = ("level", "status", "stage", "owner_id", "department_id")
#: Importer columns that name what the Customer holds as an id.
_TRANSLATED = {"owner": "owner_id", "department": "department_id"}
_CUSTOMER_FIELDS = frozenset(attrs.fields_dict(Customer))
#: A customer of nothing but defaults, where a file leaves a field out (read only).
_DEFAULTS = build_customer.assemble({})


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


@dataclass
class _RowError:
    column: str
    reason: str


def _row_error(error: ValidationError) -> _RowError:
    """The first of an error's messages as (field, problem); a message
    naming no field goes under ""."""
    column, _, reason = error.errors[0].partition(": ")
    return _RowError(column if reason else "", reason or error.errors[0])


def _known(value: int | ValidationError) -> int:
    """A cached lookup's result: the id, or its error raised again."""
    if isinstance(value, ValidationError):
        raise value
    return value


def _translate(table: dict[str, str], value: str, field: str) -> str:
    key = value.strip().lower()
    if key not in table:
        raise ValidationError.field(field, f"{value!r} is not one of {', '.join(sorted(set(table)))}")
    return table[key]


# -- activities and contacts ------------------------------------------------------------------


class CustomerMatcher:
    """Finds the customers rows belong to, by code, phone or e-mail (the
    first a row gives), among the active customers the actor may see: one
    query per kind and 2,000 values, answers kept for the whole import."""

    def __init__(self, uow: "UnitOfWork"):
        self.uow = uow
        self.cache: dict[tuple[str, str], int | None] = {}

    def match(self, code: str, phone: str, email: str) -> int:
        """The customer of one row, or ValidationError."""
        failed: dict[int, ValidationError] = {}
        [found] = self.match_column([code], [phone], [email], failed)
        if failed:
            raise failed[0]
        return found

    def match_column(self, codes: Sequence[str], phones: Sequence[str], emails: Sequence[str],
                     failed: dict[int, ValidationError]) -> list[int | None]:
        """Each row's customer id; a row matching none gets None and its
        error in ``failed`` (unless it has one already)."""
        wanted: list[tuple[str, str] | None] = []
        for row, (code, phone, email) in enumerate(zip(codes, phones, emails)):
            try:
                wanted.append(_identity(code, phone, email))
            except ValidationError as error:
                failed.setdefault(row, error)
                wanted.append(None)
        self._look_up({key for key in wanted if key is not None and key not in self.cache})
        found: list[int | None] = []
        for row, key in enumerate(wanted):
            customer_id = None if key is None else self.cache[key]
            if key is not None and customer_id is None:
                kind, value = key
                failed.setdefault(row, ValidationError.field(f"customer_{kind}", f"no customer with {kind} {value!r}"))
            found.append(customer_id)
        return found

    def _look_up(self, keys: set[tuple[str, str]]) -> None:
        by_kind: dict[str, list[str]] = {}
        for kind, value in keys:
            by_kind.setdefault(kind, []).append(value)
        lookups = {"code": (customers.c.code, None), "phone": (customer_phones.c.number, customer_phones.c.customer_id),
                   "email": (customer_emails.c.email, customer_emails.c.customer_id)}
        for kind, values in by_kind.items():
            column, customer_id = lookups[kind]
            ordered = sorted(values)
            for start in range(0, len(ordered), 2000):
                query = select(column, customers.c.id).where(column.in_(ordered[start:start + 2000]), customers.c.active.is_(True))
                if customer_id is not None:
                    query = query.join(customers, customers.c.id == customer_id)
                for value, match in self.uow.execute(self.uow.customers.scope(query).order_by(customers.c.id)):
                    self.cache.setdefault((kind, value), match)  # a number two customers share: the older one
        for key in keys:
            self.cache.setdefault(key, None)


def _identity(code: str, phone: str, email: str) -> tuple[str, str]:
    if code:
        return ("code", code)
    if phone:
        return ("phone", normalise_phone(phone, field="customer_phone"))
    if email:
        return ("email", email.strip().lower())
    raise ValidationError.field("customer_code", "each row needs customer_code (客户编号), customer_phone or customer_email")


def import_activities(uow: "UnitOfWork", path: Path, *, encoding: str | None = None, mapping: dict[str, str] | None = None,
                      progress: Callable[[int], None] | None = None) -> ImportResult:
    """Activities (purchases above all) in bulk: batches checked column by
    column by the Activity type's own rules (see ``CheckedBuilder``), matched
    to customers a batch at a time, then each activity checked against its
    type and logged through ``uow.activities.log_many`` (one
    ``crm_activities_imported`` per batch)."""
    uow.require("customers.import")
    progress = progress or (lambda n: None)
    header, rows = read_rows(path, encoding)
    columns, unknown = resolve_columns(header, ACTIVITY_COLUMNS, mapping)
    if "type" not in columns.values():
        raise ValidationError.field("columns", "no type column (类型/type)")
    result = ImportResult(file=path.name, unknown_columns=unknown)
    matcher = CustomerMatcher(uow)
    for batch in _batches(rows):
        result.rows += len(batch)
        count = len(batch)
        column = _transposed(batch)
        raw = {target: column(index) for index, target in columns.items()}
        blank = [""] * count
        failed: dict[int, ValidationError] = {}
        given: dict[str, Sequence[Any]] = {
            "customer_id": matcher.match_column(raw.get("customer_code", blank), raw.get("customer_phone", blank),
                                                raw.get("customer_email", blank), failed),
            "type": [ACTIVITY_TYPE_VALUES.get(kind, kind.lower()) for kind in raw["type"]],
            "occurred_at": [moment or uow.now for moment in raw.get("occurred_at", blank)],
            "owner_id": [uow.actor.id] * count,
            **{name: raw[name] for name in ("subject", "body", "amount", "due_at") if name in raw},
        }
        fields, wrong = build_activity.check_columns(given, count)
        entries = []
        for row in range(count):
            if row in failed or row in wrong:
                continue
            activity = build_activity.assemble({name: values[row] for name, values in fields.items()})
            try:
                uow.activities.check(activity)
            except ValidationError as error:
                failed[row] = error
                continue
            entries.append(activity)
        for row, error in sorted({**wrong, **failed}.items()):
            line, cells = batch[row]
            problem = _row_error(error)
            values = {header[i]: cells[i] for i in range(min(len(cells), len(header)))}
            result.rejected.append(Rejection(line, problem.column, problem.reason, values))
        result.created += len(uow.activities.log_many(entries, source=result.file, checked=True))
        progress(count)
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
