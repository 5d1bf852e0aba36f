from sqlalchemy import Column, ForeignKey, Integer, Table

from crmcore import Id, metadata

stamps = Table(
    "example_stamps",
    metadata,
    Column("customer_id", Id, ForeignKey("customers.id"), primary_key=True),
    Column("count", Integer, nullable=False),
)
