"""Export of customers to CSV or XLSX, in the columns the importer reads,
masked by the exporter's permissions and limited to their scope."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

from sqlalchemy import select

from crmcore.errors import ValidationError
from crmcore.presenting import masked_details
from crmcore.storage.rows import from_row
from crmcore.storage.tables import customers, departments, users

if TYPE_CHECKING:
    from crmcore.storage.unit_of_work import UnitOfWork

COLUMNS = ("code", "name", "kind", "phones", "emails", "address", "region", "province", "city", "industry", "position",
           "birthday", "gender", "source", "level", "status", "stage", "tags", "do_not_contact", "notes", "owner", "department")
LIST_SEPARATOR = ";"


def export_customers(uow: "UnitOfWork", path: Path, *, include_cancelled: bool = False, batch: int = 5000) -> int:
    """Write every customer the actor may see; returns how many."""
    uow.require("customers.export")
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise ValidationError.field("file", f"{path.name}: export to .csv or .xlsx")
    custom_names = sorted(uow.custom_fields.definitions())
    header = [*COLUMNS, *(f"custom.{name}" for name in custom_names)]
    rows = _rows(uow, include_cancelled, custom_names, batch)
    count = _write_xlsx(path, header, rows) if suffix == ".xlsx" else _write_csv(path, header, rows)
    uow.audit.record("export", path.name, "export customers", {"count": count, "masked": not uow.actor.can("customers.view_contact_details")})
    return count


def _rows(uow: "UnitOfWork", include_cancelled: bool, custom_names: list[str], batch: int) -> Iterator[list[Any]]:
    from crmcore.domain.customers import Customer

    owners = dict(uow.execute(select(users.c.id, users.c.username)).all())
    department_names = dict(uow.execute(select(departments.c.id, departments.c.name)).all())
    query = select(customers).order_by(customers.c.id)
    if not include_cancelled:
        query = query.where(customers.c.active.is_(True))
    last = 0
    while True:
        page = uow.execute(uow.customers.scope(query.where(customers.c.id > last)).limit(batch)).mappings().all()
        if not page:
            return
        for row in page:
            customer = from_row(Customer, row)
            record = masked_details(uow, {name: getattr(customer, name, None) for name in COLUMNS if name not in ("owner", "department")})
            record["owner"] = owners.get(customer.owner_id)
            record["department"] = department_names.get(customer.department_id)
            yield [_cell(record[name]) for name in COLUMNS] + [_cell(customer.custom.get(name)) for name in custom_names]
        last = page[-1]["id"]


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return LIST_SEPARATOR.join(str(v) for v in value)
    if isinstance(value, bool):
        return "是" if value else ""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def _write_csv(path: Path, header: list[str], rows: Iterator[list[Any]]) -> int:
    count = 0
    with path.open("w", encoding="utf-8-sig", newline="") as handle:  # the BOM makes Excel read UTF-8
        writer = csv.writer(handle)
        writer.writerow(header)
        for row in rows:
            writer.writerow(row)
            count += 1
    return count


def _write_xlsx(path: Path, header: list[str], rows: Iterator[list[Any]]) -> int:
    try:
        from openpyxl import Workbook
    except ImportError:
        raise ValidationError.field("file", "writing XLSX needs openpyxl: pip install 'crmcore[xlsx]'") from None
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("customers")
    sheet.append(header)
    count = 0
    for row in rows:
        sheet.append(row)
        count += 1
    workbook.save(path)
    return count
