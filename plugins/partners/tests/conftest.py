import pytest


@pytest.fixture
def crm_plugins():
    return ["partners"]


@pytest.fixture
def org(make):
    """Make an organisation customer."""

    def make_org(name="上海明源地产有限公司", **fields):
        fields.setdefault("kind", "organization")
        return make.customer(name=name, **fields)

    return make_org


@pytest.fixture
def partner(crm, org):
    """Make an organisation and mark it as a partner."""

    def make_partner(name="上海明源地产有限公司", *, type="reseller", grade="金牌", territories=("上海",), industries=(),
                     manager=None, status="active", max_open_leads=None, agreement=None, **fields):
        customer = org(name, **fields)
        with crm.unit_of_work() as uow:
            service = uow.service("partners")
            service.add(customer.id, type=type, grade=grade, territories=territories, industries=industries, manager=manager,
                        status=status, max_open_leads=max_open_leads)
            if agreement:
                from datetime import date

                starts, ends, commission = agreement
                service.add_agreement(customer.id, starts_on=date.fromisoformat(starts), ends_on=date.fromisoformat(ends),
                                      commission=commission)
        return customer.id

    return make_partner


@pytest.fixture
def service(crm):
    """Run a function with the partners service in one unit of work."""

    def run(function, actor=None):
        with crm.unit_of_work(actor=actor) as uow:
            return function(uow.service("partners"))

    return run
