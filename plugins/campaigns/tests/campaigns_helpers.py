"""Helpers of the campaigns plugin's tests."""

from email.header import decode_header, make_header
from pathlib import Path


def header(message, name):
    return str(make_header(decode_header(message[name])))


def body(message):
    return message.get_payload(decode=True).decode("utf-8")


def write(path: Path, text: str) -> str:
    path.write_text(text, encoding="utf-8")
    return str(path)


def segment_ids(crm, criteria, actor=None):
    """The ids a criteria document selects, through the one compiled query."""
    from crmcore.tables import customers

    with crm.unit_of_work(actor=actor) as uow:
        query = uow.service("campaigns").segment_query(criteria).order_by(customers.c.id)
        return list(uow.execute(query).scalars())
