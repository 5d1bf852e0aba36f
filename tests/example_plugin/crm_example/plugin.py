"""Hook implementations of the example plugin.

It touches every seam a third party needs: a table with its own migration,
an activity type, a CLI command, a customer panel, a validation hook and a
lifecycle hook, all without any change to the core.
"""

from pathlib import Path

import click
from sqlalchemy import select, update, insert

from crmcore import CLIState, Panel, hookimpl, pass_state

HERE = Path(__file__).parent


def stamps_of(uow, customer_id: int) -> int:
    from crm_example.tables import stamps

    return uow.execute(select(stamps.c.count).where(stamps.c.customer_id == customer_id)).scalar() or 0


@hookimpl
def crm_register_migrations(register):
    register(HERE / "migrations")


@hookimpl
def crm_register_templates(register):
    register(HERE / "templates")


@hookimpl
def crm_register_activity_types(register):
    register("wechat", "微信", label_en="WeChat message")


@hookimpl
def crm_register_permissions(register):
    register("example.reset", "Reset a customer's stamp card")


@hookimpl
def crm_validate_customer(customer):
    if any(email.endswith("@example.invalid") for email in customer.emails):
        return ["emails: addresses at example.invalid are not accepted"]
    return None


@hookimpl
def crm_activity_logged(uow, activity):
    from crm_example.tables import stamps

    if activity.type != "visit":
        return
    if stamps_of(uow, activity.customer_id):
        uow.execute(update(stamps).where(stamps.c.customer_id == activity.customer_id).values(count=stamps.c.count + 1))
    else:
        uow.execute(insert(stamps).values(customer_id=activity.customer_id, count=1))


@hookimpl
def crm_customer_created(uow, customer):
    if "explode" in customer.tags:
        raise RuntimeError("the example plugin refuses customers tagged 'explode'")


@hookimpl
def crm_customer_panel(uow, customer):
    count = stamps_of(uow, customer.id)
    text = uow.crm.templates.get_template("example/panel.txt").render(customer=customer, stamps=count).strip()
    return Panel("example", "Stamp card", {"stamps": count}, lines=[text])


@click.group()
def example():
    """Stamp cards (the example plugin)."""


@example.command("stamps")
@click.argument("customer_id", type=int)
@pass_state
def show_stamps(state: CLIState, customer_id: int):
    """Show how many stamps a customer has."""
    with state.uow() as uow:
        uow.customers.get(customer_id)
        count = stamps_of(uow, customer_id)
    state.emit({"customer_id": customer_id, "stamps": count}, text=f"customer {customer_id}: {count} stamps")


@hookimpl
def crm_register_commands(register):
    register(example)
